import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { json, mockFetch } from '../../test/fetchMock';
import { session, token, user } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { TokensPage } from './TokensPage';

describe('TokensPage', () => {
  it('creates a token, shows its secret once and refreshes the list', async () => {
    const u = userEvent.setup();
    let listed = [token({ id: 'tok_1', name: 'old', lastUsedAt: undefined })];
    const m = mockFetch()
      .on('GET /api/v1/tokens', () => json({ items: listed }))
      .on('POST /api/v1/tokens', async (req) => {
        const body = (await req.json()) as { name: string };
        const t = token({ id: 'tok_2', name: body.name, prefix: 'orb_new1' });
        listed = [...listed, t];
        return json({ token: t, secret: 'orb_new1_supersecret' }, 201);
      });
    renderApp({ element: <TokensPage />, session: session(user({ role: 'developer' })) });

    expect(await screen.findByText('old')).toBeInTheDocument();
    expect(screen.getAllByText('Never')).toHaveLength(2); // never used, never expires
    await u.click(screen.getByRole('button', { name: /create token/i }));
    const form = await screen.findByRole('dialog');
    await u.type(within(form).getByLabelText('Name'), 'terraform');
    await u.click(within(form).getByRole('button', { name: 'Create token' }));

    expect(await screen.findByTestId('token-secret')).toHaveTextContent('orb_new1_supersecret');
    expect(await m.callsTo('POST /api/v1/tokens')[0]!.json()).toEqual({ name: 'terraform' });
    await waitFor(() => expect(screen.getByText('terraform', { selector: 'strong' })).toBeInTheDocument());
  });

  it('tells a viewer that tokens need the developer role, without asking the server', async () => {
    const m = mockFetch().on('GET /api/v1/tokens', () => json({ items: [token()] }));
    renderApp({ element: <TokensPage />, session: session(user({ role: 'viewer' })) });
    expect(await screen.findByText('Not available for your role')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /create token/i })).not.toBeInTheDocument();
    expect(m.callsTo('GET /api/v1/tokens')).toHaveLength(0);
  });

  it('offers revoke with a confirmation to a developer', async () => {
    const u = userEvent.setup();
    const m = mockFetch()
      .on('GET /api/v1/tokens', () => json({ items: [token({ id: 'tok_9', name: 'nightly' })] }))
      .on('DELETE /api/v1/tokens/tok_9', () => new Response(null, { status: 204 }));
    renderApp({ element: <TokensPage />, session: session(user({ role: 'developer' })) });
    await u.click(await screen.findByRole('button', { name: /revoke/i }));
    const dialog = await screen.findByRole('dialog');
    expect(m.callsTo('DELETE /api/v1/tokens/tok_9')).toHaveLength(0);
    await u.click(within(dialog).getByRole('button', { name: 'Revoke token' }));
    await waitFor(() => expect(m.callsTo('DELETE /api/v1/tokens/tok_9')).toHaveLength(1));
  });

  it('shows a 403 as a notice, not as an empty list', async () => {
    mockFetch().on('GET /api/v1/tokens', () =>
      json({ title: 'Forbidden', status: 403, detail: 'viewers cannot list tokens' }, 403),
    );
    renderApp({ element: <TokensPage />, session: session(user({ role: 'developer' })) });
    expect(await screen.findByText('Not available for your role')).toBeInTheDocument();
    expect(screen.getByText('viewers cannot list tokens')).toBeInTheDocument();
    expect(screen.queryByText('No API tokens yet')).not.toBeInTheDocument();
  });
});
