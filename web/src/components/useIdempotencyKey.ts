import { useCallback, useState } from 'react';
import { isApiError } from '../api/problem';
import { uuid } from '../lib/ids';

/**
 * One Idempotency-Key per user-initiated create. The same key is sent again
 * when the user clicks twice or retries after a network error or 5xx, so the
 * server creates once; after success or a 4xx (the input will change) the
 * next attempt gets a fresh key.
 */
export function useIdempotencyKey() {
  const [key, setKey] = useState(uuid);
  const renew = useCallback(() => setKey(uuid()), []);
  const settle = useCallback(
    (error: unknown) => {
      if (!error || (isApiError(error) && error.status >= 400 && error.status < 500)) renew();
    },
    [renew],
  );
  return { key, renew, settle };
}
