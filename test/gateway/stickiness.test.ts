/**
 * Cache-aware stickiness through the gateway: a session's main loop stays on the endpoint it started on, a changed
 * stable prefix is flagged as a cache break in the log and the ledger, and cache reads/writes add up per session.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { CallRecord } from '../../extension/router/ledger/records';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeOllama, type FakeOllama } from '../fakes/ollama';
import { callRecordsOf, readLedgerRecords } from '../wire/helpers/routerFixtures';
import {
  CLIENT_MODEL,
  claudeCodeHeaders,
  claudeCodeMainTurn,
  eventually,
  fakeTiers,
  gatewayConfig,
  MID_MODEL,
  send,
  startHarness,
  TempDirs,
  TEST_TOKEN,
  type GatewayHarness,
} from './helpers/gatewayFixtures';

describe('stickiness', () => {
  const dirs = new TempDirs();
  let first: FakeAnthropic;
  let second: FakeAnthropic;
  let ollama: FakeOllama;

  before(async () => {
    [first, second, ollama] = await Promise.all([startFakeAnthropic(), startFakeAnthropic(), startFakeOllama()]);
  });
  after(async () => {
    await Promise.all([first?.close(), second?.close(), ollama?.close()]);
    dirs.removeAll();
  });
  afterEach(() => {
    first.reset();
    second.reset();
    ollama.reset();
  });

  const turn = (harness: GatewayHarness, session: string, body: Record<string, unknown>, extra: Record<string, string> = {}) =>
    send(harness.gateway.url, '/v1/messages?beta=true', { headers: claudeCodeHeaders({ 'x-claude-code-session-id': session, ...extra }), body: JSON.stringify(body) });

  const callsOf = (harness: GatewayHarness, count: number): Promise<CallRecord[]> =>
    eventually(() => {
      const calls = callRecordsOf(readLedgerRecords(harness.ledgerDir));
      return calls.length >= count ? calls : undefined;
    });

  test('two turns of one session stay on one endpoint, even when the tier would now start elsewhere', async () => {
    // agent.main on mid, which has the same model on two servers; a failure cools the first down briefly.
    const tiers = fakeTiers({ anthropic: first.baseUrl, ollama: ollama.baseUrl });
    tiers.mid = [
      { provider: 'anthropic', model: MID_MODEL, baseUrl: first.baseUrl },
      { provider: 'anthropic', model: MID_MODEL, baseUrl: second.baseUrl },
    ];
    const config = gatewayConfig(tiers, { routes: { ask: 'mid', 'agent.main': 'mid' }, fallback: { failuresBeforeCooldown: 1, cooldownMs: 200 } });
    const harness = await startHarness(dirs, config);
    try {
      first.reply({ type: 'error', status: 500, message: 'internal error' });
      assert.equal((await turn(harness, 'sticky-1', claudeCodeMainTurn({ turns: 1 }))).status, 500, 'the upstream error passes through');
      assert.equal((await turn(harness, 'sticky-1', claudeCodeMainTurn({ turns: 1 }))).status, 200, 'the retry lands on the second server');
      assert.deepEqual([first.requests.length, second.requests.length], [1, 1]);

      await new Promise((resolve) => setTimeout(resolve, 250));
      // The first server is available again; a new session starts there, the running one stays where its cache is.
      assert.equal((await turn(harness, 'sticky-1', claudeCodeMainTurn({ turns: 2 }))).status, 200);
      assert.equal((await turn(harness, 'sticky-2', claudeCodeMainTurn({ turns: 1 }))).status, 200);
      assert.deepEqual([first.requests.length, second.requests.length], [2, 2]);
      await eventually(() => harness.logs.some((line) => line.includes(`session stays on ${MID_MODEL}`)) || undefined);
    } finally {
      await harness.gateway.close();
    }
  });

  test('a changed system prompt between turns flags a cache break in the log and the ledger; moving breakpoints do not', async () => {
    const harness = await startHarness(dirs, gatewayConfig(fakeTiers({ anthropic: first.baseUrl, ollama: ollama.baseUrl })));
    try {
      first.reply(
        { type: 'answer', text: 'one', usage: { input_tokens: 3000, output_tokens: 10, cache_creation_input_tokens: 5000 } },
        { type: 'answer', text: 'two', usage: { input_tokens: 200, output_tokens: 10, cache_read_input_tokens: 5000 } },
        { type: 'answer', text: 'three', usage: { input_tokens: 5200, output_tokens: 10 } },
      );
      await turn(harness, 'cache-1', claudeCodeMainTurn({ turns: 1 }));
      await turn(harness, 'cache-1', claudeCodeMainTurn({ turns: 2 }));
      // A subagent of the same session has its own system prompt: not a break of the main loop.
      await turn(harness, 'cache-1', claudeCodeMainTurn({ system: 'You are a file search specialist.' }), { 'x-claude-code-agent-id': 'agent-9' });
      await turn(harness, 'cache-1', claudeCodeMainTurn({ turns: 3, system: 'You are Claude Code. Output style: explanatory.' }));

      const calls = (await callsOf(harness, 4)).filter((call) => call.model === CLIENT_MODEL);
      assert.equal(calls.length, 3);
      assert.equal(calls[0].detail, undefined);
      assert.equal(calls[1].detail, undefined, 'the cache_control breakpoint moved, the prefix did not change');
      assert.equal(calls[2].detail, 'cache break: system prompt changed');
      assert.ok(harness.logs.some((line) => line.includes('cache break: system prompt changed')));
      // Cache reads and writes add up over the session's calls.
      assert.ok(harness.logs.some((line) => /session 5000 read \/ 5000 written over 2 calls/.test(line)), harness.logs.join('\n'));
      const [session] = harness.gateway.sessions().filter((summary) => summary.key === 'claude-code:cache-1');
      assert.deepEqual([session.turns, session.cacheReadTokens, session.cacheWriteTokens, session.cacheBreaks], [4, 5000, 5000, 1]);
      assert.deepEqual(Object.keys(session.endpoints).sort(), ['main', 'subagent:agent-9']);
    } finally {
      await harness.gateway.close();
    }
  });

  test('a client that names no session is grouped by its stable prefix', async () => {
    const tiers = fakeTiers({ anthropic: first.baseUrl, ollama: ollama.baseUrl });
    const harness = await startHarness(dirs, gatewayConfig(tiers));
    try {
      const headers = { 'content-type': 'application/json', 'x-api-key': TEST_TOKEN, 'anthropic-version': '2023-06-01' };
      const body = (system: string, turns: number) => {
        const messages: unknown[] = [{ role: 'user', content: 'Summarise the repository layout.' }];
        for (let index = 1; index < turns; index++) messages.push({ role: 'assistant', content: 'ok' }, { role: 'user', content: `more ${index}` });
        return JSON.stringify({ model: CLIENT_MODEL, max_tokens: 1024, system, messages, stream: true });
      };
      await send(harness.gateway.url, '/v1/messages', { headers, body: body('Be brief.', 1) });
      await send(harness.gateway.url, '/v1/messages', { headers, body: body('Be brief.', 2) });
      const calls = await callsOf(harness, 2);
      assert.equal(calls[1].detail, undefined);
      const decisions = readLedgerRecords(harness.ledgerDir).filter((record) => record.type === 'decision');
      assert.equal(decisions.length, 2);
      assert.equal(calls[0].client, 'other');
    } finally {
      await harness.gateway.close();
    }
  });
});
