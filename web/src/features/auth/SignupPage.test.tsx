import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { getAccessToken } from '../../api/session';
import { json, mockFetch, problem } from '../../test/fetchMock';
import { session, user } from '../../test/fixtures';
import { renderApp } from '../../test/render';
import { SignupPage } from './SignupPage';

async function fill() {
  const u = userEvent.setup();
  await u.type(screen.getByLabelText('Your name'), 'Ada');
  await u.type(screen.getByLabelText('Work email'), 'ada@acme.test');
  await u.type(screen.getByLabelText('Password'), 'a long enough password');
  await u.type(screen.getByLabelText('Account name'), 'Acme');
  await u.click(screen.getByRole('button', { name: 'Create account' }));
}

describe('SignupPage', () => {
  it('shows field errors from errors[] under their fields', async () => {
    mockFetch().on('POST /api/v1/auth/signup', () =>
      problem(400, {
        title: 'Validation failed',
        code: 'validation_failed',
        detail: 'Some fields are invalid.',
        requestId: 'req-7',
        errors: [
          { field: 'password', message: 'is a common password' },
          { field: 'accountName', message: 'is reserved' },
        ],
      }),
    );
    renderApp({ element: <SignupPage /> });
    await fill();

    expect(await screen.findByText('is a common password')).toBeInTheDocument();
    expect(screen.getByText('is reserved')).toBeInTheDocument();
    // Every field error found its field, so no alert repeats them.
    expect(screen.queryByText('Validation failed')).toBeNull();
  });

  it('shows other problems in an alert with the detail and request id', async () => {
    mockFetch().on('POST /api/v1/auth/signup', () =>
      problem(409, { title: 'Conflict', code: 'email_taken', detail: 'That email is already registered.', requestId: 'req-9' }),
    );
    renderApp({ element: <SignupPage /> });
    await fill();

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Conflict');
    expect(alert).toHaveTextContent('That email is already registered.');
    expect(alert).toHaveTextContent('req-9');
  });

  it('starts a session in memory and leaves for the console', async () => {
    mockFetch().on('POST /api/v1/auth/signup', () => json(session(user(), 'jwt-signup'), 201));
    const { router } = renderApp({
      routes: [
        { path: '/signup', element: <SignupPage /> },
        { path: '/', element: <div>console</div> },
      ],
      at: '/signup',
    });
    await fill();
    expect(await screen.findByText('console')).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/');
    expect(getAccessToken()).toBe('jwt-signup');
    expect(localStorage.length).toBe(0);
  });
});
