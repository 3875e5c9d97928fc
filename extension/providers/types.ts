import type { EndpointConfig, ProviderKind } from '../router/config';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * One model call, independent of wire protocol. `system` and `stableContext` form the byte-stable prefix that
 * providers with prompt caching mark as cacheable; `messages` is the part that changes from call to call.
 */
export interface ChatRequest {
  system?: string;
  stableContext?: string;
  messages: ChatMessage[];
  maxOutputTokens: number;
  temperature?: number;
  /** Ask for a JSON object when the provider supports a JSON mode. */
  json?: boolean;
  signal?: AbortSignal;
  /** Whole-call timeout, including the time to stream the answer. */
  timeoutMs: number;
}

/** Token usage as the provider reported it. Fields a provider does not report stay 0. */
export interface Usage {
  /** Input tokens billed at the base input price (excludes cache reads and cache writes). */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  /** Part of outputTokens spent on reasoning, where reported (already included in outputTokens). */
  reasoningTokens: number;
}

export const ZERO_USAGE: Usage = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  reasoningTokens: 0,
});

/** Total prompt tokens, however they were billed. */
export function promptTokens(usage: Usage): number {
  return usage.inputTokens + usage.cacheReadTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens;
}

export type StreamEvent =
  | { type: 'text'; text: string }
  | {
      type: 'usage';
      usage: Usage;
      stopReason?: string;
      /** False when the server sent no usage at all (some OpenAI-compatible servers): the counts are zeros, not measured. */
      usageReported?: boolean;
    };

/** Resolves the API key for an endpoint; undefined means none is configured (fine for local servers). */
export type KeyResolver = (endpoint: EndpointConfig) => Promise<string | undefined>;

/** One adapter per wire protocol. Adapters translate; they never decide routing or compute cost. */
export interface ProviderAdapter {
  readonly kind: ProviderKind;
  /**
   * Streams text deltas and ends with exactly one usage event. Throws ProviderError for every failure,
   * including cancellation through request.signal and request.timeoutMs.
   */
  stream(endpoint: EndpointConfig, request: ChatRequest, apiKey: string | undefined): AsyncIterable<StreamEvent>;
  /** Models the server has (for local servers' status), or throws ProviderError. */
  listModels(endpoint: EndpointConfig, apiKey: string | undefined, signal?: AbortSignal): Promise<string[]>;
}

export type ProviderErrorKind =
  | 'auth'
  | 'rateLimit'
  | 'contextOverflow'
  | 'server'
  | 'network'
  | 'timeout'
  | 'cancelled'
  | 'badRequest';

/** An error the user can act on: it names the provider, the endpoint and what went wrong. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly kind: ProviderErrorKind,
    readonly provider: ProviderKind,
    readonly model: string,
    message: string,
    readonly details: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
  }

  /** Whether the tier's next endpoint should be tried (the request itself is fine, this endpoint is not). */
  get isFallbackWorthy(): boolean {
    return this.kind === 'rateLimit' || this.kind === 'server' || this.kind === 'network' || this.kind === 'timeout';
  }
}
