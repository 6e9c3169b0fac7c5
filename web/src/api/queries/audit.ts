import { keepPreviousData, queryOptions } from '@tanstack/react-query';
import { api, must } from '../client';
import type { AuditQuery } from '../types';
import { auditKey } from './keys';

export function auditEventsQuery(query: AuditQuery) {
  return queryOptions({
    queryKey: [...auditKey, 'list', query],
    queryFn: async ({ signal }) =>
      must(await api.GET('/api/v1/auditEvents', { params: { query }, signal })),
    placeholderData: keepPreviousData,
  });
}
