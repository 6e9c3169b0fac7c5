import { ReloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Empty, Flex, Table, Tag, Tooltip, Typography } from 'antd';
import { groupSubscriptionsQuery } from '../../api/queries/groups';
import type { SubscriptionVariant, TopicSubscription } from '../../api/types';
import { QueryError } from '../../components/QueryError';

/** A filter as the SDKs write it: the type, then the expression. */
export function FilterExpression(props: { filterType: string; expression: string }) {
  return (
    <span>
      {props.filterType !== 'TAG' && <Tag style={{ marginInlineEnd: 4 }}>{props.filterType}</Tag>}
      <Typography.Text code>{props.expression || '*'}</Typography.Text>
    </span>
  );
}

function plural(n: number, one: string, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

function Variant(props: { v: SubscriptionVariant; showClients: boolean }) {
  const { v } = props;
  return (
    <div data-testid="subscription-variant">
      <FilterExpression filterType={v.filterType} expression={v.expression} />
      {props.showClients ? (
        <Typography.Text type="secondary">
          {' '}
          by {plural(v.clientIds.length, 'client')}:{' '}
          {v.clientIds.map((id, i) => (
            <span key={id}>
              {i > 0 && ', '}
              <Typography.Text type="secondary" code>
                {id}
              </Typography.Text>
            </span>
          ))}
        </Typography.Text>
      ) : (
        <Typography.Text type="secondary"> · {plural(v.clientIds.length, 'client')}</Typography.Text>
      )}
    </div>
  );
}

/**
 * What the group's online consumers subscribe to, per topic. Consumers of one
 * group must agree: a topic where they do not is flagged, with who uses which
 * filter.
 */
export function SubscriptionsCard(props: { instanceId: string; groupId: string }) {
  const subs = useQuery(groupSubscriptionsQuery(props.instanceId, props.groupId));
  const data = subs.data;

  const columns = [
    {
      title: 'Topic',
      dataIndex: 'topicName',
      key: 'topic',
      render: (name: string, t: TopicSubscription) => (
        <Flex gap={8} align="center" wrap>
          <Typography.Text strong>{name}</Typography.Text>
          {!t.consistent && <Tag color="warning">Inconsistent</Tag>}
        </Flex>
      ),
    },
    {
      title: 'Filter',
      key: 'filter',
      render: (_: unknown, t: TopicSubscription) => (
        <Flex vertical gap={4}>
          {t.variants.map((v) => (
            <Variant key={`${v.filterType}:${v.expression}`} v={v} showClients={!t.consistent} />
          ))}
        </Flex>
      ),
    },
  ];

  return (
    <Card
      title="Subscriptions"
      data-testid="subscriptions-card"
      extra={
        <Flex gap={8} align="center">
          {data && <Typography.Text type="secondary">{plural(data.onlineClients, 'online consumer')}</Typography.Text>}
          <Tooltip title="Refresh">
            <Button
              aria-label="Refresh subscriptions"
              icon={<ReloadOutlined />}
              loading={subs.isFetching}
              onClick={() => void subs.refetch()}
            />
          </Tooltip>
        </Flex>
      }
    >
      {subs.isError ? (
        <QueryError error={subs.error} what="the subscriptions" onRetry={() => void subs.refetch()} />
      ) : data && data.onlineClients === 0 ? (
        <Empty
          image={Empty.PRESENTED_IMAGE_SIMPLE}
          description={
            <>
              <div>No online consumers</div>
              <Typography.Text type="secondary">Subscriptions show while consumers of this group are connected.</Typography.Text>
            </>
          }
        />
      ) : (
        <>
          {data && !data.consistent && (
            <Alert
              type="warning"
              showIcon
              style={{ marginBottom: 16 }}
              title="Consumers of this group subscribe differently"
              description="Every consumer of a group should subscribe to the same topics with the same filter. Where they differ, a message one consumer's filter drops may never reach the consumer that wanted it. Deploy one subscription to all clients of the group, or give the differing clients their own group."
            />
          )}
          <Table<TopicSubscription>
            rowKey="topicName"
            size="small"
            loading={subs.isPending}
            dataSource={data?.items ?? []}
            columns={columns}
            pagination={false}
            locale={{ emptyText: 'The online consumers have not subscribed to a topic yet.' }}
          />
        </>
      )}
    </Card>
  );
}
