import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG, endpointId, isLocalEndpoint, type EndpointConfig } from '../../extension/router/config';
import { CONFIG_SCHEMA } from '../../extension/router/configSchema';
import { formatProblem, parseConfig, validateAgainstSchema, type ConfigProblem } from '../../extension/router/configValidation';

const messages = (problems: ConfigProblem[]) => problems.map((problem) => formatProblem(problem));

describe('endpointId', () => {
  test('is provider:model@baseUrl, with the provider default base URL filled in', () => {
    assert.equal(endpointId({ provider: 'anthropic', model: 'claude-haiku-4-5' }), 'anthropic:claude-haiku-4-5@https://api.anthropic.com');
    assert.equal(endpointId({ provider: 'openai', model: 'gpt-5-mini' }), 'openai:gpt-5-mini@https://api.openai.com/v1');
    assert.equal(endpointId({ provider: 'ollama', model: 'qwen2.5-coder:7b' }), 'ollama:qwen2.5-coder:7b@http://127.0.0.1:11434');
  });

  test('uses an explicit base URL, so the same model on two servers is two endpoints', () => {
    const lmStudio: EndpointConfig = { provider: 'openai', model: 'qwen2.5-coder-7b', baseUrl: 'http://localhost:1234/v1' };
    const vllm: EndpointConfig = { provider: 'openai', model: 'qwen2.5-coder-7b', baseUrl: 'http://gpu-box:8000/v1' };
    assert.equal(endpointId(lmStudio), 'openai:qwen2.5-coder-7b@http://localhost:1234/v1');
    assert.equal(endpointId(vllm), 'openai:qwen2.5-coder-7b@http://gpu-box:8000/v1');
  });

  test('does not depend on settings that do not change which server answers', () => {
    const plain: EndpointConfig = { provider: 'anthropic', model: 'claude-sonnet-4-5' };
    assert.equal(endpointId({ ...plain, maxOutputTokens: 100, timeoutMs: 5000, contextWindowTokens: 1000 }), endpointId(plain));
  });
});

describe('isLocalEndpoint', () => {
  const cases: [string, EndpointConfig, boolean][] = [
    ['Ollama', { provider: 'ollama', model: 'llama3.2' }, true],
    ['Ollama on another machine (still Ollama)', { provider: 'ollama', model: 'llama3.2', baseUrl: 'http://gpu-box:11434' }, true],
    ['OpenAI public API', { provider: 'openai', model: 'gpt-5' }, false],
    ['Anthropic public API', { provider: 'anthropic', model: 'claude-sonnet-4-5' }, false],
    ['LM Studio on localhost', { provider: 'openai', model: 'qwen', baseUrl: 'http://localhost:1234/v1' }, true],
    ['llama.cpp on 127.0.0.1', { provider: 'openai', model: 'qwen', baseUrl: 'http://127.0.0.1:8080/v1' }, true],
    ['a server on IPv6 loopback', { provider: 'openai', model: 'qwen', baseUrl: 'http://[::1]:8000/v1' }, true],
    ['a LAN server', { provider: 'openai', model: 'qwen', baseUrl: 'http://192.168.1.20:8000/v1' }, false],
    ['OpenRouter', { provider: 'openai', model: 'deepseek/deepseek-chat', baseUrl: 'https://openrouter.ai/api/v1' }, false],
    ['an unparsable base URL (never assumed free)', { provider: 'openai', model: 'qwen', baseUrl: 'not a url' }, false],
    ['explicit local: true on a hosted server', { provider: 'openai', model: 'qwen', baseUrl: 'http://gpu-box:8000/v1', local: true }, true],
    ['explicit local: false on Ollama', { provider: 'ollama', model: 'llama3.2', local: false }, false],
    ['explicit local: false on localhost', { provider: 'openai', model: 'proxy', baseUrl: 'http://localhost:4000', local: false }, false],
  ];
  for (const [name, endpoint, expected] of cases) {
    test(`${name} → ${expected ? 'local' : 'paid'}`, () => assert.equal(isLocalEndpoint(endpoint), expected));
  }
});

describe('DEFAULT_CONFIG', () => {
  test('passes its own schema', () => {
    assert.deepEqual(validateAgainstSchema(DEFAULT_CONFIG, CONFIG_SCHEMA), []);
  });

  test('has the documented routes and no caps', () => {
    assert.deepEqual(DEFAULT_CONFIG.routes, {
      commitMessage: 'local',
      explainDiagnostic: 'local',
      findFiles: 'local',
      refactor: 'mid',
      plan: 'frontier',
      planStep: 'mid',
      ask: 'mid',
    });
    assert.equal(DEFAULT_CONFIG.budgets.dailyUsd, null);
    assert.equal(DEFAULT_CONFIG.budgets.monthlyUsd, null);
    assert.equal(DEFAULT_CONFIG.budgets.perRequestUsd, null);
    assert.equal(DEFAULT_CONFIG.budgets.policy, 'downgrade');
  });

  test('every tier has at least one endpoint and local is actually local', () => {
    for (const tier of ['local', 'mid', 'frontier'] as const) assert.ok(DEFAULT_CONFIG.tiers[tier].endpoints.length >= 1, tier);
    assert.ok(DEFAULT_CONFIG.tiers.local.endpoints.every(isLocalEndpoint));
    assert.ok(!DEFAULT_CONFIG.tiers.mid.endpoints.some(isLocalEndpoint));
    assert.ok(!DEFAULT_CONFIG.tiers.frontier.endpoints.some(isLocalEndpoint));
  });
});

describe('validateAgainstSchema: messages name the key path and what was expected', () => {
  const problemsOf = (raw: unknown) => messages(validateAgainstSchema(raw, CONFIG_SCHEMA));

  test('a string where a dollar amount belongs', () => {
    assert.deepEqual(problemsOf({ budgets: { dailyUsd: 'ten' } }), ['budgets.dailyUsd: expected a number or null (≥ 0), got "ten"']);
  });

  test('a negative dollar amount', () => {
    assert.deepEqual(problemsOf({ budgets: { monthlyUsd: -5 } }), ['budgets.monthlyUsd: expected a number or null (≥ 0), got -5']);
  });

  test('a misspelt provider inside an endpoint list', () => {
    const raw = { tiers: { local: { endpoints: [{ provider: 'olama', model: 'llama3.2' }] } } };
    assert.deepEqual(problemsOf(raw), ['tiers.local.endpoints[0].provider: expected one of "ollama", "openai", "anthropic", got "olama"']);
  });

  test('a missing required key, at its index', () => {
    const raw = { tiers: { mid: { endpoints: [{ provider: 'openai', model: 'gpt-5-mini' }, { provider: 'anthropic' }] } } };
    assert.deepEqual(problemsOf(raw), ['tiers.mid.endpoints[1].model: is required']);
  });

  test('an empty endpoint list', () => {
    assert.deepEqual(problemsOf({ tiers: { frontier: { endpoints: [] } } }), ['tiers.frontier.endpoints: needs at least 1 item']);
  });

  test('an empty model id', () => {
    const raw = { tiers: { mid: { endpoints: [{ provider: 'openai', model: '' }] } } };
    assert.deepEqual(problemsOf(raw), ['tiers.mid.endpoints[0].model: must not be empty']);
  });

  test('a fraction where a whole number belongs, and a value under the minimum', () => {
    assert.deepEqual(problemsOf({ requestTimeoutMs: 1500.5 }), ['requestTimeoutMs: expected a whole number (≥ 1000), got 1500.5']);
    assert.deepEqual(problemsOf({ requestTimeoutMs: 500 }), ['requestTimeoutMs: expected a whole number (≥ 1000), got 500']);
  });

  test('a percentage out of range names both bounds', () => {
    assert.deepEqual(problemsOf({ budgets: { softThresholdPercent: 150 } }), [
      'budgets.softThresholdPercent: expected a number (≥ 1, ≤ 100), got 150',
    ]);
  });

  test('an unknown policy lists the allowed ones', () => {
    assert.deepEqual(problemsOf({ budgets: { policy: 'deny' } }), ['budgets.policy: expected one of "downgrade", "block", "ask", got "deny"']);
  });

  test('a route to a tier that does not exist', () => {
    assert.deepEqual(problemsOf({ routes: { plan: 'frontierr' } }), ['routes.plan: expected one of "local", "mid", "frontier", got "frontierr"']);
  });

  test('a route for a new task kind is allowed', () => {
    assert.deepEqual(problemsOf({ routes: { 'agent.review': 'frontier', summarize: 'local' } }), []);
  });

  test('a price with a missing rate and a string rate', () => {
    assert.deepEqual(problemsOf({ prices: { 'my-model': { inputPerMTokUsd: '2' } } }), [
      'prices.my-model.outputPerMTokUsd: is required',
      'prices.my-model.inputPerMTokUsd: expected a number (≥ 0), got "2"',
    ]);
  });

  test('every problem is reported, not just the first', () => {
    const raw = { budgets: { dailyUsd: 'ten', policy: 'deny' }, requestTimeoutMs: 10 };
    assert.deepEqual(problemsOf(raw), [
      'budgets.dailyUsd: expected a number or null (≥ 0), got "ten"',
      'budgets.policy: expected one of "downgrade", "block", "ask", got "deny"',
      'requestTimeoutMs: expected a whole number (≥ 1000), got 10',
    ]);
  });

  test('a long bad value is shortened in the message', () => {
    assert.deepEqual(problemsOf({ localUnavailable: 'x'.repeat(100) }), [
      `localUnavailable: expected one of "nextTier", "refuse", got "${'x'.repeat(56)}...`,
    ]);
  });

  test('an object or array of the wrong type reads as English ("an object", "an array")', () => {
    assert.deepEqual(problemsOf({ budgets: 5 }), ['budgets: expected an object, got 5']);
    assert.deepEqual(problemsOf({ tiers: { local: { endpoints: { provider: 'ollama' } } } }), [
      'tiers.local.endpoints: expected an array, got {"provider":"ollama"}',
    ]);
  });
});

describe('validateAgainstSchema: unknown keys', () => {
  const problemsOf = (raw: unknown) => messages(validateAgainstSchema(raw, CONFIG_SCHEMA));

  test('a wrongly capitalised key suggests the right one', () => {
    assert.deepEqual(problemsOf({ budgets: { dailyUSD: 10 } }), ['budgets.dailyUSD: unknown key (did you mean "dailyUsd"?)']);
  });

  test('a near-miss top-level key suggests the right one', () => {
    assert.deepEqual(problemsOf({ budget: { dailyUsd: 10 } }), ['budget: unknown key (did you mean "budgets"?)']);
    assert.deepEqual(problemsOf({ tiers: { fronteir: { endpoints: [{ provider: 'openai', model: 'gpt-5' }] } } }), [
      'tiers.fronteir: unknown key (did you mean "frontier"?)',
    ]);
  });

  test('a typo inside an endpoint suggests the right key', () => {
    const raw = { tiers: { local: { endpoints: [{ provider: 'ollama', model: 'llama3.2', baseURL: 'http://127.0.0.1:11434' }] } } };
    assert.deepEqual(problemsOf(raw), ['tiers.local.endpoints[0].baseURL: unknown key (did you mean "baseUrl"?)']);
  });

  test('a key like no known one lists the known keys instead', () => {
    assert.deepEqual(problemsOf({ escalation: { colour: 'red' } }), ['escalation.colour: unknown key (known keys: maxEscalations)']);
  });
});

describe('formatProblem', () => {
  test('joins path and message', () => {
    assert.equal(formatProblem({ path: 'budgets.dailyUsd', segments: ['budgets', 'dailyUsd'], message: 'expected a number' }), 'budgets.dailyUsd: expected a number');
  });

  test('prefixes the settings section so the message names the setting', () => {
    assert.equal(
      formatProblem({ path: 'budgets.dailyUsd', segments: ['budgets', 'dailyUsd'], message: 'expected a number or null (≥ 0), got "ten"' }, 'tierwise.'),
      'tierwise.budgets.dailyUsd: expected a number or null (≥ 0), got "ten"',
    );
  });
});

describe('parseConfig', () => {
  test('nothing configured gives the defaults, as a copy', () => {
    for (const raw of [undefined, null, {}]) {
      const { config, problems } = parseConfig(raw);
      assert.deepEqual(problems, []);
      assert.deepEqual(config, DEFAULT_CONFIG);
      assert.notEqual(config, DEFAULT_CONFIG);
      assert.notEqual(config.tiers.local.endpoints, DEFAULT_CONFIG.tiers.local.endpoints);
    }
  });

  test('changing the parsed config does not change the defaults', () => {
    const { config } = parseConfig({ budgets: { dailyUsd: 3 } });
    config.routes.plan = 'mid';
    config.tiers.mid.endpoints[0].model = 'changed';
    config.budgets.unpricedFallback.inputPerMTokUsd = 1;
    assert.equal(DEFAULT_CONFIG.routes.plan, 'frontier');
    assert.equal(DEFAULT_CONFIG.tiers.mid.endpoints[0].model, 'claude-haiku-4-5');
    assert.equal(DEFAULT_CONFIG.budgets.unpricedFallback.inputPerMTokUsd, 15);
  });

  test('a partial budget merges over the defaults key by key', () => {
    const { config, problems } = parseConfig({ budgets: { dailyUsd: 10, policy: 'block' } });
    assert.deepEqual(problems, []);
    assert.deepEqual(config.budgets, {
      dailyUsd: 10,
      monthlyUsd: null,
      perRequestUsd: null,
      perTierDailyUsd: {},
      softThresholdPercent: 80,
      policy: 'block',
      unpricedFallback: { inputPerMTokUsd: 15, outputPerMTokUsd: 75 },
    });
  });

  test('a route override changes only that route', () => {
    const { config } = parseConfig({ routes: { commitMessage: 'mid', 'agent.review': 'frontier' } });
    assert.deepEqual(config.routes, {
      commitMessage: 'mid',
      explainDiagnostic: 'local',
      findFiles: 'local',
      refactor: 'mid',
      plan: 'frontier',
      planStep: 'mid',
      ask: 'mid',
      'agent.review': 'frontier',
    });
  });

  test("a tier's endpoint list replaces the default list instead of merging into it", () => {
    const { config, problems } = parseConfig({ tiers: { mid: { endpoints: [{ provider: 'openai', model: 'gpt-5-mini' }] } } });
    assert.deepEqual(problems, []);
    assert.deepEqual(config.tiers.mid.endpoints, [{ provider: 'openai', model: 'gpt-5-mini' }]);
    assert.equal(config.tiers.local.endpoints[0].model, 'qwen2.5-coder:7b');
    assert.equal(config.tiers.frontier.endpoints.length, 2);
  });

  test('null lifts a cap that a base configuration set', () => {
    const base = parseConfig({ budgets: { dailyUsd: 5 } }).config;
    const { config } = parseConfig({ budgets: { dailyUsd: null } }, base);
    assert.equal(config.budgets.dailyUsd, null);
  });

  test('a bad budget value keeps its default while the other budget values apply', () => {
    const { config, problems } = parseConfig({ budgets: { dailyUsd: 'ten', monthlyUsd: 100, perRequestUsd: 0.5 } });
    assert.deepEqual(messages(problems), ['budgets.dailyUsd: expected a number or null (≥ 0), got "ten"']);
    assert.equal(config.budgets.dailyUsd, null);
    assert.equal(config.budgets.monthlyUsd, 100);
    assert.equal(config.budgets.perRequestUsd, 0.5);
  });

  test('a bad endpoint keeps that tier at its default while other tiers apply', () => {
    const { config, problems } = parseConfig({
      tiers: {
        local: { endpoints: [{ provider: 'olama', model: 'llama3.2' }] },
        mid: { endpoints: [{ provider: 'openai', model: 'gpt-5-mini' }] },
      },
      budgets: { monthlyUsd: 50 },
    });
    assert.deepEqual(messages(problems), ['tiers.local.endpoints[0].provider: expected one of "ollama", "openai", "anthropic", got "olama"']);
    assert.deepEqual(config.tiers.local, DEFAULT_CONFIG.tiers.local);
    assert.deepEqual(config.tiers.mid.endpoints, [{ provider: 'openai', model: 'gpt-5-mini' }]);
    assert.equal(config.budgets.monthlyUsd, 50);
  });

  test('a bad route keeps that route while other routes apply', () => {
    const { config, problems } = parseConfig({ routes: { plan: 'frontierr', refactor: 'frontier' } });
    assert.equal(problems.length, 1);
    assert.equal(config.routes.plan, 'frontier');
    assert.equal(config.routes.refactor, 'frontier');
  });

  test('a bad top-level value keeps its default', () => {
    const { config, problems } = parseConfig({ requestTimeoutMs: 10, localUnavailable: 'refuse' });
    assert.deepEqual(messages(problems), ['requestTimeoutMs: expected a whole number (≥ 1000), got 10']);
    assert.equal(config.requestTimeoutMs, 120000);
    assert.equal(config.localUnavailable, 'refuse');
  });

  test('an unknown key is reported and dropped, and the rest applies', () => {
    const { config, problems } = parseConfig({ budgets: { dailyUSD: 10, monthlyUsd: 100 }, budget: { dailyUsd: 1 } });
    assert.deepEqual(messages(problems), [
      'budgets.dailyUSD: unknown key (did you mean "dailyUsd"?)',
      'budget: unknown key (did you mean "budgets"?)',
    ]);
    assert.equal(config.budgets.dailyUsd, null);
    assert.equal(config.budgets.monthlyUsd, 100);
    assert.ok(!('dailyUSD' in config.budgets));
    assert.ok(!('budget' in config));
  });

  test('a bad per-tier cap keeps the per-tier caps at their default', () => {
    const { config, problems } = parseConfig({ budgets: { perTierDailyUsd: { mid: 'five', frontier: 2 }, dailyUsd: 10 } });
    assert.deepEqual(messages(problems), ['budgets.perTierDailyUsd.mid: expected a number or null (≥ 0), got "five"']);
    assert.deepEqual(config.budgets.perTierDailyUsd, {});
    assert.equal(config.budgets.dailyUsd, 10);
  });

  test('a price override applies', () => {
    const { config, problems } = parseConfig({ prices: { 'my-model': { inputPerMTokUsd: 2, outputPerMTokUsd: 8 } } });
    assert.deepEqual(problems, []);
    assert.deepEqual(config.prices, { 'my-model': { inputPerMTokUsd: 2, outputPerMTokUsd: 8 } });
  });

  test('a bad price for a model id with a dot in it is dropped like any other bad price', () => {
    // Model ids often contain dots (gpt-4.1, qwen2.5-coder:7b); the rejected path must not be split at them.
    const { config, problems } = parseConfig({
      prices: {
        'gpt-4.1': { inputPerMTokUsd: 'two', outputPerMTokUsd: 8 },
        'my-model': { inputPerMTokUsd: 2, outputPerMTokUsd: 8 },
      },
    });
    assert.deepEqual(messages(problems), ['prices.gpt-4.1.inputPerMTokUsd: expected a number (≥ 0), got "two"']);
    assert.deepEqual(config.prices, { 'my-model': { inputPerMTokUsd: 2, outputPerMTokUsd: 8 } });
  });

  test('a bad route for a dotted task kind (agent.*) is dropped like any other bad route', () => {
    const { config, problems } = parseConfig({ routes: { 'agent.review': 'frontierr', 'agent.edit': 'mid' } });
    assert.equal(problems.length, 1);
    assert.equal(config.routes['agent.review'], undefined);
    assert.equal(config.routes['agent.edit'], 'mid');
  });

  test('the savings reference can be set and reset to null', () => {
    assert.deepEqual(parseConfig({ savingsReference: { provider: 'openai', model: 'gpt-5' } }).config.savingsReference, {
      provider: 'openai',
      model: 'gpt-5',
    });
    assert.equal(parseConfig({ savingsReference: null }).config.savingsReference, null);
  });

  test('a value that is not an object at all gives the defaults and one problem', () => {
    const { config, problems } = parseConfig('budgets.dailyUsd=10');
    assert.deepEqual(config, DEFAULT_CONFIG);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].path, '');
  });

  test('parses over given defaults instead of the built-in ones', () => {
    const base = structuredClone(DEFAULT_CONFIG);
    base.budgets.monthlyUsd = 40;
    const { config } = parseConfig({ budgets: { dailyUsd: 2 } }, base);
    assert.equal(config.budgets.monthlyUsd, 40);
    assert.equal(config.budgets.dailyUsd, 2);
  });
});
