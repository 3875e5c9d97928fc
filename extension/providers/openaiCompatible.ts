import OpenAI from 'openai';
import type {
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { endpointBaseUrl, isLocalEndpoint, type EndpointConfig } from '../router/config';
import {
  CallDeadline,
  MalformedStreamError,
  missingKeyError,
  MODEL_LIST_TIMEOUT_MS,
  toProviderError,
} from './errors';
import { ZERO_USAGE, type ChatRequest, type ProviderAdapter, type StreamEvent, type Usage } from './types';

/** Local servers ignore the key, but the SDK refuses to build a client without one. */
const LOCAL_SERVER_PLACEHOLDER_KEY = 'not-needed';

/**
 * Parameters a server may reject while the request still makes sense without them: LM Studio rejects
 * `json_object`, OpenAI's reasoning models reject `temperature`, old servers reject `stream_options`.
 * A 400 that names one of them is retried once without it.
 */
const DROPPABLE_PARAMS = ['response_format', 'temperature', 'stream_options'] as const;

/**
 * api.openai.com (and Azure OpenAI) reject `max_tokens` for reasoning models and want `max_completion_tokens`;
 * most other OpenAI-compatible servers (llama.cpp, older LM Studio and vLLM, many hosted APIs) only know `max_tokens`.
 */
export function outputLimitParam(baseUrl: string): 'max_completion_tokens' | 'max_tokens' {
  try {
    const host = new URL(baseUrl).hostname;
    return host === 'api.openai.com' || host.endsWith('.openai.azure.com') ? 'max_completion_tokens' : 'max_tokens';
  } catch {
    return 'max_tokens';
  }
}

function keyFor(endpoint: EndpointConfig, apiKey: string | undefined): string {
  if (apiKey) return apiKey;
  if (isLocalEndpoint(endpoint)) return LOCAL_SERVER_PLACEHOLDER_KEY;
  throw missingKeyError(endpoint);
}

function createClient(endpoint: EndpointConfig, apiKey: string, timeoutMs: number): OpenAI {
  return new OpenAI({
    apiKey,
    baseURL: endpointBaseUrl(endpoint),
    maxRetries: 0,
    timeout: timeoutMs,
    // Keep ambient OPENAI_ORG_ID / OPENAI_PROJECT_ID out of requests to other servers.
    organization: null,
    project: null,
    // Failures reach the user as ProviderErrors; the SDK's console logging would only duplicate them.
    logLevel: 'off',
  });
}

function completionParams(endpoint: EndpointConfig, request: ChatRequest): ChatCompletionCreateParamsStreaming {
  const system = [request.system, request.stableContext].filter(Boolean).join('\n\n');
  const messages: ChatCompletionMessageParam[] = [
    ...(system ? [{ role: 'system' as const, content: system }] : []),
    ...request.messages.map((message) => ({ role: message.role, content: message.content })),
  ];
  return {
    model: endpoint.model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    [outputLimitParam(endpointBaseUrl(endpoint))]: request.maxOutputTokens,
    ...(request.temperature !== undefined && { temperature: request.temperature }),
    ...(request.json && { response_format: { type: 'json_object' as const } }),
  };
}

function rejectedParams(error: unknown, params: ChatCompletionCreateParamsStreaming): string[] {
  const failure = error as { status?: unknown; message?: unknown; param?: unknown };
  if (failure.status !== 400 && failure.status !== 422) return [];
  const said = `${String(failure.param ?? '')} ${String(failure.message ?? '')}`;
  return DROPPABLE_PARAMS.filter((name) => name in params && said.includes(name));
}

async function openStream(client: OpenAI, params: ChatCompletionCreateParamsStreaming, signal: AbortSignal) {
  try {
    return await client.chat.completions.create(params, { signal });
  } catch (error) {
    const rejected = rejectedParams(error, params);
    if (rejected.length === 0) throw error;
    const retry = Object.fromEntries(Object.entries(params).filter(([name]) => !rejected.includes(name)));
    return await client.chat.completions.create(retry as ChatCompletionCreateParamsStreaming, { signal });
  }
}

/** OpenAI counts cached tokens inside prompt_tokens; Usage keeps them apart because they are billed lower. */
export function usageFromCompletion(usage: CompletionUsage | undefined): Usage {
  if (!usage) return { ...ZERO_USAGE };
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    ...ZERO_USAGE,
    inputTokens: Math.max(0, (usage.prompt_tokens ?? 0) - cached),
    cacheReadTokens: cached,
    outputTokens: usage.completion_tokens ?? 0,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

export class OpenAICompatibleAdapter implements ProviderAdapter {
  readonly kind = 'openai' as const;

  async *stream(endpoint: EndpointConfig, request: ChatRequest, apiKey: string | undefined): AsyncIterable<StreamEvent> {
    const key = keyFor(endpoint, apiKey);
    const deadline = new CallDeadline(request.signal, request.timeoutMs);
    try {
      deadline.throwIfAborted();
      const client = createClient(endpoint, key, request.timeoutMs);
      const chunks = await openStream(client, completionParams(endpoint, request), deadline.signal);
      let usage: CompletionUsage | undefined;
      let stopReason: string | undefined;
      for await (const chunk of chunks) {
        const choice = chunk.choices[0];
        if (choice?.delta?.content) yield { type: 'text', text: choice.delta.content };
        if (choice?.finish_reason) stopReason = choice.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
      // The SDK ends the stream quietly on abort and on a connection that closes cleanly too early.
      deadline.throwIfAborted();
      if (!stopReason) throw new MalformedStreamError('the stream ended before a finish_reason');
      yield { type: 'usage', usage: usageFromCompletion(usage), stopReason, usageReported: usage !== undefined };
    } catch (error) {
      throw toProviderError(error, { endpoint, deadline, apiKey });
    } finally {
      deadline.release();
    }
  }

  async listModels(endpoint: EndpointConfig, apiKey: string | undefined, signal?: AbortSignal): Promise<string[]> {
    const key = keyFor(endpoint, apiKey);
    const deadline = new CallDeadline(signal, MODEL_LIST_TIMEOUT_MS);
    try {
      deadline.throwIfAborted();
      const ids: string[] = [];
      for await (const model of createClient(endpoint, key, MODEL_LIST_TIMEOUT_MS).models.list({ signal: deadline.signal })) {
        ids.push(model.id);
      }
      return ids;
    } catch (error) {
      throw toProviderError(error, { endpoint, deadline, apiKey });
    } finally {
      deadline.release();
    }
  }
}
