/**
 * A loopback OpenAI Responses API (POST /v1/responses) on the shared fake plumbing, for Codex pass-through tests:
 * response.created, output_text deltas, response.completed with usage (input including cached tokens), or one
 * response object without `stream`; errors in OpenAI's `{"error": {…}}` shape.
 */
import { startFakeServer, type FakeServer, type FakeServerOptions, type WireDialect } from '../../fakes/server';

export interface ResponsesUsage {
  input_tokens: number;
  output_tokens: number;
  input_tokens_details?: { cached_tokens: number };
  output_tokens_details?: { reasoning_tokens: number };
}

export type FakeResponses = FakeServer<ResponsesUsage>;

const RESPONSE_ID = 'resp_fake0001';
const ITEM_ID = 'msg_fake0001';

const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

function response(model: string, status: string, usage: ResponsesUsage | null, text: string): Record<string, unknown> {
  return {
    id: RESPONSE_ID,
    object: 'response',
    created_at: 1_735_689_600,
    status,
    model,
    output: status === 'completed' ? [{ id: ITEM_ID, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }] : [],
    usage: usage ? { ...usage, total_tokens: usage.input_tokens + usage.output_tokens } : null,
  };
}

export const responsesDialect: WireDialect<ResponsesUsage> = {
  provider: 'openai',
  routes: { chat: { method: 'POST', path: '/v1/responses' }, models: { method: 'GET', path: '/v1/models' } },
  baseUrlPath: '/v1',
  streamContentType: 'text/event-stream; charset=utf-8',
  responseHeaders: { 'x-request-id': 'req_fake_responses' },
  isStreaming: (body) => body.stream === true,
  defaultUsage: (chunks) => ({ input_tokens: 12, output_tokens: chunks.length, input_tokens_details: { cached_tokens: 0 } }),
  answerFrames: ({ model, usage, text }) => ({
    head: [
      event('response.created', { sequence_number: 0, response: response(model, 'in_progress', null, '') }),
      event('response.output_item.added', { sequence_number: 1, output_index: 0, item: { id: ITEM_ID, type: 'message', status: 'in_progress', role: 'assistant', content: [] } }),
    ],
    text: (delta, index) => event('response.output_text.delta', { sequence_number: 2 + index, item_id: ITEM_ID, output_index: 0, content_index: 0, delta }),
    tail: [event('response.completed', { sequence_number: 99, response: response(model, 'completed', usage, text) })],
  }),
  malformedFrame: () => 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":\n\n',
  streamErrorFrame: (error) => event('error', { code: 'server_error', message: error.message }),
  completion: ({ model, usage, text }) => response(model, 'completed', usage, text),
  errorBody: (status, error) => ({ error: { message: error.message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: error.code ?? null } }),
  modelsBody: (ids) => ({ object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' })) }),
};

export function startFakeResponses(options?: FakeServerOptions<ResponsesUsage>): Promise<FakeResponses> {
  return startFakeServer(responsesDialect, options);
}
