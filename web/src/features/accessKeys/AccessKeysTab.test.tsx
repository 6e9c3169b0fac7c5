import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { AccessKey } from '../../api/types';
import { json, mockFetch, noContent } from '../../test/fetchMock';
import { instance, session } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { InstanceDetailPage } from '../instances/InstanceDetailPage';
import { accessKeyBody, parseSourceIps } from './AccessKeyFormModal';

const routes = () => [{ path: '/instances/:instanceId', element: <InstanceDetailPage /> }];
const base = '/api/v1/instances/ins_1/accessKeys';

function key(over: Partial<AccessKey> = {}): AccessKey {
  return {
    instanceId: 'ins_1',
    accessKey: 'AK1',
    enabled: true,
    permissions: [{ resourceType: 'TOPIC', resourceName: 'orders*', actions: ['PUB'], decision: 'ALLOW' }],
    sourceIps: [],
    remark: '',
    createdAt: '2026-11-21T10:00:00Z',
    updatedAt: '2026-11-21T10:00:00Z',
    ...over,
  };
}

describe('access key form helpers', () => {
  it('parses source IPs and trims names', () => {
    expect(parseSourceIps(' 10.0.0.0/8,\n192.168.1.1  ')).toEqual(['10.0.0.0/8', '192.168.1.1']);
    expect(
      accessKeyBody({
        permissions: [{ resourceType: 'GROUP', resourceName: ' g* ', actions: ['SUB'], decision: 'DENY' }],
        sourceIps: '',
        remark: ' r ',
      }),
    ).toEqual({
      permissions: [{ resourceType: 'GROUP', resourceName: 'g*', actions: ['SUB'], decision: 'DENY' }],
      sourceIps: [],
      remark: 'r',
    });
  });
});

describe('AccessKeysTab', () => {
  it('creates a key and shows its secret once', async () => {
    const u = userEvent.setup();
    let keys: AccessKey[] = [];
    const m = mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on(`GET ${base}`, () => json({ items: keys }))
      .on(`POST ${base}`, async (req) => {
        const body = (await req.json()) as Pick<AccessKey, 'permissions'>;
        keys = [key({ accessKey: 'AK9', permissions: body.permissions })];
        return json({ ...keys[0], secretKey: 'sk-very-secret-0123456789' }, 201);
      });
    renderApp({ routes: routes(), at: '/instances/ins_1?tab=accessKeys', session: session() });
    await u.click(await screen.findByRole('button', { name: /create access key/i }, { timeout: 5000 }));
    const dialog = await screen.findByRole('dialog');
    // Two default rows: topics PUB+SUB and groups SUB; drop the second.
    expect(within(dialog).getByTestId('permission-1')).toBeInTheDocument();
    await u.click(within(dialog).getByRole('button', { name: 'Remove permission 2' }));
    await u.type(within(dialog).getByLabelText('Source IPs'), '10.0.0.0/8');
    await u.click(within(dialog).getByRole('button', { name: 'Create access key' }));
    await waitFor(() => expect(m.callsTo(`POST ${base}`)).toHaveLength(1));
    expect(await m.callsTo(`POST ${base}`)[0]!.json()).toEqual({
      permissions: [{ resourceType: 'TOPIC', resourceName: '*', actions: ['PUB', 'SUB'], decision: 'ALLOW' }],
      sourceIps: ['10.0.0.0/8'],
      remark: '',
    });
    expect(await screen.findByTestId('access-key-secret')).toHaveTextContent('sk-very-secret-0123456789');
    await u.click(screen.getByRole('button', { name: 'I have copied it' }));
    expect(await screen.findByText('ALLOW PUB+SUB topic *')).toBeInTheDocument();
  }, 60_000);

  it('disables with the switch and deletes after a confirmation', async () => {
    const u = userEvent.setup();
    const m = mockFetch()
      .on('GET /api/v1/instances/ins_1', () => json(instance()))
      .on(`GET ${base}`, () => json({ items: [key()] }))
      .on(`PATCH ${base}/AK1`, () => json(key({ enabled: false })))
      .on(`DELETE ${base}/AK1`, () => noContent());
    renderApp({ routes: routes(), at: '/instances/ins_1?tab=accessKeys', session: session() });
    expect(await screen.findByText('ALLOW PUB topic orders*', {}, { timeout: 5000 })).toBeInTheDocument();
    await u.click(screen.getByRole('switch', { name: 'Enable AK1' }));
    await waitFor(() => expect(m.callsTo(`PATCH ${base}/AK1`)).toHaveLength(1));
    expect(await m.callsTo(`PATCH ${base}/AK1`)[0]!.json()).toEqual({ enabled: false });

    await u.click(screen.getByRole('button', { name: 'Delete AK1' }));
    expect(m.callsTo(`DELETE ${base}/AK1`)).toHaveLength(0);
    await u.click(await screen.findByRole('button', { name: 'Delete access key' }));
    await waitFor(() => expect(m.callsTo(`DELETE ${base}/AK1`)).toHaveLength(1));
  }, 60_000);
});
