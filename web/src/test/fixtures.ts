import type { Account, SessionResponse, Token, User } from '../api/types';

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
