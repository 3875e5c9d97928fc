/**
 * Non-streamed answers: an upstream's JSON response of protocol B, parsed by B's codec and written by A's, read back
 * here without the codecs. Also: the streamed and non-streamed paths agree, and collect() assembles the same answer.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  codecFor,
  collect,
  eventsOf,
  PROTOCOLS,
  translateStopReason,
  translateUsage,
  UpstreamReportedError,
  type IRPart,
  type Protocol,
} from '../../extension/gateway/translate/index';

const TEXT = "I'll read both files — ünïcödé ✓ 🚀.";
const READ_ARGS = { path: 'src/a.ts', limit: 200 };
const GREP_ARGS = { pattern: 'TODO', glob: '**/*.ts' };
const THINKING = 'The user wants two files.';

const UPSTREAM_JSON: Record<Protocol, unknown> = {
  anthropic: {
    id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content: [
      { type: 'thinking', thinking: THINKING, signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' },
      { type: 'text', text: TEXT },
      { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'read_file', input: READ_ARGS },
      { type: 'tool_use', id: 'toolu_01B7xWq3vT8sQ2pLk9mN4rYz', name: 'grep', input: GREP_ARGS },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: {
      input_tokens: 150,
      cache_creation_input_tokens: 300,
      cache_read_input_tokens: 1000,
      cache_creation: { ephemeral_5m_input_tokens: 300, ephemeral_1h_input_tokens: 0 },
      output_tokens: 87,
      service_tier: 'standard',
    },
  },
  openaiChat: {
    id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
    object: 'chat.completion',
    created: 1741570283,
    model: 'gpt-4.1-2025-04-14',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: TEXT,
          reasoning_content: THINKING,
          tool_calls: [
            { id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', type: 'function', function: { name: 'read_file', arguments: JSON.stringify(READ_ARGS) } },
            { id: 'call_Xk2Lq8HnW4tRzE9vJmA3bPcY', type: 'function', function: { name: 'grep', arguments: JSON.stringify(GREP_ARGS) } },
          ],
          refusal: null,
          annotations: [],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage: {
      prompt_tokens: 1450,
      completion_tokens: 87,
      total_tokens: 1537,
      prompt_tokens_details: { cached_tokens: 1000, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    },
    service_tier: 'default',
  },
  openaiResponses: {
    id: 'resp_68af4030592c81938ec0a5fbab4a3e9f05438e46b5f69a3b',
    object: 'response',
    created_at: 1756315696,
    status: 'completed',
    error: null,
    incomplete_details: null,
    model: 'gpt-5-codex',
    output: [
      { id: 'rs_68af40312c6c8193', type: 'reasoning', encrypted_content: 'gAAAAABor0Ax1kCqU9vZsTnB7hPj3mR2oWq', summary: [{ type: 'summary_text', text: '**Planning** reading two files.' }] },
      { id: 'msg_68af4032e4f08193', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text: TEXT }] },
      { id: 'fc_68af4033b1e08193', type: 'function_call', status: 'completed', arguments: JSON.stringify(READ_ARGS), call_id: 'call_kQ5ZJ3g8h7Yv2WmXbN4rT6sD', name: 'read_file' },
      { id: 'fc_68af4033c9d48193', type: 'function_call', status: 'completed', arguments: JSON.stringify(GREP_ARGS), call_id: 'call_P9sLm2Xq7Vr4TzE8wYbC1nGh', name: 'grep' },
    ],
    usage: { input_tokens: 1450, input_tokens_details: { cached_tokens: 1000 }, output_tokens: 87, output_tokens_details: { reasoning_tokens: 20 }, total_tokens: 1537 },
  },
  ollama: {
    model: 'qwen3:8b',
    created_at: '2025-06-01T10:00:01.200000Z',
    message: {
      role: 'assistant',
      content: TEXT,
      thinking: THINKING,
      tool_calls: [{ function: { name: 'read_file', arguments: READ_ARGS } }, { function: { name: 'grep', arguments: GREP_ARGS } }],
    },
    done: true,
    done_reason: 'stop',
    total_duration: 4883583458,
    load_duration: 1334875,
    prompt_eval_count: 1450,
    prompt_eval_duration: 342546000,
    eval_count: 87,
    eval_duration: 4535599000,
  },
};

const IDS: Record<Protocol, [string, string]> = {
  anthropic: ['toolu_01A09q90qw90lq917835lq9', 'toolu_01B7xWq3vT8sQ2pLk9mN4rYz'],
  openaiChat: ['call_DdmO9pD3xa9XTPNJ32zg2hcA', 'call_Xk2Lq8HnW4tRzE9vJmA3bPcY'],
  openaiResponses: ['call_kQ5ZJ3g8h7Yv2WmXbN4rT6sD', 'call_P9sLm2Xq7Vr4TzE8wYbC1nGh'],
  ollama: ['call_fixed_0', 'call_fixed_1'],
};

const IR_USAGE: Record<Protocol, { input: number; read: number; write5m: number; output: number; reasoning: number }> = {
  anthropic: { input: 150, read: 1000, write5m: 300, output: 87, reasoning: 0 },
  openaiChat: { input: 450, read: 1000, write5m: 0, output: 87, reasoning: 0 },
  openaiResponses: { input: 450, read: 1000, write5m: 0, output: 87, reasoning: 20 },
  ollama: { input: 1450, read: 0, write5m: 0, output: 87, reasoning: 0 },
};

const FAMILY: Record<Protocol, string> = { anthropic: 'anthropic', openaiResponses: 'openai', openaiChat: 'other', ollama: 'other' };

interface Seen {
  id: unknown;
  model: unknown;
  text: string;
  thinking: string;
  calls: Array<{ id: string; name: string; args: unknown }>;
  stop: unknown;
  promptTokens: unknown;
  cachedTokens: unknown;
  outputTokens: unknown;
}

/** Reads a client-facing body the way that protocol's clients do. */
function read(client: Protocol, body: any): Seen {
  switch (client) {
    case 'anthropic':
      assert.equal(body.type, 'message');
      return {
        id: body.id,
        model: body.model,
        text: body.content.filter((block: any) => block.type === 'text').map((block: any) => block.text).join(''),
        thinking: body.content.filter((block: any) => block.type === 'thinking').map((block: any) => block.thinking).join(''),
        calls: body.content.filter((block: any) => block.type === 'tool_use').map((block: any) => ({ id: block.id, name: block.name, args: block.input })),
        stop: body.stop_reason,
        promptTokens: body.usage.input_tokens + body.usage.cache_read_input_tokens + body.usage.cache_creation_input_tokens,
        cachedTokens: body.usage.cache_read_input_tokens,
        outputTokens: body.usage.output_tokens,
      };
    case 'openaiChat': {
      assert.equal(body.object, 'chat.completion');
      const message = body.choices[0].message;
      return {
        id: body.id,
        model: body.model,
        text: message.content ?? '',
        thinking: message.reasoning_content ?? '',
        calls: (message.tool_calls ?? []).map((call: any) => ({ id: call.id, name: call.function.name, args: JSON.parse(call.function.arguments) })),
        stop: body.choices[0].finish_reason,
        promptTokens: body.usage.prompt_tokens,
        cachedTokens: body.usage.prompt_tokens_details.cached_tokens,
        outputTokens: body.usage.completion_tokens,
      };
    }
    case 'openaiResponses':
      assert.equal(body.object, 'response');
      return {
        id: body.id,
        model: body.model,
        text: body.output.filter((item: any) => item.type === 'message').flatMap((item: any) => item.content.map((part: any) => part.text)).join(''),
        thinking: body.output.filter((item: any) => item.type === 'reasoning').flatMap((item: any) => item.summary.map((part: any) => part.text)).join(''),
        calls: body.output.filter((item: any) => item.type === 'function_call').map((item: any) => ({ id: item.call_id, name: item.name, args: JSON.parse(item.arguments) })),
        stop: body.status,
        promptTokens: body.usage.input_tokens,
        cachedTokens: body.usage.input_tokens_details.cached_tokens,
        outputTokens: body.usage.output_tokens,
      };
    case 'ollama':
      assert.equal(body.done, true);
      return {
        id: undefined,
        model: body.model,
        text: body.message.content,
        thinking: body.message.thinking ?? '',
        calls: (body.message.tool_calls ?? []).map((call: any) => ({ id: call.id, name: call.function.name, args: call.function.arguments })),
        stop: body.done_reason,
        promptTokens: body.prompt_eval_count,
        cachedTokens: undefined,
        outputTokens: body.eval_count,
      };
  }
}

const TOOL_STOP: Record<Protocol, string> = { anthropic: 'tool_use', openaiChat: 'tool_calls', openaiResponses: 'completed', ollama: 'stop' };
const CLIENT_ID: Record<Protocol, string | undefined> = { anthropic: 'msg_gw1', openaiChat: 'chatcmpl-gw1', openaiResponses: 'resp_gw1', ollama: undefined };

describe('non-streamed answers between every pair of protocols', () => {
  for (const upstream of PROTOCOLS) {
    for (const client of PROTOCOLS) {
      test(`${upstream} upstream → ${client} client`, () => {
        const response = codecFor(upstream).parseResponse(UPSTREAM_JSON[upstream], { toolCallIdPrefix: 'call_fixed' });
        const body = codecFor(client).encodeResponse(response, { id: CLIENT_ID[client] ?? 'unused', model: 'tierwise-routed' });
        const seen = read(client, JSON.parse(JSON.stringify(body)));
        const usage = IR_USAGE[upstream];
        const sameFamily = FAMILY[upstream] === FAMILY[client];
        assert.deepEqual(seen, {
          id: CLIENT_ID[client],
          model: 'tierwise-routed',
          text: TEXT,
          thinking: sameFamily ? (upstream === 'openaiResponses' ? '**Planning** reading two files.' : THINKING) : '',
          calls: [
            { id: IDS[upstream][0], name: 'read_file', args: READ_ARGS },
            { id: IDS[upstream][1], name: 'grep', args: GREP_ARGS },
          ],
          stop: TOOL_STOP[client],
          promptTokens: 1450,
          cachedTokens: client === 'ollama' ? undefined : usage.read,
          outputTokens: 87,
        });
      });
    }
  }

  test('usage in IR terms: cache reads and writes apart from plain input', () => {
    for (const upstream of PROTOCOLS) {
      const usage = IR_USAGE[upstream];
      assert.deepEqual(
        codecFor(upstream).parseResponse(UPSTREAM_JSON[upstream]).usage,
        {
          inputTokens: usage.input,
          outputTokens: usage.output,
          cacheReadTokens: usage.read,
          cacheWrite5mTokens: usage.write5m,
          cacheWrite1hTokens: 0,
          reasoningTokens: usage.reasoning,
        },
        upstream,
      );
    }
  });

  test('Anthropic → Anthropic keeps the thinking signature; Responses → Responses keeps the encrypted reasoning', () => {
    const claude = codecFor('anthropic').encodeResponse(codecFor('anthropic').parseResponse(UPSTREAM_JSON.anthropic), { id: 'msg_x', model: 'm' });
    assert.deepEqual((claude.content as unknown[])[0], { type: 'thinking', thinking: THINKING, signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' });
    const codex = codecFor('openaiResponses').encodeResponse(codecFor('openaiResponses').parseResponse(UPSTREAM_JSON.openaiResponses), { id: 'resp_x', model: 'm' });
    assert.deepEqual((codex.output as unknown[])[0], {
      id: 'rs_68af40312c6c8193',
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: '**Planning** reading two files.' }],
      encrypted_content: 'gAAAAABor0Ax1kCqU9vZsTnB7hPj3mR2oWq',
    });
  });

  test('an answer cut at the output limit, and one stopped by a stop sequence', () => {
    const cut = codecFor('openaiChat').parseResponse({
      id: 'c',
      model: 'g',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Partial' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 3, completion_tokens: 2 },
    });
    assert.equal(cut.stopReason, 'maxTokens');
    assert.equal(codecFor('anthropic').encodeResponse(cut, { id: 'a', model: 'm' }).stop_reason, 'max_tokens');
    const codex = codecFor('openaiResponses').encodeResponse(cut, { id: 'r', model: 'm' });
    assert.equal(codex.status, 'incomplete');
    assert.deepEqual(codex.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(codecFor('ollama').encodeResponse(cut, { id: 'o', model: 'm' }).done_reason, 'length');
    const stopped = codecFor('anthropic').parseResponse({ id: 'm', model: 'c', content: [{ type: 'text', text: 'a' }], stop_reason: 'stop_sequence', stop_sequence: '</done>', usage: { input_tokens: 1, output_tokens: 1 } });
    assert.equal(stopped.stopReason, 'stopSequence');
    assert.deepEqual(codecFor('anthropic').encodeResponse(stopped, { id: 'a', model: 'm' }).stop_sequence, '</done>');
    assert.equal((codecFor('openaiChat').encodeResponse(stopped, { id: 'a', model: 'm' }).choices as any)[0].finish_reason, 'stop');
  });

  test('a failed Responses body surfaces as the upstream’s error', () => {
    assert.throws(
      () => codecFor('openaiResponses').parseResponse({ id: 'r', status: 'failed', error: { code: 'server_error', message: 'boom' }, output: [] }),
      (error: unknown) => error instanceof UpstreamReportedError && error.errorType === 'server_error' && error.message === 'boom',
    );
  });

  test('a chat answer with only tool calls has null content, as OpenAI sends it', () => {
    const response = codecFor('anthropic').parseResponse({
      id: 'm',
      model: 'c',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'grep', input: {} }],
      stop_reason: 'tool_use',
      usage: { input_tokens: 1, output_tokens: 1 },
    });
    const message = (codecFor('openaiChat').encodeResponse(response, { id: 'c', model: 'm' }).choices as any)[0].message;
    assert.deepEqual(message, { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'grep', arguments: '{}' } }], refusal: null });
  });
});

describe('streamed and non-streamed paths agree', () => {
  const FIXTURES = join(__dirname, 'fixtures', 'translate');
  const STREAMS: Record<Protocol, string> = {
    anthropic: 'anthropic-tool-use.sse',
    openaiChat: 'openai-chat-tool-calls.sse',
    openaiResponses: 'openai-responses-function-calls.sse',
    ollama: 'ollama-tool-calls.ndjson',
  };

  function comparable(parts: IRPart[]): unknown[] {
    return parts.map((part) => {
      if (part.type === 'toolCall') return { ...part, argumentsJson: JSON.parse(part.argumentsJson) };
      if (part.type === 'thinking') return { text: part.text, signature: part.signature, provider: part.provider };
      return part;
    });
  }

  for (const protocol of PROTOCOLS) {
    test(`${protocol}: collect(stream) equals parseResponse(json)`, () => {
      const decoder = codecFor(protocol).createStreamDecoder({ toolCallIdPrefix: 'call_fixed' });
      const wire = readFileSync(join(FIXTURES, STREAMS[protocol]), 'utf8');
      const streamed = collect([...decoder.push(wire), ...decoder.end()]);
      const whole = codecFor(protocol).parseResponse(UPSTREAM_JSON[protocol], { toolCallIdPrefix: 'call_fixed' });
      assert.deepEqual(comparable(streamed.content), comparable(whole.content));
      assert.equal(streamed.stopReason, whole.stopReason);
      assert.deepEqual(streamed.usage, whole.usage);
    });
  }

  test('eventsOf(response) through a stream encoder gives the same answer as encodeResponse', () => {
    const response = codecFor('anthropic').parseResponse(UPSTREAM_JSON.anthropic);
    const encoder = codecFor('anthropic').createStreamEncoder({ id: 'msg_gw', model: 'm' });
    const wire = eventsOf(response).map((event) => encoder.encode(event)).join('') + encoder.end();
    const decoder = codecFor('anthropic').createStreamDecoder();
    const again = collect([...decoder.push(wire), ...decoder.end()]);
    assert.deepEqual(comparable(again.content), comparable(response.content));
    assert.deepEqual(again.usage, response.usage);
    assert.equal(again.stopReason, 'toolUse');
  });
});

describe('usage and stop-reason mapping', () => {
  test('Anthropic usage → OpenAI: cache reads and writes fold into prompt_tokens, reads stay visible as cached', () => {
    const usage = { input_tokens: 150, cache_creation_input_tokens: 300, cache_read_input_tokens: 1000, output_tokens: 87 };
    assert.deepEqual(translateUsage('anthropic', 'openaiChat', usage), {
      prompt_tokens: 1450,
      completion_tokens: 87,
      total_tokens: 1537,
      prompt_tokens_details: { cached_tokens: 1000 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    assert.deepEqual(translateUsage('anthropic', 'ollama', usage), { prompt_eval_count: 1450, eval_count: 87 });
  });

  test('OpenAI usage → Anthropic: cached tokens become cache reads, the rest plain input', () => {
    assert.deepEqual(
      translateUsage('openaiResponses', 'anthropic', {
        input_tokens: 1450,
        input_tokens_details: { cached_tokens: 1000 },
        output_tokens: 87,
        output_tokens_details: { reasoning_tokens: 20 },
      }),
      {
        input_tokens: 450,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 1000,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
        output_tokens: 87,
      },
    );
  });

  test('Anthropic 1h cache writes are told apart from 5m ones', () => {
    assert.deepEqual(
      codecFor('anthropic').usageFromWire({
        input_tokens: 10,
        cache_creation_input_tokens: 500,
        cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 400 },
        output_tokens: 5,
      }),
      { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWrite5mTokens: 100, cacheWrite1hTokens: 400, reasoningTokens: 0 },
    );
  });

  const table: Array<[Protocol, string, Protocol, string]> = [
    ['anthropic', 'end_turn', 'openaiChat', 'stop'],
    ['anthropic', 'end_turn', 'openaiResponses', 'completed'],
    ['anthropic', 'max_tokens', 'openaiChat', 'length'],
    ['anthropic', 'max_tokens', 'openaiResponses', 'incomplete'],
    ['anthropic', 'tool_use', 'openaiChat', 'tool_calls'],
    ['anthropic', 'refusal', 'openaiChat', 'content_filter'],
    ['anthropic', 'model_context_window_exceeded', 'ollama', 'length'],
    ['openaiChat', 'stop', 'anthropic', 'end_turn'],
    ['openaiChat', 'length', 'anthropic', 'max_tokens'],
    ['openaiChat', 'tool_calls', 'anthropic', 'tool_use'],
    ['openaiChat', 'content_filter', 'anthropic', 'refusal'],
    ['openaiResponses', 'completed', 'anthropic', 'end_turn'],
    ['openaiResponses', 'max_output_tokens', 'anthropic', 'max_tokens'],
    ['ollama', 'length', 'openaiChat', 'length'],
    ['ollama', 'stop', 'anthropic', 'end_turn'],
  ];
  for (const [from, reason, to, expected] of table) {
    test(`${from} ${reason} → ${to} ${expected}`, () => {
      assert.equal(translateStopReason(from, to, reason), expected);
    });
  }
});
