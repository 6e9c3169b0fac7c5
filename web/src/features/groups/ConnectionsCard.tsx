import { ReloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Button, Card, Empty, Flex, Table, Tag, Tooltip, Typography } from 'antd';
import { groupConnectionsQuery } from '../../api/queries/groups';
import type { ClientType, Connection, Subscription } from '../../api/types';
import { CursorPager, useCursorPaging } from '../../components/CursorPager';
import { QueryError } from '../../components/QueryError';
import { formatRelative, formatTime } from '../../lib/format';
import { FilterExpression } from './SubscriptionsCard';

const clientTypes: Record<ClientType, string> = {
  PRODUCER: 'Producer',
  PUSH_CONSUMER: 'Push consumer',
  SIMPLE_CONSUMER: 'Simple consumer',
  PULL_CONSUMER: 'Pull consumer',
  UNSPECIFIED: 'Unknown',
};

/** A client type as people say it; one this console does not know is shown as is. */
export function clientTypeLabel(t: string): string {
  return clientTypes[t as ClientType] ?? t;
}

/** The clients of the group connected to the instance's node now, a page at a time. */
export function ConnectionsCard(props: { instanceId: string; groupId: string }) {
  const paging = useCursorPaging(10);
  const conns = useQuery(
    groupConnectionsQuery(props.instanceId, props.groupId, { pageSize: paging.pageSize, pageToken: paging.pageToken }),
  );

  const columns = [
    {
      title: 'Client ID',
      dataIndex: 'clientId',
      key: 'id',
      render: (id: string, c: Connection) => (
        <>
          <Typography.Text code>{id}</Typography.Text>
          {c.hostname && (
            <div>
              <Typography.Text type="secondary">{c.hostname}</Typography.Text>
            </div>
          )}
        </>
      ),
    },
    { title: 'Type', dataIndex: 'clientType', key: 'type', render: (t: string) => <Tag>{clientTypeLabel(t)}</Tag> },
    { title: 'Address', dataIndex: 'address', key: 'address' },
    {
      title: 'SDK',
      key: 'sdk',
      render: (_: unknown, c: Connection) => [c.language, c.version].filter(Boolean).join(' ') || '—',
    },
    {
      title: 'Access key',
      dataIndex: 'accessKey',
      key: 'ak',
      render: (ak?: string) => (ak ? <Typography.Text code>{ak}</Typography.Text> : <Typography.Text type="secondary">Anonymous</Typography.Text>),
    },
    {
      title: 'Subscriptions',
      dataIndex: 'subscriptions',
      key: 'subs',
      render: (subs: Subscription[]) =>
        subs.length === 0 ? (
          <Typography.Text type="secondary">None</Typography.Text>
        ) : (
          <Flex vertical gap={2}>
            {subs.map((s) => (
              <span key={s.topicName}>
                {s.topicName}: <FilterExpression filterType={s.filterType} expression={s.expression} />
              </span>
            ))}
          </Flex>
        ),
    },
    {
      title: 'Last heartbeat',
      dataIndex: 'lastHeartbeat',
      key: 'heartbeat',
      render: (v: string, c: Connection) => (
        <Tooltip title={`${formatTime(v)} · connected since ${formatTime(c.firstSeen)}`}>{formatRelative(v)}</Tooltip>
      ),
    },
  ];

  return (
    <Card
      title="Connections"
      data-testid="connections-card"
      extra={
        <Tooltip title="Refresh">
          <Button
            aria-label="Refresh connections"
            icon={<ReloadOutlined />}
            loading={conns.isFetching}
            onClick={() => void conns.refetch()}
          />
        </Tooltip>
      }
    >
      {conns.isError ? (
        <QueryError error={conns.error} what="the connections" onRetry={() => void conns.refetch()} />
      ) : (
        <>
          <Table<Connection>
            rowKey="clientId"
            size="small"
            loading={conns.isPending}
            dataSource={conns.data?.items ?? []}
            columns={columns}
            pagination={false}
            scroll={{ x: 'max-content' }}
            locale={{
              emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="No connected clients" />,
            }}
          />
          <CursorPager
            paging={paging}
            nextPageToken={conns.data?.nextPageToken}
            itemCount={conns.data?.items.length ?? 0}
            loading={conns.isFetching}
          />
        </>
      )}
    </Card>
  );
}
