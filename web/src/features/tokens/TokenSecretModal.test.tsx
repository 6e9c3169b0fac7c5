import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from 'antd';
import { describe, expect, it, vi } from 'vitest';
import { token } from '../../test/fixtures';
import { TokenSecretModal } from './TokenSecretModal';

describe('TokenSecretModal', () => {
  it('shows the secret once with a warning and copies it', async () => {
    const user = userEvent.setup();
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    vi.stubGlobal('isSecureContext', true);
    const onClose = vi.fn();

    render(
      <App>
        <TokenSecretModal created={{ token: token({ name: 'deploy' }), secret: 'orb_ab12_s3cr3t' }} onClose={onClose} />
      </App>,
    );

    expect(await screen.findByTestId('token-secret')).toHaveTextContent('orb_ab12_s3cr3t');
    expect(screen.getByText('Copy this token now')).toBeInTheDocument();
    expect(screen.getByText(/only time the secret is shown/)).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Copy token' }));
    expect(writeText).toHaveBeenCalledWith('orb_ab12_s3cr3t');
    expect(await screen.findByText('Copied')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'I have copied it' }));
    expect(onClose).toHaveBeenCalled();
  });

  it('renders nothing without a created token', () => {
    render(<TokenSecretModal created={null} onClose={() => {}} />);
    expect(screen.queryByTestId('token-secret')).not.toBeInTheDocument();
  });
});
