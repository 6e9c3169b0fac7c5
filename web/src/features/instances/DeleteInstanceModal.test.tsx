import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from 'antd';
import { describe, expect, it, vi } from 'vitest';
import { instance } from '../../test/fixtures';
import { DeleteInstanceModal, deleteConfirmed } from './DeleteInstanceModal';

describe('deleteConfirmed', () => {
  it('needs the exact name, ignoring surrounding spaces', () => {
    expect(deleteConfirmed('orders', 'orders')).toBe(true);
    expect(deleteConfirmed('  orders ', 'orders')).toBe(true);
    expect(deleteConfirmed('Orders', 'orders')).toBe(false);
    expect(deleteConfirmed('order', 'orders')).toBe(false);
    expect(deleteConfirmed('', '')).toBe(false);
  });
});

describe('DeleteInstanceModal', () => {
  it('enables Delete only once the name is typed', async () => {
    const u = userEvent.setup();
    const onConfirm = vi.fn(() => Promise.resolve());
    const onClose = vi.fn();
    render(
      <App>
        <DeleteInstanceModal instance={instance({ instanceName: 'orders-prod' })} onClose={onClose} onConfirm={onConfirm} />
      </App>,
    );
    const dialog = await screen.findByRole('dialog');
    const del = within(dialog).getByRole('button', { name: 'Delete instance' });
    expect(del).toBeDisabled();
    const input = within(dialog).getByLabelText('Instance name to confirm');
    await u.type(input, 'orders');
    expect(del).toBeDisabled();
    await u.keyboard('{Enter}');
    expect(onConfirm).not.toHaveBeenCalled();
    await u.type(input, '-prod');
    expect(del).toBeEnabled();
    await u.click(del);
    await waitFor(() => expect(onConfirm).toHaveBeenCalledTimes(1));
    expect(onClose).toHaveBeenCalled();
  });

  it('keeps the dialog open and shows why when deleting fails', async () => {
    const u = userEvent.setup();
    const { ApiError } = await import('../../api/problem');
    const onConfirm = vi.fn(() => Promise.reject(new ApiError({ status: 409, detail: 'The instance is busy.' })));
    const onClose = vi.fn();
    render(
      <App>
        <DeleteInstanceModal instance={instance()} onClose={onClose} onConfirm={onConfirm} />
      </App>,
    );
    const dialog = await screen.findByRole('dialog');
    await u.type(within(dialog).getByLabelText('Instance name to confirm'), 'orders{Enter}');
    expect(await within(dialog).findByText('The instance is busy.')).toBeInTheDocument();
    expect(onClose).not.toHaveBeenCalled();
  });
});
