// Prices arrive from the API as USD numbers (the server keeps micro-USD).

const usd2 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usdFine = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 6 });

/**
 * "$1,234.50". Amounts under a dollar that are not whole cents keep up to six
 * decimals ("$0.0125"), so small unit prices do not show as $0.01 or $0.00.
 */
export function formatUsd(amount: number | null | undefined): string {
  if (amount === null || amount === undefined || !Number.isFinite(amount)) return '—';
  const cents = Math.round(amount * 100);
  if (Math.abs(amount) < 1 && Math.abs(amount * 100 - cents) > 1e-9) return usdFine.format(amount);
  return usd2.format(amount);
}

/** "$73.00 / month". */
export function formatPerMonth(amount: number | null | undefined): string {
  return amount === null || amount === undefined ? '—' : `${formatUsd(amount)} / month`;
}

/** "$0.10 / hour". */
export function formatPerHour(amount: number | null | undefined): string {
  return amount === null || amount === undefined ? '—' : `${formatUsd(amount)} / hour`;
}

const count = new Intl.NumberFormat('en-US');
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : count.format(n);
}
