/**
 * Every adapter, through its real SDK, against its loopback fake: the failures all three must type the same way.
 * Provider-specific behaviour (request shape, usage accounting, keys) lives in <provider>.test.ts.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AnthropicAdapter } from '../../extension/providers/anthropic';
import { OllamaAdapter } from '../../extension/providers/ollama';
import { OpenAICompatibleAdapter } from '../../extension/providers/openaiCompatible';
import { ProviderError, type ChatRequest, type ProviderAdapter } from '../../extension/providers/types';
import type { EndpointConfig, ProviderKind } from '../../extension/router/config';
import { startFakeAnthropic } from '../fakes/anthropic';
import { startFakeOllama } from '../fakes/ollama';
import { startFakeOpenAI } from '../fakes/openai';
import type { FakeServer } from '../fakes/server';
import { closedPort, drain } from '../fakes/streams';

interface ProviderCase {
  kind: ProviderKind;
  adapter: ProviderAdapter;
  start(options: { models: string[] }): Promise<FakeServer<unknown>>;
  models: string[];
  apiKey: string;
  /** A context-overflow error as this provider (or the servers behind this protocol) words it. */
  overflow: { status: number; message: string; code?: string };
  modelNotFound: { status: number; message: string };
}

const CASES: ProviderCase[] = [
  {
    kind: 'ollama',
    adapter: new OllamaAdapter(),
    start: (options) => startFakeOllama(options) as Promise<FakeServer<unknown>>,
    models: ['qwen2.5-coder:7b', 'llama3.2:latest'],
    apiKey: 'ollama-proxy-key-123',
    overflow: { status: 400, message: 'the input length exceeds the context length' },
    modelNotFound: { status: 404, message: 'model "mystery:1b" not found, try pulling it first' },
  },
  {
    kind: 'openai',
    adapter: new OpenAICompatibleAdapter(),
    start: (options) => startFakeOpenAI(options) as Promise<FakeServer<unknown>>,
    models: ['gpt-5-mini', 'gpt-5'],
    apiKey: 'sk-test-openai-0123456789',
    overflow: {
      status: 400,
      message:
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.",
      code: 'context_length_exceeded',
    },
    modelNotFound: { status: 404, message: 'The model `mystery` does not exist or you do not have access to it.' },
  },
  {
    kind: 'anthropic',
    adapter: new AnthropicAdapter(),
    start: (options) => startFakeAnthropic(options) as Promise<FakeServer<unknown>>,
    models: ['claude-haiku-4-5', 'claude-sonnet-4-5'],
    apiKey: 'sk-ant-test-0123456789',
    overflow: { status: 400, message: 'prompt is too long: 208310 tokens > 200000 maximum' },
    modelNotFound: { status: 404, message: 'model: mystery' },
  },
];

const FIVE_WORDS = 'one two three four five';

function chatRequest(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    system: 'You are terse.',
    messages: [{ role: 'user', content: 'Count to five.' }],
    maxOutputTokens: 64,
    timeoutMs: 5_000,
    ...overrides,
  };
}

function assertProviderError(error: unknown, kind: ProviderError['kind']): asserts error is ProviderError {
  assert.ok(error instanceof ProviderError, `expected a ProviderError, got ${String(error)}`);
  assert.equal(error.kind, kind, error.message);
}

for (const providerCase of CASES) {
  const { kind, adapter, apiKey } = providerCase;

  describe(`${kind} adapter: typed failures`, () => {
    let fake: FakeServer<unknown>;
    let endpoint: EndpointConfig;

    before(async () => {
      fake = await providerCase.start({ models: providerCase.models });
      endpoint = { provider: kind, model: `${kind}-test-model`, baseUrl: fake.baseUrl };
    });
    after(() => fake.close());
    beforeEach(() => fake.reset());

    test('401 → auth, naming the key setting, with the server message but never the key', async () => {
      fake.reply({ type: 'error', status: 401, message: `Incorrect API key provided: ${apiKey}.` });
      const { error } = await drain(adapter.stream(endpoint, chatRequest(), apiKey));
      assertProviderError(error, 'auth');
      assert.equal(error.details.status, 401);
      assert.equal(error.provider, kind);
      assert.equal(error.model, endpoint.model);
      assert.match(error.message, /HTTP 401: Incorrect API key provided/);
      assert.match(error.message, /Tierwise: Set API Key/);
      assert.ok(error.message.includes(fake.baseUrl), error.message);
      assert.ok(!error.message.includes(apiKey), `key leaked: ${error.message}`);
      assert.ok(!inspect(error, { depth: 8 }).includes(apiKey), 'key leaked through the cause');
      assert.equal(error.isFallbackWorthy, false);
    });

    test('429 → rateLimit with Retry-After seconds parsed', async () => {
      fake.reply({ type: 'error', status: 429, message: 'Rate limit reached for requests', headers: { 'retry-after': '7' } });
      const { error } = await drain(adapter.stream(endpoint, chatRequest(), apiKey));
      assertProviderError(error, 'rateLimit');
      assert.equal(error.details.status, 429);
      assert.equal(error.details.retryAfterMs, 7_000);
      assert.match(error.message, /retry after 7s/);
      assert.equal(error.isFallbackWorthy, true);
    });

    test('429 → rateLimit with retry-after-ms preferred over retry-after', async () => {
      fake.reply({
        type: 'error',
        status: 429,
        message: 'slow down',
        headers: { 'retry-after-ms': '1250', 'retry-after': '2' },
      });
      const { error } = await drain(adapter.stream(endpoint, chatRequest(), apiKey));
      assertProviderError(error, 'rateLimit');
      assert.equal(error.details.retryAfterMs, 1_250);
    });

    test('context overflow → contextOverflow, not fallback-worthy', async () => {
      const { status, message, code } = providerCase.overflow;
      fake.reply({ type: 'error', status, message, code });
      const { error } = await drain(adapter.stream(endpoint, chatRequest(), apiKey));
      assertProviderError(error, 'contextOverflow');
      assert.equal(error.details.status, status);
      assert.ok(error.message.includes(message), error.message);
      assert.equal(error.isFallbackWorthy, false);
    });

    test('500 → server, sent once (the SDK does not retry behind the router)', async () => {
      fake.reply({ type: 'error', status: 500, message: 'upstream exploded' });
      const { error } = await drain(adapter.stream(endpoint, chatRequest(), apiKey));
      assertProviderError(error, 'server');
      assert.equal(error.details.status, 500);
      assert.match(error.message, /HTTP 500: upstream exploded/);
      assert.equal(fake.requests.length, 1);
      assert.equal(error.isFallbackWorthy, true);
    });

    test('unknown model → badRequest with the server wording', async () => {
      fake.reply({ type: 'error', ...providerCase.modelNotFound });
      const { error } = await drain(adapter.stream(endpoint, chatRequest(), apiKey));
      assertProviderError(error, 'badRequest');
      assert.equal(error.details.status, 404);
      assert.ok(error.message.includes(providerCase.modelNotFound.message), error.message);
    });

    test('connection reset mid-stream → network, after the text that did arrive', async () => {
      fake.reply({ type: 'answer', text: FIVE_WORDS, interrupt: { afterChunks: 2, with: 'reset' } });
      const { text, usageEvents, error } = await drain(adapter.stream(endpoint, chatRequest(), apiKey));
      assertProviderError(error, 'network');
      assert.equal(text, 'one two');
      assert.equal(usageEvents.length, 0);
      assert.equal(fake.requests[0].outcome, 'reset');
    });

    test('malformed event → network (never silently skipped)', async () => {
      fake.reply({ type: 'answer', text: FIVE_WORDS, interrupt: { afterChunks: 1, with: 'malformed' } });
      const { text, usageEvents, error } = await drain(adapter.stream(endpoint, chatRequest(), apiKey));
      assertProviderError(error, 'network');
      assert.match(error.message, /broken/);
      assert.equal(text, 'one');
      assert.equal(usageEvents.length, 0);
    });

    test('stream that ends cleanly before its closing frames → network', async () => {
      fake.reply({ type: 'answer', text: FIVE_WORDS, interrupt: { afterChunks: 3, with: 'end' } });
      const { text, usageEvents, error } = await drain(adapter.stream(endpoint, chatRequest(), apiKey));
      assertProviderError(error, 'network');
      assert.equal(text, 'one two three');
      assert.equal(usageEvents.length, 0);
    });

    test('error reported inside the stream → server, with its message', async () => {
      fake.reply({
        type: 'answer',
        text: FIVE_WORDS,
        interrupt: { afterChunks: 2, with: { error: { message: 'model runner crashed mid-answer' } } },
      });
      const { text, error } = await drain(adapter.stream(endpoint, chatRequest(), apiKey));
      assertProviderError(error, 'server');
      assert.match(error.message, /model runner crashed mid-answer/);
      assert.equal(text, 'one two');
    });

    test('slow stream past timeoutMs → timeout, and the HTTP request is closed', async () => {
      fake.reply({ type: 'answer', text: FIVE_WORDS, chunkDelayMs: 600 });
      const startedMs = Date.now();
      const { text, error } = await drain(adapter.stream(endpoint, chatRequest({ timeoutMs: 300 }), apiKey));
      const elapsedMs = Date.now() - startedMs;
      assertProviderError(error, 'timeout');
      assert.match(error.message, /within 0\.3s/);
      assert.equal(text, 'one');
      assert.ok(elapsedMs < 1_500, `took ${elapsedMs} ms, the full answer takes 2.4 s`);
      assert.equal(await fake.settled(fake.requests[0]), 'clientClosed');
      assert.equal(error.isFallbackWorthy, true);
    });

    test('no response headers before timeoutMs → timeout', async () => {
      fake.reply({ type: 'answer', text: FIVE_WORDS, headersDelayMs: 3_000 });
      const { error } = await drain(adapter.stream(endpoint, chatRequest({ timeoutMs: 200 }), apiKey));
      assertProviderError(error, 'timeout');
      assert.equal(await fake.settled(fake.requests[0]), 'clientClosed');
    });

    test('caller abort mid-stream → cancelled, and the fake sees the connection close', async () => {
      fake.reply({ type: 'answer', text: FIVE_WORDS, chunkDelayMs: 150 });
      const controller = new AbortController();
      const { text, error } = await drain(
        adapter.stream(endpoint, chatRequest({ signal: controller.signal, timeoutMs: 10_000 }), apiKey),
        (_text, index) => index === 1 && controller.abort(),
      );
      assertProviderError(error, 'cancelled');
      assert.equal(text, 'one two');
      assert.equal(await fake.settled(fake.requests[0]), 'clientClosed');
      assert.equal(error.isFallbackWorthy, false);
    });

    test('already-aborted signal → cancelled without a request', async () => {
      const { error } = await drain(
        adapter.stream(endpoint, chatRequest({ signal: AbortSignal.abort() }), apiKey),
      );
      assertProviderError(error, 'cancelled');
      assert.equal(fake.requests.length, 0);
    });

    test('consumer that stops reading early closes the HTTP request', async () => {
      fake.reply({ type: 'answer', text: FIVE_WORDS, chunkDelayMs: 100 });
      for await (const event of adapter.stream(endpoint, chatRequest(), apiKey)) {
        assert.deepEqual(event, { type: 'text', text: 'one' });
        break;
      }
      assert.equal(await fake.settled(fake.requests[0]), 'clientClosed');
    });

    test('nothing listening → network', async () => {
      const port = await closedPort();
      const unreachable: EndpointConfig = { ...endpoint, baseUrl: fake.baseUrl.replace(/:\d+/, `:${port}`) };
      const { error } = await drain(adapter.stream(unreachable, chatRequest(), apiKey));
      assertProviderError(error, 'network');
      assert.match(error.message, /ECONNREFUSED/);
    });

    test('listModels returns the server ids', async () => {
      assert.deepEqual(await adapter.listModels(endpoint, apiKey), providerCase.models);
      assert.equal(fake.requests[0].method, 'GET');
    });

    test('listModels failure → typed error', async () => {
      fake.enqueue('models', { type: 'error', status: 503, message: 'maintenance' });
      await assert.rejects(adapter.listModels(endpoint, apiKey), (error) => {
        assertProviderError(error, 'server');
        assert.equal(error.details.status, 503);
        return true;
      });
    });

    test('listModels honours its signal', async () => {
      await assert.rejects(adapter.listModels(endpoint, apiKey, AbortSignal.abort()), (error) => {
        assertProviderError(error, 'cancelled');
        return true;
      });
    });
  });
}
