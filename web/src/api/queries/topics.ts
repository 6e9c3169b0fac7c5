import { keepPreviousData, queryOptions, type QueryClient } from '@tanstack/react-query';
import { api, must } from '../client';
import type { CreateTopicBody, TopicFilters, UpdateTopicBody } from '../types';
import { auditKey, topicsKey } from './keys';

export function topicsQuery(instanceId: string, page: { pageSize: number; pageToken?: string }, filters: TopicFilters) {
  return queryOptions({
    queryKey: [...topicsKey, instanceId, 'list', page, filters],
    queryFn: async ({ signal }) =>
      must(
        await api.GET('/api/v1/instances/{instanceId}/topics', {
          params: { path: { instanceId }, query: { ...page, ...filters } },
          signal,
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

/** One topic; with the instance RUNNING also its queues' offsets, which move, so it refreshes while shown. */
export function topicQuery(instanceId: string, topicName: string) {
  return queryOptions({
    queryKey: [...topicsKey, instanceId, 'detail', topicName],
    queryFn: async ({ signal }) =>
      must(
        await api.GET('/api/v1/instances/{instanceId}/topics/{topicName}', {
          params: { path: { instanceId, topicName } },
          signal,
        }),
      ),
    refetchInterval: (q) => (q.state.error ? false : 10_000),
  });
}

async function invalidate(queryClient: QueryClient, instanceId: string) {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: [...topicsKey, instanceId] }),
    queryClient.invalidateQueries({ queryKey: auditKey }),
  ]);
}

export function createTopicMutation(queryClient: QueryClient, instanceId: string) {
  return {
    mutationFn: async (body: CreateTopicBody) =>
      must(await api.POST('/api/v1/instances/{instanceId}/topics', { params: { path: { instanceId } }, body })),
    onSuccess: () => invalidate(queryClient, instanceId),
  };
}

export function updateTopicMutation(queryClient: QueryClient, instanceId: string) {
  return {
    mutationFn: async ({ topicName, body }: { topicName: string; body: UpdateTopicBody }) =>
      must(
        await api.PATCH('/api/v1/instances/{instanceId}/topics/{topicName}', {
          params: { path: { instanceId, topicName } },
          body,
        }),
      ),
    onSettled: () => invalidate(queryClient, instanceId),
  };
}

export function deleteTopicMutation(queryClient: QueryClient, instanceId: string) {
  return {
    mutationFn: async (topicName: string) => {
      await api.DELETE('/api/v1/instances/{instanceId}/topics/{topicName}', {
        params: { path: { instanceId, topicName } },
      });
    },
    onSettled: () => invalidate(queryClient, instanceId),
  };
}
