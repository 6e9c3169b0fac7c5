import { PlusOutlined, ReloadOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Empty, Flex, Switch, Table, Tag, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { errorMessage } from '../../api/problem';
import { accessKeysQuery, deleteAccessKeyMutation, updateAccessKeyMutation } from '../../api/queries/accessKeys';
import type { AccessKey, AccessKeyPermission, CreatedAccessKey } from '../../api/types';
import { createdColumn, rowActionsColumn } from '../../components/tableColumns';
import { CursorPager, useCursorPaging } from '../../components/CursorPager';
import { QueryError } from '../../components/QueryError';
import { AccessKeyFormModal } from './AccessKeyFormModal';
import { AccessKeySecretModal } from './AccessKeySecretModal';

export function permissionLabel(p: AccessKeyPermission): string {
  return `${p.decision} ${p.actions.join('+')} ${p.resourceType === 'TOPIC' ? 'topic' : 'group'} ${p.resourceName}`;
}

export function AccessKeysTab(props: { instanceId: string; canWrite: boolean }) {
  const { instanceId, canWrite } = props;
  const queryClient = useQueryClient();
  const { message, modal } = App.useApp();
  const paging = useCursorPaging();
  const keys = useQuery(accessKeysQuery(instanceId, { pageSize: paging.pageSize, pageToken: paging.pageToken }));
  const update = useMutation(updateAccessKeyMutation(queryClient, instanceId));
  const remove = useMutation(deleteAccessKeyMutation(queryClient, instanceId));
  const [form, setForm] = useState<{ key: AccessKey | null } | null>(null);
  const [created, setCreated] = useState<CreatedAccessKey | null>(null);

  const setEnabled = (k: AccessKey, enabled: boolean) =>
    update.mutate(
      { accessKey: k.accessKey, body: { enabled } },
      {
        onSuccess: () => void message.success(enabled ? `Enabled ${k.accessKey}.` : `Disabled ${k.accessKey}.`),
        onError: (e) => void message.error(errorMessage(e)),
      },
    );

  const confirmDelete = (k: AccessKey) =>
    modal.confirm({
      title: `Delete access key ${k.accessKey}?`,
      content: 'Clients using it are refused from then on. This cannot be undone.',
      okText: 'Delete access key',
      okButtonProps: { danger: true },
      onOk: () =>
        remove.mutateAsync(k.accessKey).then(
          () => void message.success(`Deleted access key ${k.accessKey}.`),
          (e: unknown) => void message.error(errorMessage(e)),
        ),
    });

  const columns = [
    {
      title: 'Access key',
      dataIndex: 'accessKey',
      key: 'ak',
      render: (v: string, k: AccessKey) => (
        <>
          <Typography.Text code>{v}</Typography.Text>
          {k.remark && <Typography.Text type="secondary"> · {k.remark}</Typography.Text>}
        </>
      ),
    },
    {
      title: 'Permissions',
      key: 'permissions',
      render: (_: unknown, k: AccessKey) =>
        k.permissions.length === 0 ? (
          <Typography.Text type="secondary">None</Typography.Text>
        ) : (
          <Flex gap={4} wrap>
            {k.permissions.map((p, i) => (
              <Tag key={i} color={p.decision === 'DENY' ? 'red' : 'blue'}>
                {permissionLabel(p)}
              </Tag>
            ))}
          </Flex>
        ),
    },
    {
      title: 'Source IPs',
      key: 'ips',
      render: (_: unknown, k: AccessKey) => (k.sourceIps.length ? k.sourceIps.join(', ') : <Typography.Text type="secondary">Any</Typography.Text>),
    },
    {
      title: 'Enabled',
      key: 'enabled',
      render: (_: unknown, k: AccessKey) => (
        <Switch
          aria-label={`Enable ${k.accessKey}`}
          checked={k.enabled}
          disabled={!canWrite}
          loading={update.isPending && update.variables?.accessKey === k.accessKey}
          onChange={(on) => setEnabled(k, on)}
        />
      ),
    },
    createdColumn(),
    ...(canWrite ? [rowActionsColumn((k: AccessKey) => k.accessKey, (k: AccessKey) => setForm({ key: k }), confirmDelete)] : []),
  ];

  return (
    <>
      <Flex justify="space-between" gap={12} wrap style={{ marginBottom: 16 }}>
        <Typography.Text type="secondary">
          RocketMQ clients authenticate to this instance with an access key and its secret key.
        </Typography.Text>
        <Flex gap={8}>
          <Tooltip title="Refresh">
            <Button aria-label="Refresh access keys" icon={<ReloadOutlined />} loading={keys.isFetching} onClick={() => void keys.refetch()} />
          </Tooltip>
          {canWrite && (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setForm({ key: null })}>
              Create access key
            </Button>
          )}
        </Flex>
      </Flex>
      {keys.isError ? (
        <QueryError error={keys.error} what="access keys" onRetry={() => void keys.refetch()} />
      ) : (
        <>
          <Table<AccessKey>
            rowKey="accessKey"
            size="middle"
            loading={keys.isPending}
            dataSource={keys.data?.items ?? []}
            columns={columns}
            pagination={false}
            locale={{ emptyText: <Empty description="No access keys yet" /> }}
          />
          <CursorPager
            paging={paging}
            nextPageToken={keys.data?.nextPageToken}
            itemCount={keys.data?.items.length ?? 0}
            loading={keys.isFetching}
          />
        </>
      )}
      {canWrite && (
        <AccessKeyFormModal
          instanceId={instanceId}
          open={form !== null}
          accessKey={form?.key ?? null}
          onClose={() => setForm(null)}
          onCreated={setCreated}
          onSaved={() => void message.success('Saved.')}
        />
      )}
      <AccessKeySecretModal created={created} onClose={() => setCreated(null)} />
    </>
  );
}
