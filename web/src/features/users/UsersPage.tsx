import { DeleteOutlined, UserAddOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Select, Table, Tag, Tooltip, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';
import { errorMessage } from '../../api/problem';
import { meQuery } from '../../api/queries/me';
import { deleteUserMutation, updateUserMutation, usersQuery } from '../../api/queries/users';
import type { User } from '../../api/types';
import { CursorPager, useCursorPaging } from '../../components/CursorPager';
import { PageHeader } from '../../components/PageHeader';
import { QueryError } from '../../components/QueryError';
import { formatRelative, formatTime } from '../../lib/format';
import { atLeast, can, grantableRoles, roleColor, roleLabel, type RoleName } from '../../lib/roles';
import { CreateUserModal } from './CreateUserModal';

export function UsersPage() {
  const queryClient = useQueryClient();
  const { message, modal } = App.useApp();
  const paging = useCursorPaging();
  const me = useQuery(meQuery());
  const users = useQuery(usersQuery({ pageSize: paging.pageSize, pageToken: paging.pageToken }));
  const update = useMutation(updateUserMutation(queryClient));
  const remove = useMutation(deleteUserMutation(queryClient));
  const [inviteOpen, setInviteOpen] = useState(false);

  const myRole = me.data?.user.role;
  const myId = me.data?.user.id;
  const canWrite = can(myRole, 'users:write');
  const grantable = grantableRoles(myRole);

  // Admins manage users at or below their own rank; nobody edits themselves here.
  const manageable = (u: User) => canWrite && u.id !== myId && atLeast(myRole, u.role as RoleName);

  const changeRole = (u: User, role: RoleName) => {
    update.mutate(
      { userId: u.id, body: { role } },
      {
        onSuccess: () => message.success(`${u.email} is now ${roleLabel[role].toLowerCase()}.`),
        onError: (e) => message.error(errorMessage(e)),
      },
    );
  };

  const confirmRemove = (u: User) => {
    modal.confirm({
      title: `Remove ${u.name || u.email}?`,
      content: `${u.email} loses access to this account immediately, and their API tokens stop working. This cannot be undone.`,
      okText: 'Remove user',
      okButtonProps: { danger: true },
      cancelText: 'Cancel',
      onOk: () =>
        remove.mutateAsync(u.id).then(
          () => {
            message.success(`${u.email} was removed.`);
          },
          (e: unknown) => {
            message.error(errorMessage(e));
          },
        ),
    });
  };

  const columns: TableColumnsType<User> = [
    {
      title: 'Name',
      dataIndex: 'name',
      render: (name: string, u) => (
        <>
          <Typography.Text strong>{name}</Typography.Text>
          {u.id === myId && (
            <Tag style={{ marginInlineStart: 8 }} variant="filled">
              You
            </Tag>
          )}
        </>
      ),
    },
    { title: 'Email', dataIndex: 'email' },
    {
      title: 'Role',
      dataIndex: 'role',
      width: 170,
      render: (role: RoleName, u) =>
        manageable(u) ? (
          <Select
            aria-label={`Role of ${u.email}`}
            size="small"
            value={role}
            style={{ width: 130 }}
            loading={update.isPending && update.variables?.userId === u.id}
            options={grantable.map((r) => ({ value: r, label: roleLabel[r] }))}
            onChange={(r: RoleName) => changeRole(u, r)}
          />
        ) : (
          <Tag color={roleColor[role]}>{roleLabel[role] ?? role}</Tag>
        ),
    },
    {
      title: 'Added',
      dataIndex: 'createdAt',
      width: 160,
      render: (t: string) => <Tooltip title={formatTime(t)}>{formatRelative(t)}</Tooltip>,
    },
  ];
  if (canWrite) {
    columns.push({
      title: '',
      key: 'actions',
      width: 110,
      align: 'right',
      render: (_, u) =>
        manageable(u) ? (
          <Button danger type="text" size="small" icon={<DeleteOutlined />} onClick={() => confirmRemove(u)}>
            Remove
          </Button>
        ) : null,
    });
  }

  return (
    <>
      <PageHeader
        title="Users"
        description="People who can sign in to this account, and what their role lets them do."
        extra={
          canWrite && (
            <Button type="primary" icon={<UserAddOutlined />} onClick={() => setInviteOpen(true)}>
              Invite user
            </Button>
          )
        }
      />
      {users.isError ? (
        <QueryError error={users.error} what="users" onRetry={() => void users.refetch()} />
      ) : (
        <Card styles={{ body: { padding: 0 } }}>
          <Table<User>
            rowKey="id"
            columns={columns}
            dataSource={users.data?.items ?? []}
            loading={users.isLoading || users.isPlaceholderData}
            pagination={false}
          />
          <div style={{ padding: '0 16px 16px' }}>
            <CursorPager
              paging={paging}
              nextPageToken={users.data?.nextPageToken}
              itemCount={users.data?.items?.length ?? 0}
              loading={users.isFetching}
            />
          </div>
        </Card>
      )}
      {canWrite && <CreateUserModal open={inviteOpen} onClose={() => setInviteOpen(false)} grantable={grantable} />}
    </>
  );
}
