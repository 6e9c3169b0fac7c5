import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { json, mockFetch } from '../../test/fetchMock';
import { instance, session, spec, user } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { CreateInstancePage } from './CreateInstancePage';
import { InstanceDetailPage } from './InstanceDetailPage';
import { InstancesPage } from './InstancesPage';

function routes() {
  return [
    { path: '/instances', element: <InstancesPage /> },
    { path: '/instances/new', element: <CreateInstancePage /> },
    { path: '/instances/:instanceId', element: <InstanceDetailPage /> },
  ];
}

function stubClipboard() {
  const writeText = vi.fn((_: string) => Promise.resolve());
  Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
  vi.stubGlobal('isSecureContext', true);
  return writeText;
}

describe('InstancesPage', () => {
  it('lists instances with status, spec and a copyable endpoint', async () => {
    const u = userEvent.setup();
    const writeText = stubClipboard();
    mockFetch().on('GET /api/v1/instances', () =>
      json({
        items: [
          instance(),
          instance({ instanceId: 'ins_2', instanceName: 'billing', status: 'STOPPED', endpoint: undefined }),
        ],
      }),
    );
    renderApp({ routes: routes(), at: '/instances', session: session(user({ role: 'developer' })) });

    const row = (await screen.findByText('orders')).closest('tr')!;
    expect(within(row).getByText('Running')).toBeInTheDocument();
    expect(within(row).getByText('rmq.s1.small')).toBeInTheDocument();
    expect(within(row).getByTestId('instance-endpoint')).toHaveTextContent('127.0.0.1:18081');
    await u.click(within(row).getByRole('button', { name: 'Copy endpoint' }));
    expect(writeText).toHaveBeenCalledWith('127.0.0.1:18081');
    await waitFor(() =>
      expect(within(row).getByRole('button', { name: 'Copy endpoint' })).toHaveAttribute('data-copy-state', 'copied'),
    );
    const stopped = screen.getByText('billing').closest('tr')!;
    expect(within(stopped).getByText('Stopped')).toBeInTheDocument();
  }, 30_000);

  it('keeps refreshing while an instance is on its way', async () => {
    let calls = 0;
    mockFetch().on('GET /api/v1/instances', () => {
      calls++;
      return json({ items: [instance({ status: calls === 1 ? 'CREATING' : 'RUNNING', endpoint: calls === 1 ? undefined : '127.0.0.1:18081' })] });
    });
    renderApp({ routes: routes(), at: '/instances', session: session() });
    expect(await screen.findByText('Creating')).toBeInTheDocument();
    expect(screen.getByText('Assigned when running')).toBeInTheDocument();
    expect(await screen.findByText('Running', {}, { timeout: 10_000 })).toBeInTheDocument();
    const settled = calls;
    await new Promise((r) => setTimeout(r, 2500));
    expect(calls).toBe(settled);
  }, 30_000);

  it('hides Create instance from viewers', async () => {
    mockFetch().on('GET /api/v1/instances', () => json({ items: [] }));
    renderApp({ routes: routes(), at: '/instances', session: session(user({ role: 'viewer' })) });
    expect(await screen.findByText('No instances yet')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /create instance/i })).not.toBeInTheDocument();
  });
});

describe('CreateInstancePage', () => {
  it('walks through spec, settings and review, creates once and opens the instance', async () => {
    const u = userEvent.setup();
    const m = mockFetch()
      .on('GET /api/v1/specs', () =>
        json({
          items: [
            spec(),
            spec({ specCode: 'rmq.p2.large', edition: 'professional', maxTps: 20000, pricePerHour: 0.2, pricePerMonth: 146 }),
          ],
        }),
      )
      .on('POST /api/v1/instances', async (req) => {
        const body = (await req.json()) as { instanceName: string };
        await new Promise((r) => setTimeout(r, 50));
        return json(instance({ instanceId: 'ins_9', instanceName: body.instanceName, status: 'CREATING', endpoint: undefined }), 202);
      })
      .on('GET /api/v1/instances/ins_9', () => json(instance({ instanceId: 'ins_9', instanceName: 'orders-prod', status: 'CREATING', endpoint: undefined })));
    const { router } = renderApp({ routes: routes(), at: '/instances/new', session: session() });

    // The smallest spec starts chosen; pick the professional one.
    const row = (await screen.findByText('rmq.p2.large')).closest('tr')!;
    expect(within(row).getByText('$146.00 / month')).toBeInTheDocument();
    await u.click(row);
    await u.click(screen.getByRole('button', { name: 'Next' }));

    // Settings: name is required; retention defaults to 72 hours.
    expect(screen.getByLabelText('Message retention (hours)')).toHaveValue('72');
    expect(screen.getByText(/only after the message is on disk/)).toBeInTheDocument();
    await u.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText('Name the instance')).toBeInTheDocument();
    await u.type(screen.getByLabelText('Instance name'), 'orders-prod');
    await u.click(screen.getByLabelText(/Synchronous/));
    await u.click(screen.getByRole('button', { name: 'Next' }));

    // Review shows the monthly price of the chosen spec.
    expect(await screen.findByTestId('review-price')).toHaveTextContent('$146.00 / month');
    const create = screen.getByRole('button', { name: 'Create instance' });
    await u.dblClick(create);

    await waitFor(() => expect(router.state.location.pathname).toBe('/instances/ins_9'));
    const posts = m.callsTo('POST /api/v1/instances');
    expect(posts.length).toBeGreaterThanOrEqual(1);
    const keys = new Set(posts.map((p) => p.headers.get('Idempotency-Key')));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(await posts[0]!.json()).toEqual({
      instanceName: 'orders-prod',
      specCode: 'rmq.p2.large',
      messageRetentionHours: 72,
      flushMode: 'sync',
      remark: '',
    });
  }, 30_000);

  it('puts a server field error on its step', async () => {
    const u = userEvent.setup();
    mockFetch()
      .on('GET /api/v1/specs', () => json({ items: [spec()] }))
      .on('POST /api/v1/instances', () =>
        json(
          { title: 'Validation failed', status: 400, errors: [{ field: 'instanceName', message: 'is already taken' }] },
          400,
          { 'Content-Type': 'application/problem+json' },
        ),
      );
    renderApp({ routes: routes(), at: '/instances/new', session: session() });
    await screen.findByText('rmq.s1.small');
    await u.click(screen.getByRole('button', { name: 'Next' }));
    await u.type(screen.getByLabelText('Instance name'), 'orders');
    await u.click(screen.getByRole('button', { name: 'Next' }));
    await u.click(await screen.findByRole('button', { name: 'Create instance' }));
    expect(await screen.findByText('is already taken')).toBeInTheDocument();
    expect(screen.getByLabelText('Instance name')).toBeVisible();
  }, 30_000);
});

describe('InstanceDetailPage', () => {
  it('shows the endpoint with client code, spec quotas and settings', async () => {
    const u = userEvent.setup();
    const writeText = stubClipboard();
    mockFetch().on('GET /api/v1/instances/ins_1', () => json(instance({ remark: 'checkout events' })));
    renderApp({ routes: routes(), at: '/instances/ins_1', session: session() });

    expect(await screen.findByTestId('instance-name')).toHaveTextContent('orders');
    expect(screen.getAllByText('Running').length).toBeGreaterThan(0);
    expect(screen.getByTestId('snippet-go')).toHaveTextContent('Endpoint: "127.0.0.1:18081"');
    await u.click(screen.getByRole('button', { name: 'Copy Go code' }));
    expect(writeText.mock.calls[0]![0]).toContain('github.com/apache/rocketmq-clients/golang/v5');
    await u.click(screen.getByRole('tab', { name: 'Java' }));
    expect(await screen.findByTestId('snippet-java')).toHaveTextContent('.setEndpoints("127.0.0.1:18081")');
    await u.click(screen.getByRole('tab', { name: 'Node.js' }));
    expect(await screen.findByTestId('snippet-nodejs')).toHaveTextContent("endpoints: '127.0.0.1:18081'");

    expect(screen.getByText('1,000')).toBeInTheDocument(); // max TPS
    expect(screen.getByText('100 GB')).toBeInTheDocument();
    expect(screen.getByText('72 hours')).toBeInTheDocument();
    expect(screen.getByText('Asynchronous')).toBeInTheDocument();
    expect(screen.getAllByText('checkout events').length).toBeGreaterThan(0);
  }, 30_000);

  it('stops after a confirmation and follows the status', async () => {
    const u = userEvent.setup();
    let status: 'RUNNING' | 'STOPPING' | 'STOPPED' = 'RUNNING';
    const m = mockFetch()
      .on('GET /api/v1/instances/ins_1', () => {
        const now = status;
        if (status === 'STOPPING') status = 'STOPPED';
        return json(instance({ status: now }));
      })
      .on('POST /api/v1/instances/ins_1/stop', () => {
        status = 'STOPPING';
        return json(instance({ status: 'STOPPING' }), 202);
      })
      .on('GET /api/v1/instances', () => json({ items: [] }));
    renderApp({ routes: routes(), at: '/instances/ins_1', session: session() });
    await u.click(await screen.findByRole('button', { name: /stop/i }));
    const dialog = await screen.findByRole('dialog');
    expect(m.callsTo('POST /api/v1/instances/ins_1/stop')).toHaveLength(0);
    await u.click(within(dialog).getByRole('button', { name: 'Stop instance' }));
    await waitFor(() => expect(m.callsTo('POST /api/v1/instances/ins_1/stop')).toHaveLength(1));
    expect(await screen.findByRole('button', { name: /start/i }, { timeout: 10_000 })).toBeInTheDocument();
  }, 30_000);

  it('renames with a PATCH of only what changed', async () => {
    const u = userEvent.setup();
    const m = mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on('PATCH /api/v1/instances/ins_1', () => json(instance({ instanceName: 'orders-eu' })))
      .on('GET /api/v1/instances', () => json({ items: [] }));
    renderApp({ routes: routes(), at: '/instances/ins_1', session: session() });
    await u.click(await screen.findByRole('button', { name: /edit/i }));
    const dialog = await screen.findByRole('dialog');
    const name = within(dialog).getByLabelText('Name');
    await u.clear(name);
    await u.type(name, 'orders-eu');
    await u.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(m.callsTo('PATCH /api/v1/instances/ins_1')).toHaveLength(1));
    expect(await m.callsTo('PATCH /api/v1/instances/ins_1')[0]!.json()).toEqual({ instanceName: 'orders-eu' });
  }, 30_000);

  it('says so when the instance does not exist', async () => {
    mockFetch();
    renderApp({ routes: routes(), at: '/instances/ins_404', session: session() });
    expect(await screen.findByText('Instance not found')).toBeInTheDocument();
  });
});
