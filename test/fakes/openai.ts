/**
 * A loopback OpenAI-compatible server: POST /v1/chat/completions answers in SSE (`data: {chat.completion.chunk}`
 * frames, a finish_reason chunk, a usage chunk with `choices: []` when `stream_options.include_usage` was asked for,
 * then `data: [DONE]`), or one chat.completion object without `stream`; GET /v1/models lists models; errors are
 * `{"error": {"message", "type", "param", "code"}}`, in a stream as a `data:` frame.
 */
import { startFakeServer, type FakeErrorSpec, type FakeServer, type FakeServerOptions, type WireDialect } from './server';

/** OpenAI's usage object, as sent on the wire. */
export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number; audio_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number; audio_tokens?: number };
}

export type FakeOpenAI = FakeServer<OpenAIUsage>;

const CREATED = 1_735_689_600;
const COMPLETION_ID = 'chatcmpl-fake0001';
const SYSTEM_FINGERPRINT = 'fp_fake';

const DEFAULT_ERRORS: Record<number, { type: string; code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory' },
  404: { type: 'invalid_request_error', code: 'model_not_found' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
  500: { type: 'server_error', code: null },
  503: { type: 'server_error', code: null },
};

function sse(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

function withTotal(usage: OpenAIUsage): OpenAIUsage {
  return { total_tokens: usage.prompt_tokens + usage.completion_tokens, ...usage };
}

function errorObject(status: number, error: FakeErrorSpec): Record<string, unknown> {
  const defaults = DEFAULT_ERRORS[status] ?? DEFAULT_ERRORS[status >= 500 ? 500 : 400];
  return {
    message: error.message,
    type: error.errorType ?? defaults.type,
    param: null,
    code: error.code ?? defaults.code,
  };
}

export const openAIDialect: WireDialect<OpenAIUsage> = {
  provider: 'openai',
  routes: {
    chat: { method: 'POST', path: '/v1/chat/completions' },
    models: { method: 'GET', path: '/v1/models' },
  },
  baseUrlPath: '/v1',
  streamContentType: 'text/event-stream; charset=utf-8',
  responseHeaders: { 'x-request-id': 'req_fake_openai' },
  isStreaming: (body) => body.stream === true,
  defaultUsage: (chunks) => ({
    prompt_tokens: 12,
    completion_tokens: chunks.length,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  }),
  answerFrames: ({ model, usage, stopReason, body }) => {
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    // With include_usage every chunk carries `usage: null` until the final usage chunk.
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
      id: COMPLETION_ID,
      object: 'chat.completion.chunk',
      created: CREATED,
      model,
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices,
      ...(includeUsage && { usage: null }),
      ...extra,
    });
    const choice = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finishReason,
    });
    return {
      head: [sse(chunk([choice({ role: 'assistant', content: '', refusal: null })]))],
      text: (content) => sse(chunk([choice({ content })])),
      tail: [
        sse(chunk([choice({}, stopReason ?? 'stop')])),
        ...(includeUsage && usage ? [sse(chunk([], { usage: withTotal(usage) }))] : []),
        'data: [DONE]\n\n',
      ],
    };
  },
  malformedFrame: () => 'data: {"id":"chatcmpl-fake0001","object":"chat.completion.chunk","choices":[{"delta":{"content":\n\n',
  streamErrorFrame: (error) => sse({ error: errorObject(500, error) }),
  completion: ({ model, text, usage, stopReason }) => ({
    id: COMPLETION_ID,
    object: 'chat.completion',
    created: CREATED,
    model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: stopReason ?? 'stop',
      },
    ],
    ...(usage && { usage: withTotal(usage) }),
  }),
  errorBody: (status, error) => ({ error: errorObject(status, error) }),
  modelsBody: (ids) => ({
    object: 'list',
    data: ids.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'fake' })),
  }),
};

export function startFakeOpenAI(options?: FakeServerOptions<OpenAIUsage>): Promise<FakeOpenAI> {
  return startFakeServer(openAIDialect, options);
}
