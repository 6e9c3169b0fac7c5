import { Flex, Spin } from 'antd';
import { Navigate, Outlet, useLocation } from 'react-router';
import { nextFrom } from '../lib/next';
import { useAuth } from './auth';

export function FullPageSpinner() {
  return (
    <Flex align="center" justify="center" style={{ minHeight: '100vh' }}>
      <Spin size="large" />
    </Flex>
  );
}

/** Protected routes: without a session, go to /login and come back after. */
export function RequireAuth() {
  const { status, ended } = useAuth();
  const location = useLocation();
  if (status === 'loading') return <FullPageSpinner />;
  if (status === 'anonymous') {
    // After an explicit logout start afresh; otherwise come back here after login.
    const next = location.pathname + location.search;
    const to = ended === 'logout' || next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`;
    return <Navigate to={to} replace />;
  }
  return <Outlet />;
}

/** Login and sign-up: with a session already, go where the user was headed. */
export function RedirectIfAuthenticated() {
  const { status } = useAuth();
  const location = useLocation();
  if (status === 'loading') return <FullPageSpinner />;
  if (status === 'authenticated') return <Navigate to={nextFrom(location.search)} replace />;
  return <Outlet />;
}
