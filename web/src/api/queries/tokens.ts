import { keepPreviousData, queryOptions, type QueryClient } from '@tanstack/react-query';
import { api, must } from '../client';
import type { CreateTokenBody } from '../types';
import { auditKey, tokensKey } from './keys';

export function tokensQuery(page: { pageSize: number; pageToken?: string }) {
  return queryOptions({
    queryKey: [...tokensKey, 'list', page],
    queryFn: async ({ signal }) =>
      must(await api.GET('/api/v1/tokens', { params: { query: page }, signal })),
    placeholderData: keepPreviousData,
  });
}

async function invalidate(queryClient: QueryClient) {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: tokensKey }),
    queryClient.invalidateQueries({ queryKey: auditKey }),
  ]);
}

export function createTokenMutation(queryClient: QueryClient) {
  return {
    mutationFn: async ({ body, idempotencyKey }: { body: CreateTokenBody; idempotencyKey: string }) =>
      must(
        await api.POST('/api/v1/tokens', {
          body,
          headers: { 'Idempotency-Key': idempotencyKey },
        }),
      ),
    onSuccess: () => invalidate(queryClient),
  };
}

export function revokeTokenMutation(queryClient: QueryClient) {
  return {
    mutationFn: async (tokenId: string) => {
      await api.DELETE('/api/v1/tokens/{tokenId}', { params: { path: { tokenId } } });
    },
    onSettled: () => invalidate(queryClient),
  };
}
