import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { createMemoryRouter, RouterProvider, type RouteObject } from 'react-router';
import { Providers } from '../app/App';
import { createQueryClient } from '../app/queryClient';
import { setSession } from '../api/session';
import type { SessionResponse } from '../api/types';
import { meKey } from '../api/queries/keys';

/**
 * Renders routes (or one element at `path`) inside the app's providers. With
 * `session`, the user starts logged in, as after a successful refresh.
 */
export function renderApp(opts: {
  routes?: RouteObject[];
  element?: ReactElement;
  path?: string;
  at?: string;
  session?: SessionResponse;
}) {
  const queryClient = createQueryClient();
  queryClient.setDefaultOptions({
    queries: { ...queryClient.getDefaultOptions().queries, retry: false },
  });
  if (opts.session) {
    setSession(opts.session);
    queryClient.setQueryData(meKey, { user: opts.session.user, account: opts.session.account });
  }
  const routes = opts.routes ?? [
    { path: opts.path ?? '/', element: opts.element },
    { path: '/login', element: <div>login page</div> },
  ];
  const router = createMemoryRouter(routes, { initialEntries: [opts.at ?? opts.path ?? '/'] });
  const utils = render(
    <Providers queryClient={queryClient}>
      <RouterProvider router={router} />
    </Providers>,
  );
  return { ...utils, router, queryClient };
}
