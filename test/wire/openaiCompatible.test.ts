import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { OpenAICompatibleAdapter, outputLimitParam } from '../../extension/providers/openaiCompatible';
import { ProviderError, type ChatRequest } from '../../extension/providers/types';
import type { EndpointConfig } from '../../extension/router/config';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { drain } from '../fakes/streams';

const adapter = new OpenAICompatibleAdapter();
const API_KEY = 'sk-test-openai-abcdef';

function chatRequest(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    system: 'You refactor TypeScript.',
    stableContext: 'File: router.ts\nexport class Router {}',
    messages: [{ role: 'user', content: 'Extract a method.' }],
    maxOutputTokens: 1_024,
    timeoutMs: 5_000,
    ...overrides,
  };
}

interface CompletionBody {
  model: string;
  messages: Array<{ role: string; content: string }>;
  stream: boolean;
  stream_options?: { include_usage: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  response_format?: { type: string };
}

describe('openai-compatible adapter on the wire', () => {
  let fake: FakeOpenAI;
  let endpoint: EndpointConfig;

  before(async () => {
    fake = await startFakeOpenAI();
    endpoint = { provider: 'openai', model: 'gpt-5-mini', baseUrl: fake.baseUrl };
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  test('streams deltas; usage splits cached prompt tokens out and keeps reasoning tokens', async () => {
    fake.reply({
      type: 'answer',
      text: ['const ', 'x = ', '1;'],
      usage: {
        prompt_tokens: 2_000,
        completion_tokens: 700,
        prompt_tokens_details: { cached_tokens: 1_536 },
        completion_tokens_details: { reasoning_tokens: 512 },
      },
      stopReason: 'stop',
    });
    const { texts, usageEvents, error } = await drain(adapter.stream(endpoint, chatRequest(), API_KEY));
    assert.equal(error, undefined);
    assert.deepEqual(texts, ['const ', 'x = ', '1;']);
    assert.deepEqual(usageEvents, [
      {
        type: 'usage',
        usage: {
          inputTokens: 464,
          outputTokens: 700,
          cacheReadTokens: 1_536,
          cacheWrite5mTokens: 0,
          cacheWrite1hTokens: 0,
          reasoningTokens: 512,
        },
        stopReason: 'stop',
        usageReported: true,
      },
    ]);
  });

  test('the request: system first, include_usage, max_tokens for a non-OpenAI host, the key as bearer', async () => {
    fake.reply({ type: 'answer', text: 'ok' });
    await drain(adapter.stream(endpoint, chatRequest({ temperature: 0.3 }), API_KEY));
    const [request] = fake.requests;
    assert.equal(request.path, '/v1/chat/completions');
    assert.equal(request.headers.authorization, `Bearer ${API_KEY}`);
    const body = request.body as CompletionBody;
    assert.equal(body.model, 'gpt-5-mini');
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.equal(body.max_tokens, 1_024);
    assert.equal('max_completion_tokens' in body, false);
    assert.equal(body.temperature, 0.3);
    assert.equal('response_format' in body, false);
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'You refactor TypeScript.\n\nFile: router.ts\nexport class Router {}' },
      { role: 'user', content: 'Extract a method.' },
    ]);
    // The cacheable prefix is byte-identical across calls with the same system and stable context.
    fake.reply({ type: 'answer', text: 'ok' });
    await drain(adapter.stream(endpoint, chatRequest({ messages: [{ role: 'user', content: 'Now inline it.' }] }), API_KEY));
    const prefix = request.rawBody.slice(0, request.rawBody.indexOf('Extract a method.'));
    assert.ok(fake.requests[1].rawBody.startsWith(prefix));
  });

  test('api.openai.com and Azure get max_completion_tokens; every other server max_tokens', () => {
    assert.equal(outputLimitParam('https://api.openai.com/v1'), 'max_completion_tokens');
    assert.equal(outputLimitParam('https://tierwise.openai.azure.com/openai/v1'), 'max_completion_tokens');
    assert.equal(outputLimitParam('http://127.0.0.1:1234/v1'), 'max_tokens');
    assert.equal(outputLimitParam('https://openrouter.ai/api/v1'), 'max_tokens');
    assert.equal(outputLimitParam('not a url'), 'max_tokens');
  });

  test('a server that sends no usage chunk → zeros with usageReported false', async () => {
    fake.reply({ type: 'answer', text: 'ok', usage: null });
    const { text, usageEvents, error } = await drain(adapter.stream(endpoint, chatRequest(), API_KEY));
    assert.equal(error, undefined);
    assert.equal(text, 'ok');
    assert.equal(usageEvents.length, 1);
    assert.deepEqual(usageEvents[0].usage, {
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      reasoningTokens: 0,
    });
    assert.equal(usageEvents[0].usageReported, false);
  });

  test('json requests send response_format json_object', async () => {
    fake.reply({ type: 'answer', text: '{"ok":true}' });
    const { text } = await drain(adapter.stream(endpoint, chatRequest({ json: true }), API_KEY));
    assert.equal(text, '{"ok":true}');
    assert.deepEqual((fake.requests[0].body as CompletionBody).response_format, { type: 'json_object' });
  });

  test('a server that rejects response_format is asked once more without it', async () => {
    fake.reply(
      { type: 'error', status: 400, message: "'response_format.type' must be 'json_schema' or 'text'" },
      { type: 'answer', text: '{"ok":true}' },
    );
    const { text, error } = await drain(adapter.stream(endpoint, chatRequest({ json: true, temperature: 0.1 }), API_KEY));
    assert.equal(error, undefined);
    assert.equal(text, '{"ok":true}');
    assert.equal(fake.requests.length, 2);
    const retried = fake.requests[1].body as CompletionBody;
    assert.equal('response_format' in retried, false);
    assert.equal(retried.temperature, 0.1);
  });

  test('a model that rejects temperature is asked once more without it; a second rejection is typed', async () => {
    const unsupported = "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.";
    fake.reply(
      { type: 'error', status: 400, message: unsupported },
      { type: 'error', status: 400, message: 'Unsupported parameter: something else' },
    );
    const { error } = await drain(adapter.stream(endpoint, chatRequest({ temperature: 0.2 }), API_KEY));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'badRequest');
    assert.match(error.message, /something else/);
    assert.equal(fake.requests.length, 2);
    assert.equal('temperature' in (fake.requests[1].body as CompletionBody), false);
  });

  test('no key for a remote endpoint → auth naming OPENAI_API_KEY, before any request', async () => {
    const remote: EndpointConfig = { ...endpoint, local: false };
    const { error } = await drain(adapter.stream(remote, chatRequest(), undefined));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'auth');
    assert.equal(
      error.message,
      `OpenAI-compatible gpt-5-mini at ${fake.baseUrl} needs an API key: set OPENAI_API_KEY or run "Tierwise: Set API Key".`,
    );
    await assert.rejects(adapter.listModels(remote, undefined), (listError) => {
      assert.ok(listError instanceof ProviderError && listError.kind === 'auth');
      return true;
    });
    assert.equal(fake.requests.length, 0);
  });

  test('the missing-key error names the endpoint\'s own apiKeyEnv', async () => {
    const groq: EndpointConfig = { provider: 'openai', model: 'llama-3.3-70b', baseUrl: 'https://api.groq.com/openai/v1', apiKeyEnv: 'GROQ_API_KEY' };
    const { error } = await drain(adapter.stream(groq, chatRequest(), undefined));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'auth');
    assert.match(error.message, /set GROQ_API_KEY or run "Tierwise: Set API Key"/);
  });

  test('a local server without a key gets a placeholder key', async () => {
    fake.reply({ type: 'answer', text: 'ok' });
    const { error } = await drain(adapter.stream(endpoint, chatRequest(), undefined));
    assert.equal(error, undefined);
    assert.equal(fake.requests[0].headers.authorization, 'Bearer not-needed');
  });

  test('429 with an HTTP-date Retry-After', async () => {
    const retryAt = new Date(Date.now() + 30_000).toUTCString();
    fake.reply({ type: 'error', status: 429, message: 'Rate limit reached', headers: { 'retry-after': retryAt } });
    const { error } = await drain(adapter.stream(endpoint, chatRequest(), API_KEY));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'rateLimit');
    const waitMs = error.details.retryAfterMs ?? -1;
    // An HTTP date has whole seconds.
    assert.ok(waitMs > 28_000 && waitMs <= 30_000, `retryAfterMs ${waitMs}`);
  });

  test('listModels lists /v1/models ids', async () => {
    fake.enqueue('models', { type: 'models', ids: ['qwen2.5-coder-14b-instruct', 'text-embedding-nomic'] });
    assert.deepEqual(await adapter.listModels(endpoint, undefined), ['qwen2.5-coder-14b-instruct', 'text-embedding-nomic']);
    assert.equal(fake.requests[0].path, '/v1/models');
  });
});
