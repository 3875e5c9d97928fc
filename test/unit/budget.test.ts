import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BudgetBlockedError,
  capUsages,
  describeViolation,
  findCapViolation,
  worstLevel,
  type CapUsage,
  type CapViolation,
} from '../../extension/router/budget';
import type { BudgetConfig } from '../../extension/router/config';
import { emptyTotals, spendTotals } from './helpers/totals';

/** No caps at all; each test sets the caps it is about. */
function budgets(caps: Partial<BudgetConfig> = {}): BudgetConfig {
  return {
    dailyUsd: null,
    monthlyUsd: null,
    perRequestUsd: null,
    perTierDailyUsd: {},
    softThresholdPercent: 80,
    policy: 'downgrade',
    unpricedFallback: { inputPerMTokUsd: 15, outputPerMTokUsd: 75 },
    ...caps,
  };
}

describe('findCapViolation', () => {
  test('with no caps set, any call fits however much was spent', () => {
    const totals = spendTotals({ todayUsd: 500, monthUsd: 9000, openReservedUsd: 40 });
    assert.equal(findCapViolation(totals, budgets(), 'frontier', 25), undefined);
  });

  test('null and absent caps are no caps', () => {
    const totals = spendTotals({ todayUsd: 500 });
    const caps = budgets({ dailyUsd: null, monthlyUsd: undefined, perRequestUsd: null, perTierDailyUsd: { frontier: null } });
    assert.equal(findCapViolation(totals, caps, 'frontier', 25), undefined);
  });

  test('a free call never violates, even past every cap (local work always runs)', () => {
    const totals = spendTotals({ todayByTierUsd: { frontier: 12 }, monthUsd: 300, openReservedUsd: 3 });
    const caps = budgets({ dailyUsd: 10, monthlyUsd: 100, perRequestUsd: 0, perTierDailyUsd: { local: 0, frontier: 5 } });
    assert.equal(findCapViolation(totals, caps, 'local', 0), undefined);
    assert.equal(findCapViolation(totals, caps, 'frontier', 0), undefined);
  });

  describe('per-request cap', () => {
    test('a worst case above the cap violates it, whatever was spent', () => {
      assert.deepEqual(findCapViolation(emptyTotals(), budgets({ perRequestUsd: 0.5 }), 'frontier', 0.75), {
        cap: 'perRequest',
        capUsd: 0.5,
        committedUsd: 0,
        requestUsd: 0.75,
        setting: 'tierwise.budgets.perRequestUsd',
      });
    });

    test('a worst case equal to the cap fits', () => {
      assert.equal(findCapViolation(emptyTotals(), budgets({ perRequestUsd: 0.5 }), 'frontier', 0.5), undefined);
    });

    test('is reported before a daily cap the same call also crosses', () => {
      const violation = findCapViolation(spendTotals({ todayUsd: 9.5 }), budgets({ dailyUsd: 10, perRequestUsd: 0.5 }), 'mid', 0.75);
      assert.equal(violation?.cap, 'perRequest');
    });
  });

  describe('daily cap', () => {
    test('settled spend plus the worst case above the cap violates it', () => {
      assert.deepEqual(findCapViolation(spendTotals({ todayUsd: 9.25 }), budgets({ dailyUsd: 10 }), 'mid', 1), {
        cap: 'daily',
        capUsd: 10,
        committedUsd: 9.25,
        requestUsd: 1,
        setting: 'tierwise.budgets.dailyUsd',
      });
    });

    test('a call that brings spend exactly to the cap fits', () => {
      assert.equal(findCapViolation(spendTotals({ todayUsd: 9.25 }), budgets({ dailyUsd: 10 }), 'mid', 0.75), undefined);
    });

    test('open reservations of calls still in flight count as committed', () => {
      const totals = spendTotals({ todayUsd: 6, openReservedUsd: 3.5 });
      assert.equal(findCapViolation(spendTotals({ todayUsd: 6 }), budgets({ dailyUsd: 10 }), 'mid', 1), undefined);
      assert.deepEqual(findCapViolation(totals, budgets({ dailyUsd: 10 }), 'mid', 1), {
        cap: 'daily',
        capUsd: 10,
        committedUsd: 9.5,
        requestUsd: 1,
        setting: 'tierwise.budgets.dailyUsd',
      });
    });

    test('a cap of 0 lets no paid call through', () => {
      assert.equal(findCapViolation(emptyTotals(), budgets({ dailyUsd: 0 }), 'mid', 0.0001)?.cap, 'daily');
    });

    test('cent amounts that add up exactly to the cap fit (no floating-point overshoot)', () => {
      // $0.10 spent + $0.20 worst case = the $0.30 cap exactly; in binary floating point 0.1 + 0.2 > 0.3.
      assert.equal(findCapViolation(spendTotals({ todayUsd: 0.1 }), budgets({ dailyUsd: 0.3 }), 'mid', 0.2), undefined);
    });

    test('is reported before a monthly cap the same call also crosses', () => {
      const totals = spendTotals({ todayUsd: 9.5, monthUsd: 99.5 });
      assert.equal(findCapViolation(totals, budgets({ dailyUsd: 10, monthlyUsd: 100 }), 'mid', 1)?.cap, 'daily');
    });
  });

  describe('monthly cap', () => {
    test('month spend plus open reservations plus the worst case above the cap violates it', () => {
      const totals = spendTotals({ todayUsd: 1, monthUsd: 98, openReservedUsd: 1.5 });
      assert.deepEqual(findCapViolation(totals, budgets({ dailyUsd: 10, monthlyUsd: 100 }), 'frontier', 0.75), {
        cap: 'monthly',
        capUsd: 100,
        committedUsd: 99.5,
        requestUsd: 0.75,
        setting: 'tierwise.budgets.monthlyUsd',
      });
    });

    test('fits when the month has room', () => {
      const totals = spendTotals({ todayUsd: 1, monthUsd: 98 });
      assert.equal(findCapViolation(totals, budgets({ monthlyUsd: 100 }), 'frontier', 2), undefined);
    });
  });

  describe('per-tier daily cap', () => {
    const totals = spendTotals({
      todayByTierUsd: { mid: 2, frontier: 4 },
      openReservedByTierUsd: { frontier: 0.5 },
    });

    test("the tier's settled spend and open reservations plus the worst case above its cap violates it", () => {
      assert.deepEqual(findCapViolation(totals, budgets({ perTierDailyUsd: { frontier: 5 } }), 'frontier', 0.75), {
        cap: 'tierDaily',
        tier: 'frontier',
        capUsd: 5,
        committedUsd: 4.5,
        requestUsd: 0.75,
        setting: 'tierwise.budgets.perTierDailyUsd.frontier',
      });
    });

    test("another tier's cap does not limit this tier", () => {
      assert.equal(findCapViolation(totals, budgets({ perTierDailyUsd: { frontier: 5 } }), 'mid', 0.75), undefined);
    });

    test('only spend on the capped tier counts against it', () => {
      // Today's total is $6.50 with reservations, but mid's own share is $2.
      assert.equal(findCapViolation(totals, budgets({ perTierDailyUsd: { mid: 3 } }), 'mid', 1), undefined);
      assert.equal(findCapViolation(totals, budgets({ perTierDailyUsd: { mid: 3 } }), 'mid', 1.25)?.cap, 'tierDaily');
    });
  });
});

describe('capUsages', () => {
  test('no caps, no meters', () => {
    assert.deepEqual(capUsages(spendTotals({ todayUsd: 3 }), budgets()), []);
  });

  test('reports daily and monthly usage of settled spend', () => {
    const totals = spendTotals({ todayUsd: 5, monthUsd: 30 });
    assert.deepEqual(capUsages(totals, budgets({ dailyUsd: 10, monthlyUsd: 200 })), [
      { cap: 'daily', capUsd: 10, spentUsd: 5, percent: 50, level: 'ok' },
      { cap: 'monthly', capUsd: 200, spentUsd: 30, percent: 15, level: 'ok' },
    ]);
  });

  test('only the caps that are set get a meter', () => {
    const usages = capUsages(spendTotals({ todayUsd: 5, monthUsd: 30 }), budgets({ monthlyUsd: 40 }));
    assert.deepEqual(usages, [{ cap: 'monthly', capUsd: 40, spentUsd: 30, percent: 75, level: 'ok' }]);
  });

  test('open reservations do not move the meter (it shows money actually spent)', () => {
    const [daily] = capUsages(spendTotals({ todayUsd: 5, openReservedUsd: 4 }), budgets({ dailyUsd: 10 }));
    assert.equal(daily.spentUsd, 5);
    assert.equal(daily.percent, 50);
  });

  test('below the soft threshold is ok, at it is a warning', () => {
    const caps = budgets({ dailyUsd: 10, softThresholdPercent: 80 });
    assert.equal(capUsages(spendTotals({ todayUsd: 7.5 }), caps)[0].level, 'ok');
    assert.equal(capUsages(spendTotals({ todayUsd: 8 }), caps)[0].level, 'warning');
    assert.equal(capUsages(spendTotals({ todayUsd: 9.5 }), caps)[0].level, 'warning');
  });

  test('the soft threshold is configurable', () => {
    const caps = budgets({ dailyUsd: 10, softThresholdPercent: 50 });
    assert.equal(capUsages(spendTotals({ todayUsd: 4.5 }), caps)[0].level, 'ok');
    assert.equal(capUsages(spendTotals({ todayUsd: 5 }), caps)[0].level, 'warning');
  });

  test('spend exactly at the soft threshold is a warning for cent amounts too', () => {
    // $0.60 of $0.80 is exactly 75%; 0.6 / 0.8 * 100 is 74.99999999999999 in floating point.
    const [daily] = capUsages(spendTotals({ todayUsd: 0.6 }), budgets({ dailyUsd: 0.8, softThresholdPercent: 75 }));
    assert.equal(daily.level, 'warning');
  });

  test('at or above 100% is exceeded', () => {
    const caps = budgets({ dailyUsd: 10, monthlyUsd: 100 });
    assert.deepEqual(capUsages(spendTotals({ todayUsd: 10, monthUsd: 120 }), caps), [
      { cap: 'daily', capUsd: 10, spentUsd: 10, percent: 100, level: 'exceeded' },
      { cap: 'monthly', capUsd: 100, spentUsd: 120, percent: 120, level: 'exceeded' },
    ]);
  });

  test('a cap of 0 is ok until anything is spent, then exceeded', () => {
    assert.deepEqual(capUsages(emptyTotals(), budgets({ dailyUsd: 0 })), [
      { cap: 'daily', capUsd: 0, spentUsd: 0, percent: 0, level: 'ok' },
    ]);
    assert.deepEqual(capUsages(spendTotals({ todayUsd: 0.01 }), budgets({ dailyUsd: 0 })), [
      { cap: 'daily', capUsd: 0, spentUsd: 0.01, percent: 100, level: 'exceeded' },
    ]);
  });
});

describe('worstLevel', () => {
  const usage = (level: CapUsage['level']): CapUsage => ({ cap: 'daily', capUsd: 10, spentUsd: 1, percent: 10, level });

  test('no meters is ok', () => assert.equal(worstLevel([]), 'ok'));
  test('all ok is ok', () => assert.equal(worstLevel([usage('ok'), usage('ok')]), 'ok'));
  test('any warning is a warning', () => assert.equal(worstLevel([usage('ok'), usage('warning')]), 'warning'));
  test('exceeded wins over a warning', () => assert.equal(worstLevel([usage('warning'), usage('exceeded'), usage('ok')]), 'exceeded'));
});

describe('describeViolation', () => {
  test('a daily cap names the amounts and the setting to raise', () => {
    const violation: CapViolation = { cap: 'daily', capUsd: 10, committedUsd: 9.2, requestUsd: 1.2, setting: 'tierwise.budgets.dailyUsd' };
    assert.equal(
      describeViolation(violation),
      'daily cap $10.00: $9.20 already committed + $1.20 worst case for this call (raise tierwise.budgets.dailyUsd)',
    );
  });

  test('a monthly cap', () => {
    const violation: CapViolation = { cap: 'monthly', capUsd: 100, committedUsd: 99.5, requestUsd: 0.75, setting: 'tierwise.budgets.monthlyUsd' };
    assert.equal(
      describeViolation(violation),
      'monthly cap $100.00: $99.50 already committed + $0.75 worst case for this call (raise tierwise.budgets.monthlyUsd)',
    );
  });

  test('a per-request cap talks about this call only', () => {
    const violation: CapViolation = { cap: 'perRequest', capUsd: 0.5, committedUsd: 0, requestUsd: 0.75, setting: 'tierwise.budgets.perRequestUsd' };
    assert.equal(describeViolation(violation), 'per-request cap $0.50: this call could cost up to $0.75 (raise tierwise.budgets.perRequestUsd)');
  });

  test('a per-tier cap names the tier and its own setting', () => {
    const violation: CapViolation = {
      cap: 'tierDaily',
      tier: 'frontier',
      capUsd: 5,
      committedUsd: 4.5,
      requestUsd: 0.75,
      setting: 'tierwise.budgets.perTierDailyUsd.frontier',
    };
    assert.equal(
      describeViolation(violation),
      'frontier tier daily cap $5.00: $4.50 already committed + $0.75 worst case for this call (raise tierwise.budgets.perTierDailyUsd.frontier)',
    );
  });

  test('amounts under a cent keep four decimals so they do not read as $0.00', () => {
    const violation: CapViolation = { cap: 'daily', capUsd: 0.01, committedUsd: 0.0075, requestUsd: 0.0042, setting: 'tierwise.budgets.dailyUsd' };
    assert.equal(
      describeViolation(violation),
      'daily cap $0.01: $0.0075 already committed + $0.0042 worst case for this call (raise tierwise.budgets.dailyUsd)',
    );
  });
});

describe('BudgetBlockedError', () => {
  test('is an Error that carries the violation and says what blocked which call', () => {
    const violation: CapViolation = { cap: 'daily', capUsd: 10, committedUsd: 9.2, requestUsd: 1.2, setting: 'tierwise.budgets.dailyUsd' };
    const error = new BudgetBlockedError(violation, 'plan');
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'BudgetBlockedError');
    assert.equal(error.violation, violation);
    assert.equal(
      error.message,
      'Tierwise blocked plan: daily cap $10.00: $9.20 already committed + $1.20 worst case for this call (raise tierwise.budgets.dailyUsd).',
    );
  });
});
