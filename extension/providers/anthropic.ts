import Anthropic from '@anthropic-ai/sdk';
import type {
  MessageCreateParamsStreaming,
  MessageDeltaUsage,
  TextBlockParam,
  Usage as AnthropicUsage,
} from '@anthropic-ai/sdk/resources/messages';
import { endpointBaseUrl, type EndpointConfig } from '../router/config';
import {
  CallDeadline,
  MalformedStreamError,
  missingKeyError,
  MODEL_LIST_TIMEOUT_MS,
  toProviderError,
} from './errors';
import type { ChatRequest, ProviderAdapter, StreamEvent, Usage } from './types';

function createClient(endpoint: EndpointConfig, apiKey: string, timeoutMs: number): Anthropic {
  return new Anthropic({
    apiKey,
    baseURL: endpointBaseUrl(endpoint),
    maxRetries: 0,
    timeout: timeoutMs,
    // Failures reach the user as ProviderErrors; the SDK's console logging would only duplicate them.
    logLevel: 'off',
    // Prompts are the user's code: never hand them to a tracer some other extension registered.
    openTelemetry: false,
  });
}

/**
 * The system prompt, then the stable context, with the cache breakpoint on the last of them so that repeated calls
 * with the same prefix read it from the prompt cache. Built only from the request's strings, in a fixed key order,
 * so equal inputs give byte-identical blocks (a changed byte would miss the cache).
 */
export function systemBlocks(request: Pick<ChatRequest, 'system' | 'stableContext'>): TextBlockParam[] | undefined {
  const texts = [request.system, request.stableContext].filter((text): text is string => Boolean(text));
  if (texts.length === 0) return undefined;
  return texts.map((text, index) =>
    index === texts.length - 1
      ? { type: 'text', text, cache_control: { type: 'ephemeral' } }
      : { type: 'text', text },
  );
}

function messageParams(endpoint: EndpointConfig, request: ChatRequest): MessageCreateParamsStreaming {
  // This SDK's Messages API takes no temperature, and has no schema-less JSON mode: `request.json` relies on the prompt.
  const system = systemBlocks(request);
  return {
    model: endpoint.model,
    max_tokens: request.maxOutputTokens,
    ...(system && { system }),
    messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
    stream: true,
  };
}

/**
 * message_start carries input and cache counts, message_delta the cumulative output (and, on newer servers,
 * updated input counts). Cache writes: the 1h part from the breakdown, the rest of the total as 5m writes
 * (a server that sends only the total wrote 5m entries, the default TTL).
 */
export function usageFromMessage(start: AnthropicUsage | undefined, delta: MessageDeltaUsage | undefined): Usage {
  const breakdown = start?.cache_creation;
  const written =
    delta?.cache_creation_input_tokens ??
    start?.cache_creation_input_tokens ??
    (breakdown ? breakdown.ephemeral_5m_input_tokens + breakdown.ephemeral_1h_input_tokens : 0);
  const write1h = breakdown?.ephemeral_1h_input_tokens ?? 0;
  return {
    inputTokens: delta?.input_tokens ?? start?.input_tokens ?? 0,
    outputTokens: delta?.output_tokens ?? start?.output_tokens ?? 0,
    cacheReadTokens: delta?.cache_read_input_tokens ?? start?.cache_read_input_tokens ?? 0,
    cacheWrite5mTokens: Math.max(0, written - write1h),
    cacheWrite1hTokens: write1h,
    reasoningTokens:
      delta?.output_tokens_details?.thinking_tokens ?? start?.output_tokens_details?.thinking_tokens ?? 0,
  };
}

export class AnthropicAdapter implements ProviderAdapter {
  readonly kind = 'anthropic' as const;

  async *stream(endpoint: EndpointConfig, request: ChatRequest, apiKey: string | undefined): AsyncIterable<StreamEvent> {
    if (!apiKey) throw missingKeyError(endpoint);
    const deadline = new CallDeadline(request.signal, request.timeoutMs);
    try {
      deadline.throwIfAborted();
      const client = createClient(endpoint, apiKey, request.timeoutMs);
      const events = await client.messages.create(messageParams(endpoint, request), { signal: deadline.signal });
      let startUsage: AnthropicUsage | undefined;
      let deltaUsage: MessageDeltaUsage | undefined;
      let stopReason: string | undefined;
      let stopped = false;
      for await (const event of events) {
        switch (event.type) {
          case 'message_start':
            startUsage = event.message.usage;
            break;
          case 'content_block_delta':
            if (event.delta.type === 'text_delta' && event.delta.text) yield { type: 'text', text: event.delta.text };
            break;
          case 'message_delta':
            deltaUsage = event.usage;
            stopReason = event.delta.stop_reason ?? stopReason;
            break;
          case 'message_stop':
            stopped = true;
            break;
        }
      }
      // The SDK ends the stream quietly on abort and on a connection that closes cleanly too early.
      deadline.throwIfAborted();
      if (!stopped) throw new MalformedStreamError('the stream ended before message_stop');
      yield {
        type: 'usage',
        usage: usageFromMessage(startUsage, deltaUsage),
        stopReason,
        usageReported: startUsage !== undefined || deltaUsage !== undefined,
      };
    } catch (error) {
      throw toProviderError(error, { endpoint, deadline, apiKey });
    } finally {
      deadline.release();
    }
  }

  async listModels(endpoint: EndpointConfig, apiKey: string | undefined, signal?: AbortSignal): Promise<string[]> {
    if (!apiKey) throw missingKeyError(endpoint);
    const deadline = new CallDeadline(signal, MODEL_LIST_TIMEOUT_MS);
    try {
      deadline.throwIfAborted();
      const ids: string[] = [];
      const models = createClient(endpoint, apiKey, MODEL_LIST_TIMEOUT_MS).models.list({}, { signal: deadline.signal });
      for await (const model of models) ids.push(model.id);
      return ids;
    } catch (error) {
      throw toProviderError(error, { endpoint, deadline, apiKey });
    } finally {
      deadline.release();
    }
  }
}
