import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { json, mockFetch } from '../../test/fetchMock';
import { instance, session, topic } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { InstanceDetailPage } from '../instances/InstanceDetailPage';

const routes = () => [{ path: '/instances/:instanceId', element: <InstanceDetailPage /> }];
const list = 'GET /api/v1/instances/ins_1/topics';
const one = 'GET /api/v1/instances/ins_1/topics/orders-created';

describe('TopicQueuesDrawer', () => {
  it('opens from the topic name and shows each queue’s offsets and messages', async () => {
    const u = userEvent.setup();
    mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on(list, () => json({ items: [topic({ queueCount: 2 })] }))
      .on(one, () =>
        json(
          topic({
            queueCount: 2,
            messageCount: 1207,
            queues: [
              { queueId: 0, minOffset: 100, maxOffset: 1300 },
              { queueId: 1, minOffset: 3, maxOffset: 10 },
            ],
          }),
        ),
      );
    renderApp({ routes: routes(), at: '/instances/ins_1?tab=topics', session: session() });
    // The table's messages column reads the topic too.
    expect(await screen.findByTestId('messages-orders-created', {}, { timeout: 5000 })).toHaveTextContent('1,207');
    await u.click(await screen.findByRole('button', { name: 'orders-created' }, { timeout: 5000 }));
    const drawer = await screen.findByRole('dialog');
    expect(within(drawer).getByText('Topic “orders-created”')).toBeInTheDocument();
    expect(await within(drawer).findByTestId('topic-message-count')).toHaveTextContent('1,207');
    const rows = within(within(drawer).getByTestId('topic-queues')).getAllByRole('row').slice(1); // after the header
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getAllByRole('cell').map((c) => c.textContent)).toEqual(['0', '100', '1,300', '1,200']);
    expect(within(rows[1]!).getAllByRole('cell').map((c) => c.textContent)).toEqual(['1', '3', '10', '7']);
  }, 60_000);

  it('explains that offsets need a running instance', async () => {
    const u = userEvent.setup();
    mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance({ status: 'STOPPED' })))
      .on(list, () => json({ items: [topic()] }))
      .on(one, () => json(topic()));
    renderApp({ routes: routes(), at: '/instances/ins_1?tab=topics', session: session() });
    await u.click(await screen.findByRole('button', { name: 'orders-created' }, { timeout: 5000 }));
    const drawer = await screen.findByRole('dialog');
    expect(await within(drawer).findByText('Offsets are read from the instance while it is running.')).toBeInTheDocument();
    expect(within(drawer).queryByTestId('topic-queues')).not.toBeInTheDocument();
  }, 60_000);
});
