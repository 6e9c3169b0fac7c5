import { PlusOutlined, ReloadOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Empty, Flex, Input, Select, Table, Tag, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { errorMessage } from '../../api/problem';
import { deleteTopicMutation, topicQuery, topicsQuery } from '../../api/queries/topics';
import type { MessageType, Topic } from '../../api/types';
import { createdColumn, rowActionsColumn } from '../../components/tableColumns';
import { CursorPager, useCursorPaging } from '../../components/CursorPager';
import { QueryError } from '../../components/QueryError';
import { formatCount } from '../../lib/money';
import { messageTypeLabel, messageTypes } from './messageTypes';
import { TopicFormModal } from './TopicFormModal';
import { TopicQueuesDrawer } from './TopicQueuesDrawer';

/** The messages a topic retains, read per row (the list carries no statistics). */
export function MessagesCell(props: { instanceId: string; topicName: string }) {
  const topic = useQuery({ ...topicQuery(props.instanceId, props.topicName), refetchInterval: 30_000 });
  if (topic.isError) {
    return (
      <Tooltip title={errorMessage(topic.error)}>
        <Typography.Text type="secondary">—</Typography.Text>
      </Tooltip>
    );
  }
  if (!topic.data) return <Typography.Text type="secondary">…</Typography.Text>;
  if (topic.data.messageCount == null) {
    return (
      <Tooltip title="Message counts need a running instance">
        <Typography.Text type="secondary">—</Typography.Text>
      </Tooltip>
    );
  }
  return <span data-testid={`messages-${props.topicName}`}>{formatCount(topic.data.messageCount)}</span>;
}

export function TopicsTab(props: { instanceId: string; canWrite: boolean }) {
  const { instanceId, canWrite } = props;
  const queryClient = useQueryClient();
  const { message, modal } = App.useApp();
  const paging = useCursorPaging();
  const [name, setName] = useState('');
  const [messageType, setMessageType] = useState<MessageType | undefined>();
  const filters = { ...(name ? { name } : {}), ...(messageType ? { messageType } : {}) };
  const topics = useQuery(topicsQuery(instanceId, { pageSize: paging.pageSize, pageToken: paging.pageToken }, filters));
  const remove = useMutation(deleteTopicMutation(queryClient, instanceId));
  const [form, setForm] = useState<{ topic: Topic | null } | null>(null);
  const [shown, setShown] = useState<string | null>(null);

  const confirmDelete = (t: Topic) =>
    modal.confirm({
      title: `Delete topic “${t.topicName}”?`,
      content: 'Its messages are deleted and producers sending to it will fail. This cannot be undone.',
      okText: 'Delete topic',
      okButtonProps: { danger: true },
      onOk: () =>
        remove.mutateAsync(t.topicName).then(
          () => void message.success(`Deleted topic “${t.topicName}”.`),
          (e: unknown) => void message.error(errorMessage(e)),
        ),
    });

  const columns = [
    { title: 'Name', dataIndex: 'topicName', key: 'name', render: (n: string, t: Topic) => (
      <>
        <Tooltip title="Show queues and offsets">
          <Button type="link" style={{ padding: 0, height: 'auto', fontWeight: 600 }} onClick={() => setShown(n)}>
            {n}
          </Button>
        </Tooltip>
        {t.remark && <Typography.Text type="secondary"> · {t.remark}</Typography.Text>}
      </>
    ) },
    { title: 'Type', dataIndex: 'messageType', key: 'type', render: (v: string) => <Tag>{messageTypeLabel(v)}</Tag> },
    { title: 'Queues', dataIndex: 'queueCount', key: 'queues', align: 'right' as const },
    {
      title: 'TPS cap',
      dataIndex: 'maxSendTps',
      key: 'tps',
      align: 'right' as const,
      render: (v: number) => (v > 0 ? formatCount(v) : <Typography.Text type="secondary">Instance limit</Typography.Text>),
    },
    {
      title: 'Messages',
      key: 'messages',
      align: 'right' as const,
      render: (_: unknown, t: Topic) => <MessagesCell instanceId={instanceId} topicName={t.topicName} />,
    },
    createdColumn(),
    ...(canWrite ? [rowActionsColumn((t: Topic) => t.topicName, (t: Topic) => setForm({ topic: t }), confirmDelete)] : []),
  ];

  const filtered = !!(name || messageType);

  return (
    <>
      <Flex justify="space-between" gap={12} wrap style={{ marginBottom: 16 }}>
        <Flex gap={8} wrap>
          <Input.Search
            aria-label="Filter topics by name"
            placeholder="Topic name"
            allowClear
            onSearch={(v) => {
              setName(v.trim());
              paging.reset();
            }}
            style={{ width: 240 }}
          />
          <Select
            aria-label="Filter topics by type"
            placeholder="Any type"
            allowClear
            value={messageType}
            onChange={(v?: MessageType) => {
              setMessageType(v);
              paging.reset();
            }}
            options={messageTypes.map((m) => ({ value: m.value, label: m.label }))}
            style={{ width: 160 }}
          />
        </Flex>
        <Flex gap={8}>
          <Tooltip title="Refresh">
            <Button aria-label="Refresh topics" icon={<ReloadOutlined />} loading={topics.isFetching} onClick={() => void topics.refetch()} />
          </Tooltip>
          {canWrite && (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setForm({ topic: null })}>
              Create topic
            </Button>
          )}
        </Flex>
      </Flex>
      {topics.isError ? (
        <QueryError error={topics.error} what="topics" onRetry={() => void topics.refetch()} />
      ) : (
        <>
          <Table<Topic>
            rowKey="topicName"
            size="middle"
            loading={topics.isPending}
            dataSource={topics.data?.items ?? []}
            columns={columns}
            pagination={false}
            locale={{ emptyText: <Empty description={filtered ? 'No topics match' : 'No topics yet'} /> }}
          />
          <CursorPager
            paging={paging}
            nextPageToken={topics.data?.nextPageToken}
            itemCount={topics.data?.items.length ?? 0}
            loading={topics.isFetching}
          />
        </>
      )}
      <TopicQueuesDrawer instanceId={instanceId} topicName={shown} onClose={() => setShown(null)} />
      {canWrite && (
        <TopicFormModal
          instanceId={instanceId}
          open={form !== null}
          topic={form?.topic ?? null}
          onClose={() => setForm(null)}
          onSaved={(n) => void message.success(form?.topic ? 'Saved.' : `Created topic “${n}”.`)}
        />
      )}
    </>
  );
}
