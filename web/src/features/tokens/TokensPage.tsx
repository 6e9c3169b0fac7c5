import { PlusOutlined, StopOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Table, Tag, Tooltip, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { errorMessage } from '../../api/problem';
import { meQuery } from '../../api/queries/me';
import { revokeTokenMutation, tokensQuery } from '../../api/queries/tokens';
import type { CreatedToken, Token } from '../../api/types';
import { CursorPager, useCursorPaging } from '../../components/CursorPager';
import { PageHeader } from '../../components/PageHeader';
import { NotForYourRole, QueryError } from '../../components/QueryError';
import { formatRelative, formatTime, isPast } from '../../lib/format';
import { can, grantableRoles, roleColor, roleLabel, type RoleName } from '../../lib/roles';
import { CreateTokenModal } from './CreateTokenModal';
import { TokenSecretModal } from './TokenSecretModal';

function When(props: { iso: string | null | undefined; empty: string }) {
  if (!props.iso) return <Typography.Text type="secondary">{props.empty}</Typography.Text>;
  return <Tooltip title={formatTime(props.iso)}>{formatRelative(props.iso)}</Tooltip>;
}

export function TokensPage() {
  const queryClient = useQueryClient();
  const { message, modal } = App.useApp();
  const paging = useCursorPaging();
  const me = useQuery(meQuery());
  const myRole = me.data?.user.role as RoleName | undefined;
  const canRead = can(myRole, 'tokens:read');
  const canWrite = can(myRole, 'tokens:write');
  const tokens = useQuery({
    ...tokensQuery({ pageSize: paging.pageSize, pageToken: paging.pageToken }),
    enabled: canRead,
  });
  const revoke = useMutation(revokeTokenMutation(queryClient));
  const [createOpen, setCreateOpen] = useState(false);
  const [created, setCreated] = useState<CreatedToken | null>(null);


  const confirmRevoke = (t: Token) => {
    modal.confirm({
      title: `Revoke “${t.name}”?`,
      content: `Requests using ${t.prefix}… will be refused from now on. This cannot be undone.`,
      okText: 'Revoke token',
      okButtonProps: { danger: true },
      onOk: () =>
        revoke.mutateAsync(t.id).then(
          () => {
            message.success(`Token “${t.name}” was revoked.`);
          },
          (e: unknown) => {
            message.error(errorMessage(e));
          },
        ),
    });
  };

  const columns: TableColumnsType<Token> = [
    { title: 'Name', dataIndex: 'name', render: (n: string) => <Typography.Text strong>{n}</Typography.Text> },
    {
      title: 'Token',
      dataIndex: 'prefix',
      render: (p: string) => <Typography.Text code>{p}…</Typography.Text>,
    },
    {
      title: 'Role',
      dataIndex: 'role',
      render: (r: RoleName) => <Tag color={roleColor[r]}>{roleLabel[r] ?? r}</Tag>,
    },
    { title: 'Created', dataIndex: 'createdAt', render: (t: string) => <When iso={t} empty="—" /> },
    { title: 'Last used', dataIndex: 'lastUsedAt', render: (t?: string) => <When iso={t} empty="Never" /> },
    {
      title: 'Expires',
      dataIndex: 'expiresAt',
      render: (t?: string) =>
        isPast(t) ? (
          <Tooltip title={formatTime(t)}>
            <Tag color="red">Expired</Tag>
          </Tooltip>
        ) : (
          <When iso={t} empty="Never" />
        ),
    },
  ];
  if (canWrite) {
    columns.push({
      title: '',
      key: 'actions',
      align: 'right',
      width: 110,
      render: (_, t) => (
        <Button danger type="text" size="small" icon={<StopOutlined />} onClick={() => confirmRevoke(t)}>
          Revoke
        </Button>
      ),
    });
  }

  return (
    <>
      <PageHeader
        title="API tokens"
        description="Tokens let scripts and tools call the Orbit API as you, with at most your role."
        extra={
          canWrite && (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreateOpen(true)}>
              Create token
            </Button>
          )
        }
      />
      {me.data && !canRead ? (
        <NotForYourRole what="API tokens" needed="developer" />
      ) : tokens.isError ? (
        <QueryError error={tokens.error} what="API tokens" onRetry={() => void tokens.refetch()} />
      ) : (
        <Card styles={{ body: { padding: 0 } }}>
          <Table<Token>
            rowKey="id"
            columns={columns}
            dataSource={tokens.data?.items ?? []}
            loading={tokens.isLoading || tokens.isPlaceholderData}
            pagination={false}
            locale={{ emptyText: 'No API tokens yet' }}
          />
          <div style={{ padding: '0 16px 16px' }}>
            <CursorPager
              paging={paging}
              nextPageToken={tokens.data?.nextPageToken}
              itemCount={tokens.data?.items?.length ?? 0}
              loading={tokens.isFetching}
            />
          </div>
        </Card>
      )}
      {canWrite && (
        <CreateTokenModal
          open={createOpen}
          onClose={() => setCreateOpen(false)}
          onCreated={setCreated}
          myRole={myRole}
          grantable={grantableRoles(myRole)}
        />
      )}
      <TokenSecretModal created={created} onClose={() => setCreated(null)} />
    </>
  );
}
