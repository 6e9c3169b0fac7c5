import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../api/types';
import { json, mockFetch } from '../../test/fetchMock';
import { session } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { ConnectionsCard } from './ConnectionsCard';

const url = 'GET /api/v1/instances/ins_1/consumerGroups/billing/connections';
const render = () => renderApp({ element: <ConnectionsCard instanceId="ins_1" groupId="billing" />, session: session() });

function conn(over: Partial<Connection> = {}): Connection {
  return {
    clientId: 'host-1@4711#1',
    clientType: 'PUSH_CONSUMER',
    address: '10.0.0.5:51234',
    language: 'GOLANG',
    version: '5.1.2',
    hostname: 'worker-1',
    accessKey: 'AKID123',
    subscriptions: [
      { topicName: 'orders', filterType: 'TAG', expression: 'paid' },
      { topicName: 'refunds', filterType: 'SQL92', expression: 'amount > 10' },
    ],
    lastHeartbeat: new Date(Date.now() - 3 * 60_000).toISOString(),
    firstSeen: '2026-11-21T10:00:00Z',
    ...over,
  };
}

describe('ConnectionsCard', () => {
  it('lists the connected clients and pages with the server token', async () => {
    const u = userEvent.setup();
    const m = mockFetch().on(url, (_, u) =>
      u.searchParams.get('pageToken') === 'p2'
        ? json({ items: [conn({ clientId: 'host-2@1#1', accessKey: undefined, clientType: 'SIMPLE_CONSUMER', subscriptions: [] })] })
        : json({ items: [conn()], nextPageToken: 'p2' }),
    );
    render();
    const row = (await screen.findByText('host-1@4711#1', {}, { timeout: 5000 })).closest('tr')!;
    expect(within(row).getByText('worker-1')).toBeInTheDocument();
    expect(within(row).getByText('Push consumer')).toBeInTheDocument();
    expect(within(row).getByText('10.0.0.5:51234')).toBeInTheDocument();
    expect(within(row).getByText('GOLANG 5.1.2')).toBeInTheDocument();
    expect(within(row).getByText('AKID123')).toBeInTheDocument();
    expect(row).toHaveTextContent('orders: paid');
    expect(row).toHaveTextContent('refunds: SQL92amount > 10');
    expect(within(row).getByText('3 minutes ago')).toBeInTheDocument();
    expect(new URL(m.callsTo(url)[0]!.url).searchParams.get('pageToken')).toBeNull();

    await u.click(screen.getByRole('button', { name: 'Next page' }));
    const next = (await screen.findByText('host-2@1#1')).closest('tr')!;
    expect(screen.queryByText('host-1@4711#1')).not.toBeInTheDocument();
    expect(within(next).getByText('Anonymous')).toBeInTheDocument();
    expect(within(next).getByText('Simple consumer')).toBeInTheDocument();
    expect(within(next).getByText('None')).toBeInTheDocument();
    expect(new URL(m.callsTo(url).at(-1)!.url).searchParams.get('pageToken')).toBe('p2');
    expect(screen.getByRole('button', { name: 'Next page' })).toBeDisabled();

    await u.click(screen.getByRole('button', { name: 'Previous page' }));
    expect(await screen.findByText('host-1@4711#1')).toBeInTheDocument();
  });

  it('shows an empty state when no client is connected', async () => {
    mockFetch().on(url, () => json({ items: [] }));
    render();
    expect(await screen.findByText('No connected clients', {}, { timeout: 5000 })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Next page' })).toBeDisabled();
  });

  it('shows the problem when the node cannot be reached', async () => {
    mockFetch().on(url, () =>
      json({ type: '/problems/node-unreachable', title: 'Node unreachable', status: 503, detail: 'The instance’s node does not answer.' }, 503, {
        'Content-Type': 'application/problem+json',
      }),
    );
    render();
    const alert = await screen.findByRole('alert', {}, { timeout: 5000 });
    expect(alert).toHaveTextContent('Node unreachable');
    expect(alert).toHaveTextContent('The instance’s node does not answer.');
    await waitFor(() => expect(screen.queryByText('No connected clients')).not.toBeInTheDocument());
  });
});
