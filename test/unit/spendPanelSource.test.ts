// SpendPanelSource with a real ledger and stand-ins for the settings and providers (it needs no `vscode`).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DEFAULT_CONFIG, type EndpointConfig, type ProviderKind, type TierwiseConfig } from '../../extension/router/config';
import { Ledger } from '../../extension/router/ledger/ledger';
import type { CallRecord } from '../../extension/router/ledger/records';
import type { ProviderAdapter } from '../../extension/providers/types';
import type { TierwiseSettings } from '../../extension/ui/settings';
import { PROVIDER_STATUS_TTL_MS, SpendPanelSource } from '../../extension/ui/spendPanelSource';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const MAR_3_NOON_UTC = Date.UTC(2026, 2, 3, 12);

/** Settings that apply a write at once (or, `overridden`, never: as when a workspace value wins). */
class FakeSettings {
  config: TierwiseConfig = structuredClone(DEFAULT_CONFIG);
  readonly writes: { key: string; value: unknown }[] = [];
  constructor(private readonly overridden = false) {}
  async update(key: string, value: unknown): Promise<void> {
    this.writes.push({ key, value });
    if (this.overridden) return;
    const parts = key.split('.');
    let target = this.config as unknown as Record<string, unknown>;
    for (const part of parts.slice(0, -1)) target = target[part] as Record<string, unknown>;
    target[parts.at(-1)!] = structuredClone(value);
  }
}

/** Providers whose model lists are counted and can be held back. */
function fakeProviders() {
  let listCalls = 0;
  let gate: Promise<void> = Promise.resolve();
  const adapter = (kind: ProviderKind): ProviderAdapter => ({
    kind,
    stream: () => {
      throw new Error('not called');
    },
    listModels: async (endpoint: EndpointConfig) => {
      listCalls++;
      await gate;
      if (endpoint.provider === 'openai') throw new Error('connection refused');
      return [endpoint.model, 'other-model'];
    },
  });
  return {
    providers: adapter,
    listCalls: () => listCalls,
    hold(): () => void {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return release;
    },
  };
}

function source(options: { settings?: FakeSettings; clock?: { now: number } } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tierwise-panel-source-'));
  dirs.push(dir);
  const clock = options.clock ?? { now: MAR_3_NOON_UTC };
  const ledger = new Ledger({ dir, now: () => clock.now, timeZone: 'UTC', snapshots: false });
  const settings = options.settings ?? new FakeSettings();
  const providers = fakeProviders();
  const panel = new SpendPanelSource({
    ledger,
    settings: settings as unknown as TierwiseSettings,
    providers: providers.providers,
    // The resolver hands back a secret; the panel must only ever say whether there is one.
    keys: async (endpoint) => (endpoint.provider === 'anthropic' ? 'sk-ant-secret' : undefined),
    version: '9.9.9',
    now: () => clock.now,
    settingApplyTimeoutMs: 100,
  });
  return { panel, ledger, settings, providers, clock };
}

function call(requestId: string, ts: number, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    v: 1,
    ts,
    type: 'call',
    requestId,
    task: 'refactor',
    tier: 'mid',
    provider: 'openai',
    model: 'gpt-5-mini',
    endpointId: 'e',
    client: 'editor',
    inputTokens: 100,
    outputTokens: 10,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    reasoningTokens: 0,
    costUsd: 0.25,
    unpriced: false,
    frontierCostUsd: 1,
    latencyMs: 100,
    outcome: 'ok',
    ...overrides,
  };
}

describe('SpendPanelSource.state', () => {
  test('spend, request rows, the chart across months and the routing editor', () => {
    const { panel, ledger } = source();
    ledger.append(call('feb', Date.UTC(2026, 1, 20, 9), { costUsd: 2 }));
    ledger.append({ type: 'decision', ts: MAR_3_NOON_UTC - 2000, requestId: 'mar', task: 'refactor', tier: 'mid', provider: 'openai', model: 'gpt-5-mini', reason: 'routes.refactor → mid', estInputTokens: 100, reservedUsd: 0.01, client: 'cli' });
    ledger.append(call('mar', MAR_3_NOON_UTC - 1000, { client: 'cli' }));
    const state = panel.state();
    assert.equal(state.extensionVersion, '9.9.9');
    assert.equal(state.spend.todayUsd, 0.25);
    assert.equal(state.spend.monthUsd, 0.25, 'February is not this month');
    assert.equal(state.spend.savingsUsd, 0.75);
    assert.equal(state.spend.days.find((day) => day.day === '2026-02-20')?.costUsd, 2, 'the chart reaches into February');
    assert.deepEqual(state.decisions.map((row) => [row.requestId, row.client]), [['mar', 'cli']]);
    assert.equal(state.routing.routes.find((route) => route.task === 'refactor')?.tier, 'mid');
  });

  test('an empty ledger folder is an empty panel, not an error', () => {
    const { panel } = source();
    const state = panel.state();
    assert.equal(state.spend.callsThisMonth, 0);
    assert.deepEqual(state.decisions, []);
    assert.equal(state.spend.days.length, 30);
  });
});

describe('SpendPanelSource.providerStatus', () => {
  test('probes every endpoint once, then serves the cache until the TTL passes or the user forces it', async () => {
    const { panel, providers, clock } = source();
    assert.equal(panel.providerStatusIsStale(), true);
    const first = await panel.providerStatus();
    const endpointCount = first.endpoints.length;
    assert.equal(providers.listCalls(), endpointCount);
    assert.equal(first.checking, false);
    assert.equal(first.checkedAt, MAR_3_NOON_UTC);

    clock.now += PROVIDER_STATUS_TTL_MS - 1;
    await panel.providerStatus();
    assert.equal(providers.listCalls(), endpointCount, 'fresh enough: cached');
    await panel.providerStatus({ force: true });
    assert.equal(providers.listCalls(), 2 * endpointCount, 'forced');
    clock.now += PROVIDER_STATUS_TTL_MS;
    assert.equal(panel.providerStatusIsStale(), true);
    await panel.providerStatus();
    assert.equal(providers.listCalls(), 3 * endpointCount, 'stale: asked again');
  });

  test('reports reachability, models and key presence, never the key', async () => {
    const { panel } = source();
    const status = await panel.providerStatus();
    const local = status.endpoints.find((endpoint) => endpoint.tier === 'local')!;
    assert.equal(local.reachable, true);
    assert.deepEqual(local.models, ['qwen2.5-coder:7b', 'other-model']);
    assert.equal(local.modelAvailable, true);
    const openai = status.endpoints.find((endpoint) => endpoint.provider === 'openai')!;
    assert.equal(openai.reachable, false);
    assert.equal(openai.error, 'connection refused');
    assert.equal(openai.keyName, 'OPENAI_API_KEY');
    const anthropic = status.endpoints.find((endpoint) => endpoint.provider === 'anthropic')!;
    assert.equal(anthropic.hasKey, true);
    assert.ok(!JSON.stringify(status).includes('sk-ant-secret'));
  });

  test('concurrent callers share one check; a check for endpoints since changed is not kept', async () => {
    const { panel, providers, settings } = source();
    const release = providers.hold();
    const a = panel.providerStatus();
    const b = panel.providerStatus();
    assert.equal(panel.currentProviderStatus().checking, true);
    settings.config.tiers.mid.endpoints = [{ provider: 'ollama', model: 'moved', baseUrl: 'http://127.0.0.1:1' }];
    assert.equal(panel.endpointsChangedSinceCheck(), false, 'nothing kept yet');
    const c = panel.providerStatus();
    release();
    await Promise.all([a, b, c]);
    const kept = panel.currentProviderStatus();
    assert.equal(kept.checking, false);
    assert.ok(kept.endpoints.some((endpoint) => endpoint.model === 'moved'), 'the newer check is the one kept');
    assert.equal(panel.endpointsChangedSinceCheck(), false);
    settings.config.tiers.mid.endpoints = [{ provider: 'ollama', model: 'again' }];
    assert.equal(panel.endpointsChangedSinceCheck(), true);
  });
});

describe('SpendPanelSource.applyEdit', () => {
  test('writes the setting and confirms it took effect', async () => {
    const { panel, settings } = source();
    assert.deepEqual(await panel.applyEdit({ kind: 'route', task: 'refactor', tier: 'frontier' }), { ok: true, setting: 'tierwise.routes' });
    assert.equal(settings.writes[0].key, 'routes');
    assert.equal(settings.config.routes.refactor, 'frontier');
    assert.deepEqual(await panel.applyEdit({ kind: 'budgetAmount', key: 'dailyUsd', value: 3 }), { ok: true, setting: 'tierwise.budgets.dailyUsd' });
  });

  test('an invalid value is never written', async () => {
    const { panel, settings } = source();
    const result = await panel.applyEdit({ kind: 'budgetAmount', key: 'monthlyUsd', value: -5 });
    assert.equal(result.ok, false);
    assert.deepEqual(settings.writes, []);
  });

  test('says so when a workspace setting overrides the user setting it wrote', async () => {
    const { panel, settings } = source({ settings: new FakeSettings(true) });
    const result = await panel.applyEdit({ kind: 'policy', value: 'block' });
    assert.equal(settings.writes.length, 1);
    assert.ok(!result.ok && /workspace or folder setting overrides it/.test(result.error));
  });

  test('a write VS Code refuses comes back as an error naming the setting', async () => {
    const settings = new FakeSettings();
    settings.update = async () => {
      throw new Error('Unable to write to User Settings because the file has unsaved changes');
    };
    const { panel } = source({ settings });
    const result = await panel.applyEdit({ kind: 'softThreshold', value: 70 });
    assert.ok(!result.ok && result.error.startsWith('Could not write tierwise.budgets.softThresholdPercent: Unable to write'));
  });
});
