// The browser session: the short-lived access token (a JWT) lives only in
// memory, never in localStorage. The refresh token is an httpOnly cookie
// scoped to /api/v1/auth that the browser sends by itself.
import createClient from 'openapi-fetch';
import { apiBaseUrl } from './base';
import type { paths } from './schema.gen';
import type { SessionResponse } from './types';

/** Why a session ended: the user logged out, or it could not be renewed. */
export type EndReason = 'logout' | 'expired';

type Listener = (s: SessionResponse | null, reason?: EndReason) => void;

let current: SessionResponse | null = null;
const listeners = new Set<Listener>();
let inflight: Promise<SessionResponse | null> | null = null;

export function getSession(): SessionResponse | null {
  return current;
}

export function getAccessToken(): string | null {
  return current?.accessToken ?? null;
}

export function setSession(s: SessionResponse): void {
  current = s;
  for (const l of listeners) l(current);
}

/** Forgets the session; subscribers (the auth provider) send the user to /login. */
export function clearSession(reason: EndReason = 'expired'): void {
  current = null;
  for (const l of listeners) l(null, reason);
}

export function subscribeSession(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

// A client without the auth middleware: refresh must never trigger refresh.
const bare = createClient<paths>({
  baseUrl: apiBaseUrl(),
  credentials: 'same-origin',
  fetch: (r) => globalThis.fetch(r),
});

/**
 * Exchanges the refresh cookie for a new access token. Concurrent callers
 * share one request (a page firing five queries on a 401 refreshes once).
 * Resolves to null when there is no valid session.
 */
export function refreshSession(): Promise<SessionResponse | null> {
  inflight ??= (async () => {
    try {
      const { data, response } = await acrossTabs(() => bare.POST('/api/v1/auth/refresh'));
      if (!response.ok || !data) {
        clearSession();
        return null;
      }
      setSession(data);
      return data;
    } catch {
      // The server is unreachable; keep no session rather than guess.
      clearSession();
      return null;
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

// The server rotates the refresh token on every use and revokes the whole
// session when an old one is presented again. Two tabs refreshing at once
// would do exactly that, so refreshes take a lock shared by all tabs of the
// origin; the second tab then sends the cookie the first one received.
// (Web Locks exist only in secure contexts; elsewhere tabs race as before.)
function acrossTabs<T>(fn: () => Promise<T>): Promise<T> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return fn();
  return locks.request('orbit-session-refresh', fn) as Promise<T>;
}
