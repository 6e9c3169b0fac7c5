import { describe, expect, it } from 'vitest';
import { formatDuration, formatRelative, formatTime, isPast } from './format';
import { nextFrom } from './next';

const now = Date.parse('2026-11-21T12:00:00Z');

describe('format', () => {
  it('formats relative times both ways', () => {
    expect(formatRelative('2026-11-21T11:57:00Z', now)).toBe('3 minutes ago');
    expect(formatRelative('2026-11-23T12:00:00Z', now)).toBe('in 2 days');
    expect(formatRelative('2026-11-21T11:59:50Z', now)).toBe('just now');
    expect(formatRelative(undefined, now)).toBe('—');
  });

  it('formats durations in the largest two units', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(-5)).toBe('0 s');
    expect(formatDuration(59.9)).toBe('59 s');
    expect(formatDuration(60)).toBe('1 min');
    expect(formatDuration(3599)).toBe('59 min');
    expect(formatDuration(3600)).toBe('1 h');
    expect(formatDuration(3600 + 5 * 60)).toBe('1 h 5 min');
    expect(formatDuration(2 * 86400)).toBe('2 d');
    expect(formatDuration(2 * 86400 + 3 * 3600 + 59)).toBe('2 d 3 h');
  });

  it('keeps unparseable input visible', () => {
    expect(formatTime('yesterday')).toBe('yesterday');
    expect(formatTime(null)).toBe('—');
  });

  it('knows whether a time has passed', () => {
    expect(isPast('2026-11-21T11:00:00Z', now)).toBe(true);
    expect(isPast('2026-11-22T11:00:00Z', now)).toBe(false);
    expect(isPast(undefined, now)).toBe(false);
  });
});

describe('nextFrom', () => {
  it('only follows paths inside the console', () => {
    expect(nextFrom('?next=%2Faccess%2Ftokens')).toBe('/access/tokens');
    expect(nextFrom('?next=https%3A%2F%2Fevil.test')).toBe('/');
    expect(nextFrom('?next=%2F%2Fevil.test')).toBe('/');
    expect(nextFrom('')).toBe('/');
  });
});
