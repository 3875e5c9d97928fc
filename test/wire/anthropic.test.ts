import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AnthropicAdapter, systemBlocks } from '../../extension/providers/anthropic';
import { ProviderError, type ChatRequest } from '../../extension/providers/types';
import type { EndpointConfig } from '../../extension/router/config';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { drain } from '../fakes/streams';

const adapter = new AnthropicAdapter();
const API_KEY = 'sk-ant-api03-test-key';
const SYSTEM = 'You plan multi-file changes.';
const STABLE_CONTEXT = 'Workspace outline:\nextension/router/router.ts\nextension/providers/types.ts';

function chatRequest(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    system: SYSTEM,
    stableContext: STABLE_CONTEXT,
    messages: [{ role: 'user', content: 'Plan: add a budget cap.' }],
    maxOutputTokens: 8_192,
    timeoutMs: 5_000,
    ...overrides,
  };
}

interface MessagesBody {
  model: string;
  max_tokens: number;
  system?: unknown[];
  messages: Array<{ role: string; content: string }>;
  stream: boolean;
}

/** The raw JSON text of the `system` array as it went over the wire. */
function rawSystem(rawBody: string): string {
  const start = rawBody.indexOf('"system":');
  const end = rawBody.indexOf(',"messages":');
  assert.ok(start >= 0 && end > start, rawBody);
  return rawBody.slice(start, end);
}

describe('anthropic adapter on the wire', () => {
  let fake: FakeAnthropic;
  let endpoint: EndpointConfig;

  before(async () => {
    fake = await startFakeAnthropic();
    endpoint = { provider: 'anthropic', model: 'claude-sonnet-4-5', baseUrl: fake.baseUrl };
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  test('streams text; usage has input, output, cache reads, 5m and 1h cache writes and thinking tokens', async () => {
    fake.reply({
      type: 'answer',
      text: ['1. Add ', 'a cap', '.'],
      usage: {
        input_tokens: 120,
        output_tokens: 950,
        cache_read_input_tokens: 4_000,
        cache_creation_input_tokens: 3_000,
        cache_creation: { ephemeral_5m_input_tokens: 2_000, ephemeral_1h_input_tokens: 1_000 },
        output_tokens_details: { thinking_tokens: 400 },
      },
      stopReason: 'end_turn',
    });
    const { texts, usageEvents, error } = await drain(adapter.stream(endpoint, chatRequest(), API_KEY));
    assert.equal(error, undefined);
    assert.deepEqual(texts, ['1. Add ', 'a cap', '.']);
    assert.deepEqual(usageEvents, [
      {
        type: 'usage',
        usage: {
          inputTokens: 120,
          outputTokens: 950,
          cacheReadTokens: 4_000,
          cacheWrite5mTokens: 2_000,
          cacheWrite1hTokens: 1_000,
          reasoningTokens: 400,
        },
        stopReason: 'end_turn',
        usageReported: true,
      },
    ]);
  });

  test('a cache-write total without the TTL breakdown counts as 5m writes', async () => {
    fake.reply({
      type: 'answer',
      text: 'ok',
      usage: { input_tokens: 30, output_tokens: 2, cache_creation_input_tokens: 2_500 },
      stopReason: 'max_tokens',
    });
    const { usageEvents } = await drain(adapter.stream(endpoint, chatRequest(), API_KEY));
    assert.equal(usageEvents[0].usage.cacheWrite5mTokens, 2_500);
    assert.equal(usageEvents[0].usage.cacheWrite1hTokens, 0);
    assert.equal(usageEvents[0].usage.outputTokens, 2);
    assert.equal(usageEvents[0].stopReason, 'max_tokens');
  });

  test('system blocks: the prompt, then the stable context carrying the cache breakpoint', async () => {
    fake.reply({ type: 'answer', text: 'ok' });
    await drain(adapter.stream(endpoint, chatRequest(), API_KEY));
    const [request] = fake.requests;
    assert.equal(request.path, '/v1/messages');
    const body = request.body as MessagesBody;
    assert.equal(body.model, 'claude-sonnet-4-5');
    assert.equal(body.max_tokens, 8_192);
    assert.equal(body.stream, true);
    assert.deepEqual(body.system, [
      { type: 'text', text: SYSTEM },
      { type: 'text', text: STABLE_CONTEXT, cache_control: { type: 'ephemeral' } },
    ]);
    assert.deepEqual(body.messages, [{ role: 'user', content: 'Plan: add a budget cap.' }]);
    assert.equal('temperature' in body, false);
    assert.ok(String(request.headers.authorization ?? request.headers['x-api-key']).includes(API_KEY));
    assert.ok(request.headers['anthropic-version']);
  });

  test('system blocks are byte-identical between calls that share system and stable context', async () => {
    fake.reply({ type: 'answer', text: 'one' }, { type: 'answer', text: 'two' });
    await drain(adapter.stream(endpoint, chatRequest(), API_KEY));
    await drain(
      adapter.stream(
        endpoint,
        chatRequest({
          messages: [
            { role: 'user', content: 'Plan: add a budget cap.' },
            { role: 'assistant', content: 'one' },
            { role: 'user', content: 'And a soft warning.' },
          ],
          maxOutputTokens: 8_192,
        }),
        API_KEY,
      ),
    );
    const [first, second] = fake.requests.map((request) => request.rawBody);
    assert.equal(rawSystem(first), rawSystem(second));
    // Everything before the messages (model, max_tokens, system) is the same bytes, so the cached prefix matches.
    assert.equal(first.slice(0, first.indexOf(',"messages":')), second.slice(0, second.indexOf(',"messages":')));
    assert.equal(
      rawSystem(first),
      `"system":${JSON.stringify([
        { type: 'text', text: SYSTEM },
        { type: 'text', text: STABLE_CONTEXT, cache_control: { type: 'ephemeral' } },
      ])}`,
    );
  });

  test('without stable context the system prompt carries the breakpoint; with neither there is no system', async () => {
    assert.deepEqual(systemBlocks({ system: SYSTEM }), [
      { type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } },
    ]);
    assert.deepEqual(systemBlocks({ stableContext: STABLE_CONTEXT }), [
      { type: 'text', text: STABLE_CONTEXT, cache_control: { type: 'ephemeral' } },
    ]);
    fake.reply({ type: 'answer', text: 'ok' });
    await drain(adapter.stream(endpoint, chatRequest({ system: undefined, stableContext: undefined }), API_KEY));
    assert.equal('system' in (fake.requests[0].body as MessagesBody), false);
  });

  test('no key → auth naming ANTHROPIC_API_KEY, before any request', async () => {
    const { error } = await drain(adapter.stream(endpoint, chatRequest(), undefined));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'auth');
    assert.equal(
      error.message,
      `Anthropic claude-sonnet-4-5 at ${fake.baseUrl} needs an API key: set ANTHROPIC_API_KEY or run "Tierwise: Set API Key".`,
    );
    await assert.rejects(adapter.listModels(endpoint, undefined), ProviderError);
    assert.equal(fake.requests.length, 0);
  });

  test('no key → the endpoint\'s own apiKeyEnv is named', async () => {
    const { error } = await drain(adapter.stream({ ...endpoint, apiKeyEnv: 'WORK_ANTHROPIC_KEY' }, chatRequest(), ''));
    assert.ok(error instanceof ProviderError);
    assert.match(error.message, /set WORK_ANTHROPIC_KEY or run/);
    assert.equal(fake.requests.length, 0);
  });

  test('529 overloaded → server', async () => {
    fake.reply({ type: 'error', status: 529, message: 'Overloaded' });
    const { error } = await drain(adapter.stream(endpoint, chatRequest(), API_KEY));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'server');
    assert.equal(error.details.status, 529);
    assert.match(error.message, /overloaded \(HTTP 529: Overloaded\)/);
  });

  test('413 request_too_large → contextOverflow', async () => {
    fake.reply({ type: 'error', status: 413, message: 'Request exceeds the maximum allowed number of bytes.' });
    const { error } = await drain(adapter.stream(endpoint, chatRequest(), API_KEY));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'contextOverflow');
  });

  test('a rate_limit_error event mid-stream → rateLimit', async () => {
    fake.reply({
      type: 'answer',
      text: 'a b c',
      interrupt: { afterChunks: 1, with: { error: { errorType: 'rate_limit_error', message: 'Output rate limit exceeded' } } },
    });
    const { text, error } = await drain(adapter.stream(endpoint, chatRequest(), API_KEY));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'rateLimit');
    assert.equal(text, 'a');
  });

  test('listModels lists /v1/models ids', async () => {
    fake.enqueue('models', { type: 'models', ids: ['claude-opus-4-5', 'claude-haiku-4-5'] });
    assert.deepEqual(await adapter.listModels(endpoint, API_KEY), ['claude-opus-4-5', 'claude-haiku-4-5']);
    assert.equal(fake.requests[0].path.split('?')[0], '/v1/models');
  });
});
