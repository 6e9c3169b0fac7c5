import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { json, mockFetch, noContent } from '../../test/fetchMock';
import { group, instance, session } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { InstanceDetailPage } from '../instances/InstanceDetailPage';
import { GroupDetailPage } from './GroupDetailPage';
import { createGroupBody, groupChanges, type GroupValues } from './GroupFormModal';

const routes = () => [
  { path: '/instances/:instanceId', element: <InstanceDetailPage /> },
  { path: '/instances/:instanceId/groups/:groupId', element: <GroupDetailPage /> },
];
const base = '/api/v1/instances/ins_1/consumerGroups';

const values: GroupValues = {
  groupId: ' g1 ',
  deliveryOrderType: 'Orderly',
  retryPolicy: 'FixedRetryPolicy',
  maxRetryTimes: 3,
  fixedIntervalRetryTime: 30,
  maxReceiveTps: null,
  remark: '',
};

describe('group form helpers', () => {
  it('builds the create body and a PATCH of only what changed', () => {
    expect(createGroupBody(values)).toEqual({
      groupId: 'g1',
      deliveryOrderType: 'Orderly',
      consumeRetryPolicy: { retryPolicy: 'FixedRetryPolicy', maxRetryTimes: 3, fixedIntervalRetryTime: 30 },
      maxReceiveTps: 0,
      remark: '',
    });
    expect(createGroupBody({ ...values, retryPolicy: 'DefaultRetryPolicy' }).consumeRetryPolicy).toEqual({
      retryPolicy: 'DefaultRetryPolicy',
      maxRetryTimes: 3,
    });
    const g = group();
    expect(
      groupChanges(g, { ...values, deliveryOrderType: 'Concurrently', retryPolicy: 'DefaultRetryPolicy', maxRetryTimes: 16 }),
    ).toEqual({});
    expect(groupChanges(g, { ...values, remark: 'x' })).toEqual({
      deliveryOrderType: 'Orderly',
      consumeRetryPolicy: { retryPolicy: 'FixedRetryPolicy', maxRetryTimes: 3, fixedIntervalRetryTime: 30 },
      remark: 'x',
    });
  });
});

describe('GroupsTab', () => {
  it('lists groups with their total lag and creates one', async () => {
    const u = userEvent.setup();
    const m = mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on(`GET ${base}`, () => json({ items: [group(), group({ groupId: 'audit', deliveryOrderType: 'Orderly' })] }))
      .on(`GET ${base}/billing/lag`, () =>
        json({
          groupId: 'billing',
          totalLag: 1234,
          items: [],
          trendIntervalSeconds: 60,
          trend: [
            { time: '2026-11-21T11:58:00Z', lag: 1000 },
            { time: '2026-11-21T11:59:00Z', lag: 40 },
            { time: '2026-11-21T12:00:00Z', lag: 1234 },
          ],
        }),
      )
      .on(`GET ${base}/audit/lag`, () =>
        json({ groupId: 'audit', totalLag: 0, items: [], trendIntervalSeconds: 60, trend: [{ time: '2026-11-21T12:00:00Z', lag: 0 }] }),
      )
      .on(`POST ${base}`, () => json(group({ groupId: 'new-group' }), 201));
    renderApp({ routes: routes(), at: '/instances/ins_1?tab=groups', session: session() });
    expect(await screen.findByTestId('lag-billing', {}, { timeout: 5000 })).toHaveTextContent('1,234');
    expect(await screen.findByTestId('lag-audit')).toHaveTextContent('0');
    // One lag request per row gives both the number and its trend.
    expect(m.callsTo(`GET ${base}/billing/lag`)).toHaveLength(1);
    const billingRow = screen.getByTestId('lag-billing').closest('tr')!;
    expect(within(billingRow).getByRole('img', { name: 'Lag over the last hour: min 40, max 1,234' })).toBeInTheDocument();
    expect(within(billingRow).getByTestId('lag-trend-billing').querySelector('path')?.getAttribute('d')).toMatch(/^M\S+ L\S+ L\S+$/);
    // A single sample is no trend yet.
    expect(screen.queryByTestId('lag-trend-audit')).not.toBeInTheDocument();
    expect(within(screen.getByText('audit').closest('tr')!).getByText('Orderly')).toBeInTheDocument();
    expect(within(screen.getByText('billing').closest('tr')!).getByText('16 retries, backing off')).toBeInTheDocument();

    await u.click(screen.getByRole('button', { name: /create group/i }));
    const dialog = await screen.findByRole('dialog');
    await u.type(within(dialog).getByLabelText('Group ID'), 'new-group');
    await u.click(within(dialog).getByLabelText('Orderly'));
    await u.click(within(dialog).getByRole('button', { name: 'Create group' }));
    await waitFor(() => expect(m.callsTo(`POST ${base}`)).toHaveLength(1));
    expect(await m.callsTo(`POST ${base}`)[0]!.json()).toEqual({
      groupId: 'new-group',
      deliveryOrderType: 'Orderly',
      consumeRetryPolicy: { retryPolicy: 'DefaultRetryPolicy', maxRetryTimes: 16 },
      maxReceiveTps: 0,
      remark: '',
    });
    expect(await screen.findByText('Created group “new-group”.')).toBeInTheDocument();
  }, 60_000);

  it('puts a server field error on the retry field', async () => {
    const u = userEvent.setup();
    mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on(`GET ${base}`, () => json({ items: [] }))
      .on(`POST ${base}`, () =>
        json(
          {
            title: 'Validation failed',
            status: 400,
            errors: [{ field: 'consumeRetryPolicy.maxRetryTimes', message: 'must be at most 32' }],
          },
          400,
          { 'Content-Type': 'application/problem+json' },
        ),
      );
    renderApp({ routes: routes(), at: '/instances/ins_1?tab=groups', session: session() });
    await u.click(await screen.findByRole('button', { name: /create group/i }, { timeout: 5000 }));
    const dialog = await screen.findByRole('dialog');
    await u.type(within(dialog).getByLabelText('Group ID'), 'g');
    await u.click(within(dialog).getByRole('button', { name: 'Create group' }));
    expect(await within(dialog).findByText('must be at most 32')).toBeInTheDocument();
  }, 60_000);
});

describe('GroupDetailPage', () => {
  it('shows lag per topic and queue, and deletes after a confirmation', async () => {
    const u = userEvent.setup();
    const m = mockFetch()
      .on(`GET ${base}/billing`, () => json(group({ remark: 'invoices' })))
      .on(`GET ${base}/billing/lag`, () =>
        json({
          groupId: 'billing',
          totalLag: 7,
          items: [
            { topicName: 'orders', queueId: 0, minOffset: 0, maxOffset: 10, consumerOffset: 5, inflight: 1, lag: 5 },
            { topicName: 'orders', queueId: 1, minOffset: 0, maxOffset: 4, consumerOffset: 2, inflight: 0, lag: 2 },
          ],
        }),
      )
      .on(`DELETE ${base}/billing`, () => noContent())
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on(`GET ${base}`, () => json({ items: [] }));
    const { router } = renderApp({ routes: routes(), at: '/instances/ins_1/groups/billing', session: session() });
    expect(await screen.findByTestId('group-id', {}, { timeout: 5000 })).toHaveTextContent('billing');
    const q1 = (await screen.findAllByText('orders'))[1]!.closest('tr')!;
    expect(within(q1).getAllByText('2')).toHaveLength(2); // consumer offset and lag
    expect(screen.getByText('7')).toBeInTheDocument();

    await u.click(screen.getByRole('button', { name: /delete/i }));
    await u.click(await screen.findByRole('button', { name: 'Delete group' }));
    await waitFor(() => expect(m.callsTo(`DELETE ${base}/billing`)).toHaveLength(1));
    await waitFor(() => expect(router.state.location.pathname).toBe('/instances/ins_1'));
    expect(router.state.location.search).toBe('?tab=groups');
  }, 60_000);
});

describe('GroupDetailPage clients', () => {
  it('shows the lag trend large, the subscriptions and the connections of the group', async () => {
    const m = mockFetch()
      .on(`GET ${base}/billing`, () => json(group()))
      .on(`GET ${base}/billing/lag`, () =>
        json({
          groupId: 'billing',
          totalLag: 10,
          trendIntervalSeconds: 30,
          trend: [
            { time: '2026-11-21T11:59:00Z', lag: 0 },
            { time: '2026-11-21T11:59:30Z', lag: 4 },
            { time: '2026-11-21T12:00:00Z', lag: 10 },
          ],
          items: [
            { topicName: 'payments', queueId: 0, minOffset: 0, maxOffset: 15, consumerOffset: 5, inflight: 0, lag: 10, oldestUnconsumedAge: 3900 },
            { topicName: 'payments', queueId: 1, minOffset: 0, maxOffset: 3, consumerOffset: 3, inflight: 0, lag: 0, oldestUnconsumedAge: 0 },
          ],
        }),
      )
      .on(`GET ${base}/billing/subscriptions`, () =>
        json({
          groupId: 'billing',
          consistent: true,
          onlineClients: 1,
          items: [{ topicName: 'payments', consistent: true, variants: [{ filterType: 'TAG', expression: 'vip', clientIds: ['c-1'] }] }],
        }),
      )
      .on(`GET ${base}/billing/connections`, () =>
        json({
          items: [
            {
              clientId: 'c-1',
              clientType: 'PUSH_CONSUMER',
              address: '127.0.0.1:5000',
              language: 'GOLANG',
              version: '5.1.2',
              subscriptions: [{ topicName: 'payments', filterType: 'TAG', expression: 'vip' }],
              lastHeartbeat: new Date().toISOString(),
              firstSeen: new Date().toISOString(),
            },
          ],
        }),
      )
      .on(`GET ${base}/billing/deadLetters`, () => json({ items: [] }));
    renderApp({ routes: routes(), at: '/instances/ins_1/groups/billing', session: session() });
    const trend = await screen.findByTestId('lag-trend', {}, { timeout: 5000 });
    expect(trend).toHaveAccessibleName('Lag over the last hour: min 0, max 10');
    expect(screen.getByText('Last hour, sampled every 30 s')).toBeInTheDocument();
    // Lag as age per queue; a queue without lag has none.
    expect(screen.getByText('1 h 5 min ago')).toBeInTheDocument();
    expect(screen.queryByText('0 s ago')).not.toBeInTheDocument();
    const subs = screen.getByTestId('subscriptions-card');
    expect(await within(subs).findByText('vip')).toBeInTheDocument();
    expect(within(subs).getByText('1 online consumer')).toBeInTheDocument();
    const conns = screen.getByTestId('connections-card');
    const row = (await within(conns).findByText('c-1')).closest('tr')!;
    expect(row).toHaveTextContent('payments: vip');
    expect(within(row).getByText('just now')).toBeInTheDocument();
    expect(new URL(m.callsTo(`GET ${base}/billing/connections`)[0]!.url).searchParams.get('pageSize')).toBe('10');
  }, 60_000);

  it('says when the trend has too few samples', async () => {
    mockFetch()
      .on(`GET ${base}/billing`, () => json(group()))
      .on(`GET ${base}/billing/lag`, () => json({ groupId: 'billing', totalLag: 0, trendIntervalSeconds: 30, trend: [], items: [] }));
    renderApp({ routes: routes(), at: '/instances/ins_1/groups/billing', session: session() });
    expect(await screen.findByText(/Not enough samples yet/, {}, { timeout: 5000 })).toBeInTheDocument();
    expect(screen.queryByTestId('lag-trend')).not.toBeInTheDocument();
  }, 60_000);
});

describe('ResetOffsetModal', () => {
  it('previews a reset with a dry run before resetting', async () => {
    const u = userEvent.setup();
    const offsets = `PATCH ${base}/billing/consumeOffsets/orders`;
    const m = mockFetch()
      .on(`GET ${base}/billing`, () => json(group()))
      .on(`GET ${base}/billing/lag`, () =>
        json({
          groupId: 'billing',
          totalLag: 5,
          items: [{ topicName: 'orders', queueId: 0, minOffset: 0, maxOffset: 10, consumerOffset: 5, inflight: 0, lag: 5 }],
        }),
      )
      .on(offsets, (_, url) =>
        json({
          dryRun: url.searchParams.get('dryRun') === 'true',
          groupId: 'billing',
          topicName: 'orders',
          skippedCount: 5,
          redeliveredCount: 0,
          items: [{ queueId: 0, currentOffset: 5, newOffset: 10 }],
        }),
      );
    renderApp({ routes: routes(), at: '/instances/ins_1/groups/billing', session: session() });
    await u.click(await screen.findByRole('button', { name: /reset offset/i }, { timeout: 5000 }));
    const dialog = await screen.findByRole('dialog');
    await waitFor(() => expect(within(dialog).getByLabelText('Topic')).toHaveValue('orders'));
    await u.click(within(dialog).getByRole('button', { name: 'Preview' }));
    expect(await within(dialog).findByTestId('reset-preview')).toHaveTextContent('Preview: nothing has changed yet');
    expect(m.callsTo(offsets)).toHaveLength(1);
    const first = m.callsTo(offsets)[0]!;
    expect(new URL(first.url).searchParams.get('dryRun')).toBe('true');
    expect(await first.json()).toEqual({ resetType: 'LATEST' });

    await u.click(within(dialog).getByRole('button', { name: 'Reset offsets' }));
    await waitFor(() => expect(m.callsTo(offsets)).toHaveLength(2));
    expect(new URL(m.callsTo(offsets)[1]!.url).searchParams.get('dryRun')).toBeNull();
    expect(await screen.findByText('Reset the offsets of “orders”.')).toBeInTheDocument();
  }, 60_000);
});

describe('DeadLettersCard', () => {
  it('lists dead letters and resends the selected ones after a confirmation', async () => {
    const u = userEvent.setup();
    const resend = `POST ${base}/billing/deadLetters/resend`;
    const m = mockFetch()
      .on(`GET ${base}/billing`, () => json(group()))
      .on(`GET ${base}/billing/lag`, () => json({ groupId: 'billing', totalLag: 0, items: [] }))
      .on(`GET ${base}/billing/deadLetters`, () =>
        json({
          items: [
            {
              messageId: 'MSG1',
              originMessageId: 'O1',
              originTopic: 'orders',
              attempts: 17,
              bodyPreview: '{"id":1}',
              bodySize: 8,
              bodyTruncated: false,
            },
          ],
        }),
      )
      .on(resend, () => json({ items: [{ messageId: 'MSG1', resent: true, topicName: 'orders' }] }));
    renderApp({ routes: routes(), at: '/instances/ins_1/groups/billing', session: session() });
    const row = (await screen.findByText('MSG1', {}, { timeout: 5000 })).closest('tr')!;
    expect(within(row).getByText('17')).toBeInTheDocument();
    await u.click(within(row).getByRole('checkbox'));
    await u.click(screen.getByRole('button', { name: /resend \(1\)/i }));
    expect(m.callsTo(resend)).toHaveLength(0);
    await u.click(await screen.findByRole('button', { name: 'Resend' }));
    await waitFor(() => expect(m.callsTo(resend)).toHaveLength(1));
    expect(await m.callsTo(resend)[0]!.json()).toEqual({ messageIds: ['MSG1'] });
    expect(await screen.findByText('Resent 1 message.')).toBeInTheDocument();
  }, 60_000);
});
