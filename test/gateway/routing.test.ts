/**
 * Requests end up where their kind routes them, through the real gateway and the fakes: subagents on mid, titles
 * on the local Ollama (translated there and back), compaction on mid, the routes table and model aliases obeyed.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { NO_CODECS } from '../../extension/gateway/codecs';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeOllama, type FakeOllama } from '../fakes/ollama';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { callRecordsOf, LOCAL_TEST_MODEL, readLedgerRecords } from '../wire/helpers/routerFixtures';
import {
  claudeCodeCompaction,
  claudeCodeHeaders,
  claudeCodeMainTurn,
  claudeCodeTitleCall,
  codexHeaders,
  codexTurn,
  eventually,
  fakeTiers,
  FRONTIER_MODEL,
  gatewayConfig,
  MID_MODEL,
  send,
  startHarness,
  TempDirs,
  TEST_TOKEN,
  type GatewayHarness,
} from './helpers/gatewayFixtures';

/** The text of an Anthropic SSE answer. */
function anthropicText(sse: string): string {
  return sse
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as { type: string; delta?: { type: string; text?: string } })
    .filter((event) => event.type === 'content_block_delta' && event.delta?.type === 'text_delta')
    .map((event) => event.delta!.text)
    .join('');
}

describe('routing', () => {
  const dirs = new TempDirs();
  let anthropic: FakeAnthropic;
  let ollama: FakeOllama;
  let openai: FakeOpenAI;
  let harness: GatewayHarness;
  let seen = 0;
  const newCalls = () => callRecordsOf(readLedgerRecords(harness.ledgerDir)).slice(seen);

  before(async () => {
    [anthropic, ollama, openai] = await Promise.all([startFakeAnthropic(), startFakeOllama(), startFakeOpenAI()]);
    harness = await startHarness(dirs, gatewayConfig(fakeTiers({ anthropic: anthropic.baseUrl, ollama: ollama.baseUrl })));
  });
  after(async () => {
    await harness?.gateway.close();
    await Promise.all([anthropic?.close(), ollama?.close(), openai?.close()]);
    dirs.removeAll();
  });
  afterEach(async () => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    seen = callRecordsOf(readLedgerRecords(harness.ledgerDir)).length;
    anthropic.reset();
    ollama.reset();
    openai.reset();
  });

  test('a subagent request (header x-claude-code-agent-id) goes to the mid endpoint', async () => {
    const response = await send(harness.gateway.url, '/v1/messages?beta=true', { headers: claudeCodeHeaders({ 'x-claude-code-agent-id': 'agent-42' }), body: JSON.stringify(claudeCodeMainTurn()) });
    assert.equal(response.status, 200);
    assert.equal(anthropic.requests.length, 1);
    assert.equal((anthropic.requests[0].body as { model: string }).model, MID_MODEL);
    const [call] = await eventually(() => (newCalls().length ? newCalls() : undefined));
    assert.deepEqual([call.task, call.tier, call.model, call.client], ['agent.subagent', 'mid', MID_MODEL, 'claude-code']);
    const decision = readLedgerRecords(harness.ledgerDir).find((record) => record.type === 'decision' && record.requestId === call.requestId);
    assert.match(decision && decision.type === 'decision' ? decision.reason : '', /^header x-claude-code-agent-id → agent\.subagent; agent\.subagent → mid \(gateway default\)$/);
  });

  test("Claude Code's title request goes to the local Ollama model, translated both ways", async () => {
    ollama.reply({ type: 'answer', text: ['{"title": ', '"Fix pager off-by-one"}'], usage: { prompt_eval_count: 61, eval_count: 9 } });
    const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeTitleCall()) });
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /text\/event-stream/);
    assert.equal(anthropicText(response.body), '{"title": "Fix pager off-by-one"}');
    assert.match(response.body, /event: message_stop/);
    assert.equal(anthropic.requests.length, 0);
    const [chat] = ollama.requests;
    assert.equal(chat.path, '/api/chat');
    const sent = chat.body as { model: string; messages: Array<{ role: string; content: string }>; format?: unknown };
    assert.equal(sent.model, LOCAL_TEST_MODEL);
    assert.ok(sent.format, 'the json schema travels as Ollama format');
    assert.ok(!JSON.stringify(sent.messages).includes('x-anthropic-billing-header'), "Claude Code's attribution line stays behind");
    const [call] = await eventually(() => (newCalls().length ? newCalls() : undefined));
    assert.deepEqual([call.task, call.tier, call.model, call.inputTokens, call.outputTokens, call.costUsd], ['agent.background', 'local', LOCAL_TEST_MODEL, 61, 9, 0]);
    assert.equal(call.reservationId, undefined, 'a free call needs no reservation');
  });

  test('/compact goes to mid; Codex compaction goes to mid translated from Responses', async () => {
    const compact = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeCompaction()) });
    assert.equal(compact.status, 200);
    assert.equal((anthropic.requests[0].body as { model: string }).model, MID_MODEL);

    const codex = await send(harness.gateway.url, '/v1/responses', { headers: codexHeaders({ request_kind: 'compaction', thread_source: 'user' }), body: JSON.stringify(codexTurn('t-compact')) });
    assert.equal(codex.status, 200);
    assert.match(codex.body, /event: response\.completed/);
    const sent = anthropic.requests[1];
    assert.equal(sent.path, '/v1/messages');
    assert.equal((sent.body as { model: string }).model, MID_MODEL);
    const calls = await eventually(() => (newCalls().length === 2 ? newCalls() : undefined));
    assert.deepEqual(calls.map((call) => [call.task, call.client, call.tier]), [['agent.compaction', 'claude-code', 'mid'], ['agent.compaction', 'codex', 'mid']]);
  });

  test("Codex's title call goes to the local model and comes back as a Responses stream", async () => {
    ollama.reply({ type: 'answer', text: 'Rename pager module' });
    const response = await send(harness.gateway.url, '/v1/responses', { headers: codexHeaders({ request_kind: 'turn', thread_source: 'thread_title' }), body: JSON.stringify(codexTurn('t-title')) });
    assert.equal(response.status, 200);
    assert.match(response.body, /"delta":"Rename"/);
    assert.equal(ollama.requests.length, 1);
  });

  test('the routes table and model aliases decide over the defaults', async () => {
    const config = gatewayConfig(fakeTiers({ anthropic: anthropic.baseUrl, ollama: ollama.baseUrl }), {
      routes: { ask: 'mid', 'agent.subagent': 'frontier', 'agent.main': 'mid' },
    });
    const routed = await startHarness(dirs, config);
    try {
      await send(routed.gateway.url, '/v1/messages', { headers: claudeCodeHeaders({ 'x-claude-code-agent-id': 'a' }), body: JSON.stringify(claudeCodeMainTurn()) });
      await send(routed.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeMainTurn()) });
      assert.deepEqual(anthropic.requests.map((request) => (request.body as { model: string }).model), [FRONTIER_MODEL, MID_MODEL]);
      // Any OpenAI Chat client can ask for a tier by alias; mid is Anthropic here, so the request is translated.
      const alias = await send(routed.gateway.url, '/v1/chat/completions', {
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
        body: JSON.stringify({ model: 'tierwise-frontier', messages: [{ role: 'user', content: 'hi' }], stream: false }),
      });
      assert.equal(alias.status, 200);
      const completion = JSON.parse(alias.body) as { object: string; model: string; choices: Array<{ message: { content: string } }> };
      assert.equal(completion.object, 'chat.completion');
      assert.equal(completion.model, FRONTIER_MODEL);
      assert.equal((anthropic.requests[2].body as { model: string }).model, FRONTIER_MODEL);
    } finally {
      await routed.gateway.close();
    }
  });

  test('without translators, a title falls back to a same-protocol tier and the reason says why', async () => {
    const plain = await startHarness(dirs, harness.config, { codecs: NO_CODECS });
    try {
      const response = await send(plain.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeTitleCall()) });
      assert.equal(response.status, 200);
      assert.equal(ollama.requests.length, 0);
      assert.equal((anthropic.requests[0].body as { model: string }).model, MID_MODEL);
      await eventually(() => plain.logs.find((line) => line.includes('needs anthropic → ollama translation, which is not available')));
    } finally {
      await plain.gateway.close();
    }
  });
});
