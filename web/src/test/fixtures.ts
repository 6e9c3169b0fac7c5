import type { Account, ConsumerGroup, Instance, SessionResponse, Spec, Token, Topic, User } from '../api/types';

export const account: Account = { id: 'acc_1', name: 'Acme Streaming', createdAt: '2026-11-01T10:00:00Z' };

export function user(over: Partial<User> = {}): User {
  return {
    id: 'usr_1',
    accountId: account.id,
    email: 'ada@acme.test',
    name: 'Ada Lovelace',
    role: 'owner',
    createdAt: '2026-11-01T10:00:00Z',
    updatedAt: '2026-11-01T10:00:00Z',
    ...over,
  };
}

export function session(u: User = user(), accessToken = 'jwt-1'): SessionResponse {
  return { user: u, account, accessToken, accessTokenExpiresAt: '2099-01-01T00:00:00Z' };
}

export function token(over: Partial<Token> = {}): Token {
  return {
    id: 'tok_1',
    name: 'ci',
    prefix: 'orb_ab12',
    role: 'developer',
    createdAt: '2026-11-02T10:00:00Z',
    ...over,
  };
}

export function spec(over: Partial<Spec> = {}): Spec {
  return {
    specCode: 'rmq.s1.small',
    edition: 'standard',
    maxTps: 1000,
    maxTopics: 50,
    maxGroups: 100,
    storageGb: 100,
    pricePerHour: 0.1,
    pricePerMonth: 73,
    pricePerMillionRequests: 0.5,
    pricePerGbHour: 0.0002,
    ...over,
  };
}

export function instance(over: Partial<Instance> = {}): Instance {
  return {
    instanceId: 'ins_1',
    instanceName: 'orders',
    specCode: 'rmq.s1.small',
    status: 'RUNNING',
    messageRetentionHours: 72,
    flushMode: 'async',
    remark: '',
    endpoint: '127.0.0.1:18081',
    createdAt: '2026-11-21T10:00:00Z',
    updatedAt: '2026-11-21T10:00:00Z',
    spec: spec(),
    ...over,
  };
}

export function topic(over: Partial<Topic> = {}): Topic {
  return {
    instanceId: 'ins_1',
    topicName: 'orders-created',
    messageType: 'NORMAL',
    queueCount: 8,
    maxSendTps: 0,
    remark: '',
    createdAt: '2026-11-21T10:00:00Z',
    updatedAt: '2026-11-21T10:00:00Z',
    ...over,
  };
}

export function group(over: Partial<ConsumerGroup> = {}): ConsumerGroup {
  return {
    instanceId: 'ins_1',
    groupId: 'billing',
    deliveryOrderType: 'Concurrently',
    consumeRetryPolicy: { retryPolicy: 'DefaultRetryPolicy', maxRetryTimes: 16, fixedIntervalRetryTime: 0 },
    maxReceiveTps: 0,
    remark: '',
    createdAt: '2026-11-21T10:00:00Z',
    updatedAt: '2026-11-21T10:00:00Z',
    ...over,
  };
}
