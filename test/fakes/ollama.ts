/**
 * A loopback Ollama: POST /api/chat answers in NDJSON (one JSON object per line, the last with `done: true` and the
 * counts and durations), or one JSON object when the request says `stream: false`; GET /api/tags lists models;
 * errors are `{"error": "…"}`, in a stream as one more line.
 */
import { startFakeServer, type FakeErrorSpec, type FakeServer, type FakeServerOptions, type WireDialect } from './server';

/** The counts Ollama puts on its final chunk. */
export interface OllamaUsage {
  prompt_eval_count: number;
  eval_count: number;
}

export type FakeOllama = FakeServer<OllamaUsage>;

const CREATED_AT = '2025-01-01T00:00:00.000000000Z';
const NANOSECONDS_PER_TOKEN = 20_000_000;

function line(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

function finalFields(usage: OllamaUsage | null, stopReason: string | undefined): Record<string, unknown> {
  const counts = usage ?? { prompt_eval_count: 0, eval_count: 0 };
  return {
    done: true,
    done_reason: stopReason ?? 'stop',
    total_duration: (counts.prompt_eval_count + counts.eval_count) * NANOSECONDS_PER_TOKEN + 1_000_000,
    load_duration: 1_000_000,
    // A server that reports no counts omits them, as Ollama does for a fully cached prompt's prompt_eval_count.
    ...(usage && {
      prompt_eval_count: usage.prompt_eval_count,
      prompt_eval_duration: usage.prompt_eval_count * NANOSECONDS_PER_TOKEN,
      eval_count: usage.eval_count,
      eval_duration: usage.eval_count * NANOSECONDS_PER_TOKEN,
    }),
  };
}

export const ollamaDialect: WireDialect<OllamaUsage> = {
  provider: 'ollama',
  routes: { chat: { method: 'POST', path: '/api/chat' }, models: { method: 'GET', path: '/api/tags' } },
  baseUrlPath: '',
  streamContentType: 'application/x-ndjson',
  responseHeaders: {},
  // Ollama streams unless told `stream: false`.
  isStreaming: (body) => body.stream !== false,
  defaultUsage: (chunks) => ({ prompt_eval_count: 12, eval_count: chunks.length }),
  answerFrames: ({ model, usage, stopReason }) => ({
    head: [],
    text: (chunk) =>
      line({ model, created_at: CREATED_AT, message: { role: 'assistant', content: chunk }, done: false }),
    tail: [
      line({
        model,
        created_at: CREATED_AT,
        message: { role: 'assistant', content: '' },
        ...finalFields(usage, stopReason),
      }),
    ],
  }),
  malformedFrame: () => '{"model":"broken","message":{"role":"assistant","content":"cut off\n',
  streamErrorFrame: (error: FakeErrorSpec) => line({ error: error.message }),
  completion: ({ model, text, usage, stopReason }) => ({
    model,
    created_at: CREATED_AT,
    message: { role: 'assistant', content: text },
    ...finalFields(usage, stopReason),
  }),
  errorBody: (_status, error) => ({ error: error.message }),
  modelsBody: (ids) => ({
    models: ids.map((name) => ({
      name,
      model: name,
      modified_at: CREATED_AT,
      size: 4_683_087_332,
      digest: `sha256:${Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64)}`,
      details: {
        parent_model: '',
        format: 'gguf',
        family: 'qwen2',
        families: ['qwen2'],
        parameter_size: '7.6B',
        quantization_level: 'Q4_K_M',
      },
    })),
  }),
};

export function startFakeOllama(options?: FakeServerOptions<OllamaUsage>): Promise<FakeOllama> {
  return startFakeServer(ollamaDialect, options);
}
