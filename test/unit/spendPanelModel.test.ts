import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { capUsages } from '../../extension/router/budget';
import { DEFAULT_CONFIG, type TierwiseConfig } from '../../extension/router/config';
import { Ledger } from '../../extension/router/ledger/ledger';
import type { CallRecord, DecisionRecord, SpendBucket } from '../../extension/router/ledger/records';
import type { EndpointStatus } from '../../extension/router/providerStatus';
import {
  dailySeries,
  displayUrl,
  endpointStatusView,
  endpointsSignature,
  escalationCount,
  lastDays,
  monthsOfDays,
  requestRows,
  routingView,
  spendSummary,
} from '../../extension/ui/spendPanelModel';
import { emptyBucket, spendTotals } from './helpers/totals';

const T0 = Date.UTC(2026, 2, 10, 9, 0);

function decision(requestId: string, ts: number, overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    v: 1,
    ts,
    type: 'decision',
    requestId,
    task: 'refactor',
    tier: 'mid',
    provider: 'openai',
    model: 'gpt-5-mini',
    reason: 'routes.refactor → mid',
    estInputTokens: 1200,
    reservedUsd: 0.01,
    client: 'editor',
    ...overrides,
  };
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
    endpointId: 'openai:gpt-5-mini@https://api.openai.com/v1',
    client: 'editor',
    inputTokens: 1000,
    outputTokens: 200,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    reasoningTokens: 0,
    costUsd: 0.001,
    unpriced: false,
    frontierCostUsd: 0.006,
    latencyMs: 800,
    outcome: 'ok',
    ...overrides,
  };
}

/** The ledger hands records newest first. */
const newestFirst = <T extends { ts: number }>(records: T[]): T[] => [...records].sort((a, b) => b.ts - a.ts);

describe('requestRows: one row per request', () => {
  test('a request with one attempt shows that attempt, the decision time and reason', () => {
    const rows = requestRows([call('a', T0 + 900, { cacheReadTokens: 300 })], [decision('a', T0)]);
    assert.equal(rows.length, 1);
    const [row] = rows;
    assert.equal(row.requestId, 'a');
    assert.equal(row.ts, T0);
    assert.equal(row.task, 'refactor');
    assert.equal(row.tier, 'mid');
    assert.equal(row.model, 'gpt-5-mini');
    assert.equal(row.inputTokens, 1300, 'cached prompt tokens count as tokens in');
    assert.equal(row.outputTokens, 200);
    assert.equal(row.costUsd, 0.001);
    assert.equal(row.latencyMs, 800);
    assert.equal(row.escalations, 0);
    assert.equal(row.attempts, 1);
    assert.equal(row.outcome, 'ok');
    assert.equal(row.reason, 'routes.refactor → mid');
    assert.deepEqual(row.attemptNotes, []);
  });

  test('an escalated request shows the final tier and model, summed cost, tokens and latency', () => {
    const calls = [
      call('e', T0 + 100, { task: 'commitMessage', tier: 'local', provider: 'ollama', model: 'qwen', costUsd: 0, outcome: 'validationFailed', detail: 'subject too long', latencyMs: 300 }),
      call('e', T0 + 200, { task: 'commitMessage', tier: 'mid', costUsd: 0.002, outcome: 'validationFailed', detail: 'empty', latencyMs: 700 }),
      call('e', T0 + 300, { task: 'commitMessage', tier: 'frontier', provider: 'anthropic', model: 'claude-sonnet-4-5', costUsd: 0.0101, latencyMs: 1500 }),
    ];
    const [row] = requestRows(newestFirst(calls), [decision('e', T0, { task: 'commitMessage', tier: 'local' })]);
    assert.equal(row.tier, 'frontier');
    assert.equal(row.provider, 'anthropic');
    assert.equal(row.model, 'claude-sonnet-4-5');
    assert.equal(row.costUsd, 0.0121);
    assert.equal(row.latencyMs, 2500);
    assert.equal(row.inputTokens, 3000);
    assert.equal(row.outputTokens, 600);
    assert.equal(row.attempts, 3);
    assert.equal(row.escalations, 2);
    assert.equal(row.outcome, 'ok');
    assert.deepEqual(row.attemptNotes, ['local qwen failed its check: subject too long', 'mid gpt-5-mini failed its check: empty']);
  });

  test('fallback to another endpoint in the same tier is not an escalation', () => {
    const calls = [
      call('f', T0 + 100, { model: 'claude-haiku-4-5', outcome: 'error', errorKind: 'rateLimit', detail: '429', costUsd: 0 }),
      call('f', T0 + 200, { model: 'gpt-5-mini' }),
    ];
    const [row] = requestRows(newestFirst(calls), [decision('f', T0)]);
    assert.equal(row.escalations, 0);
    assert.equal(row.attempts, 2);
    assert.equal(row.model, 'gpt-5-mini');
    assert.deepEqual(row.attemptNotes, ['mid claude-haiku-4-5 failed (rateLimit): 429']);
  });

  test('attempts in the same millisecond keep their ledger order', () => {
    const first = call('s', T0, { tier: 'local', model: 'first', outcome: 'validationFailed' });
    const second = call('s', T0, { tier: 'mid', model: 'second' });
    // As the ledger hands them: last appended first.
    const [row] = requestRows([second, first], []);
    assert.equal(row.model, 'second');
    assert.equal(row.escalations, 1);
  });

  test('a decision without calls yet is pending, with the decided tier and model', () => {
    const [row] = requestRows([], [decision('p', T0, { tier: 'frontier', model: 'claude-sonnet-4-5', provider: 'anthropic' })]);
    assert.equal(row.outcome, 'pending');
    assert.equal(row.tier, 'frontier');
    assert.equal(row.model, 'claude-sonnet-4-5');
    assert.equal(row.costUsd, 0);
    assert.equal(row.attempts, 0);
  });

  test('calls whose decision left the recent buffer still make a row, timed by the first call', () => {
    const [row] = requestRows([call('orphan', T0 + 50)], []);
    assert.equal(row.ts, T0 + 50);
    assert.equal(row.reason, '');
    assert.equal(row.client, 'editor');
  });

  test('rows are newest first, limited, and keep the client (editor, cli, agents)', () => {
    const decisions = [decision('old', T0, { client: 'cli' }), decision('new', T0 + 10_000, { client: 'claude-code' }), decision('mid', T0 + 5_000)];
    const rows = requestRows([], newestFirst(decisions), 2);
    assert.deepEqual(rows.map((row) => row.requestId), ['new', 'mid']);
    assert.equal(rows[0].client, 'claude-code');
  });

  test('a failed final attempt is the row outcome; any unpriced attempt marks the row', () => {
    const calls = [call('x', T0 + 1, { unpriced: true, outcome: 'validationFailed' }), call('x', T0 + 2, { tier: 'frontier', outcome: 'error', errorKind: 'auth' })];
    const [row] = requestRows(newestFirst(calls), [decision('x', T0)]);
    assert.equal(row.outcome, 'error');
    assert.equal(row.unpriced, true);
  });
});

describe('escalationCount', () => {
  test('counts moves up the tier ladder only', () => {
    assert.equal(escalationCount([]), 0);
    assert.equal(escalationCount([{ tier: 'local' }]), 0);
    assert.equal(escalationCount([{ tier: 'local' }, { tier: 'local' }, { tier: 'mid' }]), 1);
    assert.equal(escalationCount([{ tier: 'local' }, { tier: 'mid' }, { tier: 'frontier' }]), 2);
    assert.equal(escalationCount([{ tier: 'frontier' }, { tier: 'mid' }]), 0);
  });
});

describe('the 30-day series', () => {
  test('ends today, oldest first, 30 days', () => {
    const days = lastDays('2026-03-10');
    assert.equal(days.length, 30);
    assert.equal(days[0], '2026-02-09');
    assert.equal(days[29], '2026-03-10');
  });

  test('crosses month and year ends, and leap days', () => {
    assert.deepEqual(lastDays('2026-01-02', 4), ['2025-12-30', '2025-12-31', '2026-01-01', '2026-01-02']);
    assert.deepEqual(lastDays('2024-03-01', 3), ['2024-02-28', '2024-02-29', '2024-03-01']);
    // 30 days back from 1 March (non-leap) reaches into January: three month files.
    assert.deepEqual(monthsOfDays(lastDays('2026-03-01')), ['2026-01', '2026-02', '2026-03']);
    assert.deepEqual(monthsOfDays(lastDays('2026-03-31')), ['2026-03']);
  });

  test('is not shifted by daylight saving changes (days are calendar strings)', () => {
    const days = lastDays('2026-03-31');
    assert.equal(new Set(days).size, 30);
    assert.ok(days.includes('2026-03-29'), 'the day European clocks move is there once');
  });

  test('fills days without calls with explicit zeros', () => {
    const byDay: Record<string, SpendBucket> = {
      '2026-02-27': { ...emptyBucket(), costUsd: 0.5, calls: 2 },
      '2026-03-02': { ...emptyBucket(), costUsd: 1.25, calls: 5 },
    };
    const series = dailySeries('2026-03-02', byDay, 5);
    assert.deepEqual(series, [
      { day: '2026-02-26', costUsd: 0, calls: 0 },
      { day: '2026-02-27', costUsd: 0.5, calls: 2 },
      { day: '2026-02-28', costUsd: 0, calls: 0 },
      { day: '2026-03-01', costUsd: 0, calls: 0 },
      { day: '2026-03-02', costUsd: 1.25, calls: 5 },
    ]);
  });
});

describe('spendSummary', () => {
  test('savings are frontier-only cost minus spend, caps come with their level', () => {
    const totals = spendTotals({ todayUsd: 4.2, monthUsd: 10 });
    totals.thisMonth.frontierCostUsd = 31.5;
    totals.monthByModel = {
      'gpt-5-mini': { ...emptyBucket(), costUsd: 2, calls: 9 },
      'claude-sonnet-4-5': { ...emptyBucket(), costUsd: 8, calls: 3 },
      'qwen2.5-coder:7b': { ...emptyBucket(), costUsd: 0, calls: 40 },
    };
    const budgets = { ...DEFAULT_CONFIG.budgets, dailyUsd: 5, monthlyUsd: 100 };
    const summary = spendSummary(totals, capUsages(totals, budgets), totals.monthByDay);
    assert.equal(summary.savingsUsd, 21.5);
    assert.deepEqual(
      summary.caps.map((cap) => [cap.cap, cap.level, cap.percent]),
      [
        ['daily', 'warning', 84],
        ['monthly', 'ok', 10],
      ],
    );
    assert.deepEqual(summary.byModel.map((share) => share.name), ['claude-sonnet-4-5', 'gpt-5-mini', 'qwen2.5-coder:7b']);
    assert.equal(summary.byModel[0].share, 0.8);
    assert.deepEqual(summary.byTier.map((share) => share.name), ['local', 'mid', 'frontier']);
    assert.equal(summary.days.length, 30);
    assert.equal(summary.days[29].day, totals.day);
    assert.equal(summary.days[29].costUsd, 4.2);
  });

  test('savings never show negative, and nothing spent means no shares', () => {
    const totals = spendTotals();
    totals.thisMonth.frontierCostUsd = 0;
    const summary = spendSummary(totals, [], {});
    assert.equal(summary.savingsUsd, 0);
    assert.ok(summary.byTier.every((share) => share.share === 0));
    assert.deepEqual(summary.byModel, []);
    assert.ok(summary.days.every((day) => day.calls === 0));
  });
});

describe('the chart reads earlier months from the ledger', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  test('previous month days come from that month file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tierwise-panel-test-'));
    dirs.push(dir);
    const now = Date.UTC(2026, 2, 3, 12);
    const ledger = new Ledger({ dir, now: () => now, timeZone: 'UTC', snapshots: false });
    ledger.append(call('feb', Date.UTC(2026, 1, 25, 10), { costUsd: 0.75 }));
    ledger.append(call('mar', Date.UTC(2026, 2, 2, 10), { costUsd: 0.25 }));
    const totals = ledger.totals();
    const byDay = { ...ledger.monthTotals('2026-02').monthByDay, ...totals.monthByDay };
    const series = dailySeries(totals.day, byDay);
    assert.equal(series.find((point) => point.day === '2026-02-25')?.costUsd, 0.75);
    assert.equal(series.find((point) => point.day === '2026-03-02')?.costUsd, 0.25);
    assert.equal(series.filter((point) => point.calls > 0).length, 2);
  });
});

describe('routingView', () => {
  test('lists every built-in task kind, then extra kinds from routes', () => {
    const config: TierwiseConfig = structuredClone(DEFAULT_CONFIG);
    config.routes = { ...config.routes, 'agent.review': 'frontier', refactor: 'frontier' };
    const view = routingView(config);
    assert.deepEqual(
      view.routes.map((route) => route.task),
      ['commitMessage', 'explainDiagnostic', 'findFiles', 'refactor', 'plan', 'planStep', 'ask', 'agent.review'],
    );
    assert.equal(view.routes.find((route) => route.task === 'refactor')?.tier, 'frontier');
    assert.equal(view.routes.find((route) => route.task === 'agent.review')?.builtIn, false);
    assert.deepEqual(view.options.tiers, ['local', 'mid', 'frontier']);
  });

  test('endpoints show their id, default URL and whether they are free', () => {
    const view = routingView(DEFAULT_CONFIG);
    const [local] = view.tiers[0].endpoints;
    assert.equal(local.provider, 'ollama');
    assert.equal(local.local, true);
    const [haiku] = view.tiers[1].endpoints;
    assert.equal(haiku.baseUrl, 'https://api.anthropic.com');
    assert.equal(haiku.baseUrlIsDefault, true);
    assert.equal(haiku.local, false);
    assert.equal(haiku.id, 'anthropic:claude-haiku-4-5@https://api.anthropic.com');
  });

  test('caps come through as numbers or null', () => {
    const config: TierwiseConfig = structuredClone(DEFAULT_CONFIG);
    config.budgets = { ...config.budgets, dailyUsd: 5, perTierDailyUsd: { frontier: 2 } };
    const { budgets } = routingView(config);
    assert.equal(budgets.dailyUsd, 5);
    assert.equal(budgets.monthlyUsd, null);
    assert.deepEqual(budgets.perTierDailyUsd, { local: null, mid: null, frontier: 2 });
  });
});

describe('what reaches the webview never holds a secret', () => {
  test('credentials in a URL are dropped', () => {
    assert.equal(displayUrl('https://user:sk-secret@proxy.example.com/v1'), 'https://proxy.example.com/v1');
    assert.equal(displayUrl('http://127.0.0.1:11434'), 'http://127.0.0.1:11434');
    assert.equal(displayUrl('not a url //k@x'), 'not a url //x');
  });

  test('endpoint status says whether a key is set, and its name, never the key', () => {
    const status: EndpointStatus = {
      tier: 'mid',
      endpointId: 'anthropic:claude-haiku-4-5@https://api.anthropic.com',
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      baseUrl: 'https://api.anthropic.com',
      local: false,
      reachable: true,
      models: ['claude-haiku-4-5'],
      modelAvailable: true,
      hasKey: true,
    };
    const view = endpointStatusView(status, { provider: 'anthropic', model: 'claude-haiku-4-5', apiKeyEnv: 'WORK_ANTHROPIC_KEY' });
    assert.equal(view.hasKey, true);
    assert.equal(view.keyName, 'WORK_ANTHROPIC_KEY');
    assert.equal(endpointStatusView({ ...status, local: true }, undefined).keyName, undefined);
  });

  test('the status cache is keyed by the endpoint list', () => {
    const changed: TierwiseConfig = structuredClone(DEFAULT_CONFIG);
    changed.tiers.mid.endpoints.reverse();
    assert.notEqual(endpointsSignature(DEFAULT_CONFIG), endpointsSignature(changed));
    assert.equal(endpointsSignature(DEFAULT_CONFIG), endpointsSignature(structuredClone(DEFAULT_CONFIG)));
  });
});
