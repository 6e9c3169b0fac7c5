import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { json, mockFetch, noContent } from '../../test/fetchMock';
import { session, user } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { UsersPage } from './UsersPage';

const owner = user({ id: 'usr_1', role: 'owner', email: 'ada@acme.test', name: 'Ada' });
const dev = user({ id: 'usr_2', role: 'developer', email: 'grace@acme.test', name: 'Grace' });
const viewer = user({ id: 'usr_3', role: 'viewer', email: 'vic@acme.test', name: 'Vic' });

function mockUsers() {
  return mockFetch().on('GET /api/v1/users', () => json({ items: [owner, dev, viewer] }));
}

describe('UsersPage', () => {
  it('hides every mutating control from a viewer', async () => {
    mockUsers();
    renderApp({ element: <UsersPage />, session: session(viewer) });

    expect(await screen.findByText('grace@acme.test')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /invite user/i })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /remove/i })).not.toBeInTheDocument();
    expect(screen.queryByRole('combobox', { name: /role of/i })).not.toBeInTheDocument();
  });

  it('gives an owner invite, role change and remove for others, not for themselves', async () => {
    mockUsers();
    renderApp({ element: <UsersPage />, session: session(owner) });

    expect(await screen.findByText('grace@acme.test')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /invite user/i })).toBeInTheDocument();
    expect(screen.getByRole('combobox', { name: 'Role of grace@acme.test' })).toBeInTheDocument();
    expect(screen.queryByRole('combobox', { name: 'Role of ada@acme.test' })).not.toBeInTheDocument();
    expect(screen.getAllByRole('button', { name: /remove/i })).toHaveLength(2);
  });

  it('asks before removing a user and then deletes', async () => {
    const u = userEvent.setup();
    const m = mockUsers().on('DELETE /api/v1/users/usr_2', () => noContent());
    renderApp({ element: <UsersPage />, session: session(owner) });

    const row = (await screen.findByText('grace@acme.test')).closest('tr')!;
    await u.click(within(row).getByRole('button', { name: /remove/i }));

    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getAllByText('Remove Grace?').length).toBeGreaterThan(0);
    expect(m.callsTo('DELETE /api/v1/users/usr_2')).toHaveLength(0);

    await u.click(within(dialog).getByRole('button', { name: 'Remove user' }));
    await waitFor(() => expect(m.callsTo('DELETE /api/v1/users/usr_2')).toHaveLength(1));
    // The list is fetched again after the change.
    await waitFor(() => expect(m.callsTo('GET /api/v1/users').length).toBeGreaterThan(1));
  });

  it('maps errors[] of a failed invite onto the form fields', async () => {
    const u = userEvent.setup();
    const m = mockUsers().on('POST /api/v1/users', () =>
      json(
        {
          title: 'Conflict',
          status: 409,
          code: 'email_taken',
          detail: 'That email is already registered.',
          requestId: 'req-42',
          errors: [{ field: 'email', message: 'email already registered' }],
        },
        409,
      ),
    );
    renderApp({ element: <UsersPage />, session: session(owner) });

    await u.click(await screen.findByRole('button', { name: /invite user/i }));
    const dialog = await screen.findByRole('dialog');
    await u.type(within(dialog).getByLabelText('Email'), 'grace@acme.test');
    await u.type(within(dialog).getByLabelText('Name'), 'Grace Again');
    await u.type(within(dialog).getByLabelText('Initial password'), 'correct horse battery');
    await u.click(within(dialog).getByRole('button', { name: 'Create user' }));

    expect(await within(dialog).findByText('email already registered')).toBeInTheDocument();
    const post = m.callsTo('POST /api/v1/users')[0]!;
    expect(post.headers.get('Idempotency-Key')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await post.json()).toEqual({
      email: 'grace@acme.test',
      name: 'Grace Again',
      role: 'developer',
      password: 'correct horse battery',
    });
  });
});
