import type { SpendBucket, SpendTotals } from '../../../extension/router/ledger/records';
import { TIER_ORDER, type TierName } from '../../../extension/router/tiers';

/** The calendar day every fixture is for; budget checks never read it, but the shape needs one. */
export const FIXTURE_DAY = '2025-06-14';
export const FIXTURE_MONTH = '2025-06';

export function emptyBucket(): SpendBucket {
  return { costUsd: 0, frontierCostUsd: 0, calls: 0, inputTokens: 0, outputTokens: 0, unpricedCalls: 0 };
}

const bucketCosting = (costUsd: number): SpendBucket => ({ ...emptyBucket(), costUsd, calls: costUsd > 0 ? 1 : 0 });

const perTier = <T>(make: (tier: TierName) => T): Record<TierName, T> =>
  Object.fromEntries(TIER_ORDER.map((tier) => [tier, make(tier)])) as Record<TierName, T>;

/** Nothing spent and nothing reserved, today or this month. */
export function emptyTotals(): SpendTotals {
  return {
    day: FIXTURE_DAY,
    month: FIXTURE_MONTH,
    today: emptyBucket(),
    thisMonth: emptyBucket(),
    todayByTier: perTier(emptyBucket),
    monthByTier: perTier(emptyBucket),
    monthByModel: {},
    monthByClient: {},
    monthByDay: {},
    openReservedUsd: 0,
    openReservedByTierUsd: perTier(() => 0),
  };
}

/** Spend for a fixture, US dollars. Whatever is left out is derived so the totals stay consistent. */
export interface SpendFixture {
  /** Settled spend by tier today; also counted in the month. */
  todayByTierUsd?: Partial<Record<TierName, number>>;
  /** Settled spend today; defaults to the sum of `todayByTierUsd`. */
  todayUsd?: number;
  /** Settled spend this month; defaults to `todayUsd` (nothing on earlier days). */
  monthUsd?: number;
  /** Open reservations by tier. */
  openReservedByTierUsd?: Partial<Record<TierName, number>>;
  /** Open reservations in total; defaults to the sum of `openReservedByTierUsd`. */
  openReservedUsd?: number;
}

const sum = (amounts: Partial<Record<TierName, number>> | undefined): number =>
  Object.values(amounts ?? {}).reduce<number>((total, amount) => total + (amount ?? 0), 0);

/** Totals with the given spend and open reservations, e.g. `spendTotals({ todayUsd: 9.2, openReservedUsd: 0.5 })`. */
export function spendTotals(fixture: SpendFixture = {}): SpendTotals {
  const totals = emptyTotals();
  const todayUsd = fixture.todayUsd ?? sum(fixture.todayByTierUsd);
  const monthUsd = fixture.monthUsd ?? todayUsd;
  totals.today = bucketCosting(todayUsd);
  totals.thisMonth = bucketCosting(monthUsd);
  totals.todayByTier = perTier((tier) => bucketCosting(fixture.todayByTierUsd?.[tier] ?? 0));
  totals.monthByTier = perTier((tier) => bucketCosting(fixture.todayByTierUsd?.[tier] ?? 0));
  if (todayUsd > 0) totals.monthByDay = { [FIXTURE_DAY]: bucketCosting(todayUsd) };
  totals.openReservedByTierUsd = perTier((tier) => fixture.openReservedByTierUsd?.[tier] ?? 0);
  totals.openReservedUsd = fixture.openReservedUsd ?? sum(fixture.openReservedByTierUsd);
  return totals;
}
