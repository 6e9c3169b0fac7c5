import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { json, mockFetch, noContent } from '../../test/fetchMock';
import { instance, session, topic, user } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { InstanceDetailPage } from '../instances/InstanceDetailPage';
import { createBody, topicChanges } from './TopicFormModal';

const routes = () => [{ path: '/instances/:instanceId', element: <InstanceDetailPage /> }];
const list = 'GET /api/v1/instances/ins_1/topics';

describe('topic form helpers', () => {
  it('builds the create body and a PATCH of only what changed', () => {
    expect(createBody({ topicName: ' t1 ', messageType: 'FIFO', queueCount: 4, maxSendTps: null, remark: ' x ' })).toEqual({
      topicName: 't1',
      messageType: 'FIFO',
      queueCount: 4,
      maxSendTps: 0,
      remark: 'x',
    });
    expect(topicChanges(topic({ maxSendTps: 100 }), { maxSendTps: 100, remark: '' })).toEqual({});
    expect(topicChanges(topic(), { maxSendTps: 50, remark: 'new' })).toEqual({ maxSendTps: 50, remark: 'new' });
  });
});

describe('TopicsTab', () => {
  it('lists topics and filters by name and type on the server', async () => {
    const u = userEvent.setup();
    const m = mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on(list, (_, url) =>
        json({
          items: url.searchParams.get('messageType') === 'FIFO'
            ? [topic({ topicName: 'payments', messageType: 'FIFO', queueCount: 4, maxSendTps: 500 })]
            : [topic(), topic({ topicName: 'payments', messageType: 'FIFO', queueCount: 4, maxSendTps: 500 })],
        }),
      );
    renderApp({ routes: routes(), at: '/instances/ins_1?tab=topics', session: session() });
    const row = (await screen.findByText('payments', {}, { timeout: 5000 })).closest('tr')!;
    expect(within(row).getByText('FIFO')).toBeInTheDocument();
    expect(within(row).getByText('500')).toBeInTheDocument();
    expect(within(screen.getByText('orders-created').closest('tr')!).getByText('Instance limit')).toBeInTheDocument();

    await u.type(screen.getByLabelText('Filter topics by name'), 'pay{Enter}');
    await waitFor(() => expect(m.callsTo(list).some((r) => new URL(r.url).searchParams.get('name') === 'pay')).toBe(true));
    await u.click(screen.getByLabelText('Filter topics by type'));
    await u.click(await screen.findByTitle('FIFO'));
    await waitFor(() =>
      expect(m.callsTo(list).some((r) => new URL(r.url).searchParams.get('messageType') === 'FIFO')).toBe(true),
    );
    await waitFor(() => expect(screen.queryByText('orders-created')).not.toBeInTheDocument());
  }, 60_000);

  it("shows each topic's retained messages, read per row", async () => {
    mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on(list, () => json({ items: [topic(), topic({ topicName: 'payments' })] }))
      .on('GET /api/v1/instances/ins_1/topics/orders-created', () => json({ ...topic(), messageCount: 1234, queues: [] }))
      .on('GET /api/v1/instances/ins_1/topics/payments', () => json(topic({ topicName: 'payments' })));
    renderApp({ routes: routes(), at: '/instances/ins_1?tab=topics', session: session() });
    expect(await screen.findByTestId('messages-orders-created', {}, { timeout: 5000 })).toHaveTextContent('1,234');
    // Without statistics (a stopped instance) the cell says so instead of a number.
    const row = screen.getByText('payments').closest('tr')!;
    await waitFor(() => expect(within(row).getByText('—')).toBeInTheDocument());
    expect(screen.queryByTestId('messages-payments')).not.toBeInTheDocument();
  }, 60_000);

  it('creates a topic with 8 queues by default and shows server field errors', async () => {
    const u = userEvent.setup();
    let attempt = 0;
    const m = mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on(list, () => json({ items: [] }))
      .on('POST /api/v1/instances/ins_1/topics', async (req) => {
        attempt++;
        if (attempt === 1) {
          return json(
            { title: 'Validation failed', status: 400, errors: [{ field: 'topicName', message: 'is reserved' }] },
            400,
            { 'Content-Type': 'application/problem+json' },
          );
        }
        return json(topic({ topicName: ((await req.json()) as { topicName: string }).topicName }), 201);
      });
    renderApp({ routes: routes(), at: '/instances/ins_1?tab=topics', session: session() });
    expect(await screen.findByText('No topics yet', {}, { timeout: 5000 })).toBeInTheDocument();
    await u.click(screen.getByRole('button', { name: /create topic/i }));
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByLabelText('Queues')).toHaveValue('8');
    await u.type(within(dialog).getByLabelText('Topic name'), 'TBW102');
    await u.click(within(dialog).getByRole('button', { name: 'Create topic' }));
    expect(await within(dialog).findByText('is reserved')).toBeInTheDocument();

    const name = within(dialog).getByLabelText('Topic name');
    await u.clear(name);
    await u.type(name, 'orders');
    await u.click(within(dialog).getByRole('button', { name: 'Create topic' }));
    await waitFor(() => expect(m.callsTo('POST /api/v1/instances/ins_1/topics')).toHaveLength(2));
    expect(await m.callsTo('POST /api/v1/instances/ins_1/topics')[1]!.json()).toEqual({
      topicName: 'orders',
      messageType: 'NORMAL',
      queueCount: 8,
      maxSendTps: 0,
      remark: '',
    });
    expect(await screen.findByText('Created topic “orders”.')).toBeInTheDocument();
  }, 60_000);

  it('edits the TPS cap with the type read-only, and deletes after a confirmation', async () => {
    const u = userEvent.setup();
    const m = mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on(list, () => json({ items: [topic({ messageType: 'DELAY' })] }))
      .on('PATCH /api/v1/instances/ins_1/topics/orders-created', () => json(topic({ maxSendTps: 200 })))
      .on('DELETE /api/v1/instances/ins_1/topics/orders-created', () => noContent());
    renderApp({ routes: routes(), at: '/instances/ins_1?tab=topics', session: session() });
    await u.click(await screen.findByRole('button', { name: 'Edit orders-created' }, { timeout: 5000 }));
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByTestId('topic-type-readonly')).toHaveTextContent('Delay');
    const tps = within(dialog).getByLabelText('TPS cap');
    await u.clear(tps);
    await u.type(tps, '200');
    await u.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(m.callsTo('PATCH /api/v1/instances/ins_1/topics/orders-created')).toHaveLength(1));
    expect(await m.callsTo('PATCH /api/v1/instances/ins_1/topics/orders-created')[0]!.json()).toEqual({ maxSendTps: 200 });
    expect(await screen.findByText('Saved.')).toBeInTheDocument();

    await u.click(screen.getByRole('button', { name: 'Delete orders-created' }));
    expect((await screen.findAllByText('Delete topic “orders-created”?')).length).toBeGreaterThan(0);
    expect(m.callsTo('DELETE /api/v1/instances/ins_1/topics/orders-created')).toHaveLength(0);
    await u.click(screen.getByRole('button', { name: 'Delete topic' }));
    await waitFor(() => expect(m.callsTo('DELETE /api/v1/instances/ins_1/topics/orders-created')).toHaveLength(1));
  }, 60_000);

  it('hides write actions from viewers', async () => {
    mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on(list, () => json({ items: [topic()] }));
    renderApp({ routes: routes(), at: '/instances/ins_1?tab=topics', session: session(user({ role: 'viewer' })) });
    expect(await screen.findByText('orders-created', {}, { timeout: 5000 })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /create topic/i })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Delete orders-created' })).not.toBeInTheDocument();
  }, 60_000);
});
