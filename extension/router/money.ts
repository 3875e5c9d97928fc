/**
 * Dollars as a person reads them: cents, or two significant digits below a cent, so a real but tiny cost never
 * reads as $0.00 (a local call's $0 still does).
 */
export function formatUsd(amount: number): string {
  if (amount === 0 || Math.abs(amount) >= 0.01) return `$${amount.toFixed(2)}`;
  return `$${amount.toPrecision(2).replace(/0+$/, '').replace(/\.$/, '')}`;
}
