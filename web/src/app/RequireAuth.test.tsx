import { act, screen, waitFor } from '@testing-library/react';
import { clearSession } from '../api/session';
import { describe, expect, it } from 'vitest';
import { json, mockFetch, problem } from '../test/fetchMock';
import { session } from '../test/fixtures';
import { renderApp } from '../test/render';
import { RequireAuth } from './RequireAuth';

const routes = [
  { element: <RequireAuth />, children: [{ path: '/access/tokens', element: <div>secret page</div> }] },
  { path: '/login', element: <div>login page</div> },
];

describe('RequireAuth', () => {
  it('sends a visitor without a session to /login, remembering where they were going', async () => {
    const m = mockFetch().on('POST /api/v1/auth/refresh', () => problem(401, { title: 'Unauthorized' }));
    const { router } = renderApp({ routes, at: '/access/tokens' });
    expect(await screen.findByText('login page')).toBeInTheDocument();
    expect(router.state.location.search).toBe('?next=%2Faccess%2Ftokens');
    expect(m.callsTo('POST /api/v1/auth/refresh')).toHaveLength(1);
  });

  it('restores the session from the refresh cookie on load', async () => {
    mockFetch().on('POST /api/v1/auth/refresh', () => json(session()));
    renderApp({ routes, at: '/access/tokens' });
    expect(await screen.findByText('secret page')).toBeInTheDocument();
  });

  it('goes to /login and back when the session expires later', async () => {
    mockFetch().on('POST /api/v1/auth/refresh', () => json(session()));
    const { router } = renderApp({ routes, at: '/access/tokens' });
    await screen.findByText('secret page');
    act(() => clearSession('expired'));
    await waitFor(() => expect(router.state.location.pathname).toBe('/login'));
    expect(router.state.location.search).toBe('?next=%2Faccess%2Ftokens');
  });

  it('after a logout goes to a plain /login', async () => {
    mockFetch().on('POST /api/v1/auth/refresh', () => json(session()));
    const { router } = renderApp({ routes, at: '/access/tokens' });
    await screen.findByText('secret page');
    act(() => clearSession('logout'));
    await waitFor(() => expect(router.state.location.pathname).toBe('/login'));
    expect(router.state.location.search).toBe('');
  });
});
