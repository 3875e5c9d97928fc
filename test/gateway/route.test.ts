/** Route planning for agent kinds: defaults, the routes table, aliases, translation, stickiness and caps. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { clientModelEndpoint, planRoute, routeTargetFor, type PlanInput, type RoutedPlan } from '../../extension/gateway/route';
import { endpointId, type EndpointConfig } from '../../extension/router/config';
import { Ledger } from '../../extension/router/ledger/ledger';
import type { SpendTotals } from '../../extension/router/ledger/records';
import { CLIENT_MODEL, FRONTIER_MODEL, gatewayConfig, MID_MODEL } from './helpers/gatewayFixtures';
import { LOCAL_TEST_MODEL } from '../wire/helpers/routerFixtures';

const ANTHROPIC = 'http://127.0.0.1:9001';
const OLLAMA = 'http://127.0.0.1:9002';
const tiers = {
  local: [{ provider: 'ollama', model: LOCAL_TEST_MODEL, baseUrl: OLLAMA }] as EndpointConfig[],
  mid: [
    { provider: 'anthropic', model: MID_MODEL, baseUrl: ANTHROPIC },
    { provider: 'anthropic', model: 'claude-test-mid-b', baseUrl: ANTHROPIC },
  ] as EndpointConfig[],
  frontier: [{ provider: 'anthropic', model: FRONTIER_MODEL, baseUrl: ANTHROPIC }] as EndpointConfig[],
};

/** Totals of an empty ledger (built by the ledger itself, so the shape follows it). */
function emptyTotals(): SpendTotals {
  const dir = mkdtempSync(join(tmpdir(), 'tierwise-route-'));
  try {
    return new Ledger({ dir }).totals();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const input = (overrides: Partial<PlanInput> = {}): PlanInput => ({
  kind: 'agent.main',
  ingress: 'anthropic',
  clientModel: CLIENT_MODEL,
  estInputTokens: 10_000,
  requestedMaxOutputTokens: 32_000,
  canTranslate: () => true,
  ...overrides,
});

const routed = (plan: ReturnType<typeof planRoute>): RoutedPlan => {
  assert.equal(plan.kind, 'route', JSON.stringify(plan));
  return plan as RoutedPlan;
};

describe('routeTargetFor', () => {
  const config = gatewayConfig(tiers);
  test('gateway defaults for agent kinds the routes table leaves out', () => {
    assert.deepEqual(routeTargetFor('agent.main', config, CLIENT_MODEL), { type: 'clientModel', rule: `agent.main → client's model ${CLIENT_MODEL} (gateway default)` });
    assert.equal(routeTargetFor('agent.longContext', config, CLIENT_MODEL).type, 'clientModel');
    assert.equal(routeTargetFor('agent.thinking', config, CLIENT_MODEL).type, 'clientModel');
    assert.deepEqual(routeTargetFor('agent.subagent', config, CLIENT_MODEL), { type: 'tier', tier: 'mid', rule: 'agent.subagent → mid (gateway default)' });
    assert.deepEqual(routeTargetFor('agent.background', config, CLIENT_MODEL), { type: 'tier', tier: 'local', rule: 'agent.background → local (gateway default)' });
    assert.deepEqual(routeTargetFor('agent.compaction', config, CLIENT_MODEL), { type: 'tier', tier: 'mid', rule: 'agent.compaction → mid (gateway default)' });
  });

  test('the routes table wins; an alias model pins a tier; tierwise-auto lets the gateway choose', () => {
    const routedConfig = gatewayConfig(tiers, { routes: { ...gatewayConfig(tiers).routes, 'agent.main': 'mid' } });
    assert.deepEqual(routeTargetFor('agent.main', routedConfig, CLIENT_MODEL), { type: 'tier', tier: 'mid', rule: 'rule agent.main → mid' });
    assert.deepEqual(routeTargetFor('agent.subagent', config, 'tierwise-frontier'), { type: 'tier', tier: 'frontier', rule: 'model alias tierwise-frontier → frontier' });
    assert.equal(routeTargetFor('agent.main', config, 'tierwise-auto').type, 'tier');
  });
});

describe('clientModelEndpoint', () => {
  test("the client's model on the first Anthropic endpoint's server, counted as frontier unless a tier lists it", () => {
    const config = gatewayConfig(tiers);
    assert.deepEqual(clientModelEndpoint('anthropic', CLIENT_MODEL, config), { endpoint: { provider: 'anthropic', model: CLIENT_MODEL, baseUrl: ANTHROPIC }, tier: 'frontier' });
    assert.equal(clientModelEndpoint('anthropic', MID_MODEL, config).tier, 'mid');
    assert.deepEqual(clientModelEndpoint('openaiResponses', 'gpt-5.1-codex', config).endpoint, { provider: 'openai', model: 'gpt-5.1-codex' });
  });
});

describe('planRoute', () => {
  test("main turns go to the client's model unchanged, subagents to mid, titles to local (translated)", () => {
    const config = gatewayConfig(tiers);
    const main = routed(planRoute(input(), config, { totals: emptyTotals() }));
    assert.equal(main.endpoint.model, CLIENT_MODEL);
    assert.equal(main.passThrough, true);
    assert.equal(main.clientModelRoute, true);
    assert.equal(main.maxOutputTokens, 32_000);
    const sub = routed(planRoute(input({ kind: 'agent.subagent' }), config, { totals: emptyTotals() }));
    assert.equal(sub.endpoint.model, MID_MODEL);
    const title = routed(planRoute(input({ kind: 'agent.background' }), config, { totals: emptyTotals() }));
    assert.equal(title.endpoint.model, LOCAL_TEST_MODEL);
    assert.equal(title.passThrough, false);
    assert.equal(title.upstreamProtocol, 'ollama');
    assert.equal(title.worstCaseUsd, 0);
  });

  test('without a translator the local tier is skipped and the reason says why', () => {
    const title = routed(planRoute(input({ kind: 'agent.background', canTranslate: () => false }), gatewayConfig(tiers), { totals: emptyTotals() }));
    assert.equal(title.tier, 'mid');
    assert.match(title.reason, /qwen-test:7b needs anthropic → ollama translation, which is not available → mid/);
  });

  test('a session stays on its endpoint inside the tier', () => {
    const config = gatewayConfig(tiers);
    const sticky = routed(planRoute(input({ kind: 'agent.subagent', stickyEndpointId: endpointId(tiers.mid[1]) }), config, { totals: emptyTotals() }));
    assert.equal(sticky.endpoint.model, 'claude-test-mid-b');
    assert.equal(sticky.sticky, true);
    assert.match(sticky.reason, /session stays on claude-test-mid-b/);
    const cooling = routed(planRoute(input({ kind: 'agent.subagent', stickyEndpointId: endpointId(tiers.mid[1]) }), config, { totals: emptyTotals(), unavailableEndpointIds: new Set([endpointId(tiers.mid[1])]) }));
    assert.equal(cooling.endpoint.model, MID_MODEL);
  });

  test('caps: block names the cap; downgrade moves a main turn to a cheaper tier and says so', () => {
    // Only priced endpoints here (an unpriced loopback endpoint counts as a free local one).
    const priced = { ...tiers, mid: tiers.mid.slice(0, 1) };
    const blocking = gatewayConfig(priced, { budgets: { dailyUsd: 0.05, policy: 'block' } });
    const blocked = planRoute(input(), blocking, { totals: emptyTotals() });
    assert.equal(blocked.kind, 'blocked');
    assert.equal(blocked.kind === 'blocked' && blocked.violation.setting, 'tierwise.budgets.dailyUsd');

    const downgrading = gatewayConfig(priced, { budgets: { dailyUsd: 0.05, policy: 'downgrade' } });
    const down = routed(planRoute(input(), downgrading, { totals: emptyTotals() }));
    assert.equal(down.tier, 'local');
    assert.deepEqual(down.downgrade && { from: down.downgrade.from, to: down.downgrade.to }, { from: 'frontier', to: 'local' });
    assert.match(down.reason, /daily cap 0% → downgraded frontier → local/);

    const asking = gatewayConfig(priced, { budgets: { dailyUsd: 0.05, policy: 'ask' } });
    const asked = planRoute(input(), asking, { totals: emptyTotals() });
    assert.equal(asked.kind, 'blocked');
    assert.match(asked.kind === 'blocked' ? asked.reason : '', /policy ask: the gateway cannot ask/);
  });

  test("a prompt no tier's context window holds goes to the client's own model, not nowhere", () => {
    const small = {
      local: [{ ...tiers.local[0], contextWindowTokens: 32_000 }],
      mid: [{ ...tiers.mid[0], contextWindowTokens: 200_000 }],
      frontier: [{ ...tiers.frontier[0], contextWindowTokens: 200_000 }],
    };
    const compaction = routed(planRoute(input({ kind: 'agent.compaction', estInputTokens: 240_000, contextInputTokens: 190_000 }), gatewayConfig(small), { totals: emptyTotals() }));
    assert.equal(compaction.endpoint.model, CLIENT_MODEL);
    assert.equal(compaction.clientModelRoute, true);
    assert.match(compaction.reason, /frontier: claude-test-frontier context 200000 < ~190000 prompt \+ 32000 output tokens → client's model/);
    const aliased = planRoute(input({ kind: 'agent.compaction', clientModel: 'tierwise-mid', contextInputTokens: 190_000 }), gatewayConfig(small), { totals: emptyTotals() });
    assert.equal(aliased.kind, 'noEndpoint');
  });

  test("pass-through reserves the client's own max_tokens, not the endpoint's smaller cap", () => {
    const capped = { ...tiers, mid: [{ ...tiers.mid[0], maxOutputTokens: 4096 }] };
    const sub = routed(planRoute(input({ kind: 'agent.subagent', requestedMaxOutputTokens: 32_000 }), gatewayConfig(capped), { totals: emptyTotals() }));
    assert.equal(sub.maxOutputTokens, 32_000);
    const translated = routed(planRoute(input({ kind: 'agent.subagent', ingress: 'openaiChat', requestedMaxOutputTokens: 32_000 }), gatewayConfig(capped), { totals: emptyTotals() }));
    assert.equal(translated.passThrough, false);
    assert.equal(translated.maxOutputTokens, 4096);
  });

  test('a route taken again comes from its template: the same endpoint and reason, priced and capped from its own request', () => {
    const config = gatewayConfig(tiers);
    const canTranslate = () => true;
    const first = routed(planRoute(input({ kind: 'agent.subagent', estInputTokens: 10_000, requestedMaxOutputTokens: 1000, canTranslate }), config, { totals: emptyTotals() }));
    const again = routed(planRoute(input({ kind: 'agent.subagent', estInputTokens: 40_000, requestedMaxOutputTokens: 4000, canTranslate }), config, { totals: emptyTotals() }));
    assert.equal(again.endpoint, first.endpoint);
    assert.equal(again.reason, first.reason);
    assert.deepEqual([first.maxOutputTokens, again.maxOutputTokens], [1000, 4000]);
    assert.ok(again.worstCaseUsd > first.worstCaseUsd * 3.9, `${again.worstCaseUsd} for 4× the tokens of ${first.worstCaseUsd}`);
  });

  test('a route that checked a context window is planned afresh: a prompt that no longer fits goes up a tier', () => {
    const windowed = { ...tiers, mid: [{ ...tiers.mid[0], contextWindowTokens: 50_000 }] };
    const config = gatewayConfig(windowed);
    const canTranslate = () => true;
    const small = routed(planRoute(input({ kind: 'agent.subagent', estInputTokens: 10_000, requestedMaxOutputTokens: 1000, canTranslate }), config, { totals: emptyTotals() }));
    assert.equal(small.tier, 'mid');
    const large = routed(planRoute(input({ kind: 'agent.subagent', estInputTokens: 60_000, requestedMaxOutputTokens: 1000, canTranslate }), config, { totals: emptyTotals() }));
    assert.equal(large.tier, 'frontier');
    assert.match(large.reason, /context 50000 < ~60000 prompt/);
  });

  test('with an endpoint cooling down the route is planned afresh, and the reason says why', () => {
    const config = gatewayConfig(tiers);
    const canTranslate = () => true;
    routed(planRoute(input({ kind: 'agent.subagent', canTranslate }), config, { totals: emptyTotals() }));
    const cooling = routed(planRoute(input({ kind: 'agent.subagent', canTranslate }), config, { totals: emptyTotals(), unavailableEndpointIds: new Set([endpointId(tiers.mid[0])]) }));
    assert.equal(cooling.endpoint.model, 'claude-test-mid-b');
    assert.match(cooling.reason, /cooling down/);
  });
});
