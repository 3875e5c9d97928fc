/**
 * A loopback Anthropic Messages API: POST /v1/messages answers in SSE with `event:` lines (message_start with input
 * and cache usage, content_block_start, ping, content_block_delta text_delta…, content_block_stop, message_delta with
 * stop_reason and cumulative output_tokens, message_stop), or one message object without `stream`; GET /v1/models
 * lists models; errors are `{"type":"error","error":{"type","message"},"request_id"}`, in a stream as `event: error`.
 */
import { startFakeServer, type FakeErrorSpec, type FakeServer, type FakeServerOptions, type WireDialect } from './server';

/** Anthropic's usage object, as sent in message_start (output_tokens_details goes in message_delta). */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  /** Newer servers break cache writes down by TTL; older ones send only cache_creation_input_tokens. */
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  output_tokens_details?: { thinking_tokens: number };
}

export type FakeAnthropic = FakeServer<AnthropicUsage>;

const MESSAGE_ID = 'msg_fake0001';
const REQUEST_ID = 'req_fake_anthropic';

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

function event(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

function errorBody(status: number, error: FakeErrorSpec): Record<string, unknown> {
  return {
    type: 'error',
    error: { type: error.errorType ?? ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message: error.message },
    request_id: REQUEST_ID,
  };
}

/** message_start's usage: input and cache counts, and the one output token counted so far. */
function startUsage(usage: AnthropicUsage): Record<string, unknown> {
  const { output_tokens_details: _details, ...rest } = usage;
  return { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...rest, output_tokens: Math.min(1, usage.output_tokens) };
}

export const anthropicDialect: WireDialect<AnthropicUsage> = {
  provider: 'anthropic',
  routes: { chat: { method: 'POST', path: '/v1/messages' }, models: { method: 'GET', path: '/v1/models' } },
  baseUrlPath: '',
  streamContentType: 'text/event-stream; charset=utf-8',
  responseHeaders: { 'request-id': REQUEST_ID },
  isStreaming: (body) => body.stream === true,
  defaultUsage: (chunks) => ({ input_tokens: 12, output_tokens: chunks.length }),
  answerFrames: ({ model, usage, stopReason }) => {
    const counts = usage ?? { input_tokens: 0, output_tokens: 0 };
    return {
      head: [
        event('message_start', {
          type: 'message_start',
          message: {
            id: MESSAGE_ID,
            type: 'message',
            role: 'assistant',
            model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: startUsage(counts),
          },
        }),
        event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        event('ping', { type: 'ping' }),
      ],
      text: (text) =>
        event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
      tail: [
        event('content_block_stop', { type: 'content_block_stop', index: 0 }),
        event('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: stopReason ?? 'end_turn', stop_sequence: null },
          usage: {
            output_tokens: counts.output_tokens,
            ...(counts.output_tokens_details && { output_tokens_details: counts.output_tokens_details }),
          },
        }),
        event('message_stop', { type: 'message_stop' }),
      ],
    };
  },
  malformedFrame: () =>
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":\n\n',
  streamErrorFrame: (error) => event('error', errorBody(529, { errorType: 'overloaded_error', ...error })),
  completion: ({ model, text, usage, stopReason }) => ({
    id: MESSAGE_ID,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: stopReason ?? 'end_turn',
    stop_sequence: null,
    usage: { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...(usage ?? { input_tokens: 0, output_tokens: 0 }) },
  }),
  errorBody,
  modelsBody: (ids) => ({
    data: ids.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' })),
    has_more: false,
    first_id: ids[0] ?? null,
    last_id: ids.at(-1) ?? null,
  }),
};

export function startFakeAnthropic(options?: FakeServerOptions<AnthropicUsage>): Promise<FakeAnthropic> {
  return startFakeServer(anthropicDialect, options);
}
