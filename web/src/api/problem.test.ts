import { describe, expect, it } from 'vitest';
import { ApiError, errorMessage, problemFromResponse } from './problem';

function res(body: unknown, status: number, headers: Record<string, string> = {}) {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/problem+json', ...headers },
  });
}

describe('problemFromResponse', () => {
  it('maps every problem+json field', async () => {
    const e = await problemFromResponse(
      res(
        {
          type: '/problems/validation_failed',
          title: 'Validation failed',
          status: 400,
          detail: 'The request has invalid fields.',
          instance: '/api/v1/users',
          code: 'validation_failed',
          requestId: 'req-123',
          errors: [{ field: 'email', message: 'is already taken' }],
        },
        400,
      ),
    );
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({
      status: 400,
      code: 'validation_failed',
      title: 'Validation failed',
      detail: 'The request has invalid fields.',
      requestId: 'req-123',
      errors: [{ field: 'email', message: 'is already taken' }],
    });
  });

  it('accepts huma-style locations and request_id', async () => {
    const e = await problemFromResponse(
      res({ title: 'Bad Request', status: 400, request_id: 'r9', errors: [{ location: 'body.accountName', message: 'required' }] }, 400),
    );
    expect(e.requestId).toBe('r9');
    expect(e.errors).toEqual([{ field: 'accountName', message: 'required' }]);
  });

  it('falls back to the status and X-Request-Id for a body that is not JSON', async () => {
    const e = await problemFromResponse(res('<html>bad gateway</html>', 502, { 'X-Request-Id': 'hdr-1' }));
    expect(e).toMatchObject({ status: 502, code: 'internal_error', title: 'Server error', requestId: 'hdr-1', errors: [] });
  });

  it('reads Retry-After for throttled logins', async () => {
    const e = await problemFromResponse(res({ title: 'Too Many Requests', status: 429, detail: 'Too many attempts.' }, 429, { 'Retry-After': '30' }));
    expect(e.retryAfter).toBe(30);
    expect(errorMessage(e)).toBe('Too many attempts. Try again in 30s.');
  });
});
