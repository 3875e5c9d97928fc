/**
 * Router.run end to end through the real adapters and SDKs against the loopback fakes: fallback inside a tier,
 * cooldowns, errors that must surface, escalation, usage accounting, budgets and cancellation, each checked on
 * the wire (what the fakes received) and in the ledger files (read independently of the ledger).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { createProviderRegistry } from '../../extension/providers/registry';
import { ProviderError } from '../../extension/providers/types';
import { BudgetBlockedError } from '../../extension/router/budget';
import { endpointId, type EndpointConfig, type TierwiseConfig } from '../../extension/router/config';
import type { AskDecision, RouteRequest } from '../../extension/router/decide';
import { OverCapDeclinedError, TierExhaustedError } from '../../extension/router/errors';
import { Ledger } from '../../extension/router/ledger/ledger';
import type { DecisionRecord, ReserveRecord } from '../../extension/router/ledger/records';
import { Router } from '../../extension/router/router';
import { validatorFor } from '../../extension/router/taskValidators';
import { estimateTokens } from '../../extension/router/tokens';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeOllama, type FakeOllama } from '../fakes/ollama';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import type { FakeScript } from '../fakes/server';
import { closedPort } from '../fakes/streams';
import {
  ANTHROPIC_TEST_KEY,
  callRecordsOf,
  ledgerFilesText,
  LOCAL_TEST_MODEL,
  nanoUsd,
  OPENAI_TEST_KEY,
  openReservationsOf,
  readLedgerRecords,
  routerConfig,
  seedCallRecord,
  TempDirs,
  testKeys,
} from './helpers/routerFixtures';

const refactorRequest: RouteRequest = {
  task: 'refactor',
  system: 'You refactor TypeScript.',
  messages: [{ role: 'user', content: 'Extract the retry loop in router.ts into its own method.' }],
};

const commitRequest: RouteRequest = {
  task: 'commitMessage',
  messages: [{ role: 'user', content: 'diff --git a/pager.ts b/pager.ts\n-  for (let i = 0; i <= pages; i++)\n+  for (let i = 0; i < pages; i++)' }],
};

const planRequest: RouteRequest = {
  task: 'plan',
  messages: [{ role: 'user', content: 'Plan the migration of the settings UI to the webview protocol.' }],
};

/** 100 characters: fails the commit-message check's 72-character subject limit. */
const LONG_SUBJECT = 'Fix the off-by-one error in the pager loop that made the last page render twice on each of the lists';
assert.equal(LONG_SUBJECT.length, 100);

describe('Router.run through the real adapters against the fakes', () => {
  const dirs = new TempDirs();
  let openai: FakeOpenAI;
  let anthropic: FakeAnthropic;
  let ollama: FakeOllama;
  const ledgers: Ledger[] = [];

  before(async () => {
    [openai, anthropic, ollama] = await Promise.all([startFakeOpenAI(), startFakeAnthropic(), startFakeOllama()]);
  });
  after(async () => {
    await Promise.all([openai.close(), anthropic.close(), ollama.close()]);
    dirs.removeAll();
  });
  beforeEach(() => {
    openai.reset();
    anthropic.reset();
    ollama.reset();
  });
  afterEach(() => {
    for (const ledger of ledgers.splice(0)) ledger.close();
  });

  const openaiMid = (): EndpointConfig => ({ provider: 'openai', model: 'gpt-test-mid', baseUrl: openai.baseUrl, maxOutputTokens: 1000 });
  const anthropicMid = (): EndpointConfig => ({ provider: 'anthropic', model: 'claude-test-mid', baseUrl: anthropic.baseUrl, maxOutputTokens: 1000 });
  const anthropicFrontier = (): EndpointConfig => ({ provider: 'anthropic', model: 'claude-test-frontier', baseUrl: anthropic.baseUrl, maxOutputTokens: 2000 });
  const ollamaLocal = (): EndpointConfig => ({ provider: 'ollama', model: LOCAL_TEST_MODEL, baseUrl: ollama.url, maxOutputTokens: 200, numCtx: 8192 });

  function setUp(config: TierwiseConfig, options: { now?: () => number } = {}) {
    const dir = dirs.make('router-wire');
    const ledger = new Ledger({ dir });
    ledgers.push(ledger);
    const log: string[] = [];
    const router = new Router({
      config: () => config,
      ledger,
      providers: createProviderRegistry(),
      keys: testKeys,
      client: 'editor',
      log: (line) => log.push(line),
      now: options.now,
    });
    return { router, ledger, dir, log, records: () => readLedgerRecords(dir) };
  }

  /** Every reservation in the files was closed, and the ledger agrees nothing is held. */
  function assertNoOpenReservations(dir: string, ledger: Ledger): void {
    assert.deepEqual(openReservationsOf(readLedgerRecords(dir)), []);
    assert.equal(ledger.totals().openReservedUsd, 0);
  }

  const rateLimited = (headers: Record<string, string>): FakeScript<never> => ({
    type: 'error',
    status: 429,
    message: 'Rate limit reached for gpt-test-mid on requests per min (RPM).',
    headers,
  });

  describe('fallback inside a tier', () => {
    test('429 (Retry-After 0) more often than retriesPerEndpoint allows → the next endpoint answers; one call record per attempt', async () => {
      const config = routerConfig({ mid: [openaiMid(), anthropicMid()] }, { fallback: { retriesPerEndpoint: 1, maxRetryWaitMs: 1000 } });
      const { router, ledger, dir, records } = setUp(config);
      openai.reply(rateLimited({ 'retry-after': '0' }), rateLimited({ 'retry-after': '0' }));
      anthropic.reply({ type: 'answer', text: 'Extracted runTier’s retry loop.', usage: { input_tokens: 40, output_tokens: 6 } });

      const result = await router.run(refactorRequest);

      assert.equal(result.text, 'Extracted runTier’s retry loop.');
      assert.deepEqual([result.tier, result.provider, result.model], ['mid', 'anthropic', 'claude-test-mid']);
      // One try plus one retry on A, then B.
      assert.equal(openai.requests.length, 2);
      assert.equal(anthropic.requests.length, 1);
      for (const request of openai.requests) assert.equal(request.headers.authorization, `Bearer ${OPENAI_TEST_KEY}`);
      assert.equal(anthropic.requests[0].headers.authorization, `Bearer ${ANTHROPIC_TEST_KEY}`);

      const calls = callRecordsOf(records());
      assert.deepEqual(
        calls.map((call) => [call.provider, call.outcome, call.errorKind]),
        [
          ['openai', 'error', 'rateLimit'],
          ['openai', 'error', 'rateLimit'],
          ['anthropic', 'ok', undefined],
        ],
      );
      // B: 40 in × $3 + 6 out × $15 per MTok = $0.00021; the refused attempts streamed nothing and cost nothing.
      assert.deepEqual(calls.map((call) => call.costUsd), [0, 0, 0.00021]);
      assert.equal(result.costUsd, 0.00021);
      assert.deepEqual(result.attempts.map((attempt) => attempt.outcome), ['error', 'error', 'ok']);
      assert.match(result.reason, /gpt-test-mid rateLimit → next endpoint/);
      // Every attempt reserved, and its call record settled that reservation.
      const reserves = records().filter((record): record is ReserveRecord => record.type === 'reserve');
      assert.equal(reserves.length, 3);
      assert.deepEqual(new Set(calls.map((call) => call.reservationId)), new Set(reserves.map((reserve) => reserve.reservationId)));
      assertNoOpenReservations(dir, ledger);
    });

    test('500 → the next endpoint at once (server errors are not retried on the same endpoint)', async () => {
      const config = routerConfig({ mid: [openaiMid(), anthropicMid()] });
      const { router, ledger, dir, records } = setUp(config);
      openai.reply({ type: 'error', status: 500, message: 'The server had an error while processing your request.' });
      anthropic.reply({ type: 'answer', text: 'Done.', usage: { input_tokens: 30, output_tokens: 2 } });

      const result = await router.run(refactorRequest);

      assert.equal(result.provider, 'anthropic');
      assert.equal(openai.requests.length, 1);
      const calls = callRecordsOf(records());
      assert.deepEqual(calls.map((call) => [call.provider, call.outcome, call.errorKind]), [['openai', 'error', 'server'], ['anthropic', 'ok', undefined]]);
      assert.match(calls[0].detail ?? '', /HTTP 500/);
      assert.match(result.reason, /gpt-test-mid server → next endpoint/);
      assertNoOpenReservations(dir, ledger);
    });

    test('connection reset mid-stream → the next endpoint, with an estimated cost recorded for the partial text', async () => {
      const config = routerConfig({ mid: [openaiMid(), anthropicMid()] });
      const { router, ledger, dir, records } = setUp(config);
      openai.reply({ type: 'answer', text: ['Moved ', 'the ', 'loop ', 'into ', 'a helper.'], interrupt: { afterChunks: 3, with: 'reset' } });
      anthropic.reply({ type: 'answer', text: 'Moved the loop into a helper.', usage: { input_tokens: 30, output_tokens: 7 } });
      const streamed: Array<[string, number]> = [];

      const result = await router.run(refactorRequest, { onText: (delta, attempt) => streamed.push([delta, attempt]) });

      assert.equal(result.provider, 'anthropic');
      assert.equal(await openai.settled(openai.requests[0]), 'reset');
      // The caller saw the partial text of attempt 0, then attempt 1 started over.
      assert.equal(streamed.filter(([, attempt]) => attempt === 0).map(([delta]) => delta).join(''), 'Moved the loop ');
      assert.equal(streamed.filter(([, attempt]) => attempt === 1).map(([delta]) => delta).join(''), 'Moved the loop into a helper.');

      const all = records();
      const decision = all.find((record): record is DecisionRecord => record.type === 'decision')!;
      const [broken, answered] = callRecordsOf(all);
      assert.equal(broken.outcome, 'error');
      assert.equal(broken.errorKind, 'network');
      // No usage arrived: the prompt estimate plus an estimate of the partial text, at gpt-test-mid's $2 in / $8 out.
      const partialOutputTokens = estimateTokens('Moved the loop ');
      assert.equal(broken.inputTokens, decision.estInputTokens);
      assert.equal(broken.outputTokens, partialOutputTokens);
      assert.ok(broken.costUsd > 0);
      assert.equal(broken.costUsd, nanoUsd((decision.estInputTokens * 2 + partialOutputTokens * 8) / 1e6));
      // 30 × $3 + 7 × $15 per MTok = $0.000195.
      assert.equal(answered.costUsd, 0.000195);
      assert.equal(result.costUsd, nanoUsd(broken.costUsd + 0.000195));
      assertNoOpenReservations(dir, ledger);
    });

    test('a timeout (no headers within the endpoint\'s timeoutMs) → the next endpoint; the slow request is closed', async () => {
      const slowA: EndpointConfig = { ...openaiMid(), timeoutMs: 300 };
      const config = routerConfig({ mid: [slowA, anthropicMid()] });
      const { router, ledger, dir, records } = setUp(config);
      openai.reply({ type: 'answer', text: 'too late', headersDelayMs: 3000 });
      anthropic.reply({ type: 'answer', text: 'On time.' });

      const result = await router.run(refactorRequest);

      assert.equal(result.provider, 'anthropic');
      assert.equal(await openai.settled(openai.requests[0]), 'clientClosed');
      assert.deepEqual(callRecordsOf(records()).map((call) => [call.provider, call.outcome, call.errorKind]), [['openai', 'error', 'timeout'], ['anthropic', 'ok', undefined]]);
      assert.match(result.reason, /gpt-test-mid timeout → next endpoint/);
      assertNoOpenReservations(dir, ledger);
    });

    test('a context overflow (400 context_length_exceeded) → the next endpoint, which may have a larger window', async () => {
      const config = routerConfig({ mid: [openaiMid(), anthropicMid()] });
      const { router } = setUp(config);
      openai.reply({ type: 'error', status: 400, message: "This model's maximum context length is 8192 tokens.", code: 'context_length_exceeded' });
      anthropic.reply({ type: 'answer', text: 'Fits here.' });

      const result = await router.run(refactorRequest);

      assert.equal(result.provider, 'anthropic');
      assert.match(result.reason, /gpt-test-mid contextOverflow → next endpoint/);
    });

    test('every endpoint of the tier fails → TierExhaustedError naming each, every attempt recorded and settled', async () => {
      const config = routerConfig({ mid: [openaiMid(), anthropicMid()] });
      const { router, ledger, dir, records } = setUp(config);
      openai.reply({ type: 'error', status: 503, message: 'The engine is currently overloaded.' });
      anthropic.reply({ type: 'error', status: 529, message: 'Overloaded' });

      await assert.rejects(router.run(refactorRequest), (error: unknown) => {
        assert.ok(error instanceof TierExhaustedError, `expected TierExhaustedError, got ${String(error)}`);
        assert.equal(error.tier, 'mid');
        assert.deepEqual(error.failures.map((failure) => [failure.provider, failure.kind]), [['openai', 'server'], ['anthropic', 'server']]);
        assert.match(error.message, /gpt-test-mid.*HTTP 503.*claude-test-mid.*HTTP 529/s);
        return true;
      });
      assert.deepEqual(callRecordsOf(records()).map((call) => [call.provider, call.outcome]), [['openai', 'error'], ['anthropic', 'error']]);
      assertNoOpenReservations(dir, ledger);
    });

    test('a Retry-After within maxRetryWaitMs is waited out and the same endpoint retried', async () => {
      const config = routerConfig({ mid: [openaiMid(), anthropicMid()] }, { fallback: { retriesPerEndpoint: 1, maxRetryWaitMs: 2000 } });
      const { router, ledger, dir, records } = setUp(config);
      const arrivals: number[] = [];
      openai.reply(
        () => (arrivals.push(Date.now()), rateLimited({ 'retry-after-ms': '400' })),
        () => (arrivals.push(Date.now()), { type: 'answer', text: 'Retried and answered.', usage: { prompt_tokens: 50, completion_tokens: 4 } }),
      );

      const result = await router.run(refactorRequest);

      assert.deepEqual([result.provider, result.text], ['openai', 'Retried and answered.']);
      assert.equal(anthropic.requests.length, 0);
      assert.equal(arrivals.length, 2);
      assert.ok(arrivals[1] - arrivals[0] >= 400, `retried after ${arrivals[1] - arrivals[0]} ms, before the 400 ms Retry-After`);
      assert.deepEqual(callRecordsOf(records()).map((call) => [call.provider, call.outcome]), [['openai', 'error'], ['openai', 'ok']]);
      // 50 × $2 + 4 × $8 per MTok = $0.000132.
      assert.equal(result.costUsd, 0.000132);
      assertNoOpenReservations(dir, ledger);
    });

    test('a Retry-After beyond maxRetryWaitMs moves to the next endpoint without waiting', async () => {
      const config = routerConfig({ mid: [openaiMid(), anthropicMid()] }, { fallback: { retriesPerEndpoint: 3, maxRetryWaitMs: 1000 } });
      const { router } = setUp(config);
      openai.reply(rateLimited({ 'retry-after': '30' }));
      anthropic.reply({ type: 'answer', text: 'From B.' });

      const startedAt = Date.now();
      const result = await router.run(refactorRequest);

      assert.equal(result.provider, 'anthropic');
      assert.equal(openai.requests.length, 1);
      assert.ok(Date.now() - startedAt < 5000);
    });
  });

  test('cooldown: after failuresBeforeCooldown failures an endpoint is skipped until cooldownMs has passed', async () => {
    let clockOffsetMs = 0;
    const config = routerConfig({ mid: [openaiMid(), anthropicMid()] }, { fallback: { failuresBeforeCooldown: 2, cooldownMs: 5000 } });
    const { router, ledger, dir } = setUp(config, { now: () => Date.now() + clockOffsetMs });
    openai.reply(
      { type: 'error', status: 500, message: 'first failure' },
      { type: 'error', status: 503, message: 'second failure' },
      { type: 'answer', text: 'A is back.' },
    );
    anthropic.reply({ type: 'answer', text: 'B 1' }, { type: 'answer', text: 'B 2' }, { type: 'answer', text: 'B 3' });

    assert.equal((await router.run(refactorRequest)).text, 'B 1');
    assert.equal((await router.run(refactorRequest)).text, 'B 2');
    assert.equal(openai.requests.length, 2);
    assert.ok(router.health.coolingDown().has(endpointId(openaiMid())));

    const whileCooling = await router.run(refactorRequest);
    assert.equal(whileCooling.text, 'B 3');
    assert.equal(openai.requests.length, 2, 'the cooling endpoint received a request');
    assert.match(whileCooling.reason, /gpt-test-mid cooling down/);

    clockOffsetMs += 5001;
    const afterCooldown = await router.run(refactorRequest);
    assert.deepEqual([afterCooldown.provider, afterCooldown.text], ['openai', 'A is back.']);
    assert.equal(openai.requests.length, 3);
    assert.equal(anthropic.requests.length, 3);
    assertNoOpenReservations(dir, ledger);
  });

  test('401 surfaces as ProviderError auth naming the provider and key setting; no other endpoint is called and the key is not echoed', async () => {
    const config = routerConfig({ mid: [openaiMid(), anthropicMid()] });
    const { router, ledger, dir, records } = setUp(config);
    openai.reply({
      type: 'error',
      status: 401,
      // OpenAI quotes the rejected key back; it must not reach the error, the log or the ledger.
      message: `Incorrect API key provided: ${OPENAI_TEST_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    });

    await assert.rejects(router.run(refactorRequest), (error: unknown) => {
      assert.ok(error instanceof ProviderError, `expected ProviderError, got ${String(error)}`);
      assert.equal(error.kind, 'auth');
      assert.equal(error.provider, 'openai');
      assert.equal(error.model, 'gpt-test-mid');
      assert.match(error.message, /OpenAI-compatible gpt-test-mid/);
      assert.match(error.message, /OPENAI_API_KEY/);
      assert.ok(!error.message.includes(OPENAI_TEST_KEY), error.message);
      return true;
    });
    assert.equal(anthropic.requests.length, 0);
    const calls = callRecordsOf(records());
    assert.deepEqual(calls.map((call) => [call.outcome, call.errorKind]), [['error', 'auth']]);
    assert.ok(!ledgerFilesText(dir).includes(OPENAI_TEST_KEY), 'the key was written to the ledger');
    assertNoOpenReservations(dir, ledger);
  });

  describe('escalation', () => {
    test('a local answer that fails the commit-message check escalates to mid; both attempts are in the ledger with the reason', async () => {
      const config = routerConfig({ local: [ollamaLocal()], mid: [openaiMid()] });
      const { router, ledger, dir, records } = setUp(config);
      ollama.reply({ type: 'answer', text: LONG_SUBJECT, usage: { prompt_eval_count: 80, eval_count: 22 } });
      openai.reply({ type: 'answer', text: 'Fix off-by-one in the pager loop', usage: { prompt_tokens: 90, completion_tokens: 9 } });

      const result = await router.run(commitRequest, { validator: validatorFor('commitMessage') });

      assert.equal(result.text, 'Fix off-by-one in the pager loop');
      assert.deepEqual([result.tier, result.provider, result.model], ['mid', 'openai', 'gpt-test-mid']);
      assert.deepEqual(result.verdict, { ok: true });
      assert.deepEqual(
        result.attempts.map((attempt) => [attempt.tier, attempt.outcome, attempt.detail]),
        [
          ['local', 'validationFailed', 'subject is 100 characters (max 72)'],
          ['mid', 'ok', undefined],
        ],
      );
      assert.match(result.reason, /failed check \(subject is 100 characters \(max 72\)\) → escalated local → mid/);
      const calls = callRecordsOf(records());
      assert.deepEqual(
        calls.map((call) => [call.tier, call.model, call.outcome, call.detail]),
        [
          ['local', LOCAL_TEST_MODEL, 'validationFailed', 'subject is 100 characters (max 72)'],
          ['mid', 'gpt-test-mid', 'ok', undefined],
        ],
      );
      // Local is free; mid: 90 × $2 + 9 × $8 per MTok = $0.000252.
      assert.deepEqual(calls.map((call) => call.costUsd), [0, 0.000252]);
      assert.equal(ollama.requests.length, 1);
      assertNoOpenReservations(dir, ledger);
    });

    test('maxEscalations 0: no escalation, the failing answer comes back with a failed verdict', async () => {
      const config = routerConfig({ local: [ollamaLocal()], mid: [openaiMid()] }, { escalation: { maxEscalations: 0 } });
      const { router, ledger, dir } = setUp(config);
      ollama.reply({ type: 'answer', text: LONG_SUBJECT });

      const result = await router.run(commitRequest, { validator: validatorFor('commitMessage') });

      assert.equal(result.tier, 'local');
      assert.deepEqual(result.verdict, { ok: false, reason: 'subject is 100 characters (max 72)' });
      assert.deepEqual(result.attempts.map((attempt) => attempt.outcome), ['validationFailed']);
      assert.match(result.reason, /no escalation left/);
      assert.equal(openai.requests.length, 0);
      assertNoOpenReservations(dir, ledger);
    });

    test('an escalation the daily cap cannot afford stops, and the failing local answer comes back', async () => {
      const config = routerConfig({ local: [ollamaLocal()], mid: [openaiMid()] }, { budgets: { dailyUsd: 0.001, policy: 'downgrade' } });
      const { router, ledger, dir } = setUp(config);
      ollama.reply({ type: 'answer', text: LONG_SUBJECT });

      const result = await router.run(commitRequest, { validator: validatorFor('commitMessage') });

      assert.equal(result.tier, 'local');
      assert.equal(result.verdict.ok, false);
      assert.match(result.reason, /escalation stopped: .*daily cap .*tierwise\.budgets\.dailyUsd/);
      assert.equal(openai.requests.length, 0);
      assertNoOpenReservations(dir, ledger);
    });

    test('local server unreachable with localUnavailable nextTier → mid, and the reason says so', async () => {
      const port = await closedPort();
      const unreachable: EndpointConfig = { ...ollamaLocal(), baseUrl: `http://127.0.0.1:${port}` };
      const config = routerConfig({ local: [unreachable], mid: [openaiMid()] }, { localUnavailable: 'nextTier' });
      const { router, ledger, dir, records } = setUp(config);
      openai.reply({ type: 'answer', text: 'Fix pager loop bound' });

      const result = await router.run(commitRequest, { validator: validatorFor('commitMessage') });

      assert.deepEqual([result.tier, result.provider], ['mid', 'openai']);
      assert.match(result.reason, /local tier unavailable → mid/);
      assert.deepEqual(callRecordsOf(records()).map((call) => [call.tier, call.outcome, call.errorKind]), [['local', 'error', 'network'], ['mid', 'ok', undefined]]);
      assertNoOpenReservations(dir, ledger);
    });

    test('local server unreachable with localUnavailable refuse → TierExhaustedError, nothing else called', async () => {
      const port = await closedPort();
      const unreachable: EndpointConfig = { ...ollamaLocal(), baseUrl: `http://127.0.0.1:${port}` };
      const config = routerConfig({ local: [unreachable], mid: [openaiMid()] }, { localUnavailable: 'refuse' });
      const { router, ledger, dir } = setUp(config);

      await assert.rejects(router.run(commitRequest, { validator: validatorFor('commitMessage') }), (error: unknown) => {
        assert.ok(error instanceof TierExhaustedError, `expected TierExhaustedError, got ${String(error)}`);
        assert.equal(error.tier, 'local');
        assert.deepEqual(error.failures.map((failure) => failure.kind), ['network']);
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        return true;
      });
      assert.equal(openai.requests.length, 0);
      assertNoOpenReservations(dir, ledger);
    });
  });

  describe('usage accounting', () => {
    test('Anthropic cache read + 5m + 1h writes: call record fields, cost and the savings-reference cost', async () => {
      const config = routerConfig({ mid: [anthropicMid()] });
      const { router, records } = setUp(config);
      anthropic.reply({
        type: 'answer',
        text: 'Refactored.',
        usage: {
          input_tokens: 1000,
          output_tokens: 500,
          cache_read_input_tokens: 20000,
          cache_creation_input_tokens: 7000,
          cache_creation: { ephemeral_5m_input_tokens: 3000, ephemeral_1h_input_tokens: 4000 },
        },
      });

      const result = await router.run({ ...refactorRequest, stableContext: 'export class Router { /* … */ }' });

      const all = records();
      const [call] = callRecordsOf(all);
      assert.deepEqual(
        {
          inputTokens: call.inputTokens,
          outputTokens: call.outputTokens,
          cacheReadTokens: call.cacheReadTokens,
          cacheWrite5mTokens: call.cacheWrite5mTokens,
          cacheWrite1hTokens: call.cacheWrite1hTokens,
          reasoningTokens: call.reasoningTokens,
          unpriced: call.unpriced,
        },
        { inputTokens: 1000, outputTokens: 500, cacheReadTokens: 20000, cacheWrite5mTokens: 3000, cacheWrite1hTokens: 4000, reasoningTokens: 0, unpriced: false },
      );
      // claude-test-mid: 1000 × 3 + 500 × 15 + 20000 × 0.3 + 3000 × 3.75 + 4000 × 6 = 51,750 µ$ → $0.05175.
      assert.equal(call.costUsd, 0.05175);
      // The reference, claude-test-frontier: 1000 × 15 + 500 × 75 + 20000 × 1.5 + 3000 × 18.75 + 4000 × 30 = $0.25875.
      assert.equal(call.frontierCostUsd, 0.25875);
      assert.deepEqual([result.costUsd, result.frontierCostUsd], [0.05175, 0.25875]);
      // The reservation priced every estimated input token at max($3 input, $3.75 5m write) plus 1000 output at $15.
      const decision = all.find((record): record is DecisionRecord => record.type === 'decision')!;
      const reserve = all.find((record): record is ReserveRecord => record.type === 'reserve')!;
      const expectedReservedUsd = nanoUsd((decision.estInputTokens * 3.75 + 1000 * 15) / 1e6);
      assert.equal(decision.reservedUsd, expectedReservedUsd);
      assert.equal(reserve.amountUsd, expectedReservedUsd);
      // The stable prefix went out marked for caching.
      const body = anthropic.requests[0].body as { system: Array<{ text: string; cache_control?: unknown }> };
      assert.deepEqual(body.system.at(-1)?.cache_control, { type: 'ephemeral' });
    });

    test('OpenAI cached prompt tokens and reasoning tokens: cached split out, reasoning not billed twice', async () => {
      const config = routerConfig({ mid: [openaiMid()] });
      const { router, records } = setUp(config);
      openai.reply({
        type: 'answer',
        text: 'Refactored.',
        usage: {
          prompt_tokens: 5000,
          completion_tokens: 800,
          prompt_tokens_details: { cached_tokens: 4000 },
          completion_tokens_details: { reasoning_tokens: 600 },
        },
      });

      const result = await router.run(refactorRequest);

      const [call] = callRecordsOf(records());
      assert.deepEqual(
        [call.inputTokens, call.cacheReadTokens, call.outputTokens, call.reasoningTokens, call.cacheWrite5mTokens, call.cacheWrite1hTokens],
        [1000, 4000, 800, 600, 0, 0],
      );
      // gpt-test-mid: 1000 × 2 + 4000 × 0.5 + 800 × 8 = 10,400 µ$ → $0.0104.
      assert.equal(call.costUsd, 0.0104);
      // claude-test-frontier on the same tokens: 1000 × 15 + 4000 × 1.5 + 800 × 75 = $0.081.
      assert.equal(call.frontierCostUsd, 0.081);
      assert.deepEqual(result.usage, { inputTokens: 1000, outputTokens: 800, cacheReadTokens: 4000, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 600 });
    });
  });

  describe('budgets through the router (daily cap $1.00, $0.95 already spent today)', () => {
    const budgetConfig = (policy: 'downgrade' | 'block' | 'ask') =>
      routerConfig({ local: [ollamaLocal()], mid: [openaiMid()], frontier: [anthropicFrontier()] }, { budgets: { dailyUsd: 1, policy } });

    function seeded(policy: 'downgrade' | 'block' | 'ask') {
      const setup = setUp(budgetConfig(policy));
      setup.ledger.append(seedCallRecord(0.95));
      return setup;
    }

    const noRequests = () => assert.deepEqual([openai.requests.length, anthropic.requests.length, ollama.requests.length], [0, 0, 0]);

    test('downgrade: a frontier request (worst case > $0.15) runs on mid', async () => {
      const { router, ledger, dir } = seeded('downgrade');
      openai.reply({ type: 'answer', text: 'A plan, from mid.' });

      const result = await router.run(planRequest);

      assert.deepEqual([result.tier, result.provider], ['mid', 'openai']);
      assert.match(result.reason, /daily cap \d+% → downgraded frontier → mid/);
      assert.equal(anthropic.requests.length, 0);
      assertNoOpenReservations(dir, ledger);
    });

    test('block: BudgetBlockedError naming tierwise.budgets.dailyUsd, and no fake receives a request', async () => {
      const { router } = seeded('block');
      await assert.rejects(router.run(planRequest), (error: unknown) => {
        assert.ok(error instanceof BudgetBlockedError, `expected BudgetBlockedError, got ${String(error)}`);
        assert.equal(error.violation.cap, 'daily');
        assert.equal(error.violation.capUsd, 1);
        assert.match(error.message, /tierwise\.budgets\.dailyUsd/);
        assert.match(error.message, /daily cap \$1\.00/);
        return true;
      });
      noRequests();
    });

    test('ask, declined: OverCapDeclinedError and no request', async () => {
      const { router } = seeded('ask');
      const asked: AskDecision[] = [];
      await assert.rejects(
        router.run(planRequest, { confirmOverCap: async (decision) => (asked.push(decision), false) }),
        OverCapDeclinedError,
      );
      assert.equal(asked.length, 1);
      assert.deepEqual([asked[0].kind, asked[0].tier, asked[0].violation.cap, asked[0].proposed.endpoint.model], ['ask', 'frontier', 'daily', 'claude-test-frontier']);
      noRequests();
    });

    test('ask, confirmed: runs on the proposed frontier endpoint past the cap', async () => {
      const { router, ledger, dir } = seeded('ask');
      anthropic.reply({ type: 'answer', text: 'A plan, from frontier.', usage: { input_tokens: 100, output_tokens: 1000 } });

      const result = await router.run(planRequest, { confirmOverCap: async () => true });

      assert.deepEqual([result.tier, result.provider, result.text], ['frontier', 'anthropic', 'A plan, from frontier.']);
      assert.match(result.reason, /confirmed by user/);
      // 100 × 15 + 1000 × 75 = $0.0765, on top of the seeded $0.95.
      assert.equal(result.costUsd, 0.0765);
      assert.equal(nanoUsd(ledger.totals().today.costUsd), 1.0265);
      assertNoOpenReservations(dir, ledger);
    });
    test('ask, confirmed for mid: a failed answer does not escalate past the cap without asking again', async () => {
      const setup = setUp(
        routerConfig({ local: [ollamaLocal()], mid: [openaiMid()], frontier: [anthropicFrontier()] }, { budgets: { dailyUsd: 1, policy: 'ask' }, routes: { refactor: 'mid' } }),
      );
      setup.ledger.append(seedCallRecord(0.999));
      openai.reply({ type: 'answer', text: 'x'.repeat(10) });
      const asked: AskDecision[] = [];
      const result = await setup.router.run(
        { task: 'refactor', messages: [{ role: 'user', content: 'Rename it.' }] },
        { confirmOverCap: async (decision) => (asked.push(decision), true), validator: () => ({ ok: false, reason: 'never good enough' }) },
      );
      assert.equal(asked.length, 1);
      assert.equal(asked[0].tier, 'mid');
      assert.deepEqual([result.tier, result.verdict.ok], ['mid', false]);
      assert.match(result.reason, /escalation stopped: .*daily cap/);
      assert.equal(anthropic.requests.length, 0, 'the consent for mid does not pay for frontier');
      assertNoOpenReservations(setup.dir, setup.ledger);
    });
  });

  describe('cancellation', () => {
    test('aborting mid-stream rejects with ProviderError cancelled, closes the connection and settles the reservation', async () => {
      const config = routerConfig({ mid: [openaiMid(), anthropicMid()] });
      const { router, ledger, dir, records } = setUp(config);
      openai.reply({ type: 'answer', text: Array.from({ length: 30 }, (_, index) => `part${index} `), chunkDelayMs: 100 });
      const controller = new AbortController();

      await assert.rejects(
        router.run(refactorRequest, { signal: controller.signal, onText: () => controller.abort() }),
        (error: unknown) => {
          assert.ok(error instanceof ProviderError, `expected ProviderError, got ${String(error)}`);
          assert.equal(error.kind, 'cancelled');
          return true;
        },
      );
      assert.equal(await openai.settled(openai.requests[0]), 'clientClosed');
      assert.equal(anthropic.requests.length, 0, 'a cancelled call must not fall back');
      const calls = callRecordsOf(records());
      assert.deepEqual(calls.map((call) => [call.outcome, call.errorKind]), [['error', 'cancelled']]);
      // Text had arrived, so the attempt is billed at an estimate rather than nothing.
      assert.ok(calls[0].outputTokens > 0 && calls[0].costUsd > 0);
      assertNoOpenReservations(dir, ledger);
      // A cancel is the user's doing, not the endpoint's: it does not count towards a cooldown.
      assert.equal(router.health.coolingDown().size, 0);
    });

    test('aborting during a Retry-After wait rejects with ProviderError cancelled, like a cancel mid-stream', async () => {
      const config = routerConfig({ mid: [openaiMid(), anthropicMid()] }, { fallback: { retriesPerEndpoint: 1, maxRetryWaitMs: 5000 } });
      const { router, ledger, dir } = setUp(config);
      openai.reply(rateLimited({ 'retry-after': '3' }));
      const controller = new AbortController();
      const running = router.run(refactorRequest, { signal: controller.signal });
      await openai.waitForRequests(1);
      setTimeout(() => controller.abort(), 100);

      await assert.rejects(running, (error: unknown) => {
        assert.ok(error instanceof ProviderError, `expected ProviderError cancelled, got ${(error as Error)?.name}: ${(error as Error)?.message}`);
        assert.equal(error.kind, 'cancelled');
        return true;
      });
      assert.equal(openai.requests.length, 1);
      assert.equal(anthropic.requests.length, 0);
      assertNoOpenReservations(dir, ledger);
    });
  });
});
