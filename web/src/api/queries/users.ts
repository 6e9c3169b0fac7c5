import { keepPreviousData, queryOptions, type QueryClient } from '@tanstack/react-query';
import { api, must } from '../client';
import type { CreateUserBody, UpdateUserBody } from '../types';
import { auditKey, meKey, usersKey } from './keys';

export function usersQuery(page: { pageSize: number; pageToken?: string }) {
  return queryOptions({
    queryKey: [...usersKey, 'list', page],
    queryFn: async ({ signal }) =>
      must(await api.GET('/api/v1/users', { params: { query: page }, signal })),
    placeholderData: keepPreviousData,
  });
}

async function invalidate(queryClient: QueryClient) {
  // A change to users is also an audit event, and may be a change to me.
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: usersKey }),
    queryClient.invalidateQueries({ queryKey: meKey }),
    queryClient.invalidateQueries({ queryKey: auditKey }),
  ]);
}

export function createUserMutation(queryClient: QueryClient) {
  return {
    mutationFn: async ({ body, idempotencyKey }: { body: CreateUserBody; idempotencyKey: string }) =>
      must(
        await api.POST('/api/v1/users', {
          body,
          headers: { 'Idempotency-Key': idempotencyKey },
        }),
      ),
    onSuccess: () => invalidate(queryClient),
  };
}

export function updateUserMutation(queryClient: QueryClient) {
  return {
    mutationFn: async ({ userId, body }: { userId: string; body: UpdateUserBody }) =>
      must(
        await api.PATCH('/api/v1/users/{userId}', { params: { path: { userId } }, body }),
      ),
    onSettled: () => invalidate(queryClient),
  };
}

export function deleteUserMutation(queryClient: QueryClient) {
  return {
    mutationFn: async (userId: string) => {
      await api.DELETE('/api/v1/users/{userId}', { params: { path: { userId } } });
    },
    onSettled: () => invalidate(queryClient),
  };
}
