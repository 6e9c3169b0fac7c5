import { PlusOutlined, ReloadOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Empty, Flex, Input, Table, Tag, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../../api/problem';
import { deleteGroupMutation, groupLagQuery, groupsQuery } from '../../api/queries/groups';
import type { ConsumerGroup, LagPoint } from '../../api/types';
import { createdColumn, rowActionsColumn } from '../../components/tableColumns';
import { CursorPager, useCursorPaging } from '../../components/CursorPager';
import { QueryError } from '../../components/QueryError';
import { Sparkline } from '../../components/Sparkline';
import { formatCount } from '../../lib/money';
import { GroupFormModal } from './GroupFormModal';

/** The lag values of a trend, oldest first; a server without trends gives none. */
export function lagValues(trend: readonly LagPoint[] | undefined): number[] {
  return (trend ?? []).map((p) => p.lag);
}

/** The group's total lag and its trend, fetched per row from the lag endpoint. */
export function LagCell(props: { instanceId: string; groupId: string }) {
  const lag = useQuery(groupLagQuery(props.instanceId, props.groupId));
  if (lag.isError) {
    return (
      <Tooltip title={errorMessage(lag.error)}>
        <Typography.Text type="secondary">—</Typography.Text>
      </Tooltip>
    );
  }
  if (!lag.data) return <Typography.Text type="secondary">…</Typography.Text>;
  const warn = lag.data.totalLag > 0;
  return (
    <Flex gap={8} align="center" justify="flex-end">
      <Typography.Text type={warn ? 'warning' : 'secondary'}>
        <Sparkline
          values={lagValues(lag.data.trend)}
          label="Lag over the last hour"
          format={formatCount}
          testId={`lag-trend-${props.groupId}`}
        />
      </Typography.Text>
      <Typography.Text data-testid={`lag-${props.groupId}`} type={warn ? 'warning' : undefined}>
        {formatCount(lag.data.totalLag)}
      </Typography.Text>
    </Flex>
  );
}

export function retrySummary(g: ConsumerGroup): string {
  const p = g.consumeRetryPolicy;
  const how = p.retryPolicy === 'FixedRetryPolicy' ? `every ${p.fixedIntervalRetryTime}s` : 'backing off';
  return `${p.maxRetryTimes} retries, ${how}`;
}

export function GroupsTab(props: { instanceId: string; canWrite: boolean }) {
  const { instanceId, canWrite } = props;
  const queryClient = useQueryClient();
  const { message, modal } = App.useApp();
  const paging = useCursorPaging();
  const [name, setName] = useState('');
  const groups = useQuery(groupsQuery(instanceId, { pageSize: paging.pageSize, pageToken: paging.pageToken }, name));
  const remove = useMutation(deleteGroupMutation(queryClient, instanceId));
  const [form, setForm] = useState<{ group: ConsumerGroup | null } | null>(null);

  const confirmDelete = (g: ConsumerGroup) =>
    modal.confirm({
      title: `Delete consumer group “${g.groupId}”?`,
      content: 'Its consume progress is lost; consumers using it start over if the group is created again.',
      okText: 'Delete group',
      okButtonProps: { danger: true },
      onOk: () =>
        remove.mutateAsync(g.groupId).then(
          () => void message.success(`Deleted group “${g.groupId}”.`),
          (e: unknown) => void message.error(errorMessage(e)),
        ),
    });

  const columns = [
    {
      title: 'Group ID',
      dataIndex: 'groupId',
      key: 'id',
      render: (id: string, g: ConsumerGroup) => (
        <>
          <Link to={`/instances/${encodeURIComponent(instanceId)}/groups/${encodeURIComponent(id)}`}>{id}</Link>
          {g.remark && <Typography.Text type="secondary"> · {g.remark}</Typography.Text>}
        </>
      ),
    },
    { title: 'Delivery order', dataIndex: 'deliveryOrderType', key: 'order', render: (v: string) => <Tag>{v}</Tag> },
    { title: 'Retry policy', key: 'retry', render: (_: unknown, g: ConsumerGroup) => retrySummary(g) },
    {
      title: 'Lag',
      key: 'lag',
      align: 'right' as const,
      render: (_: unknown, g: ConsumerGroup) => <LagCell instanceId={instanceId} groupId={g.groupId} />,
    },
    createdColumn(),
    ...(canWrite ? [rowActionsColumn((g: ConsumerGroup) => g.groupId, (g: ConsumerGroup) => setForm({ group: g }), confirmDelete)] : []),
  ];

  return (
    <>
      <Flex justify="space-between" gap={12} wrap style={{ marginBottom: 16 }}>
        <Input.Search
          aria-label="Filter groups by ID"
          placeholder="Group ID"
          allowClear
          onSearch={(v) => {
            setName(v.trim());
            paging.reset();
          }}
          style={{ width: 240 }}
        />
        <Flex gap={8}>
          <Tooltip title="Refresh">
            <Button
              aria-label="Refresh groups"
              icon={<ReloadOutlined />}
              loading={groups.isFetching}
              onClick={() => void queryClient.invalidateQueries({ queryKey: ['consumerGroups', instanceId] })}
            />
          </Tooltip>
          {canWrite && (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setForm({ group: null })}>
              Create group
            </Button>
          )}
        </Flex>
      </Flex>
      {groups.isError ? (
        <QueryError error={groups.error} what="consumer groups" onRetry={() => void groups.refetch()} />
      ) : (
        <>
          <Table<ConsumerGroup>
            rowKey="groupId"
            size="middle"
            loading={groups.isPending}
            dataSource={groups.data?.items ?? []}
            columns={columns}
            pagination={false}
            locale={{ emptyText: <Empty description={name ? 'No groups match' : 'No consumer groups yet'} /> }}
          />
          <CursorPager
            paging={paging}
            nextPageToken={groups.data?.nextPageToken}
            itemCount={groups.data?.items.length ?? 0}
            loading={groups.isFetching}
          />
        </>
      )}
      {canWrite && (
        <GroupFormModal
          instanceId={instanceId}
          open={form !== null}
          group={form?.group ?? null}
          onClose={() => setForm(null)}
          onSaved={(id) => void message.success(form?.group ? 'Saved.' : `Created group “${id}”.`)}
        />
      )}
    </>
  );
}
