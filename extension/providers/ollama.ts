import { Ollama, type ChatRequest as OllamaChatRequest, type ChatResponse, type Message } from 'ollama';
import { endpointBaseUrl, type EndpointConfig } from '../router/config';
import {
  CallDeadline,
  MalformedStreamError,
  MODEL_LIST_TIMEOUT_MS,
  StreamReportedError,
  toProviderError,
} from './errors';
import { ZERO_USAGE, type ChatRequest, type ProviderAdapter, type StreamEvent } from './types';

const CHAT_PATH = '/api/chat';

/**
 * The ollama package's fetch, bound to one call: it carries our deadline's signal (the package's own `abort()` is
 * per client and cannot tell timeout from cancel), remembers the headers of a failed response (its ResponseError
 * drops them, and with them Retry-After), and checks the chat stream line by line, because the package silently
 * skips lines that are not JSON.
 */
class OllamaWire {
  failedResponseHeaders: Headers | undefined;

  constructor(private readonly deadline: CallDeadline) {}

  readonly fetch: typeof fetch = async (input, init) => {
    const signal = init?.signal ? AbortSignal.any([init.signal, this.deadline.signal]) : this.deadline.signal;
    const response = await globalThis.fetch(input, { ...init, signal });
    if (!response.ok) {
      this.failedResponseHeaders = response.headers;
      return response;
    }
    const url = input instanceof Request ? input.url : String(input);
    if (!response.body || !new URL(url).pathname.endsWith(CHAT_PATH)) return response;
    return new Response(response.body.pipeThrough(checkedChatStream()), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/**
 * Marks a chunk that reports a broken stream. The check cannot simply error the stream: that would drop the good
 * lines still queued before the bad one, so it hands this chunk on in order and stops.
 */
const STREAM_FAULT_KEY = 'tierwiseStreamFault';

interface StreamFault {
  kind: 'malformed' | 'reported';
  message: string;
}

function streamFaultOf(chunk: object): Error | undefined {
  const fault = (chunk as { [STREAM_FAULT_KEY]?: StreamFault })[STREAM_FAULT_KEY];
  if (!fault) return undefined;
  return fault.kind === 'reported' ? new StreamReportedError(fault.message) : new MalformedStreamError(fault.message);
}

/** Passes NDJSON lines through unchanged until a line that is not JSON, an error line, or an end before `done`. */
function checkedChatStream(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = '';
  let sawDone = false;
  let faulted = false;
  const fault = (controller: TransformStreamDefaultController<Uint8Array>, streamFault: StreamFault): void => {
    faulted = true;
    controller.enqueue(encoder.encode(`${JSON.stringify({ [STREAM_FAULT_KEY]: streamFault })}\n`));
    controller.terminate();
  };
  const pass = (line: string, controller: TransformStreamDefaultController<Uint8Array>): void => {
    if (faulted || !line.trim()) return;
    let chunk: { done?: unknown; error?: unknown };
    try {
      chunk = JSON.parse(line) as typeof chunk;
    } catch {
      return fault(controller, { kind: 'malformed', message: `a stream line is not JSON: ${line.slice(0, 120)}` });
    }
    if (chunk.error !== undefined) return fault(controller, { kind: 'reported', message: String(chunk.error) });
    if (chunk.done === true) sawDone = true;
    controller.enqueue(encoder.encode(`${line}\n`));
  };
  return new TransformStream({
    transform(bytes, controller) {
      pending += decoder.decode(bytes, { stream: true });
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) pass(line, controller);
    },
    flush(controller) {
      pass(pending + decoder.decode(), controller);
      if (!sawDone && !faulted) {
        fault(controller, { kind: 'malformed', message: 'the stream ended before its final "done" chunk' });
      }
    },
  });
}

function createClient(endpoint: EndpointConfig, wire: OllamaWire, apiKey: string | undefined): Ollama {
  // A key is only needed behind an authenticating proxy or for ollama.com; a local server ignores it.
  const headers = apiKey ? { Authorization: `Bearer ${apiKey}` } : undefined;
  return new Ollama({ host: endpointBaseUrl(endpoint), fetch: wire.fetch, headers });
}

function chatRequest(endpoint: EndpointConfig, request: ChatRequest): OllamaChatRequest & { stream: true } {
  const system = [request.system, request.stableContext].filter(Boolean).join('\n\n');
  const messages: Message[] = [
    ...(system ? [{ role: 'system', content: system }] : []),
    ...request.messages.map((message) => ({ role: message.role, content: message.content })),
  ];
  return {
    model: endpoint.model,
    stream: true,
    messages,
    options: {
      // Without num_ctx Ollama uses its small default and silently drops the start of long prompts.
      num_ctx: endpoint.numCtx ?? endpoint.contextWindowTokens,
      num_predict: request.maxOutputTokens,
      temperature: request.temperature,
    },
    keep_alive: endpoint.keepAlive,
    format: request.json ? 'json' : undefined,
  };
}

export class OllamaAdapter implements ProviderAdapter {
  readonly kind = 'ollama' as const;

  async *stream(endpoint: EndpointConfig, request: ChatRequest, apiKey: string | undefined): AsyncIterable<StreamEvent> {
    const deadline = new CallDeadline(request.signal, request.timeoutMs);
    const wire = new OllamaWire(deadline);
    try {
      deadline.throwIfAborted();
      const chunks = await createClient(endpoint, wire, apiKey).chat(chatRequest(endpoint, request));
      let final: ChatResponse | undefined;
      for await (const chunk of chunks) {
        const fault = streamFaultOf(chunk);
        if (fault) throw fault;
        if (chunk.message?.content) yield { type: 'text', text: chunk.message.content };
        if (chunk.done) final = chunk;
      }
      deadline.throwIfAborted();
      yield {
        type: 'usage',
        usage: { ...ZERO_USAGE, inputTokens: final?.prompt_eval_count ?? 0, outputTokens: final?.eval_count ?? 0 },
        stopReason: final?.done_reason,
        usageReported: final?.eval_count !== undefined,
      };
    } catch (error) {
      throw toProviderError(error, { endpoint, deadline, apiKey, responseHeaders: wire.failedResponseHeaders });
    } finally {
      deadline.release();
    }
  }

  async listModels(endpoint: EndpointConfig, apiKey: string | undefined, signal?: AbortSignal): Promise<string[]> {
    const deadline = new CallDeadline(signal, MODEL_LIST_TIMEOUT_MS);
    const wire = new OllamaWire(deadline);
    try {
      deadline.throwIfAborted();
      const { models } = await createClient(endpoint, wire, apiKey).list();
      return models.map((model) => model.name);
    } catch (error) {
      throw toProviderError(error, { endpoint, deadline, apiKey, responseHeaders: wire.failedResponseHeaders });
    } finally {
      deadline.release();
    }
  }
}
