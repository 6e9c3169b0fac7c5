import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { json, mockFetch, noContent, problem } from '../test/fetchMock';
import { session, user } from '../test/fixtures';
import { createApiClient } from './client';
import { ApiError } from './problem';
import { clearSession, getAccessToken, refreshSession, setSession, subscribeSession } from './session';

const api = createApiClient();

beforeEach(() => clearSession());
afterEach(() => {
  clearSession();
  vi.unstubAllGlobals();
});

describe('api client', () => {
  it('sends the bearer token of the session', async () => {
    const m = mockFetch().on('GET /api/v1/me', () => json({ user: user(), account: session().account }));
    setSession(session(user(), 'jwt-A'));
    const { data } = await api.GET('/api/v1/me');
    expect(data?.user.email).toBe('ada@acme.test');
    expect(m.calls[0]!.headers.get('Authorization')).toBe('Bearer jwt-A');
  });

  it('fails closed: a 403 with a JSON body is an ApiError, not data', async () => {
    mockFetch().on('GET /api/v1/users', () =>
      problem(403, { title: 'Forbidden', detail: 'viewers cannot list users', code: 'forbidden', requestId: 'r1' }),
    );
    setSession(session());
    const err = await api.GET('/api/v1/users').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 403, code: 'forbidden', requestId: 'r1' });
  });

  it('on a 401 refreshes once and retries with the new token', async () => {
    const m = mockFetch()
      .on('GET /api/v1/me', (req) =>
        req.headers.get('Authorization') === 'Bearer jwt-new'
          ? json({ user: user(), account: session().account })
          : problem(401, { title: 'Unauthorized' }),
      )
      .on('POST /api/v1/auth/refresh', () => json(session(user(), 'jwt-new')));
    setSession(session(user(), 'jwt-old'));
    const { data } = await api.GET('/api/v1/me');
    expect(data?.user.id).toBe('usr_1');
    expect(m.callsTo('POST /api/v1/auth/refresh')).toHaveLength(1);
    expect(m.callsTo('POST /api/v1/auth/refresh')[0]!.credentials).toBe('same-origin');
    expect(m.callsTo('GET /api/v1/me')).toHaveLength(2);
    expect(getAccessToken()).toBe('jwt-new');
  });

  it('retries a POST with its body intact', async () => {
    const bodies: string[] = [];
    mockFetch()
      .on('POST /api/v1/tokens', async (req) => {
        bodies.push(await req.text());
        return req.headers.get('Authorization') === 'Bearer jwt-new'
          ? json({ token: { id: 't', name: 'ci', prefix: 'p', role: 'viewer', createdAt: '2026-01-01T00:00:00Z' }, secret: 's' }, 201)
          : problem(401);
      })
      .on('POST /api/v1/auth/refresh', () => json(session(user(), 'jwt-new')));
    setSession(session(user(), 'jwt-old'));
    const { data } = await api.POST('/api/v1/tokens', { body: { name: 'ci' }, headers: { 'Idempotency-Key': 'k1' } });
    expect(data?.secret).toBe('s');
    expect(bodies).toEqual(['{"name":"ci"}', '{"name":"ci"}']);
  });

  it('shares one refresh between concurrent 401s', async () => {
    let refreshes = 0;
    mockFetch()
      .on('GET /api/v1/users', (req) =>
        req.headers.get('Authorization') === 'Bearer jwt-new' ? json({ items: [] }) : problem(401),
      )
      .on('POST /api/v1/auth/refresh', async () => {
        refreshes++;
        await new Promise((r) => setTimeout(r, 10));
        return json(session(user(), 'jwt-new'));
      });
    setSession(session(user(), 'jwt-old'));
    await Promise.all([api.GET('/api/v1/users'), api.GET('/api/v1/users'), api.GET('/api/v1/users')]);
    expect(refreshes).toBe(1);
  });

  it('ends the session when the refresh fails', async () => {
    const m = mockFetch()
      .on('GET /api/v1/me', () => problem(401, { title: 'Unauthorized', detail: 'token expired' }))
      .on('POST /api/v1/auth/refresh', () => problem(401, { title: 'Unauthorized' }));
    setSession(session());
    const seen: unknown[] = [];
    const unsubscribe = subscribeSession((s) => seen.push(s));
    const err = await api.GET('/api/v1/me').catch((e: unknown) => e);
    unsubscribe();
    expect(err).toMatchObject({ status: 401 });
    expect(getAccessToken()).toBeNull();
    expect(seen).toEqual([null]);
    expect(m.callsTo('GET /api/v1/me')).toHaveLength(1);
  });

  it('does not refresh when login itself answers 401', async () => {
    const m = mockFetch().on('POST /api/v1/auth/login', () =>
      problem(401, { title: 'Unauthorized', detail: 'invalid email or password' }),
    );
    const err = await api.POST('/api/v1/auth/login', { body: { email: 'a@b.c', password: 'x' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 401, detail: 'invalid email or password' });
    expect(m.callsTo('POST /api/v1/auth/refresh')).toHaveLength(0);
  });

  it('turns a network failure into an ApiError with status 0', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new TypeError('fetch failed'))));
    const err = await api.GET('/api/v1/me').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 0, code: 'network_error' });
  });

  it('returns no data for 204', async () => {
    mockFetch().on('DELETE /api/v1/tokens/tok_1', () => noContent());
    setSession(session());
    const r = await api.DELETE('/api/v1/tokens/{tokenId}', { params: { path: { tokenId: 'tok_1' } } });
    expect(r.response.status).toBe(204);
  });
});

describe('session refresh', () => {
  it('holds a lock shared by all tabs while it refreshes', async () => {
    const names: string[] = [];
    let held = false;
    vi.stubGlobal('navigator', {
      locks: {
        request: async (name: string, fn: () => Promise<unknown>) => {
          names.push(name);
          held = true;
          try {
            return await fn();
          } finally {
            held = false;
          }
        },
      },
    });
    let heldDuringRequest = false;
    mockFetch().on('POST /api/v1/auth/refresh', () => {
      heldDuringRequest = held;
      return json(session(user(), 'jwt-locked'));
    });
    expect((await refreshSession())?.accessToken).toBe('jwt-locked');
    expect(names).toEqual(['orbit-session-refresh']);
    expect(heldDuringRequest).toBe(true);
  });
});
