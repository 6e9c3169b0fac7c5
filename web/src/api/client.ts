// The typed API client. Every call goes through one middleware that
//  - adds the session's bearer token,
//  - on a 401 refreshes the session once and retries the request,
//  - turns every non-2xx response into a thrown ApiError (fail closed: a 403
//    with a JSON body must never look like an empty list).
import createClient, { type Middleware } from 'openapi-fetch';
import { apiBaseUrl } from './base';
import { ApiError, networkError, problemFromResponse } from './problem';
import type { paths } from './schema.gen';
import { clearSession, getAccessToken, refreshSession } from './session';

// Auth endpoints answer 401 for bad credentials; they never refresh.
const noRefresh = /\/auth\/(login|signup|refresh|logout)$/;

function withToken(request: Request, token: string | null): Request {
  if (token) request.headers.set('Authorization', `Bearer ${token}`);
  return request;
}

export function authMiddleware(fetchImpl: (r: Request) => Promise<Response>): Middleware {
  // Untouched copies of outgoing requests, for the one retry after a refresh
  // (fetch consumes the body of the original).
  const pending = new Map<string, Request>();
  return {
    onRequest({ request, id }) {
      withToken(request, getAccessToken());
      pending.set(id, request.clone());
      return request;
    },
    async onResponse({ request, response, id }) {
      const copy = pending.get(id);
      pending.delete(id);
      if (response.ok) return response;
      if (response.status === 401 && copy && !noRefresh.test(new URL(request.url).pathname)) {
        const s = await refreshSession();
        if (s) {
          const retried = await fetchImpl(withToken(copy, s.accessToken));
          if (retried.ok) return retried;
          if (retried.status === 401) clearSession();
          throw await problemFromResponse(retried);
        }
        // refreshSession has cleared the session; the guard redirects to /login.
      }
      throw await problemFromResponse(response);
    },
    onError({ error, id }) {
      pending.delete(id);
      if (error instanceof ApiError) return error;
      return networkError(error);
    },
  };
}

export function createApiClient(fetchImpl: (r: Request) => Promise<Response> = (r) => globalThis.fetch(r)) {
  const client = createClient<paths>({
    baseUrl: apiBaseUrl(),
    credentials: 'same-origin',
    fetch: fetchImpl,
  });
  client.use(authMiddleware(fetchImpl));
  return client;
}

export type ApiClient = ReturnType<typeof createApiClient>;

export const api: ApiClient = createApiClient();

/** Returns the body of a 2xx response that must have one. */
export function must<T>(r: { data?: T; response: Response }): T {
  if (r.data === undefined) {
    throw new ApiError({ status: r.response.status, detail: 'The server sent an empty response.' });
  }
  return r.data;
}
