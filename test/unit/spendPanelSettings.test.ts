import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG, endpointId, type TierwiseConfig } from '../../extension/router/config';
import { baseUrlProblem, configValueAt, planSettingWrite, sameJsonValue, validateSetting } from '../../extension/ui/spendPanelSettings';
import type { SettingEdit } from '../../webview/protocol';

const config = (): TierwiseConfig => structuredClone(DEFAULT_CONFIG);

function written(edit: SettingEdit, from: TierwiseConfig = config()): { key: string; value: unknown } {
  const plan = planSettingWrite(edit, from);
  assert.ok(plan.ok, `expected a write, got ${JSON.stringify(plan)}`);
  return plan.write;
}

function refused(edit: SettingEdit, from: TierwiseConfig = config()): { error: string; problems?: string[] } {
  const plan = planSettingWrite(edit, from);
  assert.ok(!plan.ok, `expected a refusal, got ${JSON.stringify(plan)}`);
  return plan;
}

describe('route edits write tierwise.routes as the Settings UI does (the whole object)', () => {
  test('changes one task kind and keeps the others', () => {
    const write = written({ kind: 'route', task: 'refactor', tier: 'frontier' });
    assert.equal(write.key, 'routes');
    assert.deepEqual(write.value, { ...DEFAULT_CONFIG.routes, refactor: 'frontier' });
  });

  test('keeps extra kinds such as agent.*', () => {
    const from = config();
    from.routes['agent.review'] = 'frontier';
    const write = written({ kind: 'route', task: 'agent.review', tier: 'mid' }, from);
    assert.equal((write.value as Record<string, string>)['agent.review'], 'mid');
  });

  test('an unknown tier is refused with the engine message naming the setting', () => {
    const { error, problems } = refused({ kind: 'route', task: 'refactor', tier: 'huge' as never });
    assert.match(error, /^tierwise\.routes was not changed: tierwise\.routes\.refactor: expected one of "local", "mid", "frontier", got "huge"/);
    assert.equal(problems?.length, 1);
  });
});

describe('endpoint edits write tierwise.tiers', () => {
  const mid = DEFAULT_CONFIG.tiers.mid.endpoints;

  test('move down swaps with the next endpoint and keeps every field', () => {
    const write = written({ kind: 'moveEndpoint', tier: 'mid', endpointId: endpointId(mid[0]), index: 0, direction: 'down' });
    assert.equal(write.key, 'tiers');
    const tiers = write.value as TierwiseConfig['tiers'];
    assert.deepEqual(tiers.mid.endpoints, [mid[1], mid[0]]);
    assert.deepEqual(tiers.local, DEFAULT_CONFIG.tiers.local);
    assert.deepEqual(tiers.frontier, DEFAULT_CONFIG.tiers.frontier);
  });

  test('moving past either end is refused', () => {
    assert.match(refused({ kind: 'moveEndpoint', tier: 'mid', endpointId: endpointId(mid[0]), index: 0, direction: 'up' }).error, /already first/);
    assert.match(refused({ kind: 'moveEndpoint', tier: 'mid', endpointId: endpointId(mid[1]), index: 1, direction: 'down' }).error, /already last/);
  });

  test('an edit made on a list that changed since is refused rather than moving the wrong endpoint', () => {
    const { error } = refused({ kind: 'moveEndpoint', tier: 'mid', endpointId: endpointId(mid[1]), index: 0, direction: 'down' });
    assert.match(error, /changed meanwhile/);
    assert.match(refused({ kind: 'removeEndpoint', tier: 'mid', endpointId: 'x', index: 7 }).error, /changed meanwhile/);
  });

  test('remove drops the endpoint; removing the last one is refused by the schema', () => {
    const write = written({ kind: 'removeEndpoint', tier: 'mid', endpointId: endpointId(mid[0]), index: 0 });
    assert.deepEqual((write.value as TierwiseConfig['tiers']).mid.endpoints, [mid[1]]);
    const local = DEFAULT_CONFIG.tiers.local.endpoints[0];
    const { error } = refused({ kind: 'removeEndpoint', tier: 'local', endpointId: endpointId(local), index: 0 });
    assert.match(error, /tierwise\.tiers\.local\.endpoints: needs at least 1 item/);
  });

  test('add appends provider, model and an optional base URL', () => {
    const write = written({ kind: 'addEndpoint', tier: 'local', provider: 'openai', model: ' qwen3-coder ', baseUrl: 'http://127.0.0.1:1234/v1' });
    const endpoints = (write.value as TierwiseConfig['tiers']).local.endpoints;
    assert.deepEqual(endpoints.at(-1), { provider: 'openai', model: 'qwen3-coder', baseUrl: 'http://127.0.0.1:1234/v1' });
    const noUrl = written({ kind: 'addEndpoint', tier: 'frontier', provider: 'anthropic', model: 'claude-opus-4-1', baseUrl: '  ' });
    assert.deepEqual((noUrl.value as TierwiseConfig['tiers']).frontier.endpoints.at(-1), { provider: 'anthropic', model: 'claude-opus-4-1' });
  });

  test('add refuses an empty model, a bad URL, credentials in the URL, an unknown provider, a duplicate', () => {
    assert.match(refused({ kind: 'addEndpoint', tier: 'local', provider: 'ollama', model: '  ' }).error, /model must not be empty/);
    assert.match(refused({ kind: 'addEndpoint', tier: 'local', provider: 'ollama', model: 'm', baseUrl: 'localhost:11434' }).error, /http/);
    assert.match(refused({ kind: 'addEndpoint', tier: 'mid', provider: 'openai', model: 'm', baseUrl: 'https://u:sk-1@x.example/v1' }).error, /credentials/);
    assert.match(refused({ kind: 'addEndpoint', tier: 'mid', provider: 'gemini' as never, model: 'm' }).error, /not a provider/);
    assert.match(refused({ kind: 'addEndpoint', tier: 'mid', provider: 'openai', model: 'gpt-5-mini' }).error, /already in the mid tier/);
  });
});

describe('cap edits write the flat budgets settings', () => {
  test('amounts, null for no cap', () => {
    assert.deepEqual(written({ kind: 'budgetAmount', key: 'dailyUsd', value: 5 }), { key: 'budgets.dailyUsd', value: 5 });
    assert.deepEqual(written({ kind: 'budgetAmount', key: 'monthlyUsd', value: null }), { key: 'budgets.monthlyUsd', value: null });
    assert.deepEqual(written({ kind: 'budgetAmount', key: 'perRequestUsd', value: 0 }), { key: 'budgets.perRequestUsd', value: 0 });
  });

  test('a negative amount is refused with the engine message', () => {
    const { error } = refused({ kind: 'budgetAmount', key: 'dailyUsd', value: -1 });
    assert.equal(error, 'tierwise.budgets.dailyUsd was not changed: tierwise.budgets.dailyUsd: expected a number or null (≥ 0), got -1');
  });

  test('per-tier daily caps write the whole object', () => {
    const from = config();
    from.budgets.perTierDailyUsd = { frontier: 2 };
    assert.deepEqual(written({ kind: 'tierDailyCap', tier: 'mid', value: 1 }, from), { key: 'budgets.perTierDailyUsd', value: { frontier: 2, mid: 1 } });
  });

  test('soft threshold 1–100 and the policy enum', () => {
    assert.deepEqual(written({ kind: 'softThreshold', value: 90 }), { key: 'budgets.softThresholdPercent', value: 90 });
    assert.match(refused({ kind: 'softThreshold', value: 0 }).error, /≥ 1/);
    assert.match(refused({ kind: 'softThreshold', value: 101 }).error, /≤ 100/);
    assert.deepEqual(written({ kind: 'policy', value: 'block' }), { key: 'budgets.policy', value: 'block' });
    assert.match(refused({ kind: 'policy', value: 'spend' as never }).error, /expected one of "downgrade", "block", "ask"/);
  });

  test('an unknown edit is refused', () => {
    assert.match(refused({ kind: 'apiKey', value: 'sk-1' } as never).error, /Unknown edit/);
  });
});

describe('helpers', () => {
  test('validateSetting names unknown settings', () => {
    assert.deepEqual(validateSetting('budgets.nope', 1), ['tierwise.budgets.nope is not a Tierwise setting']);
    assert.deepEqual(validateSetting('budgets.dailyUsd', 3), []);
  });

  test('baseUrlProblem', () => {
    assert.equal(baseUrlProblem('https://openrouter.ai/api/v1'), undefined);
    assert.match(baseUrlProblem('ftp://x')!, /http/);
  });

  test('configValueAt and sameJsonValue read back what took effect', () => {
    assert.equal(configValueAt(DEFAULT_CONFIG, 'budgets.softThresholdPercent'), 80);
    assert.equal(configValueAt(DEFAULT_CONFIG, 'budgets.nothing.here'), undefined);
    assert.ok(sameJsonValue({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }));
    assert.ok(!sameJsonValue({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!sameJsonValue([1, 2], [2, 1]));
    assert.ok(!sameJsonValue(null, 0));
  });
});
