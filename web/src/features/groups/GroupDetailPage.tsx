import { ArrowLeftOutlined, DeleteOutlined, EditOutlined, ReloadOutlined, RollbackOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Descriptions, Flex, Result, Skeleton, Statistic, Table, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { errorMessage, isApiError } from '../../api/problem';
import { deleteGroupMutation, groupLagQuery, groupQuery } from '../../api/queries/groups';
import { meQuery } from '../../api/queries/me';
import type { GroupLag, QueueLag } from '../../api/types';
import { PageHeader } from '../../components/PageHeader';
import { QueryError } from '../../components/QueryError';
import { Sparkline } from '../../components/Sparkline';
import { formatDuration, formatRelative, formatTime } from '../../lib/format';
import { formatCount } from '../../lib/money';
import { can } from '../../lib/roles';
import { ConnectionsCard } from './ConnectionsCard';
import { DeadLettersCard } from './DeadLettersCard';
import { GroupFormModal } from './GroupFormModal';
import { lagValues, retrySummary } from './GroupsTab';
import { ResetOffsetModal } from './ResetOffsetModal';
import { SubscriptionsCard } from './SubscriptionsCard';

/** The total lag over the last hour, as large as the card allows. */
function LagTrend(props: { data: GroupLag | undefined }) {
  if (!props.data) return null;
  const values = lagValues(props.data.trend);
  const every = props.data.trendIntervalSeconds;
  return (
    <div style={{ flex: '1 1 320px', minWidth: 240, maxWidth: 640 }}>
      <Typography.Text type="secondary">
        Last hour{every > 0 ? `, sampled every ${formatCount(every)} s` : ''}
      </Typography.Text>
      {values.length < 2 ? (
        <div style={{ height: 48, display: 'flex', alignItems: 'center' }}>
          <Typography.Text type="secondary">Not enough samples yet: the trend fills in while the instance runs.</Typography.Text>
        </div>
      ) : (
        <Typography.Text type={props.data.totalLag > 0 ? 'warning' : undefined} style={{ display: 'block' }}>
          <Sparkline values={values} label="Lag over the last hour" format={formatCount} width={400} height={48} fluid testId="lag-trend" />
        </Typography.Text>
      )}
    </div>
  );
}

export function GroupDetailPage() {
  const { instanceId = '', groupId = '' } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { message, modal } = App.useApp();
  const me = useQuery(meQuery());
  const canWrite = can(me.data?.user.role, 'instances:write');
  const group = useQuery(groupQuery(instanceId, groupId));
  const lag = useQuery(groupLagQuery(instanceId, groupId));
  const remove = useMutation(deleteGroupMutation(queryClient, instanceId));
  const [editOpen, setEditOpen] = useState(false);
  const [resetOpen, setResetOpen] = useState(false);
  const groupsUrl = `/instances/${encodeURIComponent(instanceId)}?tab=groups`;

  const back = (
    <Link to={groupsUrl}>
      <Button icon={<ArrowLeftOutlined />}>Consumer groups</Button>
    </Link>
  );

  if (group.isError) {
    if (isApiError(group.error) && group.error.status === 404) {
      return <Result status="404" title="Consumer group not found" subTitle="It may have been deleted." extra={back} />;
    }
    return (
      <>
        <PageHeader title="Consumer group" extra={back} />
        <QueryError error={group.error} what="this consumer group" onRetry={() => void group.refetch()} />
      </>
    );
  }
  const g = group.data;
  if (!g) {
    return (
      <>
        <PageHeader title="Consumer group" extra={back} />
        <Card>
          <Skeleton active />
        </Card>
      </>
    );
  }

  const confirmDelete = () =>
    modal.confirm({
      title: `Delete consumer group “${g.groupId}”?`,
      content: 'Its consume progress is lost; consumers using it start over if the group is created again.',
      okText: 'Delete group',
      okButtonProps: { danger: true },
      onOk: () =>
        remove.mutateAsync(g.groupId).then(
          () => {
            message.success(`Deleted group “${g.groupId}”.`);
            navigate(groupsUrl);
          },
          (e: unknown) => void message.error(errorMessage(e)),
        ),
    });

  const columns = [
    { title: 'Topic', dataIndex: 'topicName', key: 'topic' },
    { title: 'Queue', dataIndex: 'queueId', key: 'queue', align: 'right' as const },
    { title: 'Max offset', dataIndex: 'maxOffset', key: 'max', align: 'right' as const, render: formatCount },
    { title: 'Consumer offset', dataIndex: 'consumerOffset', key: 'consumer', align: 'right' as const, render: formatCount },
    { title: 'In flight', dataIndex: 'inflight', key: 'inflight', align: 'right' as const, render: formatCount },
    {
      title: 'Lag',
      dataIndex: 'lag',
      key: 'lag',
      align: 'right' as const,
      render: (v: number) => <Typography.Text type={v > 0 ? 'warning' : undefined}>{formatCount(v)}</Typography.Text>,
    },
    {
      title: 'Oldest unconsumed',
      dataIndex: 'oldestUnconsumedAge',
      key: 'age',
      align: 'right' as const,
      render: (v: number, row: { lag: number }) => (row.lag > 0 ? `${formatDuration(v)} ago` : '—'),
    },
  ];

  return (
    <>
      <PageHeader
        title={<span data-testid="group-id">{g.groupId}</span>}
        description={
          <>
            Consumer group of{' '}
            <Link to={`/instances/${encodeURIComponent(instanceId)}`}>{instanceId}</Link>
            {g.remark && <> · {g.remark}</>}
          </>
        }
        extra={
          <>
            {canWrite && (
              <>
                <Button icon={<RollbackOutlined />} onClick={() => setResetOpen(true)}>
                  Reset offset
                </Button>
                <Button icon={<EditOutlined />} onClick={() => setEditOpen(true)}>
                  Edit
                </Button>
                <Button danger icon={<DeleteOutlined />} onClick={confirmDelete}>
                  Delete
                </Button>
              </>
            )}
            {back}
          </>
        }
      />
      <Flex vertical gap={16}>
        <Card title="Settings">
          <Descriptions
            column={{ xs: 1, md: 2 }}
            size="small"
            items={[
              { key: 'order', label: 'Delivery order', children: g.deliveryOrderType },
              { key: 'retry', label: 'Retry policy', children: retrySummary(g) },
              {
                key: 'tps',
                label: 'Receive TPS cap',
                children: g.maxReceiveTps > 0 ? `${formatCount(g.maxReceiveTps)} msg/s` : 'Instance limit',
              },
              {
                key: 'created',
                label: 'Created',
                children: <Tooltip title={formatRelative(g.createdAt)}>{formatTime(g.createdAt)}</Tooltip>,
              },
            ]}
          />
        </Card>
        <Card
          title="Lag"
          extra={
            <Tooltip title="Refresh">
              <Button aria-label="Refresh lag" icon={<ReloadOutlined />} loading={lag.isFetching} onClick={() => void lag.refetch()} />
            </Tooltip>
          }
        >
          {lag.isError ? (
            <QueryError error={lag.error} what="the lag" onRetry={() => void lag.refetch()} />
          ) : (
            <>
              <Flex gap={24} align="flex-end" wrap style={{ marginBottom: 16 }}>
                <Statistic title="Total lag" value={lag.data?.totalLag ?? '…'} />
                <LagTrend data={lag.data} />
              </Flex>
              <Table<QueueLag>
                rowKey={(r) => `${r.topicName}/${r.queueId}`}
                size="small"
                loading={lag.isPending}
                dataSource={lag.data?.items ?? []}
                columns={columns}
                pagination={false}
                locale={{ emptyText: 'No subscriptions yet: lag appears once a consumer of this group has subscribed to a topic.' }}
              />
            </>
          )}
        </Card>
        <SubscriptionsCard instanceId={instanceId} groupId={g.groupId} />
        <ConnectionsCard instanceId={instanceId} groupId={g.groupId} />
        <DeadLettersCard instanceId={instanceId} groupId={g.groupId} canWrite={canWrite} />
      </Flex>
      {canWrite && (
        <GroupFormModal
          instanceId={instanceId}
          open={editOpen}
          group={g}
          onClose={() => setEditOpen(false)}
          onSaved={() => void message.success('Saved.')}
        />
      )}
      {canWrite && (
        <ResetOffsetModal
          instanceId={instanceId}
          groupId={g.groupId}
          topics={[...new Set((lag.data?.items ?? []).map((q) => q.topicName))]}
          open={resetOpen}
          onClose={() => setResetOpen(false)}
          onDone={(r) => void message.success(`Reset the offsets of “${r.topicName}”.`)}
        />
      )}
    </>
  );
}
