/**
 * Loopback upstreams that answer with tool calls, for driving real agent clients through the gateway. The shared
 * fakes in test/fakes script text answers only; an agent turn needs `tool_use` blocks (Anthropic Messages) or
 * `tool_calls` (OpenAI Chat Completions), streamed the way the real APIs stream them: Anthropic's
 * content_block_start / input_json_delta / content_block_stop with stop_reason "tool_use", OpenAI's
 * `delta.tool_calls` chunks with finish_reason "tool_calls" and a usage chunk when `stream_options.include_usage`.
 * Requests are recorded in the shared fakes' RecordedRequest shape.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RecordedRequest } from '../../fakes/server';

export type { RecordedRequest };

export interface ToolCall {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

/** Token counts the upstream reports, in the provider's own usage object. */
export interface TurnUsage {
  inputTokens: number;
  outputTokens: number;
}

/** One model answer: some text, then any tool calls (which make it a tool-use stop). */
export interface ModelTurn {
  text?: string;
  toolCalls?: ToolCall[];
  usage?: TurnUsage;
}

/** A turn, or a function of the request (so a scenario answers by what the client sent, whatever else it sends). */
export type TurnScript = ModelTurn | ((request: RecordedRequest) => ModelTurn);

export interface ToolUpstream {
  readonly provider: 'anthropic' | 'openai';
  /** http://127.0.0.1:port */
  readonly url: string;
  /** What an EndpointConfig's baseUrl needs (`/v1` for OpenAI). */
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** Queues turns; when the queue is empty the upstream's `answer` script (or a fixed text) answers. */
  reply(...turns: TurnScript[]): void;
  close(): Promise<void>;
}

interface Dialect {
  provider: ToolUpstream['provider'];
  chatPath: string;
  baseUrlPath: string;
  stream(turn: ModelTurn, model: string, body: Record<string, unknown>): string[];
  complete(turn: ModelTurn, model: string): unknown;
  notFound(path: string): unknown;
}

const DEFAULT_USAGE: TurnUsage = { inputTokens: 100, outputTokens: 10 };

const sse = (event: string | undefined, data: unknown) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;

const anthropicDialect: Dialect = {
  provider: 'anthropic',
  chatPath: '/v1/messages',
  baseUrlPath: '',
  stream(turn, model) {
    const usage = turn.usage ?? DEFAULT_USAGE;
    const frames = [
      sse('message_start', {
        type: 'message_start',
        message: {
          id: 'msg_tooltest01',
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: usage.inputTokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        },
      }),
    ];
    let index = 0;
    if (turn.text) {
      frames.push(
        sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }),
        sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: turn.text } }),
        sse('content_block_stop', { type: 'content_block_stop', index }),
      );
      index++;
    }
    for (const call of turn.toolCalls ?? []) {
      const json = JSON.stringify(call.input);
      const half = Math.floor(json.length / 2);
      frames.push(
        sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } }),
        // Split, as the API streams partial JSON.
        sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(0, half) } }),
        sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(half) } }),
        sse('content_block_stop', { type: 'content_block_stop', index }),
      );
      index++;
    }
    frames.push(
      sse('message_delta', { type: 'message_delta', delta: { stop_reason: turn.toolCalls?.length ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.outputTokens } }),
      sse('message_stop', { type: 'message_stop' }),
    );
    return frames;
  },
  complete(turn, model) {
    const usage = turn.usage ?? DEFAULT_USAGE;
    return {
      id: 'msg_tooltest01',
      type: 'message',
      role: 'assistant',
      model,
      content: [
        ...(turn.text ? [{ type: 'text', text: turn.text }] : []),
        ...(turn.toolCalls ?? []).map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: call.input })),
      ],
      stop_reason: turn.toolCalls?.length ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    };
  },
  notFound: (path) => ({ type: 'error', error: { type: 'not_found_error', message: `tool upstream: no route ${path}` } }),
};

const openAIChatDialect: Dialect = {
  provider: 'openai',
  chatPath: '/v1/chat/completions',
  baseUrlPath: '/v1',
  stream(turn, model, body) {
    const usage = turn.usage ?? DEFAULT_USAGE;
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      sse(undefined, { id: 'chatcmpl-tooltest01', object: 'chat.completion.chunk', created: 1_735_689_600, model, choices, ...(includeUsage && { usage: null }), ...extra });
    const delta = (fields: Record<string, unknown>, finishReason: string | null = null) => ({ index: 0, delta: fields, logprobs: null, finish_reason: finishReason });
    const frames = [chunk([delta({ role: 'assistant', content: '' })])];
    if (turn.text) frames.push(chunk([delta({ content: turn.text })]));
    (turn.toolCalls ?? []).forEach((call, index) => {
      const json = JSON.stringify(call.input);
      const half = Math.floor(json.length / 2);
      frames.push(
        chunk([delta({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] })]),
        chunk([delta({ tool_calls: [{ index, function: { arguments: json.slice(0, half) } }] })]),
        chunk([delta({ tool_calls: [{ index, function: { arguments: json.slice(half) } }] })]),
      );
    });
    frames.push(chunk([delta({}, turn.toolCalls?.length ? 'tool_calls' : 'stop')]));
    if (includeUsage) frames.push(chunk([], { usage: openAIUsage(usage) }));
    frames.push('data: [DONE]\n\n');
    return frames;
  },
  complete(turn, model) {
    const calls = turn.toolCalls ?? [];
    return {
      id: 'chatcmpl-tooltest01',
      object: 'chat.completion',
      created: 1_735_689_600,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: turn.text ?? null,
            ...(calls.length && { tool_calls: calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.input) } })) }),
          },
          logprobs: null,
          finish_reason: calls.length ? 'tool_calls' : 'stop',
        },
      ],
      usage: openAIUsage(turn.usage ?? DEFAULT_USAGE),
    };
  },
  notFound: (path) => ({ error: { message: `tool upstream: no route ${path}`, type: 'invalid_request_error', param: null, code: null } }),
};

function openAIUsage(usage: TurnUsage): Record<string, unknown> {
  return { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.inputTokens + usage.outputTokens };
}

export interface ToolUpstreamOptions {
  /** Answers every request the queue does not (default: a fixed text naming the upstream). */
  answer?: TurnScript;
}

export const startAnthropicToolUpstream = (options?: ToolUpstreamOptions) => startToolUpstream(anthropicDialect, options);
export const startOpenAIChatToolUpstream = (options?: ToolUpstreamOptions) => startToolUpstream(openAIChatDialect, options);

async function startToolUpstream(dialect: Dialect, options: ToolUpstreamOptions = {}): Promise<ToolUpstream> {
  const requests: RecordedRequest[] = [];
  const queue: TurnScript[] = [];
  const fallback: TurnScript = options.answer ?? { text: `Hello from the ${dialect.provider} tool upstream.` };

  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of request) chunks.push(chunk as Buffer);
    } catch {
      return; // the client closed the connection mid-body: not a request
    }
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      body = undefined;
    }
    const path = request.url ?? '/';
    const record: RecordedRequest = { index: requests.length, method: request.method ?? 'GET', path, headers: request.headers, rawBody, body, outcome: 'open' };
    requests.push(record);
    response.on('close', () => (record.outcome = response.writableFinished ? 'completed' : 'clientClosed'));

    if (request.method !== 'POST' || path.split('?')[0] !== dialect.chatPath) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(dialect.notFound(path)));
      return;
    }
    const script = queue.shift() ?? fallback;
    const turn = typeof script === 'function' ? script(record) : script;
    const fields = (body ?? {}) as Record<string, unknown>;
    const model = typeof fields.model === 'string' ? fields.model : 'tool-upstream-model';
    if (fields.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(dialect.complete(turn, model)));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    for (const frame of dialect.stream(turn, model, fields)) response.write(frame);
    response.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    provider: dialect.provider,
    url,
    baseUrl: `${url}${dialect.baseUrlPath}`,
    requests,
    reply: (...turns) => queue.push(...turns),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The tool results in the last user message of an Anthropic request: tool_use_id → text. */
export function anthropicToolResults(request: RecordedRequest): Map<string, string> {
  const messages = ((request.body as { messages?: unknown[] } | undefined)?.messages ?? []) as { role: string; content: unknown }[];
  const last = messages.at(-1);
  const results = new Map<string, string>();
  if (last?.role !== 'user' || !Array.isArray(last.content)) return results;
  for (const block of last.content as Record<string, unknown>[]) {
    if (block.type !== 'tool_result') continue;
    const content = block.content;
    const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((part: { text?: string }) => part.text ?? '').join('') : '';
    results.set(String(block.tool_use_id), text);
  }
  return results;
}

/** The tool results at the end of an OpenAI Chat request: tool_call_id → content. */
export function openAIToolResults(request: RecordedRequest): Map<string, string> {
  const messages = ((request.body as { messages?: unknown[] } | undefined)?.messages ?? []) as Record<string, unknown>[];
  const results = new Map<string, string>();
  for (let index = messages.length - 1; index >= 0 && messages[index].role === 'tool'; index--) {
    const content = messages[index].content;
    const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((part: { text?: string }) => part.text ?? '').join('') : '';
    results.set(String(messages[index].tool_call_id), text);
  }
  return results;
}
