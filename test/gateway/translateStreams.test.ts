/**
 * Streams through the gateway's translation: a recorded-style upstream stream of protocol B, cut into awkward chunks
 * (whole, byte by byte through a streaming TextDecoder, random byte cuts, character by character, CRLF line ends),
 * goes through B's decoder and A's encoder. The client's side is read back by small parsers written here, apart from
 * the codecs, that also check the framing a real client relies on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { codecFor, collect, PROTOCOLS, streamMetaFor, type IREvent, type Protocol } from '../../extension/gateway/translate/index';

const FIXTURES = join(__dirname, 'fixtures', 'translate');

// ---------------------------------------------------------------------------------------------------------------
// Feeding a stream in pieces

type Feed = (wire: string, push: (chunk: string) => void) => void;

/** Mulberry32: a tiny seeded generator, so a failing cut can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Cuts the UTF-8 bytes at the given sizes and decodes them as the gateway does, with a streaming TextDecoder. */
function byteFeed(nextSize: () => number): Feed {
  return (wire, push) => {
    const bytes = Buffer.from(wire, 'utf8');
    const decoder = new TextDecoder();
    for (let offset = 0; offset < bytes.length; ) {
      const size = Math.max(1, nextSize());
      push(decoder.decode(bytes.subarray(offset, offset + size), { stream: true }));
      offset += size;
    }
    push(decoder.decode());
  };
}

const FEEDS: Record<string, Feed> = {
  whole: (wire, push) => push(wire),
  'byte by byte': byteFeed(() => 1),
  'random byte cuts (seed 1)': (wire, push) => {
    const next = random(1);
    byteFeed(() => 1 + Math.floor(next() * 23))(wire, push);
  },
  'random byte cuts (seed 2)': (wire, push) => {
    const next = random(2);
    byteFeed(() => 1 + Math.floor(next() * 7))(wire, push);
  },
  'random byte cuts (seed 3)': (wire, push) => {
    const next = random(3);
    byteFeed(() => 1 + Math.floor(next() * 120))(wire, push);
  },
  'character by character': (wire, push) => {
    for (const character of wire) push(character);
  },
};

interface PipeOptions {
  freeformToolNames?: string[];
  includeUsage?: boolean;
}

/** Upstream wire text → upstream decoder → client encoder → client wire text. */
function pipe(upstream: Protocol, client: Protocol, wire: string, feed: Feed, options: PipeOptions = {}): string {
  const decoder = codecFor(upstream).createStreamDecoder({ toolCallIdPrefix: 'call_fixed' });
  const encoder = codecFor(client).createStreamEncoder({ id: 'gw_answer_1', model: 'tierwise-routed', includeUsage: true, ...options });
  let out = '';
  const write = (events: IREvent[]): void => {
    for (const event of events) out += encoder.encode(event);
  };
  feed(wire, (chunk) => write(decoder.push(chunk)));
  write(decoder.end());
  return out + encoder.end();
}

function decodeAll(upstream: Protocol, wire: string): IREvent[] {
  const decoder = codecFor(upstream).createStreamDecoder({ toolCallIdPrefix: 'call_fixed' });
  return [...decoder.push(wire), ...decoder.end()];
}

// ---------------------------------------------------------------------------------------------------------------
// What a client sees: minimal parsers, one per protocol

interface ClientCall {
  id: string;
  name: string;
  args: unknown;
  kind?: string;
}

interface ClientView {
  text: string;
  thinking: string;
  /** Anthropic signature or Responses encrypted_content. */
  thinkingSignature?: string;
  reasoningItemId?: string;
  toolCalls: ClientCall[];
  stop?: string;
  /** Responses: incomplete_details.reason. */
  stopDetail?: string;
  usage?: Record<string, unknown>;
  startUsage?: Record<string, unknown>;
  error?: { type?: string; message: string };
}

function sseFrames(wire: string): Array<{ event?: string; data: string }> {
  assert.ok(wire.endsWith('\n\n'), 'an SSE stream ends with a blank line');
  return wire
    .slice(0, -2)
    .split('\n\n')
    .map((frame) => {
      const lines = frame.split('\n');
      const event = lines[0]!.startsWith('event: ') ? lines.shift()!.slice('event: '.length) : undefined;
      assert.equal(lines.length, 1, `one data line per frame: ${frame}`);
      assert.ok(lines[0]!.startsWith('data: '), `a data line: ${frame}`);
      return { ...(event !== undefined && { event }), data: lines[0]!.slice('data: '.length) };
    });
}

function readAnthropic(wire: string): ClientView {
  const view: ClientView = { text: '', thinking: '', toolCalls: [] };
  const frames = sseFrames(wire);
  const blocks: Array<{ block: Record<string, any>; json: string; open: boolean }> = [];
  let stopped = false;
  frames.forEach((frame, position) => {
    const data = JSON.parse(frame.data);
    assert.equal(frame.event, data.type, 'the event name repeats the data type');
    assert.ok(!stopped, 'nothing after message_stop');
    if (position === 0) assert.ok(data.type === 'message_start' || data.type === 'error', 'message_start comes first');
    switch (data.type) {
      case 'message_start':
        assert.equal(data.message.role, 'assistant');
        assert.deepEqual(data.message.content, []);
        view.startUsage = data.message.usage;
        break;
      case 'content_block_start':
        assert.equal(data.index, blocks.length, 'blocks are numbered in order');
        assert.ok(blocks.every((block) => !block.open), 'one block open at a time');
        blocks.push({ block: { ...data.content_block }, json: '', open: true });
        break;
      case 'content_block_delta': {
        const block = blocks[data.index];
        assert.ok(block?.open, 'deltas go to the open block');
        if (data.delta.type === 'text_delta') block.block.text += data.delta.text;
        else if (data.delta.type === 'input_json_delta') block.json += data.delta.partial_json;
        else if (data.delta.type === 'thinking_delta') block.block.thinking += data.delta.thinking;
        else if (data.delta.type === 'signature_delta') block.block.signature = data.delta.signature;
        else assert.fail(`unknown delta ${data.delta.type}`);
        break;
      }
      case 'content_block_stop':
        assert.ok(blocks[data.index]?.open, 'stop closes the open block');
        blocks[data.index]!.open = false;
        break;
      case 'message_delta':
        view.stop = data.delta.stop_reason;
        view.usage = data.usage;
        break;
      case 'message_stop':
        stopped = true;
        break;
      case 'error':
        view.error = { type: data.error.type, message: data.error.message };
        break;
      case 'ping':
        break;
      default:
        assert.fail(`unknown event ${data.type}`);
    }
  });
  assert.ok(stopped || view.error, 'the stream ends with message_stop or an error');
  for (const { block, json } of blocks) {
    if (block.type === 'text') view.text += block.text;
    if (block.type === 'thinking') {
      view.thinking += block.thinking;
      view.thinkingSignature = block.signature;
    }
    if (block.type === 'tool_use') view.toolCalls.push({ id: block.id, name: block.name, args: json ? JSON.parse(json) : {} });
  }
  return view;
}

function readChat(wire: string): ClientView {
  const view: ClientView = { text: '', thinking: '', toolCalls: [] };
  const frames = sseFrames(wire);
  const calls: Array<{ id: string; name: string; args: string }> = [];
  const last = frames.at(-1)!;
  const done = last.data === '[DONE]';
  for (const frame of done ? frames.slice(0, -1) : frames) {
    assert.equal(frame.event, undefined, 'chat chunks have no event names');
    const chunk = JSON.parse(frame.data);
    if (chunk.error) {
      view.error = { type: chunk.error.type, message: chunk.error.message };
      continue;
    }
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.id, 'gw_answer_1');
    if (chunk.usage) view.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.delta.content) view.text += choice.delta.content;
    if (choice.delta.reasoning_content) view.thinking += choice.delta.reasoning_content;
    for (const call of choice.delta.tool_calls ?? []) {
      if (call.id) {
        assert.equal(call.index, calls.length, 'a new call takes the next index');
        calls.push({ id: call.id, name: call.function.name, args: call.function.arguments ?? '' });
      } else {
        calls[call.index]!.args += call.function.arguments;
      }
    }
    if (choice.finish_reason) view.stop = choice.finish_reason;
  }
  assert.ok(done || view.error, 'the stream ends with [DONE] or an error');
  view.toolCalls = calls.map((call) => ({ id: call.id, name: call.name, args: JSON.parse(call.args) }));
  return view;
}

function readResponses(wire: string): ClientView {
  const view: ClientView = { text: '', thinking: '', toolCalls: [] };
  const frames = sseFrames(wire);
  const items: Array<Record<string, any>> = [];
  const args = new Map<string, string>();
  let openItem: string | undefined;
  frames.forEach((frame, position) => {
    const data = JSON.parse(frame.data);
    assert.equal(frame.event, data.type, 'the event name repeats the data type');
    assert.equal(data.sequence_number, position, 'sequence numbers count from 0');
    switch (data.type) {
      case 'response.created':
      case 'response.in_progress':
        assert.equal(data.response.status, 'in_progress');
        break;
      case 'response.output_item.added':
        assert.equal(openItem, undefined, 'one item open at a time');
        assert.equal(data.output_index, items.length, 'items are numbered in order');
        openItem = data.item.id;
        items.push(data.item);
        break;
      case 'response.output_text.delta':
        assert.equal(data.item_id, openItem);
        view.text += data.delta;
        break;
      case 'response.reasoning_summary_text.delta':
        assert.equal(data.item_id, openItem);
        view.thinking += data.delta;
        break;
      case 'response.function_call_arguments.delta':
        assert.equal(data.item_id, openItem);
        args.set(data.item_id, (args.get(data.item_id) ?? '') + data.delta);
        break;
      case 'response.custom_tool_call_input.delta':
        assert.equal(data.item_id, openItem);
        break;
      case 'response.output_item.done':
        assert.equal(data.item.id, openItem, 'done closes the open item');
        items[data.output_index] = data.item;
        openItem = undefined;
        break;
      case 'response.completed':
      case 'response.incomplete':
        view.stop = data.response.status;
        view.stopDetail = data.response.incomplete_details?.reason;
        view.usage = data.response.usage;
        assert.deepEqual(data.response.output, items, 'the final response lists the finished items');
        break;
      case 'response.failed':
        view.error = { type: data.response.error.code, message: data.response.error.message };
        break;
      default:
        break;
    }
  });
  for (const item of items) {
    if (item.type === 'function_call') {
      assert.equal(args.get(item.id) ?? '', item.arguments, 'streamed arguments match the finished item');
      view.toolCalls.push({ id: item.call_id, name: item.name, args: JSON.parse(item.arguments) });
    }
    if (item.type === 'custom_tool_call') view.toolCalls.push({ id: item.call_id, name: item.name, args: item.input, kind: 'custom' });
    if (item.type === 'reasoning') {
      view.thinkingSignature = item.encrypted_content;
      view.reasoningItemId = item.id;
    }
  }
  return view;
}

function readOllama(wire: string): ClientView {
  const view: ClientView = { text: '', thinking: '', toolCalls: [] };
  assert.ok(wire.endsWith('\n'), 'NDJSON ends with a newline');
  const lines = wire.slice(0, -1).split('\n').map((line) => JSON.parse(line));
  lines.forEach((line, position) => {
    if (line.error) {
      view.error = { message: line.error };
      return;
    }
    assert.equal(line.done, position === lines.length - 1, 'only the last line is done');
    view.text += line.message.content;
    if (line.message.thinking) view.thinking += line.message.thinking;
    for (const call of line.message.tool_calls ?? []) {
      assert.equal(typeof call.function.arguments, 'object', 'Ollama arguments are objects');
      view.toolCalls.push({ id: call.id, name: call.function.name, args: call.function.arguments });
    }
    if (line.done) {
      view.stop = line.done_reason;
      view.usage = { prompt_eval_count: line.prompt_eval_count, eval_count: line.eval_count };
    }
  });
  return view;
}

const READERS: Record<Protocol, (wire: string) => ClientView> = {
  anthropic: readAnthropic,
  openaiChat: readChat,
  openaiResponses: readResponses,
  ollama: readOllama,
};

// ---------------------------------------------------------------------------------------------------------------
// The recorded upstream streams and what every client must see of them

const TEXT = "I'll read both files — ünïcödé ✓ 🚀.";
const READ_ARGS = { path: 'src/a.ts', limit: 200 };
const GREP_ARGS = { pattern: 'TODO', glob: '**/*.ts' };

interface IrUsage {
  inputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

interface Upstream {
  file: string;
  ids: [string, string];
  thinking: string;
  signature?: string;
  reasoningItemId?: string;
  usage: IrUsage;
}

const UPSTREAMS: Record<Protocol, Upstream> = {
  anthropic: {
    file: 'anthropic-tool-use.sse',
    ids: ['toolu_01A09q90qw90lq917835lq9', 'toolu_01B7xWq3vT8sQ2pLk9mN4rYz'],
    thinking: 'The user wants two files.',
    signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds',
    usage: { inputTokens: 150, cacheReadTokens: 1000, cacheWrite5mTokens: 300, outputTokens: 87, reasoningTokens: 0 },
  },
  openaiChat: {
    file: 'openai-chat-tool-calls.sse',
    ids: ['call_DdmO9pD3xa9XTPNJ32zg2hcA', 'call_Xk2Lq8HnW4tRzE9vJmA3bPcY'],
    thinking: 'The user wants two files.',
    usage: { inputTokens: 450, cacheReadTokens: 1000, cacheWrite5mTokens: 0, outputTokens: 87, reasoningTokens: 0 },
  },
  openaiResponses: {
    file: 'openai-responses-function-calls.sse',
    ids: ['call_kQ5ZJ3g8h7Yv2WmXbN4rT6sD', 'call_P9sLm2Xq7Vr4TzE8wYbC1nGh'],
    thinking: '**Planning** reading two files.',
    signature: 'gAAAAABor0Ax1kCqU9vZsTnB7hPj3mR2oWq',
    reasoningItemId: 'rs_68af40312c6c8193a2bd5b2fce7bd4c205438e46b5f69a3b',
    usage: { inputTokens: 450, cacheReadTokens: 1000, cacheWrite5mTokens: 0, outputTokens: 87, reasoningTokens: 20 },
  },
  ollama: {
    file: 'ollama-tool-calls.ndjson',
    ids: ['call_fixed_0', 'call_fixed_1'],
    thinking: 'The user wants two files.',
    usage: { inputTokens: 1450, cacheReadTokens: 0, cacheWrite5mTokens: 0, outputTokens: 87, reasoningTokens: 0 },
  },
};

/** Whose reasoning each protocol carries: only a client of the same family gets to see (and replay) it. */
const REASONING_FAMILY: Record<Protocol, string> = {
  anthropic: 'anthropic',
  openaiResponses: 'openai',
  openaiChat: 'other',
  ollama: 'other',
};

const TOOL_STOP: Record<Protocol, string> = {
  anthropic: 'tool_use',
  openaiChat: 'tool_calls',
  openaiResponses: 'completed',
  ollama: 'stop',
};

function expectedUsage(client: Protocol, usage: IrUsage): Record<string, unknown> {
  const prompt = usage.inputTokens + usage.cacheReadTokens + usage.cacheWrite5mTokens;
  switch (client) {
    case 'anthropic':
      return {
        input_tokens: usage.inputTokens,
        cache_creation_input_tokens: usage.cacheWrite5mTokens,
        cache_read_input_tokens: usage.cacheReadTokens,
        cache_creation: { ephemeral_5m_input_tokens: usage.cacheWrite5mTokens, ephemeral_1h_input_tokens: 0 },
        output_tokens: usage.outputTokens,
      };
    case 'openaiChat':
      return {
        prompt_tokens: prompt,
        completion_tokens: usage.outputTokens,
        total_tokens: prompt + usage.outputTokens,
        prompt_tokens_details: { cached_tokens: usage.cacheReadTokens },
        completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
      };
    case 'openaiResponses':
      return {
        input_tokens: prompt,
        input_tokens_details: { cached_tokens: usage.cacheReadTokens },
        output_tokens: usage.outputTokens,
        output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
        total_tokens: prompt + usage.outputTokens,
      };
    case 'ollama':
      return { prompt_eval_count: prompt, eval_count: usage.outputTokens };
  }
}

function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

describe('streaming: every upstream protocol to every client protocol', () => {
  for (const upstream of PROTOCOLS) {
    for (const client of PROTOCOLS) {
      describe(`${upstream} upstream → ${client} client`, () => {
        const source = UPSTREAMS[upstream];
        const wire = fixture(source.file);
        for (const [feedName, feed] of Object.entries(FEEDS)) {
          test(feedName, () => {
            const view = READERS[client](pipe(upstream, client, wire, feed));
            assert.equal(view.error, undefined);
            assert.equal(view.text, TEXT);
            assert.deepEqual(
              view.toolCalls.map(({ id, name, args }) => ({ id, name, args })),
              [
                { id: source.ids[0], name: 'read_file', args: READ_ARGS },
                { id: source.ids[1], name: 'grep', args: GREP_ARGS },
              ],
            );
            assert.equal(view.stop, TOOL_STOP[client]);
            assert.deepEqual(view.usage, expectedUsage(client, source.usage));
            const sameFamily = REASONING_FAMILY[upstream] === REASONING_FAMILY[client];
            assert.equal(view.thinking, sameFamily ? source.thinking : '', 'reasoning only reaches a client of its own family');
            assert.equal(view.thinkingSignature, sameFamily ? source.signature : undefined);
            if (client === 'openaiResponses') assert.equal(view.reasoningItemId, sameFamily ? source.reasoningItemId : undefined);
          });
        }
      });
    }
  }

  test('SSE upstreams with CRLF line ends and keep-alive comments, cut at random (the \\r and \\n of one line end apart)', () => {
    for (const upstream of ['anthropic', 'openaiChat', 'openaiResponses'] as const) {
      const wire = `: keep-alive\r\n\r\n${fixture(UPSTREAMS[upstream].file).replaceAll('\n', '\r\n')}`;
      for (const seed of [11, 12, 13]) {
        const next = random(seed);
        const view = readAnthropic(pipe(upstream, 'anthropic', wire, byteFeed(() => 1 + Math.floor(next() * 5))));
        assert.equal(view.text, TEXT, `${upstream}, seed ${seed}`);
        assert.deepEqual(view.toolCalls.map((call) => call.args), [READ_ARGS, GREP_ARGS]);
      }
    }
  });

  test('the Anthropic client gets message_start usage from an Anthropic upstream, zeros from the others', () => {
    const fromAnthropic = readAnthropic(pipe('anthropic', 'anthropic', fixture(UPSTREAMS.anthropic.file), FEEDS.whole!));
    assert.deepEqual(fromAnthropic.startUsage, {
      input_tokens: 150,
      cache_creation_input_tokens: 300,
      cache_read_input_tokens: 1000,
      cache_creation: { ephemeral_5m_input_tokens: 300, ephemeral_1h_input_tokens: 0 },
      output_tokens: 1,
    });
    const fromChat = readAnthropic(pipe('openaiChat', 'anthropic', fixture(UPSTREAMS.openaiChat.file), FEEDS.whole!));
    assert.equal(fromChat.startUsage?.input_tokens, 0);
  });
});

describe('stream decoders', () => {
  test('each decoder yields the same IR events for the same answer', () => {
    for (const upstream of PROTOCOLS) {
      const response = collect(decodeAll(upstream, fixture(UPSTREAMS[upstream].file)));
      const source = UPSTREAMS[upstream];
      assert.equal(response.stopReason, 'toolUse', upstream);
      assert.deepEqual(
        response.content.map((part) => (part.type === 'toolCall' ? { ...part, argumentsJson: JSON.parse(part.argumentsJson) } : part)),
        [
          { type: 'thinking', text: source.thinking, provider: REASONING_FAMILY[upstream], ...(source.signature && { signature: source.signature }), ...(source.reasoningItemId && { native: { id: source.reasoningItemId } }) },
          { type: 'text', text: TEXT },
          { type: 'toolCall', id: source.ids[0], name: 'read_file', argumentsJson: READ_ARGS },
          { type: 'toolCall', id: source.ids[1], name: 'grep', argumentsJson: GREP_ARGS },
        ],
        upstream,
      );
      assert.deepEqual(response.usage, { ...source.usage, cacheWrite1hTokens: 0 }, upstream);
    }
  });

  test('Anthropic: a stream that ends before message_stop becomes an error event', () => {
    const wire = fixture(UPSTREAMS.anthropic.file);
    const truncated = wire.slice(0, wire.indexOf('event: message_delta'));
    const events = decodeAll('anthropic', truncated);
    assert.deepEqual(events.at(-1), { type: 'error', errorType: 'api_error', message: 'The Anthropic stream ended before message_stop.' });
  });

  test('OpenAI Chat: a server that repeats the name in every chunk, omits ids and [DONE], and sends arguments first', () => {
    const chunks = [
      { id: 'c1', model: 'local', choices: [{ index: 0, delta: { role: 'assistant' } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"path":' } }] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'read_file', arguments: '"a.ts"}' } }] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'read_file', arguments: '' } }] }, finish_reason: 'stop' }] },
    ];
    const wire = chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('');
    const response = collect(decodeAll('openaiChat', wire));
    assert.deepEqual(response.content, [{ type: 'toolCall', id: 'call_fixed_0', name: 'read_file', argumentsJson: '{"path":"a.ts"}' }]);
    assert.equal(response.stopReason, 'toolUse', 'tool calls under finish_reason "stop" still ask for the tools to run');
    assert.equal(response.usageReported, false);
  });

  test('OpenAI Chat: calls without an index (Gemini’s OpenAI layer) stay apart by id', () => {
    const chunks = [
      { id: 'c', model: 'gemini-2.5-pro', choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [{ id: 'g1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a.ts"}' } }] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ id: 'g2', type: 'function', function: { name: 'grep', arguments: '{"pattern":' } }] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ function: { arguments: '"TODO"}' } }] }, finish_reason: 'tool_calls' }] },
    ];
    const wire = `${chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('')}data: [DONE]\n\n`;
    assert.deepEqual(collect(decodeAll('openaiChat', wire)).content, [
      { type: 'toolCall', id: 'g1', name: 'read_file', argumentsJson: '{"path":"a.ts"}' },
      { type: 'toolCall', id: 'g2', name: 'grep', argumentsJson: '{"pattern":"TODO"}' },
    ]);
  });

  test('Responses: a server that sends finished items without deltas still delivers text and arguments', () => {
    const frames = [
      { type: 'response.created', response: { id: 'r', model: 'qwen-responses', status: 'in_progress', output: [] } },
      { type: 'response.output_item.added', output_index: 0, item: { id: 'm1', type: 'message', role: 'assistant', content: [] } },
      { type: 'response.output_item.done', output_index: 0, item: { id: 'm1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] } },
      { type: 'response.output_item.added', output_index: 1, item: { id: 'f1', type: 'function_call', call_id: 'call_1', name: 'grep', arguments: '' } },
      { type: 'response.output_item.done', output_index: 1, item: { id: 'f1', type: 'function_call', call_id: 'call_1', name: 'grep', arguments: '{"pattern":"TODO"}' } },
      { type: 'response.completed', response: { id: 'r', status: 'completed', usage: { input_tokens: 9, output_tokens: 4 } } },
    ];
    const wire = frames.map((frame, index) => `event: ${frame.type}\ndata: ${JSON.stringify({ ...frame, sequence_number: index })}\n\n`).join('');
    const response = collect(decodeAll('openaiResponses', wire));
    assert.deepEqual(response.content, [
      { type: 'text', text: 'Checking.' },
      { type: 'toolCall', id: 'call_1', name: 'grep', argumentsJson: '{"pattern":"TODO"}' },
    ]);
    assert.equal(response.stopReason, 'toolUse');
  });

  test('Anthropic: a tool_use block whose input arrives whole in content_block_start', () => {
    const wire = [
      ['message_start', { type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 3, output_tokens: 1 } } }],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'grep', input: { pattern: 'TODO' } } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 7 } }],
      ['message_stop', { type: 'message_stop' }],
    ]
      .map(([event, data]) => `event: ${String(event)}\ndata: ${JSON.stringify(data)}\n\n`)
      .join('');
    assert.deepEqual(collect(decodeAll('anthropic', wire)).content, [
      { type: 'toolCall', id: 'toolu_1', name: 'grep', argumentsJson: '{"pattern":"TODO"}' },
    ]);
  });

  test('OpenAI Chat: an error chunk mid-stream', () => {
    const wire = `data: ${JSON.stringify({ id: 'c', model: 'm', choices: [{ index: 0, delta: { content: 'Hi' } }] })}\n\ndata: ${JSON.stringify({ error: { message: 'The server had an error', type: 'server_error', code: null } })}\n\n`;
    const events = decodeAll('openaiChat', wire);
    assert.deepEqual(events.at(-1), { type: 'error', errorType: 'server_error', message: 'The server had an error' });
  });

  test('Ollama: an error line and a line that is not JSON', () => {
    assert.deepEqual(decodeAll('ollama', '{"error":"model \\"qwen9\\" not found"}\n').at(-1), {
      type: 'error',
      errorType: 'api_error',
      message: 'model "qwen9" not found',
    });
    const broken = decodeAll('ollama', '{"model":"m","message":{"role":"assistant","content":"a"},"done":false}\n<html>\n');
    assert.equal(broken.at(-1)?.type, 'error');
    assert.match((broken.at(-1) as { message: string }).message, /not JSON: <html>/);
  });

  test('Responses: response.failed becomes an error event with its code', () => {
    const wire = `event: response.failed\ndata: ${JSON.stringify({ type: 'response.failed', sequence_number: 1, response: { id: 'r', status: 'failed', error: { code: 'rate_limit_exceeded', message: 'Rate limit reached. Please try again in 1.2s.' } } })}\n\n`;
    assert.deepEqual(decodeAll('openaiResponses', wire).at(-1), {
      type: 'error',
      errorType: 'rate_limit_exceeded',
      message: 'Rate limit reached. Please try again in 1.2s.',
    });
  });
});

describe('streaming edge cases', () => {
  const lengthStreams: Record<Protocol, string> = {
    anthropic: [
      ['message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [], usage: { input_tokens: 12, output_tokens: 1 } } }],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Partial answ' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 5 } }],
      ['message_stop', { type: 'message_stop' }],
    ]
      .map(([event, data]) => `event: ${String(event)}\ndata: ${JSON.stringify(data)}\n\n`)
      .join(''),
    openaiChat: [
      { id: 'c', model: 'g', choices: [{ index: 0, delta: { role: 'assistant', content: 'Partial answ' }, finish_reason: null }] },
      { id: 'c', model: 'g', choices: [{ index: 0, delta: {}, finish_reason: 'length' }], usage: { prompt_tokens: 12, completion_tokens: 5 } },
    ]
      .map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`)
      .join('')
      .concat('data: [DONE]\n\n'),
    openaiResponses: [
      { type: 'response.created', sequence_number: 0, response: { id: 'r', model: 'g', status: 'in_progress', output: [] } },
      { type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: { id: 'msg_1', type: 'message', role: 'assistant', content: [] } },
      { type: 'response.output_text.delta', sequence_number: 2, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Partial answ' },
      { type: 'response.output_item.done', sequence_number: 3, output_index: 0, item: { id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Partial answ' }] } },
      { type: 'response.incomplete', sequence_number: 4, response: { id: 'r', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { input_tokens: 12, output_tokens: 5 } } },
    ]
      .map((data) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`)
      .join(''),
    ollama: [
      { model: 'q', created_at: 't', message: { role: 'assistant', content: 'Partial answ' }, done: false },
      { model: 'q', created_at: 't', message: { role: 'assistant', content: '' }, done: true, done_reason: 'length', prompt_eval_count: 12, eval_count: 5 },
    ]
      .map((line) => `${JSON.stringify(line)}\n`)
      .join(''),
  };
  const lengthStop: Record<Protocol, [string, string | undefined]> = {
    anthropic: ['max_tokens', undefined],
    openaiChat: ['length', undefined],
    openaiResponses: ['incomplete', 'max_output_tokens'],
    ollama: ['length', undefined],
  };

  for (const upstream of PROTOCOLS) {
    test(`an answer cut at the output limit (${upstream} upstream) reads as cut in every client`, () => {
      for (const client of PROTOCOLS) {
        const view = READERS[client](pipe(upstream, client, lengthStreams[upstream], FEEDS['byte by byte']!));
        assert.equal(view.text, 'Partial answ', client);
        assert.equal(view.stop, lengthStop[client][0], client);
        assert.equal(view.stopDetail, lengthStop[client][1], client);
        assert.deepEqual(view.toolCalls, [], client);
      }
    });
  }

  test('interleaved parallel tool-call deltas still reach sequential clients whole', () => {
    const call = (index: number, fields: Record<string, unknown>) => ({ choices: [{ index: 0, delta: { tool_calls: [{ index, ...fields }] } }] });
    const chunks = [
      { id: 'c', model: 'g', choices: [{ index: 0, delta: { role: 'assistant', content: 'Both: ' } }] },
      call(0, { id: 'call_a', function: { name: 'read_file', arguments: '{"path":' } }),
      call(1, { id: 'call_b', function: { name: 'grep', arguments: '{"pattern":' } }),
      call(0, { function: { arguments: '"src/a.ts","limit":200}' } }),
      call(1, { function: { arguments: '"TODO","glob":"**/*.ts"}' } }),
      { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }], usage: { prompt_tokens: 10, completion_tokens: 4 } },
    ];
    const wire = `${chunks.map((chunk) => `data: ${JSON.stringify(chunk)}`).join('\n\n')}\n\ndata: [DONE]\n\n`;
    for (const client of PROTOCOLS) {
      const view = READERS[client](pipe('openaiChat', client, wire, FEEDS['random byte cuts (seed 2)']!));
      assert.equal(view.text, 'Both: ', client);
      assert.deepEqual(
        view.toolCalls.map(({ id, name, args }) => ({ id, name, args })),
        [
          { id: 'call_a', name: 'read_file', args: READ_ARGS },
          { id: 'call_b', name: 'grep', args: GREP_ARGS },
        ],
        client,
      );
      assert.equal(view.stop, TOOL_STOP[client], client);
    }
  });

  test('an upstream error mid-stream ends every client stream with that protocol’s error frame', () => {
    const wire = [
      `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 5, output_tokens: 1 } } })}`,
      `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}`,
      `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hal' } })}`,
      `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}`,
    ].join('\n\n') + '\n\n';
    const anthropic = pipe('anthropic', 'anthropic', wire, FEEDS.whole!);
    assert.ok(anthropic.endsWith(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`));
    assert.ok(!anthropic.includes('message_stop'));
    const chat = pipe('anthropic', 'openaiChat', wire, FEEDS.whole!);
    assert.ok(!chat.includes('[DONE]'), 'no [DONE] after an error');
    assert.deepEqual(readChat(chat).error, { type: 'overloaded_error', message: 'Overloaded' });
    const responses = readResponses(pipe('anthropic', 'openaiResponses', wire, FEEDS.whole!));
    assert.deepEqual(responses.error, { type: 'overloaded_error', message: 'Overloaded' });
    assert.equal(responses.text, 'Hal');
    const ollama = pipe('anthropic', 'ollama', wire, FEEDS.whole!);
    assert.equal(ollama.trim().split('\n').at(-1), '{"error":"Overloaded"}');
  });

  test('an upstream that closes early reaches the client as an error, not as a clean end', () => {
    const wire = fixture(UPSTREAMS.openaiResponses.file);
    const truncated = wire.slice(0, wire.indexOf('event: response.completed'));
    const view = readAnthropic(pipe('openaiResponses', 'anthropic', truncated, FEEDS.whole!));
    assert.deepEqual(view.error, { type: 'api_error', message: 'The OpenAI Responses stream ended before response.completed.' });
    assert.equal(view.stop, undefined);
  });

  test('Anthropic redacted thinking survives Anthropic → Anthropic and nothing else', () => {
    const wire = [
      ['message_start', { type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 5, output_tokens: 1 } } }],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Done.' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 1 }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }],
      ['message_stop', { type: 'message_stop' }],
    ]
      .map(([event, data]) => `event: ${String(event)}\ndata: ${JSON.stringify(data)}\n\n`)
      .join('');
    const out = pipe('anthropic', 'anthropic', wire, FEEDS['byte by byte']!);
    assert.ok(out.includes('"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}'));
    assert.equal(readAnthropic(out).text, 'Done.');
    assert.equal(readAnthropic(out).stop, 'end_turn');
    const chat = pipe('anthropic', 'openaiChat', wire, FEEDS.whole!);
    assert.ok(!chat.includes('EmwKAhgBEgy3va3pzix'));
    assert.equal(readChat(chat).stop, 'stop');
  });

  test('Codex freeform calls: a custom_tool_call upstream reaches Codex as custom_tool_call and Claude Code as {input}', () => {
    const patch = '*** Begin Patch\n*** Update File: src/a.ts\n@@\n-export const a = 1;\n+export const a = "ü";\n*** End Patch';
    const frames = [
      { type: 'response.created', response: { id: 'r', model: 'gpt-5-codex', status: 'in_progress', output: [] } },
      { type: 'response.output_item.added', output_index: 0, item: { id: 'ctc_1', type: 'custom_tool_call', status: 'in_progress', call_id: 'call_patch', name: 'apply_patch', input: '' } },
      { type: 'response.custom_tool_call_input.delta', item_id: 'ctc_1', output_index: 0, delta: patch.slice(0, 30) },
      { type: 'response.custom_tool_call_input.delta', item_id: 'ctc_1', output_index: 0, delta: patch.slice(30) },
      { type: 'response.output_item.done', output_index: 0, item: { id: 'ctc_1', type: 'custom_tool_call', status: 'completed', call_id: 'call_patch', name: 'apply_patch', input: patch } },
      { type: 'response.completed', response: { id: 'r', status: 'completed', usage: { input_tokens: 40, output_tokens: 30 } } },
    ];
    const wire = frames.map((frame, index) => `event: ${frame.type}\ndata: ${JSON.stringify({ ...frame, sequence_number: index })}\n\n`).join('');
    const codex = readResponses(pipe('openaiResponses', 'openaiResponses', wire, FEEDS['byte by byte']!));
    assert.deepEqual(codex.toolCalls, [{ id: 'call_patch', name: 'apply_patch', args: patch, kind: 'custom' }]);
    const claude = readAnthropic(pipe('openaiResponses', 'anthropic', wire, FEEDS['random byte cuts (seed 1)']!));
    assert.deepEqual(claude.toolCalls, [{ id: 'call_patch', name: 'apply_patch', args: { input: patch } }]);
  });

  test('a Claude answer calling Codex’s freeform apply_patch is written back as a custom_tool_call', () => {
    const patch = '*** Begin Patch\n*** Add File: b.ts\n+export {};\n*** End Patch';
    const events: IREvent[] = [
      { type: 'start', id: 'msg_1', model: 'claude' },
      { type: 'toolCallStart', index: 0, id: 'toolu_1', name: 'apply_patch' },
      { type: 'toolCallDelta', index: 0, argumentsJsonDelta: JSON.stringify({ input: patch }).slice(0, 20) },
      { type: 'toolCallDelta', index: 0, argumentsJsonDelta: JSON.stringify({ input: patch }).slice(20) },
      { type: 'toolCallEnd', index: 0 },
      { type: 'stop', reason: 'toolUse' },
    ];
    const clientRequest = codecFor('openaiResponses').parseRequest({
      model: 'gpt-5-codex',
      input: 'add b.ts',
      tools: [{ type: 'custom', name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', syntax: 'lark', definition: 'start: begin_patch' } }],
    });
    const encoder = codecFor('openaiResponses').createStreamEncoder(streamMetaFor(clientRequest, { id: 'resp_1', model: 'gpt-5-codex' }));
    const out = events.map((event) => encoder.encode(event)).join('') + encoder.end();
    const view = readResponses(out);
    assert.deepEqual(view.toolCalls, [{ id: 'toolu_1', name: 'apply_patch', args: patch, kind: 'custom' }]);
    assert.ok(out.includes('"type":"response.custom_tool_call_input.done"'));
  });

  test('OpenAI Chat clients get the usage chunk only when they asked for it', () => {
    const wire = fixture(UPSTREAMS.anthropic.file);
    const without = pipe('anthropic', 'openaiChat', wire, FEEDS.whole!, { includeUsage: false });
    assert.equal(readChat(without).usage, undefined);
    assert.ok(without.endsWith('data: [DONE]\n\n'));
    const request = codecFor('openaiChat').parseRequest({ model: 'm', messages: [], stream: true, stream_options: { include_usage: true } });
    assert.equal(streamMetaFor(request, { id: 'a', model: 'b' }).includeUsage, true);
    const plain = codecFor('openaiChat').parseRequest({ model: 'm', messages: [], stream: true });
    assert.equal(streamMetaFor(plain, { id: 'a', model: 'b' }).includeUsage, false);
  });

  test('an Ollama client gets each tool call whole, with object arguments, once its arguments are complete', () => {
    const out = pipe('anthropic', 'ollama', fixture(UPSTREAMS.anthropic.file), FEEDS['byte by byte']!);
    const lines = out.trim().split('\n').map((line) => JSON.parse(line));
    const callLines = lines.filter((line) => line.message.tool_calls);
    assert.deepEqual(
      callLines.map((line) => line.message.tool_calls),
      [
        [{ id: 'toolu_01A09q90qw90lq917835lq9', function: { index: 0, name: 'read_file', arguments: READ_ARGS } }],
        [{ id: 'toolu_01B7xWq3vT8sQ2pLk9mN4rYz', function: { index: 1, name: 'grep', arguments: GREP_ARGS } }],
      ],
    );
    assert.deepEqual(lines.at(-1), {
      model: 'tierwise-routed',
      created_at: lines.at(-1).created_at,
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'stop',
      total_duration: 0,
      load_duration: 0,
      prompt_eval_count: 1450,
      prompt_eval_duration: 0,
      eval_count: 87,
      eval_duration: 0,
    });
  });
});
