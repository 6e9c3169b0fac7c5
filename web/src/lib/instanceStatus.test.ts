import { describe, expect, it } from 'vitest';
import type { InstanceStatus } from '../api/types';
import { isTransitional, pollMs, pollWhile, statusLook } from './instanceStatus';

describe('instance status', () => {
  it('maps every status to a tag colour and label', () => {
    expect(statusLook('RUNNING')).toEqual({ label: 'Running', color: 'success', transitional: false });
    expect(statusLook('FAILED')).toEqual({ label: 'Failed', color: 'error', transitional: false });
    expect(statusLook('STOPPED')).toEqual({ label: 'Stopped', color: 'default', transitional: false });
    expect(statusLook('CREATING').color).toBe('processing');
    expect(statusLook('DELETING').color).toBe('warning');
  });

  it('spins for the states an instance leaves by itself', () => {
    const moving: InstanceStatus[] = ['CREATING', 'UPDATING', 'STOPPING', 'STARTING', 'DELETING'];
    const settled: InstanceStatus[] = ['RUNNING', 'STOPPED', 'FAILED'];
    for (const s of moving) expect(isTransitional(s), s).toBe(true);
    for (const s of settled) expect(isTransitional(s), s).toBe(false);
  });

  it('shows a status it does not know as is, without polling', () => {
    expect(statusLook('HIBERNATING')).toEqual({ label: 'HIBERNATING', color: 'default', transitional: false });
    expect(statusLook(undefined).label).toBe('Unknown');
  });

  it('polls while anything is in flux', () => {
    expect(pollWhile(['RUNNING', 'CREATING'])).toBe(pollMs);
    expect(pollWhile(['RUNNING', 'STOPPED'])).toBe(false);
    expect(pollWhile([])).toBe(false);
    expect(pollWhile([undefined])).toBe(false);
  });
});
