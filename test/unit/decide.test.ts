import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG, type BudgetConfig, type ModelPrice, type TierwiseConfig } from '../../extension/router/config';
import {
  decide,
  firstUsableEndpoint,
  routeTierFor,
  type Decision,
  type RouteRequest,
  type RoutedDecision,
  type RoutingState,
} from '../../extension/router/decide';
import type { SpendTotals } from '../../extension/router/ledger/records';
import type { TierName } from '../../extension/router/tiers';
import { emptyTotals, spendTotals } from './helpers/totals';

const price = (inputPerMTokUsd: number, outputPerMTokUsd: number): ModelPrice => ({
  inputPerMTokUsd,
  outputPerMTokUsd,
  cacheReadPerMTokUsd: inputPerMTokUsd / 10,
  cacheWrite5mPerMTokUsd: inputPerMTokUsd,
  cacheWrite1hPerMTokUsd: inputPerMTokUsd,
});

/**
 * Endpoints with made-up model ids priced through `config.prices`, so every expected reservation below is worked
 * out by hand from these numbers (USD per million tokens) and does not depend on the price catalog:
 *   worst case = (estInputTokens × input + maxOutputTokens × output) / 1e6; the Ollama endpoint is free.
 * Cache-write rates are set equal to the input rate: reservations price the prompt at the higher of the two
 * (it may bill as a cache write), and that premium is prices.test.ts's business, not routing's.
 */
function testConfig(overrides: { budgets?: Partial<BudgetConfig>; routes?: Record<string, TierName> } = {}): TierwiseConfig {
  return {
    ...structuredClone(DEFAULT_CONFIG),
    tiers: {
      local: { endpoints: [{ provider: 'ollama', model: 'local-coder', contextWindowTokens: 8192, maxOutputTokens: 1024 }] },
      mid: {
        endpoints: [
          { provider: 'anthropic', model: 'mid-primary', contextWindowTokens: 100_000, maxOutputTokens: 4000 },
          { provider: 'openai', model: 'mid-backup', contextWindowTokens: 400_000, maxOutputTokens: 4000 },
        ],
      },
      frontier: {
        endpoints: [
          { provider: 'anthropic', model: 'frontier-primary', contextWindowTokens: 200_000, maxOutputTokens: 8000 },
          { provider: 'openai', model: 'frontier-backup', contextWindowTokens: 1_000_000, maxOutputTokens: 8000 },
        ],
      },
    },
    routes: { ...DEFAULT_CONFIG.routes, ...overrides.routes },
    prices: {
      'mid-primary': price(1, 5),
      'mid-backup': price(0.5, 4),
      'frontier-primary': price(3, 15),
      'frontier-backup': price(1.25, 10),
    },
    budgets: { ...DEFAULT_CONFIG.budgets, ...overrides.budgets },
  };
}

// Worst cases at the default 2,000-token prompt estimate:
const MID_PRIMARY_USD = 0.022; // 2,000 × $1 + 4,000 × $5 = $22,000 per million tokens
const FRONTIER_PRIMARY_USD = 0.126; // 2,000 × $3 + 8,000 × $15 = $126,000 per million tokens

const LOCAL_ID = 'ollama:local-coder@http://127.0.0.1:11434';
const MID_PRIMARY_ID = 'anthropic:mid-primary@https://api.anthropic.com';
const MID_BACKUP_ID = 'openai:mid-backup@https://api.openai.com/v1';

const request = (task: string, extra: Partial<RouteRequest> = {}): RouteRequest => ({
  task,
  messages: [{ role: 'user', content: 'question' }],
  ...extra,
});

const state = (extra: Partial<RoutingState> & { totals?: SpendTotals } = {}): RoutingState => ({
  totals: emptyTotals(),
  estInputTokens: 2000,
  ...extra,
});

function assertRouted(decision: Decision): asserts decision is RoutedDecision {
  assert.equal(decision.kind, 'route', `expected a route, got ${decision.kind}: ${decision.reason}`);
}

describe('routeTierFor', () => {
  const defaultRoutes: [string, string][] = [
    ['commitMessage', 'local'],
    ['explainDiagnostic', 'local'],
    ['findFiles', 'local'],
    ['refactor', 'mid'],
    ['plan', 'frontier'],
    ['planStep', 'mid'],
    ['ask', 'mid'],
  ];
  for (const [task, tier] of defaultRoutes) {
    test(`by default ${task} goes to ${tier}`, () => {
      assert.deepEqual(routeTierFor(task, DEFAULT_CONFIG), { tier, rule: `rule ${task} → ${tier}` });
    });
  }

  test("an unknown task kind uses ask's tier", () => {
    assert.deepEqual(routeTierFor('agent.review', DEFAULT_CONFIG), { tier: 'mid', rule: "no rule for agent.review, using ask's tier → mid" });
  });

  test("an unknown task kind follows ask's tier when ask is rerouted", () => {
    const config = testConfig({ routes: { ask: 'frontier' } });
    assert.deepEqual(routeTierFor('summarize', config), { tier: 'frontier', rule: "no rule for summarize, using ask's tier → frontier" });
  });

  test('task kinds that are also names on Object.prototype are unknown kinds too', () => {
    // Task kinds are open-ended (the gateway passes agent-supplied ones through).
    for (const task of ['constructor', 'toString', 'hasOwnProperty']) {
      assert.deepEqual(routeTierFor(task, DEFAULT_CONFIG), { tier: 'mid', rule: `no rule for ${task}, using ask's tier → mid` });
    }
  });
});

describe('decide: routes', () => {
  const expected: { task: string; tier: string; model: string; maxOutputTokens: number; reservedUsd: number }[] = [
    { task: 'commitMessage', tier: 'local', model: 'local-coder', maxOutputTokens: 1024, reservedUsd: 0 },
    { task: 'explainDiagnostic', tier: 'local', model: 'local-coder', maxOutputTokens: 1024, reservedUsd: 0 },
    { task: 'findFiles', tier: 'local', model: 'local-coder', maxOutputTokens: 1024, reservedUsd: 0 },
    { task: 'refactor', tier: 'mid', model: 'mid-primary', maxOutputTokens: 4000, reservedUsd: MID_PRIMARY_USD },
    { task: 'plan', tier: 'frontier', model: 'frontier-primary', maxOutputTokens: 8000, reservedUsd: FRONTIER_PRIMARY_USD },
    { task: 'planStep', tier: 'mid', model: 'mid-primary', maxOutputTokens: 4000, reservedUsd: MID_PRIMARY_USD },
    { task: 'ask', tier: 'mid', model: 'mid-primary', maxOutputTokens: 4000, reservedUsd: MID_PRIMARY_USD },
  ];
  for (const { task, tier, model, maxOutputTokens, reservedUsd } of expected) {
    test(`${task} routes to ${tier} (${model}) and reserves its worst case`, () => {
      const decision = decide(request(task), testConfig(), state());
      assertRouted(decision);
      assert.equal(decision.task, task);
      assert.equal(decision.tier, tier);
      assert.equal(decision.endpoint.model, model);
      assert.equal(decision.endpointIndex, 0);
      assert.equal(decision.estInputTokens, 2000);
      assert.equal(decision.maxOutputTokens, maxOutputTokens);
      assert.equal(decision.reservedUsd, reservedUsd);
      assert.equal(decision.reason, `rule ${task} → ${tier}`);
    });
  }

  test('a route override sends the task to the configured tier', () => {
    const decision = decide(request('commitMessage'), testConfig({ routes: { commitMessage: 'mid' } }), state());
    assertRouted(decision);
    assert.equal(decision.tier, 'mid');
    assert.equal(decision.endpoint.model, 'mid-primary');
    assert.equal(decision.reservedUsd, MID_PRIMARY_USD);
    assert.equal(decision.reason, 'rule commitMessage → mid');
  });

  test("an unknown task kind routes to ask's tier and says so", () => {
    const decision = decide(request('summarize'), testConfig({ routes: { ask: 'frontier' } }), state());
    assertRouted(decision);
    assert.equal(decision.tier, 'frontier');
    assert.equal(decision.endpoint.model, 'frontier-primary');
    assert.equal(decision.reason, "no rule for summarize, using ask's tier → frontier");
  });

  test('a smaller output cap on the request lowers the reservation', () => {
    const decision = decide(request('refactor', { maxOutputTokens: 1000 }), testConfig(), state());
    assertRouted(decision);
    assert.equal(decision.maxOutputTokens, 1000);
    assert.equal(decision.reservedUsd, 0.007); // 2,000 × $1 + 1,000 × $5
  });

  test("a larger output cap on the request is held to the endpoint's own cap", () => {
    const decision = decide(request('refactor', { maxOutputTokens: 50_000 }), testConfig(), state());
    assertRouted(decision);
    assert.equal(decision.maxOutputTokens, 4000);
    assert.equal(decision.reservedUsd, MID_PRIMARY_USD);
  });

  test('the reservation scales with the prompt estimate', () => {
    const decision = decide(request('plan'), testConfig(), state({ estInputTokens: 30_000 }));
    assertRouted(decision);
    assert.equal(decision.reservedUsd, 0.21); // 30,000 × $3 + 8,000 × $15 = $210,000 per million
  });
});

describe('decide: minimumTier', () => {
  test("raises a task above its rule's tier", () => {
    const decision = decide(request('commitMessage', { minimumTier: 'mid' }), testConfig(), state());
    assertRouted(decision);
    assert.equal(decision.tier, 'mid');
    assert.equal(decision.endpoint.model, 'mid-primary');
    assert.equal(decision.reason, 'rule commitMessage → local; raised to mid');
  });

  test("never lowers a task below its rule's tier", () => {
    const decision = decide(request('plan', { minimumTier: 'local' }), testConfig(), state());
    assertRouted(decision);
    assert.equal(decision.tier, 'frontier');
    assert.equal(decision.reason, 'rule plan → frontier');
  });

  test('a minimum equal to the rule changes nothing', () => {
    const decision = decide(request('refactor', { minimumTier: 'mid' }), testConfig(), state());
    assertRouted(decision);
    assert.equal(decision.tier, 'mid');
    assert.equal(decision.reason, 'rule refactor → mid');
  });
});

describe('decide: pinned tier', () => {
  test('a pinned tier wins over the routes table, even when it is cheaper', () => {
    const decision = decide(request('planStep', { tier: 'local', tierReason: 'plan step 2' }), testConfig(), state());
    assertRouted(decision);
    assert.equal(decision.tier, 'local');
    assert.equal(decision.endpoint.model, 'local-coder');
    assert.equal(decision.reason, 'plan step 2 pinned → local');
  });

  test('a pinned tier is still subject to the caps', () => {
    const decision = decide(
      request('planStep', { tier: 'frontier' }),
      testConfig({ budgets: { dailyUsd: 0.01, policy: 'block' } }),
      state(),
    );
    assert.equal(decision.kind, 'blocked');
    assert.match(decision.reason, /^planStep pinned → frontier; daily cap 0% → blocked$/);
  });
});

describe('decide: context window', () => {
  test("skips an endpoint too small for the prompt plus the output and takes the tier's next one", () => {
    // 98,000 + 4,000 > mid-primary's 100,000.
    const decision = decide(request('refactor'), testConfig(), state({ estInputTokens: 98_000 }));
    assertRouted(decision);
    assert.equal(decision.tier, 'mid');
    assert.equal(decision.endpoint.model, 'mid-backup');
    assert.equal(decision.endpointIndex, 1);
    assert.equal(decision.reservedUsd, 0.065); // 98,000 × $0.50 + 4,000 × $4 = $65,000 per million
    assert.equal(decision.reason, 'rule refactor → mid; skipped mid-primary context 100000 < ~98000 prompt + 4000 output tokens');
  });

  test('a prompt that exactly fills the window still fits', () => {
    const decision = decide(request('refactor'), testConfig(), state({ estInputTokens: 96_000 }));
    assertRouted(decision);
    assert.equal(decision.endpoint.model, 'mid-primary');
    assert.equal(decision.reservedUsd, 0.116); // 96,000 × $1 + 4,000 × $5
  });

  test('a smaller requested output can make a tight window fit', () => {
    const decision = decide(request('refactor', { maxOutputTokens: 2000 }), testConfig(), state({ estInputTokens: 98_000 }));
    assertRouted(decision);
    assert.equal(decision.endpoint.model, 'mid-primary');
  });

  test('climbs to the next tier when no endpoint of the tier can hold the prompt, and says why', () => {
    // 8,000 + 1,024 > the local model's 8,192.
    const decision = decide(request('commitMessage'), testConfig(), state({ estInputTokens: 8000 }));
    assertRouted(decision);
    assert.equal(decision.tier, 'mid');
    assert.equal(decision.endpoint.model, 'mid-primary');
    assert.equal(decision.maxOutputTokens, 4000);
    assert.equal(decision.reservedUsd, 0.028); // 8,000 × $1 + 4,000 × $5
    assert.equal(
      decision.reason,
      'rule commitMessage → local; local: local-coder context 8192 < ~8000 prompt + 1024 output tokens → mid',
    );
  });

  test('climbs two tiers when the middle one is too small as well', () => {
    // Neither mid endpoint (100k, 400k) holds 450,000 + 4,000; frontier-backup's 1M does.
    const decision = decide(request('commitMessage'), testConfig(), state({ estInputTokens: 450_000 }));
    assertRouted(decision);
    assert.equal(decision.tier, 'frontier');
    assert.equal(decision.endpoint.model, 'frontier-backup');
    assert.equal(decision.endpointIndex, 1);
    assert.equal(decision.reservedUsd, 0.6425); // 450,000 × $1.25 + 8,000 × $10 = $642,500 per million
    assert.equal(
      decision.reason,
      'rule commitMessage → local; ' +
        'local: local-coder context 8192 < ~450000 prompt + 1024 output tokens → mid; ' +
        'mid: mid-primary context 100000 < ~450000 prompt + 4000 output tokens; mid-backup context 400000 < ~450000 prompt + 4000 output tokens → frontier; ' +
        'skipped frontier-primary context 200000 < ~450000 prompt + 8000 output tokens',
    );
  });

  test('a prompt no endpoint can hold is a noEndpoint decision naming every reason', () => {
    const decision = decide(request('plan'), testConfig(), state({ estInputTokens: 2_000_000 }));
    assert.deepEqual(decision, {
      kind: 'noEndpoint',
      task: 'plan',
      tier: 'frontier',
      reason:
        'rule plan → frontier; frontier: frontier-primary context 200000 < ~2000000 prompt + 8000 output tokens; ' +
        'frontier-backup context 1000000 < ~2000000 prompt + 8000 output tokens',
      estInputTokens: 2_000_000,
    });
  });

  test('a tier with no endpoints is passed over', () => {
    const config = testConfig();
    config.tiers.local.endpoints = [];
    const decision = decide(request('findFiles'), config, state());
    assertRouted(decision);
    assert.equal(decision.tier, 'mid');
    assert.equal(decision.reason, 'rule findFiles → local; local: no endpoints configured → mid');
  });
});

describe('decide: cooling-down endpoints', () => {
  test("skips a cooling endpoint for the tier's next one", () => {
    const decision = decide(request('refactor'), testConfig(), state({ unavailableEndpointIds: new Set([MID_PRIMARY_ID]) }));
    assertRouted(decision);
    assert.equal(decision.endpoint.model, 'mid-backup');
    assert.equal(decision.endpointIndex, 1);
    assert.equal(decision.reservedUsd, 0.017); // 2,000 × $0.50 + 4,000 × $4
    assert.equal(decision.reason, 'rule refactor → mid; skipped mid-primary cooling down');
  });

  test('climbs a tier when every endpoint of the tier is cooling down', () => {
    const decision = decide(request('refactor'), testConfig(), state({ unavailableEndpointIds: new Set([MID_PRIMARY_ID, MID_BACKUP_ID]) }));
    assertRouted(decision);
    assert.equal(decision.tier, 'frontier');
    assert.equal(decision.endpoint.model, 'frontier-primary');
    assert.equal(decision.reason, 'rule refactor → mid; mid: mid-primary cooling down; mid-backup cooling down → frontier');
  });

  test('an unavailable local server sends local work to mid', () => {
    const decision = decide(request('commitMessage'), testConfig(), state({ unavailableEndpointIds: new Set([LOCAL_ID]) }));
    assertRouted(decision);
    assert.equal(decision.tier, 'mid');
    assert.equal(decision.reason, 'rule commitMessage → local; local: local-coder cooling down → mid');
  });

  test('ids of endpoints that are not configured change nothing', () => {
    const decision = decide(request('refactor'), testConfig(), state({ unavailableEndpointIds: new Set(['openai:gpt-5@https://api.openai.com/v1']) }));
    assertRouted(decision);
    assert.equal(decision.endpoint.model, 'mid-primary');
  });
});

describe('decide: budget policy downgrade', () => {
  test('a nearly spent daily cap downgrades frontier → mid when mid fits', () => {
    // $0.92 of $1: frontier's $0.126 would cross it, mid's $0.022 fits.
    const decision = decide(request('plan'), testConfig({ budgets: { dailyUsd: 1 } }), state({ totals: spendTotals({ todayUsd: 0.92 }) }));
    assertRouted(decision);
    assert.equal(decision.tier, 'mid');
    assert.equal(decision.endpoint.model, 'mid-primary');
    assert.equal(decision.reservedUsd, MID_PRIMARY_USD);
    assert.equal(decision.reason, 'rule plan → frontier; daily cap 92% → downgraded frontier → mid');
  });

  test('downgrades frontier → local when mid does not fit either', () => {
    // $0.99 of $1: frontier ($0.126) and mid ($0.022) would both cross it; local is free.
    const decision = decide(request('plan'), testConfig({ budgets: { dailyUsd: 1 } }), state({ totals: spendTotals({ todayUsd: 0.99 }) }));
    assertRouted(decision);
    assert.equal(decision.tier, 'local');
    assert.equal(decision.endpoint.model, 'local-coder');
    assert.equal(decision.reservedUsd, 0);
    assert.equal(decision.maxOutputTokens, 1024);
    assert.match(decision.reason, /^rule plan → frontier; daily cap .+ → downgraded frontier → local$/);
  });

  test('open reservations push the call over the cap just as settled spend does', () => {
    const totals = spendTotals({ todayUsd: 0.5, openReservedUsd: 0.42 });
    const decision = decide(request('plan'), testConfig({ budgets: { dailyUsd: 1 } }), state({ totals }));
    assertRouted(decision);
    assert.equal(decision.tier, 'mid');
  });

  test('with room under the cap nothing is downgraded', () => {
    const decision = decide(request('plan'), testConfig({ budgets: { dailyUsd: 1 } }), state({ totals: spendTotals({ todayUsd: 0.8 }) }));
    assertRouted(decision);
    assert.equal(decision.tier, 'frontier');
    assert.equal(decision.reason, 'rule plan → frontier');
  });

  test('a per-request cap downgrades to the first tier whose worst case is under it', () => {
    const decision = decide(request('plan'), testConfig({ budgets: { perRequestUsd: 0.05 } }), state());
    assertRouted(decision);
    assert.equal(decision.tier, 'mid');
    assert.match(decision.reason, /^rule plan → frontier; per-request cap .+ → downgraded frontier → mid$/);
  });

  test("a per-tier cap downgrades out of the capped tier", () => {
    const totals = spendTotals({ todayByTierUsd: { frontier: 0.3 } });
    const decision = decide(request('plan'), testConfig({ budgets: { perTierDailyUsd: { frontier: 0.4 } } }), state({ totals }));
    assertRouted(decision);
    assert.equal(decision.tier, 'mid');
    assert.match(decision.reason, /frontier tier daily cap .+ → downgraded frontier → mid$/);
  });

  test('local work is never downgraded or blocked: it is free', () => {
    const decision = decide(request('commitMessage'), testConfig({ budgets: { dailyUsd: 1, policy: 'block' } }), state({ totals: spendTotals({ todayUsd: 5 }) }));
    assertRouted(decision);
    assert.equal(decision.tier, 'local');
    assert.equal(decision.reservedUsd, 0);
  });

  test('is blocked when no cheaper tier fits', () => {
    // mid crosses the cap and the only local endpoint is cooling down.
    const decision = decide(
      request('refactor'),
      testConfig({ budgets: { dailyUsd: 1 } }),
      state({ totals: spendTotals({ todayUsd: 0.99 }), unavailableEndpointIds: new Set([LOCAL_ID]) }),
    );
    assert.equal(decision.kind, 'blocked');
    assert.equal(decision.tier, 'mid');
    assert.match(decision.reason, /^rule refactor → mid; daily cap .+ → no cheaper tier fits → blocked$/);
    assert.deepEqual((decision as Extract<Decision, { kind: 'blocked' }>).violation, {
      cap: 'daily',
      capUsd: 1,
      committedUsd: 0.99,
      requestUsd: MID_PRIMARY_USD,
      setting: 'tierwise.budgets.dailyUsd',
    });
  });
});

describe('decide: budget policy block', () => {
  test('a call over a cap is blocked with the violation, not downgraded', () => {
    const decision = decide(
      request('plan'),
      testConfig({ budgets: { dailyUsd: 1, policy: 'block' } }),
      state({ totals: spendTotals({ todayUsd: 0.92 }) }),
    );
    assert.deepEqual(decision, {
      kind: 'blocked',
      task: 'plan',
      tier: 'frontier',
      reason: 'rule plan → frontier; daily cap 92% → blocked',
      violation: { cap: 'daily', capUsd: 1, committedUsd: 0.92, requestUsd: FRONTIER_PRIMARY_USD, setting: 'tierwise.budgets.dailyUsd' },
      estInputTokens: 2000,
    });
  });

  test('a call under every cap is routed as usual', () => {
    const decision = decide(request('plan'), testConfig({ budgets: { dailyUsd: 1, policy: 'block' } }), state());
    assertRouted(decision);
    assert.equal(decision.tier, 'frontier');
  });
});

describe('decide: budget policy ask', () => {
  test('a call over a cap asks, proposing the route it would take', () => {
    const decision = decide(
      request('plan'),
      testConfig({ budgets: { monthlyUsd: 20, policy: 'ask' } }),
      state({ totals: spendTotals({ todayUsd: 0.5, monthUsd: 19.9 }) }),
    );
    assert.equal(decision.kind, 'ask');
    const ask = decision as Extract<Decision, { kind: 'ask' }>;
    assert.equal(ask.tier, 'frontier');
    assert.deepEqual(ask.violation, {
      cap: 'monthly',
      capUsd: 20,
      committedUsd: 19.9,
      requestUsd: FRONTIER_PRIMARY_USD,
      setting: 'tierwise.budgets.monthlyUsd',
    });
    assert.match(ask.reason, /^rule plan → frontier; monthly cap .+ → needs confirmation$/);
    assert.equal(ask.proposed.kind, 'route');
    assert.equal(ask.proposed.tier, 'frontier');
    assert.equal(ask.proposed.endpoint.model, 'frontier-primary');
    assert.equal(ask.proposed.reservedUsd, FRONTIER_PRIMARY_USD);
  });
});

describe('decide: determinism', () => {
  test('the same request, config and state give the same decision, and nothing is mutated', () => {
    const config = testConfig({ budgets: { dailyUsd: 1 } });
    const routingState = state({ totals: spendTotals({ todayUsd: 0.92 }), estInputTokens: 98_000, unavailableEndpointIds: new Set([LOCAL_ID]) });
    const routeRequest = request('plan', { minimumTier: 'mid' });
    const configBefore = structuredClone(config);
    const totalsBefore = structuredClone(routingState.totals);

    const first = decide(routeRequest, config, routingState);
    const second = decide(routeRequest, config, routingState);
    const third = decide(structuredClone(routeRequest), structuredClone(config), { ...routingState, totals: structuredClone(routingState.totals) });

    assert.deepEqual(second, first);
    assert.deepEqual(third, first);
    assert.deepEqual(config, configBefore);
    assert.deepEqual(routingState.totals, totalsBefore);
  });
});

describe('firstUsableEndpoint', () => {
  test('starts from the given index (fallback continues from there)', () => {
    const choice = firstUsableEndpoint('mid', request('refactor'), testConfig(), state(), 1);
    assert.ok('endpoint' in choice);
    assert.equal(choice.endpoint.model, 'mid-backup');
    assert.equal(choice.index, 1);
    assert.equal(choice.maxOutputTokens, 4000);
    assert.deepEqual(choice.skipped, []);
  });

  test('past the last endpoint there is nothing, with nothing skipped', () => {
    assert.deepEqual(firstUsableEndpoint('mid', request('refactor'), testConfig(), state(), 2), { skipped: [] });
  });

  test('lists every endpoint it passed over', () => {
    const choice = firstUsableEndpoint('mid', request('refactor'), testConfig(), state({ estInputTokens: 500_000, unavailableEndpointIds: new Set([MID_PRIMARY_ID]) }));
    assert.deepEqual(choice, {
      skipped: ['mid-primary cooling down', 'mid-backup context 400000 < ~500000 prompt + 4000 output tokens'],
    });
  });

  test('an endpoint with no context window set is assumed to hold any prompt', () => {
    const config = testConfig();
    delete config.tiers.mid.endpoints[0].contextWindowTokens;
    const choice = firstUsableEndpoint('mid', request('refactor'), config, state({ estInputTokens: 5_000_000 }));
    assert.ok('endpoint' in choice);
    assert.equal(choice.endpoint.model, 'mid-primary');
  });
});
