/**
 * Same-protocol pass-through against the loopback fakes: the upstream receives the client's exact bytes except the
 * model value, the client receives the upstream's stream unchanged, and the call is settled in the ledger from the
 * usage read out of the stream on its way through.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeOllama, type FakeOllama } from '../fakes/ollama';
import { ANTHROPIC_TEST_KEY, callRecordsOf, nanoUsd, OPENAI_TEST_KEY, openReservationsOf, readLedgerRecords } from '../wire/helpers/routerFixtures';
import { startFakeResponses, type FakeResponses } from './helpers/fakeResponses';
import {
  CLIENT_MODEL,
  CLIENT_MODEL_PRICE,
  claudeCodeHeaders,
  claudeCodeMainTurn,
  codexHeaders,
  codexTurn,
  eventually,
  fakeTiers,
  gatewayConfig,
  MID_MODEL,
  send,
  startHarness,
  streamTurn,
  TempDirs,
  TEST_TOKEN,
  type GatewayHarness,
} from './helpers/gatewayFixtures';

describe('pass-through', () => {
  const dirs = new TempDirs();
  let anthropic: FakeAnthropic;
  let ollama: FakeOllama;
  let responses: FakeResponses;
  let harness: GatewayHarness;

  before(async () => {
    [anthropic, ollama, responses] = await Promise.all([startFakeAnthropic(), startFakeOllama(), startFakeResponses()]);
    const tiers = fakeTiers({ anthropic: anthropic.baseUrl, ollama: ollama.baseUrl });
    // The first OpenAI endpoint's server is where Codex's own model goes.
    tiers.mid = [...tiers.mid!, { provider: 'openai', model: 'gpt-test-mid', baseUrl: responses.baseUrl }];
    // A generous cap, so that every paid call reserves and settles (with no cap at all nothing is reserved).
    harness = await startHarness(dirs, gatewayConfig(tiers, { budgets: { dailyUsd: 100 }, prices: { 'gpt-5.1-codex': { inputPerMTokUsd: 1.25, outputPerMTokUsd: 10, cacheReadPerMTokUsd: 0.125 } } }));
  });
  after(async () => {
    await harness?.gateway.close();
    await Promise.all([anthropic?.close(), ollama?.close(), responses?.close()]);
    dirs.removeAll();
  });
  afterEach(async () => {
    // Let the last settlement land before the next test counts calls.
    await new Promise((resolve) => setTimeout(resolve, 30));
    seen = callRecordsOf(readLedgerRecords(harness.ledgerDir)).length;
    anthropic.reset();
    ollama.reset();
    responses.reset();
  });

  /** Calls recorded since the current test began (the ledger is shared by the whole file). */
  let seen = 0;
  const callsFor = (requestModel: string) => callRecordsOf(readLedgerRecords(harness.ledgerDir)).slice(seen).filter((call) => call.model === requestModel);

  test("Claude Code's main turn goes to its own model byte for byte; its SSE comes back unchanged; usage settles", async () => {
    anthropic.reply({
      type: 'answer',
      text: ['I will read', ' src/pager.ts', ' first.'],
      usage: { input_tokens: 1200, output_tokens: 300, cache_read_input_tokens: 5000, cache_creation_input_tokens: 800 },
      stopReason: 'tool_use',
    });
    const body = JSON.stringify(claudeCodeMainTurn({ turns: 2 }));
    const response = await send(harness.gateway.url, '/v1/messages?beta=true', { headers: claudeCodeHeaders({ 'x-claude-code-session-id': 'pt-session-1' }), body });
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /text\/event-stream/);
    assert.equal(response.headers['x-tierwise-route'], `agent.main; tier=frontier; model=${CLIENT_MODEL}`);

    const [forwarded] = anthropic.requests;
    assert.equal(forwarded.path, '/v1/messages?beta=true');
    assert.equal(forwarded.rawBody, body, 'the model is already the right one: every byte goes as sent');
    assert.equal(forwarded.headers['x-api-key'], ANTHROPIC_TEST_KEY);
    assert.equal(forwarded.headers['anthropic-beta'], 'claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14');
    assert.equal(forwarded.headers['anthropic-version'], '2023-06-01');
    assert.ok(!JSON.stringify(forwarded.headers).includes(TEST_TOKEN));

    // What the fake sends for exactly these bytes, asked directly: the client got the same text.
    anthropic.reply({ type: 'answer', text: ['I will read', ' src/pager.ts', ' first.'], usage: { input_tokens: 1200, output_tokens: 300, cache_read_input_tokens: 5000, cache_creation_input_tokens: 800 }, stopReason: 'tool_use' });
    const direct = await send(anthropic.url, '/v1/messages?beta=true', { headers: { 'content-type': 'application/json', 'x-api-key': ANTHROPIC_TEST_KEY }, body: forwarded.rawBody });
    assert.equal(response.body, direct.body);
    assert.ok(!response.body.includes(ANTHROPIC_TEST_KEY));

    const [call] = await eventually(() => (callsFor(CLIENT_MODEL).length ? callsFor(CLIENT_MODEL) : undefined));
    assert.equal(call.client, 'claude-code');
    assert.equal(call.task, 'agent.main');
    assert.equal(call.tier, 'frontier');
    assert.equal(call.outcome, 'ok');
    assert.deepEqual(
      [call.inputTokens, call.outputTokens, call.cacheReadTokens, call.cacheWrite5mTokens, call.cacheWrite1hTokens],
      [1200, 300, 5000, 800, 0],
    );
    const expected = (1200 * CLIENT_MODEL_PRICE.inputPerMTokUsd + 300 * CLIENT_MODEL_PRICE.outputPerMTokUsd + 5000 * CLIENT_MODEL_PRICE.cacheReadPerMTokUsd! + 800 * CLIENT_MODEL_PRICE.cacheWrite5mPerMTokUsd!) / 1e6;
    assert.equal(call.costUsd, nanoUsd(expected));
    assert.equal(call.costUsd, 0.0126);
    assert.equal(call.frontierCostUsd, 0.063, 'the savings reference (claude-test-frontier) for the same tokens');
    assert.ok(call.reservationId, 'the call settles a reservation');
    assert.deepEqual(openReservationsOf(readLedgerRecords(harness.ledgerDir)), []);
  });

  test('a subagent routed to mid: the bytes are the input with only the model value replaced', async () => {
    const body = JSON.stringify(claudeCodeMainTurn({ turns: 3 }));
    const response = await send(harness.gateway.url, '/v1/messages?beta=true', {
      headers: claudeCodeHeaders({ 'x-claude-code-agent-id': 'agent-7', 'anthropic-beta': 'claude-code-20250219,context-1m-2025-08-07' }),
      body,
    });
    assert.equal(response.status, 200);
    const [forwarded] = anthropic.requests;
    const expected = body.replace(`"model":"${CLIENT_MODEL}"`, `"model":"${MID_MODEL}"`);
    assert.notEqual(expected, body);
    assert.equal(forwarded.rawBody, expected);
    assert.equal(forwarded.headers['content-length'], String(Buffer.byteLength(expected)));
    assert.equal(forwarded.headers['anthropic-beta'], 'claude-code-20250219', "the 1M-context beta belongs to the client's model");
    const [call] = await eventually(() => (callsFor(MID_MODEL).length ? callsFor(MID_MODEL) : undefined));
    assert.equal(call.task, 'agent.subagent');
    assert.equal(call.tier, 'mid');
  });

  test('a non-streaming request passes through and settles from the JSON body', async () => {
    anthropic.reply({ type: 'answer', text: 'plain', usage: { input_tokens: 40, output_tokens: 5 } });
    const body = JSON.stringify({ ...claudeCodeMainTurn(), stream: false });
    const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body });
    assert.equal(response.status, 200);
    assert.equal((JSON.parse(response.body) as { content: Array<{ text: string }> }).content[0].text, 'plain');
    const [call] = await eventually(() => (callsFor(CLIENT_MODEL).length ? callsFor(CLIENT_MODEL) : undefined));
    assert.deepEqual([call.inputTokens, call.outputTokens, call.outcome], [40, 5, 'ok']);
  });

  test("an upstream error reaches the client as the upstream sent it, and settles as an error", async () => {
    anthropic.reply({ type: 'error', status: 429, message: 'Number of request tokens has exceeded your per-minute rate limit', headers: { 'retry-after': '7' } });
    const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeMainTurn()) });
    assert.equal(response.status, 429);
    assert.equal(response.headers['retry-after'], '7');
    assert.deepEqual(JSON.parse(response.body), {
      type: 'error',
      error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' },
      request_id: 'req_fake_anthropic',
    });
    const [call] = await eventually(() => (callsFor(CLIENT_MODEL).length ? callsFor(CLIENT_MODEL) : undefined));
    assert.equal(call.outcome, 'error');
    assert.equal(call.costUsd, 0);
    assert.match(call.detail ?? '', /429/);
    assert.deepEqual(openReservationsOf(readLedgerRecords(harness.ledgerDir)), []);
  });

  test("a key the upstream refuses is reported as Tierwise's (400), not passed on as the client's 401", async () => {
    anthropic.reply({ type: 'error', status: 401, message: 'invalid x-api-key' });
    const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeMainTurn()) });
    assert.equal(response.status, 400);
    assert.equal(response.headers['x-should-retry'], 'false');
    const error = JSON.parse(response.body) as { error: { type: string; message: string } };
    assert.match(error.error.message, /refused Tierwise's key \(401: invalid x-api-key\); check ANTHROPIC_API_KEY/);
    const [call] = await eventually(() => (callsFor(CLIENT_MODEL).length ? callsFor(CLIENT_MODEL) : undefined));
    assert.equal(call.errorKind, 'http401');
  });

  test('a stream the upstream cuts short drops the client connection and settles what was used', async () => {
    anthropic.reply({ type: 'answer', text: ['one', ' two', ' three'], usage: { input_tokens: 900, output_tokens: 50 }, interrupt: { afterChunks: 2, with: 'reset' } });
    const outcome = await streamTurn(harness.gateway.url, JSON.stringify(claudeCodeMainTurn()));
    assert.equal(outcome.ended, false, 'the client sees the connection drop, so it can retry');
    const [call] = await eventually(() => (callsFor(CLIENT_MODEL).length ? callsFor(CLIENT_MODEL) : undefined));
    assert.equal(call.outcome, 'error');
    assert.equal(call.inputTokens, 900, 'message_start had arrived');
    assert.ok(call.costUsd > 0);
    assert.deepEqual(openReservationsOf(readLedgerRecords(harness.ledgerDir)), []);
  });

  test('a client that hangs up mid-stream stops the upstream call; what streamed is settled', async () => {
    anthropic.reply({ type: 'answer', text: ['a', 'b', 'c', 'd', 'e', 'f'], chunkDelayMs: 100, usage: { input_tokens: 700, output_tokens: 6 } });
    await streamTurn(harness.gateway.url, JSON.stringify(claudeCodeMainTurn()), { hangUpAfterBytes: 1 });
    await anthropic.waitForRequests(1);
    assert.equal(await anthropic.settled(anthropic.requests[0]), 'clientClosed');
    const [call] = await eventually(() => (callsFor(CLIENT_MODEL).length ? callsFor(CLIENT_MODEL) : undefined));
    assert.equal(call.outcome, 'error');
    assert.equal(call.errorKind, 'cancelled');
    assert.equal(call.inputTokens, 700);
  });

  test("a Codex turn goes to its own model's Responses API byte for byte; usage from response.completed", async () => {
    responses.reply({ type: 'answer', text: 'Renaming now.', usage: { input_tokens: 6000, output_tokens: 80, input_tokens_details: { cached_tokens: 4096 }, output_tokens_details: { reasoning_tokens: 40 } } });
    const body = JSON.stringify(codexTurn('019a7b-thread'));
    const response = await send(harness.gateway.url, '/v1/responses', { headers: codexHeaders({ request_kind: 'turn', thread_source: 'user' }), body });
    assert.equal(response.status, 200);
    assert.match(response.body, /event: response\.completed/);
    const [forwarded] = responses.requests;
    assert.equal(forwarded.path, '/v1/responses');
    assert.equal(forwarded.rawBody, body);
    assert.equal(forwarded.headers.authorization, `Bearer ${OPENAI_TEST_KEY}`);
    const [call] = await eventually(() => (callsFor('gpt-5.1-codex').length ? callsFor('gpt-5.1-codex') : undefined));
    assert.equal(call.client, 'codex');
    assert.deepEqual([call.inputTokens, call.cacheReadTokens, call.outputTokens, call.reasoningTokens], [1904, 4096, 80, 40]);
    assert.equal(call.costUsd, nanoUsd((1904 * 1.25 + 4096 * 0.125 + 80 * 10) / 1e6));
  });

  test("a client model name that is not plain ASCII is passed on, and the route header stays valid", async () => {
    const body = JSON.stringify({ ...claudeCodeMainTurn(), model: 'claude-sönnet-ünknown' });
    const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-tierwise-route'], 'agent.main; tier=frontier; model=claude-s?nnet-?nknown');
    assert.equal(anthropic.requests[0].rawBody, body);
  });

  test('count_tokens asks the Anthropic upstream, and answers with an estimate when it cannot', async () => {
    const body = JSON.stringify({ model: CLIENT_MODEL, messages: [{ role: 'user', content: 'How many tokens is this?' }], tools: claudeCodeMainTurn().tools });
    const response = await send(harness.gateway.url, '/v1/messages/count_tokens?beta=true', { headers: claudeCodeHeaders(), body });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-tierwise-count'], 'estimate');
    const counted = JSON.parse(response.body) as { input_tokens: number };
    assert.ok(counted.input_tokens > 50, `estimate ${counted.input_tokens}`);
    assert.equal(anthropic.requests[0]?.path, '/v1/messages/count_tokens?beta=true');
    assert.equal(anthropic.requests[0]?.headers['x-api-key'], ANTHROPIC_TEST_KEY);
    assert.equal(callsFor(CLIENT_MODEL).length, 0, 'counting is free and not recorded');
  });

  test('GET /v1/models lists the configured models and the aliases, in the client format', async () => {
    const anthropicList = await send(harness.gateway.url, '/v1/models', { method: 'GET', headers: claudeCodeHeaders() });
    assert.equal(anthropicList.status, 200);
    const listed = JSON.parse(anthropicList.body) as { data: Array<{ id: string; type: string }> };
    assert.deepEqual(listed.data.map((model) => model.id), ['qwen-test:7b', MID_MODEL, 'gpt-test-mid', 'claude-test-frontier', 'tierwise-auto', 'tierwise-local', 'tierwise-mid', 'tierwise-frontier']);
    assert.equal(listed.data[0].type, 'model');
    const openaiList = await send(harness.gateway.url, '/v1/models', { method: 'GET', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    const openai = JSON.parse(openaiList.body) as { object: string; data: Array<{ id: string; object: string }> };
    assert.equal(openai.object, 'list');
    assert.equal(openai.data[0].object, 'model');
  });
});
