import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { GroupSubscriptions } from '../../api/types';
import { json, mockFetch, problem } from '../../test/fetchMock';
import { session } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { SubscriptionsCard } from './SubscriptionsCard';

const url = 'GET /api/v1/instances/ins_1/consumerGroups/billing/subscriptions';
const render = () => renderApp({ element: <SubscriptionsCard instanceId="ins_1" groupId="billing" />, session: session() });

function subs(over: Partial<GroupSubscriptions> = {}): GroupSubscriptions {
  return {
    groupId: 'billing',
    consistent: true,
    onlineClients: 2,
    items: [
      { topicName: 'orders', consistent: true, variants: [{ filterType: 'TAG', expression: 'paid||refunded', clientIds: ['c1', 'c2'] }] },
    ],
    ...over,
  };
}

describe('SubscriptionsCard', () => {
  it('shows each topic with its filter, without a warning when the consumers agree', async () => {
    mockFetch().on(url, () => json(subs()));
    render();
    const row = (await screen.findByText('orders', {}, { timeout: 5000 })).closest('tr')!;
    expect(within(row).getByText('paid||refunded')).toBeInTheDocument();
    expect(within(row).getByText(/2 clients/)).toBeInTheDocument();
    expect(screen.getByText('2 online consumers')).toBeInTheDocument();
    expect(screen.queryByText('Inconsistent')).not.toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('flags a topic the consumers subscribe to differently and lists who uses which filter', async () => {
    mockFetch().on(url, () =>
      json(
        subs({
          consistent: false,
          onlineClients: 3,
          items: [
            {
              topicName: 'orders',
              consistent: false,
              variants: [
                { filterType: 'TAG', expression: 'paid', clientIds: ['client-a', 'client-b'] },
                { filterType: 'SQL92', expression: 'amount > 10', clientIds: ['client-c'] },
              ],
            },
            { topicName: 'refunds', consistent: true, variants: [{ filterType: 'TAG', expression: '*', clientIds: ['client-a', 'client-b', 'client-c'] }] },
          ],
        }),
      ),
    );
    render();
    expect(await screen.findByRole('alert', {}, { timeout: 5000 })).toHaveTextContent('Consumers of this group subscribe differently');
    const orders = screen.getByText('orders').closest('tr')!;
    expect(within(orders).getByText('Inconsistent')).toBeInTheDocument();
    const variants = within(orders).getAllByTestId('subscription-variant');
    expect(variants).toHaveLength(2);
    expect(variants[0]).toHaveTextContent('paid');
    expect(variants[0]).toHaveTextContent('by 2 clients: client-a, client-b');
    expect(variants[1]).toHaveTextContent('SQL92');
    expect(variants[1]).toHaveTextContent('amount > 10');
    expect(variants[1]).toHaveTextContent('by 1 client: client-c');
    const refunds = screen.getByText('refunds').closest('tr')!;
    expect(within(refunds).queryByText('Inconsistent')).not.toBeInTheDocument();
    expect(within(refunds).queryByText(/client-a/)).not.toBeInTheDocument();
  });

  it('says so when no consumer is online', async () => {
    mockFetch().on(url, () => json(subs({ onlineClients: 0, items: [] })));
    render();
    expect(await screen.findByText('No online consumers', {}, { timeout: 5000 })).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it('shows the problem when the instance is not running, and tries again', async () => {
    const u = userEvent.setup();
    let calls = 0;
    const m = mockFetch().on(url, () =>
      ++calls === 1 ? problem(409, { title: 'Instance not running', detail: 'The instance is STOPPED.', code: 'instance-not-running' }) : json(subs()),
    );
    render();
    expect(await screen.findByRole('alert', {}, { timeout: 5000 })).toHaveTextContent('The instance is STOPPED.');
    await u.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('paid||refunded')).toBeInTheDocument();
    await waitFor(() => expect(m.callsTo(url)).toHaveLength(2));
  });
});
