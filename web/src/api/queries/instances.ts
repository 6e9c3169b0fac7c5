import { keepPreviousData, queryOptions, type QueryClient } from '@tanstack/react-query';
import { pollWhile } from '../../lib/instanceStatus';
import { api, must } from '../client';
import type { CreateInstanceBody, Instance, UpdateInstanceBody } from '../types';
import { auditKey, instancesKey, specsKey } from './keys';

export function specsQuery() {
  return queryOptions({
    queryKey: [...specsKey, 'list'],
    // The catalogue is short and changes with releases, not while you look.
    queryFn: async ({ signal }) =>
      must(await api.GET('/api/v1/specs', { params: { query: { pageSize: 100 } }, signal })),
    staleTime: 5 * 60_000,
  });
}

export function instancesQuery(page: { pageSize: number; pageToken?: string }) {
  return queryOptions({
    queryKey: [...instancesKey, 'list', page],
    queryFn: async ({ signal }) =>
      must(await api.GET('/api/v1/instances', { params: { query: page }, signal })),
    placeholderData: keepPreviousData,
    // Instances change state on their own (the reconciler); keep watching
    // while any on this page is on its way somewhere.
    refetchInterval: (q) => pollWhile((q.state.data?.items ?? []).map((i) => i.status)),
  });
}

export function instanceQuery(instanceId: string) {
  return queryOptions({
    queryKey: [...instancesKey, 'detail', instanceId],
    queryFn: async ({ signal }) =>
      must(await api.GET('/api/v1/instances/{instanceId}', { params: { path: { instanceId } }, signal })),
    refetchInterval: (q) => (q.state.error ? false : pollWhile([q.state.data?.status])),
  });
}

async function invalidate(queryClient: QueryClient) {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: instancesKey }),
    queryClient.invalidateQueries({ queryKey: auditKey }),
  ]);
}

// A mutation answers with the instance in its new (often transitional)
// state: show that at once, then let the queries poll.
function remember(queryClient: QueryClient, i: Instance | undefined) {
  if (i?.instanceId) queryClient.setQueryData(instanceQuery(i.instanceId).queryKey, i);
}

export function createInstanceMutation(queryClient: QueryClient) {
  return {
    mutationFn: async ({ body, idempotencyKey }: { body: CreateInstanceBody; idempotencyKey: string }) =>
      must(
        await api.POST('/api/v1/instances', {
          body,
          headers: { 'Idempotency-Key': idempotencyKey },
        }),
      ),
    onSuccess: async (i: Instance) => {
      remember(queryClient, i);
      await invalidate(queryClient);
    },
  };
}

export function updateInstanceMutation(queryClient: QueryClient) {
  return {
    mutationFn: async ({ instanceId, body }: { instanceId: string; body: UpdateInstanceBody }) =>
      must(await api.PATCH('/api/v1/instances/{instanceId}', { params: { path: { instanceId } }, body })),
    onSuccess: (i: Instance) => remember(queryClient, i),
    onSettled: () => invalidate(queryClient),
  };
}

export function startInstanceMutation(queryClient: QueryClient) {
  return {
    mutationFn: async (instanceId: string) =>
      must(await api.POST('/api/v1/instances/{instanceId}/start', { params: { path: { instanceId } } })),
    onSuccess: (i: Instance) => remember(queryClient, i),
    onSettled: () => invalidate(queryClient),
  };
}

export function stopInstanceMutation(queryClient: QueryClient) {
  return {
    mutationFn: async (instanceId: string) =>
      must(await api.POST('/api/v1/instances/{instanceId}/stop', { params: { path: { instanceId } } })),
    onSuccess: (i: Instance) => remember(queryClient, i),
    onSettled: () => invalidate(queryClient),
  };
}

export function deleteInstanceMutation(queryClient: QueryClient) {
  return {
    mutationFn: async (instanceId: string) => {
      // 202 with the instance in DELETING, or an empty body: either is fine.
      const r = await api.DELETE('/api/v1/instances/{instanceId}', { params: { path: { instanceId } } });
      return r.data as Instance | undefined;
    },
    onSuccess: (i: Instance | undefined) => remember(queryClient, i),
    onSettled: () => invalidate(queryClient),
  };
}
