import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../api/types';
import { json, mockFetch } from '../../test/fetchMock';
import { session, user } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { AuditLogPage } from './AuditLogPage';

const event: AuditEvent = {
  id: 'ev_1',
  actorId: 'usr_1',
  actorEmail: 'ada@acme.test',
  action: 'createToken',
  resource: 'tokens/tok_1',
  statusCode: 201,
  result: 'success',
  sourceIp: '10.1.2.3',
  userAgent: 'curl/8',
  requestId: 'req-1',
  createdAt: '2026-11-21T10:00:00Z',
};

describe('AuditLogPage', () => {
  it('sends the filters to the server and keeps them in the URL', async () => {
    const u = userEvent.setup();
    const m = mockFetch().on('GET /api/v1/auditEvents', () => json({ items: [event], nextPageToken: 'p2' }));
    const { router } = renderApp({ element: <AuditLogPage />, path: '/access/audit', session: session(user({ role: 'admin' })) });

    expect(await screen.findByText('createToken')).toBeInTheDocument();
    expect(screen.getByText('success · 201')).toBeInTheDocument();
    await u.type(screen.getByLabelText('Actor'), 'ada@acme.test');
    await u.type(screen.getByLabelText('Resource'), 'tokens/');
    await u.click(screen.getByRole('button', { name: /apply/i }));

    await waitFor(() => expect(router.state.location.search).toBe('?actor=ada%40acme.test&resource=tokens%2F'));
    await waitFor(() => {
      const last = new URL(m.callsTo('GET /api/v1/auditEvents').at(-1)!.url);
      expect(last.searchParams.get('actor')).toBe('ada@acme.test');
      expect(last.searchParams.get('resource')).toBe('tokens/');
      expect(last.searchParams.get('pageToken')).toBeNull();
    });
  });

  it('pages with the server’s nextPageToken', async () => {
    const u = userEvent.setup();
    const m = mockFetch().on('GET /api/v1/auditEvents', (_req, url) =>
      url.searchParams.get('pageToken') === 'p2'
        ? json({ items: [{ ...event, id: 'ev_2', action: 'deleteUser' }] })
        : json({ items: [event], nextPageToken: 'p2' }),
    );
    renderApp({ element: <AuditLogPage />, path: '/access/audit', session: session(user({ role: 'owner' })) });

    await screen.findByText('createToken');
    await u.click(screen.getByRole('button', { name: 'Next page' }));
    expect(await screen.findByText('deleteUser')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Next page' })).toBeDisabled();
    expect(new URL(m.calls.at(-1)!.url).searchParams.get('pageToken')).toBe('p2');
    await u.click(screen.getByRole('button', { name: 'Previous page' }));
    expect(await screen.findByText('createToken')).toBeInTheDocument();
  });

  it('tells a developer the audit log needs an admin', async () => {
    const m = mockFetch().on('GET /api/v1/auditEvents', () => json({ items: [] }));
    renderApp({ element: <AuditLogPage />, session: session(user({ role: 'developer' })) });
    expect(await screen.findByText('Not available for your role')).toBeInTheDocument();
    expect(m.callsTo('GET /api/v1/auditEvents')).toHaveLength(0);
  });
});
