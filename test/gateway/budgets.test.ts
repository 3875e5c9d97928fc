/**
 * Caps through the gateway: the same ledger and caps as the editor. A blocked call is answered in the client's own
 * error format, names the cap and how to raise it, uses a status the agents do not retry, and never reaches an
 * upstream; `downgrade` moves even a main turn to a cheaper tier, and says so.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeOllama, type FakeOllama } from '../fakes/ollama';
import { callRecordsOf, LOCAL_TEST_MODEL, readLedgerRecords, seedCallRecord } from '../wire/helpers/routerFixtures';
import { startFakeResponses, type FakeResponses } from './helpers/fakeResponses';
import {
  claudeCodeHeaders,
  claudeCodeMainTurn,
  codexHeaders,
  codexTurn,
  eventually,
  fakeTiers,
  gatewayConfig,
  send,
  startHarness,
  TempDirs,
} from './helpers/gatewayFixtures';
import type { TierwiseConfig } from '../../extension/router/config';

describe('budgets', () => {
  const dirs = new TempDirs();
  let anthropic: FakeAnthropic;
  let ollama: FakeOllama;
  let responses: FakeResponses;

  before(async () => {
    [anthropic, ollama, responses] = await Promise.all([startFakeAnthropic(), startFakeOllama(), startFakeResponses()]);
  });
  after(async () => {
    await Promise.all([anthropic?.close(), ollama?.close(), responses?.close()]);
    dirs.removeAll();
  });
  afterEach(() => {
    anthropic.reset();
    ollama.reset();
    responses.reset();
  });

  const config = (budgets: Partial<TierwiseConfig['budgets']>): TierwiseConfig => {
    const tiers = fakeTiers({ anthropic: anthropic.baseUrl, ollama: ollama.baseUrl });
    tiers.mid = [...tiers.mid!, { provider: 'openai', model: 'gpt-test-mid', baseUrl: responses.baseUrl }];
    return gatewayConfig(tiers, { budgets, prices: { 'gpt-5.1-codex': { inputPerMTokUsd: 1.25, outputPerMTokUsd: 10 } } });
  };

  test('a daily cap that blocks a main turn: 400 in Anthropic format naming the cap and the setting; no upstream call', async () => {
    const harness = await startHarness(dirs, config({ dailyUsd: 1, policy: 'block' }));
    try {
      harness.ledger.append(seedCallRecord(0.9, 'frontier'));
      const response = await send(harness.gateway.url, '/v1/messages?beta=true', { headers: claudeCodeHeaders({ 'x-claude-code-session-id': 'b1' }), body: JSON.stringify(claudeCodeMainTurn()) });
      assert.equal(response.status, 402, "Anthropic's billing error: a 4xx Claude Code does not retry (not 429, not 5xx)");
      assert.equal(response.headers['x-should-retry'], 'false');
      const error = JSON.parse(response.body) as { type: string; error: { type: string; message: string } };
      assert.equal(error.type, 'error');
      assert.equal(error.error.type, 'billing_error');
      assert.match(error.error.message, /^Tierwise blocked this agent\.main request: daily cap \$1\.00: \$0\.90 already committed \+ \$0\.\d+ worst case for this call/);
      assert.match(error.error.message, /tierwise\.budgets\.dailyUsd/);
      assert.match(error.error.message, /"budgets\.dailyUsd"/);
      assert.equal(anthropic.requests.length + ollama.requests.length, 0, 'nothing was sent upstream');
      const records = readLedgerRecords(harness.ledgerDir);
      assert.equal(records.filter((record) => record.type === 'reserve').length, 0);
      assert.ok(harness.logs.some((line) => /agent\.main \[claude-code\]: blocked/.test(line)));
    } finally {
      await harness.gateway.close();
    }
  });

  test("Codex gets the block in OpenAI's error format", async () => {
    const harness = await startHarness(dirs, config({ perRequestUsd: 0.05, policy: 'block' }));
    try {
      const response = await send(harness.gateway.url, '/v1/responses', { headers: codexHeaders({ request_kind: 'turn', thread_source: 'user' }), body: JSON.stringify(codexTurn('t-cap')) });
      assert.equal(response.status, 400, 'Codex stops on a 400 (it would retry a 402)');
      assert.equal(response.headers['x-should-retry'], 'false');
      const error = JSON.parse(response.body) as { error: { message: string; type: string } };
      assert.match(error.error.message, /per-request cap \$0\.05: this call could cost up to \$0\.\d+ \(raise tierwise\.budgets\.perRequestUsd\)/);
      assert.equal(responses.requests.length, 0);
    } finally {
      await harness.gateway.close();
    }
  });

  test('policy downgrade moves a main turn to a tier that fits, and logs why', async () => {
    const harness = await startHarness(dirs, config({ dailyUsd: 1, policy: 'downgrade' }));
    try {
      harness.ledger.append(seedCallRecord(0.9, 'frontier'));
      const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeMainTurn()) });
      assert.equal(response.status, 200);
      assert.equal(response.headers['x-tierwise-route'], `agent.main; tier=local; model=${LOCAL_TEST_MODEL}; downgraded-from=frontier`);
      assert.equal(anthropic.requests.length, 0);
      assert.equal(ollama.requests.length, 1);
      assert.ok(harness.logs.some((line) => line.startsWith('agent.main [claude-code]: downgraded frontier → local because daily cap 90%')), harness.logs.join('\n'));
      const [call] = await eventually(() => {
        const calls = callRecordsOf(readLedgerRecords(harness.ledgerDir)).filter((record) => record.task === 'agent.main');
        return calls.length ? calls : undefined;
      });
      assert.equal(call.tier, 'local');
    } finally {
      await harness.gateway.close();
    }
  });

  test('with no cap configured nothing is reserved: the call record alone settles the spend', async () => {
    const harness = await startHarness(dirs, config({}));
    try {
      const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeMainTurn()) });
      assert.equal(response.status, 200);
      const [call] = await eventually(() => {
        const calls = callRecordsOf(readLedgerRecords(harness.ledgerDir));
        return calls.length ? calls : undefined;
      });
      assert.ok(call.costUsd > 0);
      assert.equal(call.reservationId, undefined);
      assert.equal(readLedgerRecords(harness.ledgerDir).filter((record) => record.type === 'reserve').length, 0);
    } finally {
      await harness.gateway.close();
    }
  });

  test('two turns that each fit but not together: the reservation lets one through and blocks the other', async () => {
    const harness = await startHarness(dirs, config({ dailyUsd: 0.7, policy: 'block' }));
    try {
      anthropic.reply({ type: 'answer', text: 'first', headersDelayMs: 300 }, { type: 'answer', text: 'second', headersDelayMs: 300 });
      const body = JSON.stringify(claudeCodeMainTurn());
      const statuses = await Promise.all([0, 1].map(() => send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body }).then((response) => response.status)));
      assert.deepEqual(statuses.sort(), [200, 402]);
      assert.equal(anthropic.requests.length, 1);
    } finally {
      await harness.gateway.close();
    }
  });
});
