import { queryOptions } from '@tanstack/react-query';
import { api, must } from '../client';
import { meKey } from './keys';

export function meQuery() {
  return queryOptions({
    queryKey: meKey,
    queryFn: async ({ signal }) => must(await api.GET('/api/v1/me', { signal })),
    staleTime: 60_000,
  });
}
