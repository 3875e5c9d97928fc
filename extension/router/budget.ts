import { formatUsd } from './money';
import type { BudgetConfig } from './config';
import { roundUsd } from './prices';
import type { SpendTotals } from './ledger/records';
import type { TierName } from './tiers';

export type CapName = 'daily' | 'monthly' | 'perRequest' | 'tierDaily';

/** A cap a call would cross, with the amounts involved (US dollars). */
export interface CapViolation {
  cap: CapName;
  tier?: TierName;
  capUsd: number;
  /** Settled spend plus open reservations in the cap's period. */
  committedUsd: number;
  requestUsd: number;
  /** The setting that raises this cap. */
  setting: string;
}

const usd = formatUsd;

export function capLabel(violation: Pick<CapViolation, 'cap' | 'tier'>): string {
  switch (violation.cap) {
    case 'daily':
      return 'daily cap';
    case 'monthly':
      return 'monthly cap';
    case 'perRequest':
      return 'per-request cap';
    case 'tierDaily':
      return `${violation.tier} tier daily cap`;
  }
}

export function describeViolation(violation: CapViolation): string {
  if (violation.cap === 'perRequest') {
    return `${capLabel(violation)} ${usd(violation.capUsd)}: this call could cost up to ${usd(violation.requestUsd)} (raise ${violation.setting})`;
  }
  return (
    `${capLabel(violation)} ${usd(violation.capUsd)}: ${usd(violation.committedUsd)} already committed + ` +
    `${usd(violation.requestUsd)} worst case for this call (raise ${violation.setting})`
  );
}

const isCap = (value: number | null | undefined): value is number => typeof value === 'number' && value >= 0;

/**
 * The first cap that reserving `requestUsd` on `tier` would cross, or undefined when it fits.
 * A free call (0) never crosses a cap, so local work always runs.
 */
export function findCapViolation(
  totals: SpendTotals,
  budgets: BudgetConfig,
  tier: TierName,
  requestUsd: number,
): CapViolation | undefined {
  if (requestUsd <= 0) return undefined;
  if (isCap(budgets.perRequestUsd) && requestUsd > budgets.perRequestUsd) {
    return { cap: 'perRequest', capUsd: budgets.perRequestUsd, committedUsd: 0, requestUsd, setting: 'tierwise.budgets.perRequestUsd' };
  }
  const todayCommitted = totals.today.costUsd + totals.openReservedUsd;
  if (isCap(budgets.dailyUsd) && roundUsd(todayCommitted + requestUsd) > budgets.dailyUsd) {
    return { cap: 'daily', capUsd: budgets.dailyUsd, committedUsd: todayCommitted, requestUsd, setting: 'tierwise.budgets.dailyUsd' };
  }
  const monthCommitted = totals.thisMonth.costUsd + totals.openReservedUsd;
  if (isCap(budgets.monthlyUsd) && roundUsd(monthCommitted + requestUsd) > budgets.monthlyUsd) {
    return { cap: 'monthly', capUsd: budgets.monthlyUsd, committedUsd: monthCommitted, requestUsd, setting: 'tierwise.budgets.monthlyUsd' };
  }
  const tierCap = budgets.perTierDailyUsd?.[tier];
  const tierCommitted = totals.todayByTier[tier].costUsd + totals.openReservedByTierUsd[tier];
  if (isCap(tierCap) && roundUsd(tierCommitted + requestUsd) > tierCap) {
    return { cap: 'tierDaily', tier, capUsd: tierCap, committedUsd: tierCommitted, requestUsd, setting: `tierwise.budgets.perTierDailyUsd.${tier}` };
  }
  return undefined;
}

export type CapLevel = 'ok' | 'warning' | 'exceeded';

export interface CapUsage {
  cap: 'daily' | 'monthly';
  capUsd: number;
  spentUsd: number;
  percent: number;
  level: CapLevel;
}

/** How far settled spend is into the daily and monthly caps, for meters and soft-threshold warnings. */
export function capUsages(totals: SpendTotals, budgets: BudgetConfig): CapUsage[] {
  const usages: CapUsage[] = [];
  const add = (cap: 'daily' | 'monthly', capUsd: number | null | undefined, spentUsd: number) => {
    if (!isCap(capUsd)) return;
    // Rounded so that $0.60 of $0.80 is exactly 75%, not 74.99999999999999%.
    const percent = capUsd === 0 ? (spentUsd > 0 ? 100 : 0) : Math.round((spentUsd / capUsd) * 100 * 1e6) / 1e6;
    const level: CapLevel = percent >= 100 ? 'exceeded' : percent >= budgets.softThresholdPercent ? 'warning' : 'ok';
    usages.push({ cap, capUsd, spentUsd, percent, level });
  };
  add('daily', budgets.dailyUsd, totals.today.costUsd);
  add('monthly', budgets.monthlyUsd, totals.thisMonth.costUsd);
  return usages;
}

export function worstLevel(usages: CapUsage[]): CapLevel {
  if (usages.some((usage) => usage.level === 'exceeded')) return 'exceeded';
  return usages.some((usage) => usage.level === 'warning') ? 'warning' : 'ok';
}

/** Raised when a cap blocks a call (policy `block`, or nothing cheaper fits). */
export class BudgetBlockedError extends Error {
  override readonly name = 'BudgetBlockedError';
  constructor(readonly violation: CapViolation, context: string) {
    super(`Tierwise blocked ${context}: ${describeViolation(violation)}.`);
  }
}
