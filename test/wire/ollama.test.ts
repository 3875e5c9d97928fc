import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { OllamaAdapter } from '../../extension/providers/ollama';
import { ProviderError, type ChatRequest } from '../../extension/providers/types';
import type { EndpointConfig } from '../../extension/router/config';
import { startFakeOllama, type FakeOllama } from '../fakes/ollama';
import { drain } from '../fakes/streams';

const adapter = new OllamaAdapter();

function chatRequest(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    system: 'You write commit messages.',
    stableContext: 'Repository: tierwise',
    messages: [
      { role: 'user', content: 'diff --git a/x b/x' },
      { role: 'assistant', content: 'Fix x' },
      { role: 'user', content: 'Shorter.' },
    ],
    maxOutputTokens: 256,
    temperature: 0.2,
    timeoutMs: 5_000,
    ...overrides,
  };
}

interface OllamaChatBody {
  model: string;
  stream: boolean;
  messages: Array<{ role: string; content: string }>;
  options: { num_ctx?: number; num_predict?: number; temperature?: number };
  keep_alive?: string;
  format?: string;
}

describe('ollama adapter on the wire', () => {
  let fake: FakeOllama;
  let endpoint: EndpointConfig;

  before(async () => {
    fake = await startFakeOllama();
    endpoint = {
      provider: 'ollama',
      model: 'qwen2.5-coder:7b',
      baseUrl: fake.baseUrl,
      contextWindowTokens: 32_768,
      numCtx: 16_384,
      keepAlive: '10m',
    };
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  test('streams text deltas and takes usage from the final done chunk', async () => {
    fake.reply({
      type: 'answer',
      text: ['Fix', ' the', ' router'],
      usage: { prompt_eval_count: 431, eval_count: 3 },
      stopReason: 'stop',
    });
    const { texts, usageEvents, error } = await drain(adapter.stream(endpoint, chatRequest(), undefined));
    assert.equal(error, undefined);
    assert.deepEqual(texts, ['Fix', ' the', ' router']);
    assert.deepEqual(usageEvents, [
      {
        type: 'usage',
        usage: {
          inputTokens: 431,
          outputTokens: 3,
          cacheReadTokens: 0,
          cacheWrite5mTokens: 0,
          cacheWrite1hTokens: 0,
          reasoningTokens: 0,
        },
        stopReason: 'stop',
        usageReported: true,
      },
    ]);
  });

  test('sends num_ctx, num_predict, temperature, keep_alive and one leading system message', async () => {
    fake.reply({ type: 'answer', text: 'ok' });
    await drain(adapter.stream(endpoint, chatRequest(), undefined));
    const [request] = fake.requests;
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/api/chat');
    const body = request.body as OllamaChatBody;
    assert.equal(body.model, 'qwen2.5-coder:7b');
    assert.equal(body.stream, true);
    assert.deepEqual(body.options, { num_ctx: 16_384, num_predict: 256, temperature: 0.2 });
    assert.equal(body.keep_alive, '10m');
    assert.equal(body.format, undefined);
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'You write commit messages.\n\nRepository: tierwise' },
      { role: 'user', content: 'diff --git a/x b/x' },
      { role: 'assistant', content: 'Fix x' },
      { role: 'user', content: 'Shorter.' },
    ]);
    assert.equal(request.headers.authorization, undefined);
  });

  test('num_ctx falls back to contextWindowTokens; keep_alive and temperature are left out when unset', async () => {
    fake.reply({ type: 'answer', text: 'ok' });
    const bare: EndpointConfig = { provider: 'ollama', model: 'llama3.2', baseUrl: fake.baseUrl, contextWindowTokens: 8_192 };
    await drain(adapter.stream(bare, chatRequest({ temperature: undefined, system: undefined, stableContext: undefined }), undefined));
    const body = fake.requests[0].body as OllamaChatBody;
    assert.deepEqual(body.options, { num_ctx: 8_192, num_predict: 256 });
    assert.equal('keep_alive' in body, false);
    assert.equal(body.messages[0].role, 'user');
  });

  test('json requests ask for format "json"', async () => {
    fake.reply({ type: 'answer', text: '{"files":["a.ts"]}' });
    const { text } = await drain(adapter.stream(endpoint, chatRequest({ json: true }), undefined));
    assert.equal(text, '{"files":["a.ts"]}');
    assert.equal((fake.requests[0].body as OllamaChatBody).format, 'json');
  });

  test('a final chunk without counts → zeros with usageReported false', async () => {
    fake.reply({ type: 'answer', text: 'ok', usage: null });
    const { usageEvents } = await drain(adapter.stream(endpoint, chatRequest(), undefined));
    assert.equal(usageEvents.length, 1);
    assert.equal(usageEvents[0].usage.inputTokens, 0);
    assert.equal(usageEvents[0].usage.outputTokens, 0);
    assert.equal(usageEvents[0].usageReported, false);
  });

  test('a key, when configured (authenticating proxy, ollama.com), is sent as a bearer token', async () => {
    fake.reply({ type: 'answer', text: 'ok' });
    await drain(adapter.stream(endpoint, chatRequest(), 'proxy-secret'));
    assert.equal(fake.requests[0].headers.authorization, 'Bearer proxy-secret');
  });

  test('a 404 for an unpulled model names the model and the server wording', async () => {
    fake.reply({ type: 'error', status: 404, message: 'model "qwen2.5-coder:7b" not found, try pulling it first' });
    const { error } = await drain(adapter.stream(endpoint, chatRequest(), undefined));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'badRequest');
    assert.equal(
      error.message,
      `Ollama qwen2.5-coder:7b at ${fake.baseUrl}: rejected the request (HTTP 404: model "qwen2.5-coder:7b" not found, try pulling it first).`,
    );
  });

  test('a 401 without a key env names only the command', async () => {
    fake.reply({ type: 'error', status: 401, message: 'unauthorized' });
    const { error } = await drain(adapter.stream(endpoint, chatRequest(), undefined));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'auth');
    assert.match(error.message, /Check the key: run "Tierwise: Set API Key"\.$/);
  });

  test('listModels lists /api/tags names', async () => {
    fake.enqueue('models', { type: 'models', ids: ['qwen2.5-coder:7b', 'nomic-embed-text:latest'] });
    assert.deepEqual(await adapter.listModels(endpoint, undefined), ['qwen2.5-coder:7b', 'nomic-embed-text:latest']);
    assert.equal(fake.requests[0].path, '/api/tags');
  });
});
