// ApiError is what every failed API call becomes: the client never hands a
// non-2xx body to the UI as data (it fails closed).

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly requestId: string | undefined;
  readonly errors: FieldError[];
  /** Seconds to wait before retrying, from Retry-After (429, 503). */
  readonly retryAfter: number | undefined;

  constructor(init: {
    status: number;
    code?: string;
    title?: string;
    detail?: string;
    requestId?: string;
    errors?: FieldError[];
    retryAfter?: number;
  }) {
    const title = init.title || defaultTitle(init.status);
    super(init.detail || title);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code || codeForStatus(init.status);
    this.title = title;
    this.detail = init.detail || '';
    this.requestId = init.requestId || undefined;
    this.errors = init.errors ?? [];
    this.retryAfter = init.retryAfter;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

function codeForStatus(status: number): string {
  switch (status) {
    case 0:
      return 'network_error';
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 422:
      return 'quota_exceeded';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return status >= 500 ? 'internal_error' : 'error';
  }
}

function defaultTitle(status: number): string {
  if (status === 0) return 'Network error';
  switch (status) {
    case 400:
      return 'Bad request';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'Not found';
    case 409:
      return 'Conflict';
    case 422:
      return 'Quota exceeded';
    case 429:
      return 'Too many requests';
    case 503:
      return 'Service unavailable';
    default:
      return status >= 500 ? 'Server error' : `Request failed (${status})`;
  }
}

function asString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

// The field of a validation error. Orbit sends `field`; a huma-style
// `location` ("body.email") is accepted too and reduced to the field path.
function fieldOf(e: Record<string, unknown>): string {
  const f = asString(e.field) ?? asString(e.location) ?? '';
  return f.replace(/^body\./, '').replace(/^(query|path|header)\./, '');
}

/** Builds an ApiError from a non-2xx response, whatever its body is. */
export async function problemFromResponse(response: Response): Promise<ApiError> {
  let body: unknown;
  const text = await response.text().catch(() => '');
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  const p = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const rawErrors = Array.isArray(p.errors) ? p.errors : [];
  const errors: FieldError[] = rawErrors
    .filter((e): e is Record<string, unknown> => !!e && typeof e === 'object')
    .map((e) => ({ field: fieldOf(e), message: asString(e.message) ?? 'is invalid' }));
  const retryHeader = response.headers.get('Retry-After');
  const retryAfter = retryHeader && /^\d+$/.test(retryHeader) ? Number(retryHeader) : undefined;
  return new ApiError({
    status: response.status,
    code: asString(p.code),
    title: asString(p.title),
    detail: asString(p.detail),
    requestId:
      asString(p.requestId) ?? asString(p.request_id) ?? asString(response.headers.get('X-Request-Id')),
    errors,
    retryAfter,
  });
}

export function networkError(cause: unknown): ApiError {
  const detail = cause instanceof Error ? cause.message : 'The server could not be reached.';
  return new ApiError({ status: 0, detail: `The server could not be reached (${detail}).` });
}

/** A short human sentence for an error of any kind. */
export function errorMessage(e: unknown): string {
  if (isApiError(e)) {
    if (e.status === 429 && e.retryAfter) return `${e.detail || e.title} Try again in ${e.retryAfter}s.`;
    return e.detail || e.title;
  }
  if (e instanceof Error) return e.message;
  return 'Something went wrong.';
}
