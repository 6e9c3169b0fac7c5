import {
  AuditOutlined,
  ClusterOutlined,
  DownOutlined,
  KeyOutlined,
  LogoutOutlined,
  ProfileOutlined,
  SafetyOutlined,
  TeamOutlined,
  UserOutlined,
} from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Avatar, Dropdown, Flex, Layout, Menu, Tag, Typography, theme, type MenuProps } from 'antd';
import { useState } from 'react';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { logoutMutation } from '../api/queries/auth';
import { meQuery } from '../api/queries/me';
import { ProblemAlert } from '../components/ProblemAlert';
import { roleColor, roleLabel, type RoleName } from '../lib/roles';
import { Logo } from '../components/Logo';

const nav: MenuProps['items'] = [
  { key: '/instances', icon: <ClusterOutlined />, label: 'Instances' },
  { key: '/billing', icon: <ProfileOutlined />, label: 'Usage & Bills' },
  {
    key: 'access',
    icon: <SafetyOutlined />,
    label: 'Access',
    children: [
      { key: '/access/users', icon: <TeamOutlined />, label: 'Users' },
      { key: '/access/tokens', icon: <KeyOutlined />, label: 'API tokens' },
      { key: '/access/audit', icon: <AuditOutlined />, label: 'Audit log' },
    ],
  },
];

function selectedKey(pathname: string): string {
  const keys = ['/access/users', '/access/tokens', '/access/audit', '/instances', '/billing'];
  return keys.find((k) => pathname === k || pathname.startsWith(`${k}/`)) ?? '';
}

export function AppShell() {
  const { token } = theme.useToken();
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const me = useQuery(meQuery());
  const logout = useMutation(logoutMutation(queryClient));
  const [collapsed, setCollapsed] = useState(false);

  const user = me.data?.user;
  const account = me.data?.account;

  const userMenu: MenuProps = {
    items: [
      {
        key: 'who',
        disabled: true,
        label: (
          <div style={{ minWidth: 200 }}>
            <Typography.Text strong>{user?.name}</Typography.Text>
            <br />
            <Typography.Text type="secondary">{user?.email}</Typography.Text>
          </div>
        ),
      },
      { type: 'divider' },
      { key: 'logout', icon: <LogoutOutlined />, label: 'Log out', danger: true },
    ],
    onClick: ({ key }) => {
      // Ending the session makes the route guard show the login page.
      if (key === 'logout') logout.mutate();
    },
  };

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider
        collapsible
        collapsed={collapsed}
        onCollapse={setCollapsed}
        width={224}
        theme="light"
        // Sticky, so the navigation stays in view beside long tables.
        style={{
          borderRight: `1px solid ${token.colorBorderSecondary}`,
          position: 'sticky',
          top: 0,
          height: '100vh',
          overflow: 'auto',
        }}
      >
        <Flex align="center" gap={10} style={{ height: 56, padding: collapsed ? '0 24px' : '0 20px' }}>
          <Logo size={24} />
          {!collapsed && (
            <Typography.Text strong style={{ fontSize: 17 }}>
              Orbit
            </Typography.Text>
          )}
        </Flex>
        <nav aria-label="Main">
          <Menu
            mode="inline"
            items={nav}
            selectedKeys={[selectedKey(location.pathname)]}
            defaultOpenKeys={['access']}
            onClick={({ key }) => navigate(key)}
            style={{ borderInlineEnd: 'none' }}
          />
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{
            background: token.colorBgContainer,
            borderBottom: `1px solid ${token.colorBorderSecondary}`,
            padding: '0 24px',
            height: 56,
            lineHeight: '56px',
          }}
        >
          <Flex justify="space-between" align="center" style={{ height: '100%' }}>
            <Flex align="center" gap={8} data-testid="account-name">
              <Typography.Text type="secondary">Account</Typography.Text>
              <Typography.Text strong>{account?.name ?? '…'}</Typography.Text>
            </Flex>
            <Dropdown menu={userMenu} trigger={['click']} placement="bottomRight">
              <button
                type="button"
                aria-label="User menu"
                style={{ background: 'none', border: 'none', cursor: 'pointer', padding: 0 }}
              >
                <Flex align="center" gap={8} style={{ lineHeight: 1.3 }}>
                  <Avatar size="small" icon={<UserOutlined />} style={{ background: token.colorPrimary }} />
                  <Typography.Text data-testid="user-email">{user?.email}</Typography.Text>
                  {user && (
                    <Tag color={roleColor[user.role as RoleName]} style={{ marginInlineEnd: 0 }}>
                      {roleLabel[user.role as RoleName] ?? user.role}
                    </Tag>
                  )}
                  <DownOutlined style={{ fontSize: 10, color: token.colorTextSecondary }} />
                </Flex>
              </button>
            </Dropdown>
          </Flex>
        </Layout.Header>
        <Layout.Content style={{ padding: 24 }}>
          {me.isError && <ProblemAlert error={me.error} />}
          {logout.isError && <ProblemAlert error={logout.error} />}
          <Outlet />
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
