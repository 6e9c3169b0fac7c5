// Domain types, derived from the generated schema so they follow the server's
// OpenAPI document. Only this file knows how the document names things.
import type { components, paths } from './schema.gen';

type Schemas = components['schemas'];

export type User = Schemas['User'];
export type Account = Schemas['Account'];
export type Token = Schemas['Token'];
export type AuditEvent = Schemas['AuditEvent'];
export type Me = Schemas['Me'];
export type SessionResponse = Schemas['Session'];
export type CreatedToken = Schemas['CreatedToken'];
export type Problem = Schemas['Problem'];

export type SignupBody = Schemas['SignUpRequest'];
export type LoginBody = Schemas['LoginRequest'];
export type CreateUserBody = Schemas['CreateUserRequest'];
export type UpdateUserBody = Schemas['UpdateUserRequest'];
export type CreateTokenBody = Schemas['CreateTokenRequest'];

export type Role = User['role'];

export type AuditQuery = NonNullable<paths['/api/v1/auditEvents']['get']['parameters']['query']>;
export type AuditFilters = Omit<AuditQuery, 'pageSize' | 'pageToken'>;

export type Spec = Schemas['Spec'];
export type Instance = Schemas['Instance'];
export type InstanceStatus = Instance['status'];
export type FlushMode = Instance['flushMode'];
export type CreateInstanceBody = Schemas['CreateInstanceRequest'];
export type UpdateInstanceBody = Schemas['UpdateInstanceRequest'];

export type Topic = Schemas['Topic'];
export type MessageType = Topic['messageType'];
export type CreateTopicBody = Schemas['CreateTopicRequest'];
export type UpdateTopicBody = Schemas['UpdateTopicRequest'];
export type TopicFilters = { name?: string; messageType?: MessageType };

export type ConsumerGroup = Schemas['ConsumerGroup'];
export type DeliveryOrderType = ConsumerGroup['deliveryOrderType'];
export type RetryPolicyName = Schemas['ConsumeRetryPolicy']['retryPolicy'];
export type CreateConsumerGroupBody = Schemas['CreateConsumerGroupRequest'];
export type UpdateConsumerGroupBody = Schemas['UpdateConsumerGroupRequest'];
export type GroupLag = Schemas['GroupLag'];
export type QueueLag = Schemas['QueueLag'];

export type AccessKey = Schemas['AccessKey'];
export type AccessKeyPermission = Schemas['AccessKeyPermission'];
export type CreatedAccessKey = Schemas['CreatedAccessKey'];
export type CreateAccessKeyBody = Schemas['CreateAccessKeyRequest'];
export type UpdateAccessKeyBody = Schemas['UpdateAccessKeyRequest'];

export type ResetOffsetBody = Schemas['ResetConsumeOffsetRequest'];
export type ConsumeOffsetReset = Schemas['ConsumeOffsetReset'];
export type QueueReset = Schemas['QueueReset'];

export type DeadLetter = Schemas['DeadLetter'];
export type ResendResult = Schemas['ResendResult'];

export type LagPoint = Schemas['LagPoint'];
export type Connection = Schemas['Connection'];
export type ConnectionList = Schemas['ConnectionList'];
export type ClientType = Connection['clientType'];
export type Subscription = Schemas['Subscription'];
export type GroupSubscriptions = Schemas['GroupSubscriptions'];
export type TopicSubscription = Schemas['TopicSubscription'];
export type SubscriptionVariant = Schemas['SubscriptionVariant'];
export type TopicQueue = Schemas['TopicQueue'];
