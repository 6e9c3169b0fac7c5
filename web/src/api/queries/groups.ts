import { keepPreviousData, queryOptions, type QueryClient } from '@tanstack/react-query';
import { api, must } from '../client';
import type { ConsumeOffsetReset, CreateConsumerGroupBody, ResetOffsetBody, UpdateConsumerGroupBody } from '../types';
import { auditKey, groupsKey } from './keys';

export function groupsQuery(instanceId: string, page: { pageSize: number; pageToken?: string }, name?: string) {
  return queryOptions({
    queryKey: [...groupsKey, instanceId, 'list', page, name ?? ''],
    queryFn: async ({ signal }) =>
      must(
        await api.GET('/api/v1/instances/{instanceId}/consumerGroups', {
          params: { path: { instanceId }, query: { ...page, ...(name ? { name } : {}) } },
          signal,
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

export function groupQuery(instanceId: string, groupId: string) {
  return queryOptions({
    queryKey: [...groupsKey, instanceId, 'detail', groupId],
    queryFn: async ({ signal }) =>
      must(
        await api.GET('/api/v1/instances/{instanceId}/consumerGroups/{groupId}', {
          params: { path: { instanceId, groupId } },
          signal,
        }),
      ),
  });
}

export function groupLagQuery(instanceId: string, groupId: string) {
  return queryOptions({
    queryKey: [...groupsKey, instanceId, 'lag', groupId],
    queryFn: async ({ signal }) =>
      must(
        await api.GET('/api/v1/instances/{instanceId}/consumerGroups/{groupId}/lag', {
          params: { path: { instanceId, groupId } },
          signal,
        }),
      ),
    // Lag moves while clients run; keep it reasonably fresh.
    refetchInterval: (q) => (q.state.error ? false : 15_000),
  });
}

/** Live data of a group's clients refreshes this often while shown. */
export const clientsRefreshMs = 10_000;

export function groupConnectionsQuery(instanceId: string, groupId: string, page: { pageSize: number; pageToken?: string }) {
  return queryOptions({
    queryKey: [...groupsKey, instanceId, 'connections', groupId, page],
    queryFn: async ({ signal }) =>
      must(
        await api.GET('/api/v1/instances/{instanceId}/consumerGroups/{groupId}/connections', {
          params: { path: { instanceId, groupId }, query: page },
          signal,
        }),
      ),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.error ? false : clientsRefreshMs),
  });
}

export function groupSubscriptionsQuery(instanceId: string, groupId: string) {
  return queryOptions({
    queryKey: [...groupsKey, instanceId, 'subscriptions', groupId],
    queryFn: async ({ signal }) =>
      must(
        await api.GET('/api/v1/instances/{instanceId}/consumerGroups/{groupId}/subscriptions', {
          params: { path: { instanceId, groupId } },
          signal,
        }),
      ),
    refetchInterval: (q) => (q.state.error ? false : clientsRefreshMs),
  });
}

async function invalidate(queryClient: QueryClient, instanceId: string) {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: [...groupsKey, instanceId] }),
    queryClient.invalidateQueries({ queryKey: auditKey }),
  ]);
}

export function createGroupMutation(queryClient: QueryClient, instanceId: string) {
  return {
    mutationFn: async (body: CreateConsumerGroupBody) =>
      must(
        await api.POST('/api/v1/instances/{instanceId}/consumerGroups', { params: { path: { instanceId } }, body }),
      ),
    onSuccess: () => invalidate(queryClient, instanceId),
  };
}

export function updateGroupMutation(queryClient: QueryClient, instanceId: string) {
  return {
    mutationFn: async ({ groupId, body }: { groupId: string; body: UpdateConsumerGroupBody }) =>
      must(
        await api.PATCH('/api/v1/instances/{instanceId}/consumerGroups/{groupId}', {
          params: { path: { instanceId, groupId } },
          body,
        }),
      ),
    onSettled: () => invalidate(queryClient, instanceId),
  };
}

export function deleteGroupMutation(queryClient: QueryClient, instanceId: string) {
  return {
    mutationFn: async (groupId: string) => {
      await api.DELETE('/api/v1/instances/{instanceId}/consumerGroups/{groupId}', {
        params: { path: { instanceId, groupId } },
      });
    },
    onSettled: () => invalidate(queryClient, instanceId),
  };
}

export function resetOffsetMutation(queryClient: QueryClient, instanceId: string, groupId: string) {
  return {
    mutationFn: async ({ topicName, body, dryRun }: { topicName: string; body: ResetOffsetBody; dryRun: boolean }) =>
      must(
        await api.PATCH('/api/v1/instances/{instanceId}/consumerGroups/{groupId}/consumeOffsets/{topicName}', {
          params: { path: { instanceId, groupId, topicName }, query: dryRun ? { dryRun: true } : {} },
          body,
        }),
      ),
    onSuccess: async (r: ConsumeOffsetReset) => {
      if (!r.dryRun) await invalidate(queryClient, instanceId);
    },
  };
}

export function deadLettersQuery(instanceId: string, groupId: string, page: { pageSize: number; pageToken?: string }) {
  return queryOptions({
    queryKey: [...groupsKey, instanceId, 'deadLetters', groupId, page],
    queryFn: async ({ signal }) =>
      must(
        await api.GET('/api/v1/instances/{instanceId}/consumerGroups/{groupId}/deadLetters', {
          params: { path: { instanceId, groupId }, query: page },
          signal,
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

export function resendDeadLettersMutation(queryClient: QueryClient, instanceId: string, groupId: string) {
  return {
    mutationFn: async (messageIds: string[]) =>
      must(
        await api.POST('/api/v1/instances/{instanceId}/consumerGroups/{groupId}/deadLetters/resend', {
          params: { path: { instanceId, groupId } },
          body: { messageIds },
        }),
      ),
    onSettled: () => invalidate(queryClient, instanceId),
  };
}
