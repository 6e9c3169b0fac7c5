// A tiny fetch stub for tests: routes "METHOD /path" to handlers and records
// every request. Typed fixtures come from the generated schema's types.
import { vi } from 'vitest';
import type { Problem } from '../api/types';

export type Handler = (req: Request, url: URL) => Response | Promise<Response>;

export interface FetchMock {
  calls: Request[];
  on(route: string, handler: Handler): FetchMock;
  callsTo(route: string): Request[];
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export function problem(
  status: number,
  p: Partial<Omit<Problem, 'status'>> = {},
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ type: `/problems/${p.code ?? 'x'}`, status, ...p }), {
    status,
    headers: { 'Content-Type': 'application/problem+json', ...headers },
  });
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

function routeOf(req: Request, url: URL): string {
  return `${req.method} ${url.pathname}`;
}

/** Installs the stub as globalThis.fetch; unknown routes answer 404 problem. */
export function mockFetch(): FetchMock {
  const handlers = new Map<string, Handler>();
  const calls: Request[] = [];
  const impl = async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(input, init);
    calls.push(req.clone());
    const url = new URL(req.url);
    const h = handlers.get(routeOf(req, url));
    if (!h) return problem(404, { title: 'Not Found', detail: `no mock for ${routeOf(req, url)}` });
    return h(req, url);
  };
  vi.stubGlobal('fetch', vi.fn(impl));
  const m: FetchMock = {
    calls,
    on(route, handler) {
      handlers.set(route, handler);
      return m;
    },
    callsTo(route) {
      return calls.filter((r) => routeOf(r, new URL(r.url)) === route);
    },
  };
  return m;
}
