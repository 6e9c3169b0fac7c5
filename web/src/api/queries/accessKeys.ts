import { keepPreviousData, queryOptions, type QueryClient } from '@tanstack/react-query';
import { api, must } from '../client';
import type { CreateAccessKeyBody, UpdateAccessKeyBody } from '../types';
import { accessKeysKey, auditKey } from './keys';

export function accessKeysQuery(instanceId: string, page: { pageSize: number; pageToken?: string }) {
  return queryOptions({
    queryKey: [...accessKeysKey, instanceId, 'list', page],
    queryFn: async ({ signal }) =>
      must(
        await api.GET('/api/v1/instances/{instanceId}/accessKeys', {
          params: { path: { instanceId }, query: page },
          signal,
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

async function invalidate(queryClient: QueryClient, instanceId: string) {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: [...accessKeysKey, instanceId] }),
    queryClient.invalidateQueries({ queryKey: auditKey }),
  ]);
}

export function createAccessKeyMutation(queryClient: QueryClient, instanceId: string) {
  return {
    mutationFn: async (body: CreateAccessKeyBody) =>
      must(await api.POST('/api/v1/instances/{instanceId}/accessKeys', { params: { path: { instanceId } }, body })),
    onSuccess: () => invalidate(queryClient, instanceId),
  };
}

export function updateAccessKeyMutation(queryClient: QueryClient, instanceId: string) {
  return {
    mutationFn: async ({ accessKey, body }: { accessKey: string; body: UpdateAccessKeyBody }) =>
      must(
        await api.PATCH('/api/v1/instances/{instanceId}/accessKeys/{accessKey}', {
          params: { path: { instanceId, accessKey } },
          body,
        }),
      ),
    onSettled: () => invalidate(queryClient, instanceId),
  };
}

export function deleteAccessKeyMutation(queryClient: QueryClient, instanceId: string) {
  return {
    mutationFn: async (accessKey: string) => {
      await api.DELETE('/api/v1/instances/{instanceId}/accessKeys/{accessKey}', {
        params: { path: { instanceId, accessKey } },
      });
    },
    onSettled: () => invalidate(queryClient, instanceId),
  };
}
