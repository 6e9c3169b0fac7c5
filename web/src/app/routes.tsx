import { Navigate, type RouteObject } from 'react-router';
import { AuditLogPage } from '../features/audit/AuditLogPage';
import { LoginPage } from '../features/auth/LoginPage';
import { SignupPage } from '../features/auth/SignupPage';
import { UsagePage } from '../features/billing/UsagePage';
import { GroupDetailPage } from '../features/groups/GroupDetailPage';
import { CreateInstancePage } from '../features/instances/CreateInstancePage';
import { InstanceDetailPage } from '../features/instances/InstanceDetailPage';
import { InstancesPage } from '../features/instances/InstancesPage';
import { TokensPage } from '../features/tokens/TokensPage';
import { UsersPage } from '../features/users/UsersPage';
import { AppShell } from './AppShell';
import { NotFoundPage } from './NotFoundPage';
import { RedirectIfAuthenticated, RequireAuth } from './RequireAuth';

export const routes: RouteObject[] = [
  {
    element: <RedirectIfAuthenticated />,
    children: [
      { path: '/login', element: <LoginPage /> },
      { path: '/signup', element: <SignupPage /> },
    ],
  },
  {
    element: <RequireAuth />,
    children: [
      {
        element: <AppShell />,
        children: [
          { index: true, element: <Navigate to="/instances" replace /> },
          { path: '/instances', element: <InstancesPage /> },
          { path: '/instances/new', element: <CreateInstancePage /> },
          { path: '/instances/:instanceId', element: <InstanceDetailPage /> },
          { path: '/instances/:instanceId/groups/:groupId', element: <GroupDetailPage /> },
          { path: '/billing', element: <UsagePage /> },
          { path: '/access', element: <Navigate to="/access/users" replace /> },
          { path: '/access/users', element: <UsersPage /> },
          { path: '/access/tokens', element: <TokensPage /> },
          { path: '/access/audit', element: <AuditLogPage /> },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
];
