import { ReloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Alert, Button, Descriptions, Drawer, Table, Tag, Tooltip } from 'antd';
import { topicQuery } from '../../api/queries/topics';
import type { TopicQueue } from '../../api/types';
import { QueryError } from '../../components/QueryError';
import { formatCount } from '../../lib/money';
import { messageTypeLabel } from './messageTypes';

/** Messages a queue retains: from its oldest retained offset up to the next to be written. */
export function queueMessages(q: TopicQueue): number {
  return Math.max(0, q.maxOffset - q.minOffset);
}

/** A topic's queues and the offsets they retain, read from the node while open. */
function TopicQueues(props: { instanceId: string; topicName: string }) {
  const topic = useQuery(topicQuery(props.instanceId, props.topicName));
  if (topic.isError) {
    return <QueryError error={topic.error} what="this topic" onRetry={() => void topic.refetch()} />;
  }
  const t = topic.data;
  const columns = [
    { title: 'Queue', dataIndex: 'queueId', key: 'queue', align: 'right' as const },
    { title: 'Min offset', dataIndex: 'minOffset', key: 'min', align: 'right' as const, render: formatCount },
    { title: 'Max offset', dataIndex: 'maxOffset', key: 'max', align: 'right' as const, render: formatCount },
    {
      title: 'Messages',
      key: 'messages',
      align: 'right' as const,
      render: (_: unknown, q: TopicQueue) => formatCount(queueMessages(q)),
    },
  ];
  return (
    <>
      <Descriptions
        column={1}
        size="small"
        style={{ marginBottom: 16 }}
        items={[
          { key: 'type', label: 'Type', children: t ? <Tag>{messageTypeLabel(t.messageType)}</Tag> : '…' },
          { key: 'queues', label: 'Queues', children: t ? t.queueCount : '…' },
          {
            key: 'messages',
            label: 'Retained messages',
            children: (
              <span data-testid="topic-message-count">
                {t?.messageCount !== undefined ? formatCount(t.messageCount) : '—'}
              </span>
            ),
          },
        ]}
      />
      {t && !t.queues ? (
        <Alert
          type="info"
          showIcon
          title="Offsets are read from the instance while it is running."
          description="Start the instance to see its queues."
        />
      ) : (
        <div data-testid="topic-queues">
          <Table<TopicQueue>
            rowKey="queueId"
            size="small"
            loading={topic.isPending}
            dataSource={t?.queues ?? []}
            columns={columns}
            pagination={false}
          />
        </div>
      )}
    </>
  );
}

export function TopicQueuesDrawer(props: { instanceId: string; topicName: string | null; onClose: () => void }) {
  const { topicName } = props;
  return (
    <Drawer
      open={topicName !== null}
      onClose={props.onClose}
      title={topicName ? `Topic “${topicName}”` : 'Topic'}
      size={520}
      destroyOnHidden
      extra={
        topicName && <RefreshTopic instanceId={props.instanceId} topicName={topicName} />
      }
    >
      {topicName && <TopicQueues instanceId={props.instanceId} topicName={topicName} />}
    </Drawer>
  );
}

function RefreshTopic(props: { instanceId: string; topicName: string }) {
  const topic = useQuery(topicQuery(props.instanceId, props.topicName));
  return (
    <Tooltip title="Refresh">
      <Button aria-label="Refresh queues" icon={<ReloadOutlined />} loading={topic.isFetching} onClick={() => void topic.refetch()} />
    </Tooltip>
  );
}
