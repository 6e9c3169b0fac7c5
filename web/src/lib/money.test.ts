import { describe, expect, it } from 'vitest';
import { formatCount, formatPerHour, formatPerMonth, formatUsd } from './money';

describe('money', () => {
  it('formats dollars with cents and thousands separators', () => {
    expect(formatUsd(73)).toBe('$73.00');
    expect(formatUsd(1234.5)).toBe('$1,234.50');
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(0.1)).toBe('$0.10');
  });

  it('keeps small unit prices visible instead of rounding them to cents', () => {
    expect(formatUsd(0.0125)).toBe('$0.0125');
    expect(formatUsd(0.0002)).toBe('$0.0002');
    expect(formatUsd(0.000001)).toBe('$0.000001');
  });

  it('rounds large amounts to cents', () => {
    expect(formatUsd(12.345678)).toBe('$12.35');
  });

  it('shows a dash for missing or broken amounts', () => {
    expect(formatUsd(undefined)).toBe('—');
    expect(formatUsd(null)).toBe('—');
    expect(formatUsd(Number.NaN)).toBe('—');
    expect(formatPerMonth(undefined)).toBe('—');
  });

  it('labels the period', () => {
    expect(formatPerMonth(73)).toBe('$73.00 / month');
    expect(formatPerHour(0.1)).toBe('$0.10 / hour');
    expect(formatCount(20000)).toBe('20,000');
  });
});
