import { ReloadOutlined, SendOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Flex, Table, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { errorMessage } from '../../api/problem';
import { deadLettersQuery, resendDeadLettersMutation } from '../../api/queries/groups';
import type { DeadLetter, ResendResult } from '../../api/types';
import { CursorPager, useCursorPaging } from '../../components/CursorPager';
import { formatRelative, formatTime } from '../../lib/format';

export function resendSummary(items: ResendResult[]): string {
  const ok = items.filter((r) => r.resent).length;
  const failed = items.length - ok;
  return failed === 0 ? `Resent ${ok} message${ok === 1 ? '' : 's'}.` : `Resent ${ok}; ${failed} could not be resent.`;
}

/** Messages of the group's dead-letter topic, with resend to their original topic. */
export function DeadLettersCard(props: { instanceId: string; groupId: string; canWrite: boolean }) {
  const { instanceId, groupId, canWrite } = props;
  const queryClient = useQueryClient();
  const { message, modal } = App.useApp();
  const paging = useCursorPaging();
  const letters = useQuery(deadLettersQuery(instanceId, groupId, { pageSize: paging.pageSize, pageToken: paging.pageToken }));
  const resend = useMutation(resendDeadLettersMutation(queryClient, instanceId, groupId));
  const [selected, setSelected] = useState<string[]>([]);

  const confirmResend = () =>
    modal.confirm({
      title: `Resend ${selected.length} message${selected.length === 1 ? '' : 's'}?`,
      content: 'A fresh copy of each goes to its original topic and is delivered to subscribers again.',
      okText: 'Resend',
      onOk: () =>
        resend.mutateAsync(selected).then(
          (r) => {
            const failed = r.items.filter((i) => !i.resent);
            (failed.length ? message.warning : message.success)(resendSummary(r.items));
            setSelected([]);
          },
          (e: unknown) => void message.error(errorMessage(e)),
        ),
    });

  return (
    <Card
      title="Dead letters"
      extra={
        <Flex gap={8}>
          {canWrite && (
            <Button icon={<SendOutlined />} disabled={selected.length === 0} loading={resend.isPending} onClick={confirmResend}>
              Resend{selected.length ? ` (${selected.length})` : ''}
            </Button>
          )}
          <Tooltip title="Refresh">
            <Button aria-label="Refresh dead letters" icon={<ReloadOutlined />} loading={letters.isFetching} onClick={() => void letters.refetch()} />
          </Tooltip>
        </Flex>
      }
    >
      {letters.isError ? (
        <Typography.Text type="secondary">Dead letters are not available: {errorMessage(letters.error)}</Typography.Text>
      ) : (
        <>
          <Table<DeadLetter>
            rowKey="messageId"
            size="small"
            loading={letters.isPending}
            dataSource={letters.data?.items ?? []}
            pagination={false}
            rowSelection={canWrite ? { selectedRowKeys: selected, onChange: (keys) => setSelected(keys.map(String)) } : undefined}
            locale={{ emptyText: 'No dead letters: no message of this group has run out of retries.' }}
            columns={[
              { title: 'Message ID', dataIndex: 'messageId', key: 'id', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
              { title: 'Topic', dataIndex: 'originTopic', key: 'topic' },
              { title: 'Attempts', dataIndex: 'attempts', key: 'attempts', align: 'right' },
              {
                title: 'Body',
                dataIndex: 'bodyPreview',
                key: 'body',
                render: (v: string, d: DeadLetter) => (
                  <Typography.Text ellipsis={{ tooltip: v }} style={{ maxWidth: 240 }}>
                    {v}
                    {d.bodyTruncated ? '…' : ''}
                  </Typography.Text>
                ),
              },
              {
                title: 'Dead-lettered',
                dataIndex: 'storeTime',
                key: 'stored',
                render: (v?: string) => (v ? <Tooltip title={formatTime(v)}>{formatRelative(v)}</Tooltip> : '—'),
              },
            ]}
          />
          <CursorPager
            paging={paging}
            nextPageToken={letters.data?.nextPageToken}
            itemCount={letters.data?.items.length ?? 0}
            loading={letters.isFetching}
          />
        </>
      )}
    </Card>
  );
}
