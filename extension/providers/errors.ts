import { DEFAULT_KEY_ENV, endpointBaseUrl, type EndpointConfig, type ProviderKind } from '../router/config';
import { ProviderError, type ProviderErrorKind } from './types';

/** A model list is a status check: it gets this long when the caller sets no tighter deadline. */
export const MODEL_LIST_TIMEOUT_MS = 10_000;

/** The command that stores a key, named in every auth error. */
export const SET_API_KEY_COMMAND_TITLE = 'Tierwise: Set API Key';

const PROVIDER_NAMES: Record<ProviderKind, string> = {
  ollama: 'Ollama',
  openai: 'OpenAI-compatible',
  anthropic: 'Anthropic',
};

/** The environment variable (or key-file entry) that holds this endpoint's key, if it has one. */
export function apiKeyEnvName(endpoint: EndpointConfig): string | undefined {
  return endpoint.apiKeyEnv ?? DEFAULT_KEY_ENV[endpoint.provider];
}

/** "Anthropic claude-haiku-4-5 at https://api.anthropic.com": the start of every provider error message. */
export function describeEndpoint(endpoint: EndpointConfig): string {
  return `${PROVIDER_NAMES[endpoint.provider]} ${endpoint.model} at ${endpointBaseUrl(endpoint)}`;
}

function setKeyAdvice(endpoint: EndpointConfig): string {
  const env = apiKeyEnvName(endpoint);
  return env ? `set ${env} or run "${SET_API_KEY_COMMAND_TITLE}"` : `run "${SET_API_KEY_COMMAND_TITLE}"`;
}

/** Thrown before any network call when a paid endpoint has no key. */
export function missingKeyError(endpoint: EndpointConfig): ProviderError {
  return new ProviderError(
    'auth',
    endpoint.provider,
    endpoint.model,
    `${describeEndpoint(endpoint)} needs an API key: ${setKeyAdvice(endpoint)}.`,
  );
}

/** The bytes that arrived were not the provider's protocol, or the stream stopped before the protocol's end. */
export class MalformedStreamError extends Error {
  override readonly name = 'MalformedStreamError';
}

/** The server answered 200 and then reported an error inside the stream (Ollama's `{"error": …}` line). */
export class StreamReportedError extends Error {
  override readonly name = 'StreamReportedError';
}

export type AbortCause = 'timeout' | 'cancelled';

/**
 * One call's abort signal. It fires when the caller cancels or when the whole-call deadline passes, and remembers
 * which, because SDKs report both as the same AbortError and the router treats them differently.
 */
export class CallDeadline {
  readonly #controller = new AbortController();
  readonly #callerSignal: AbortSignal | undefined;
  readonly #timer: ReturnType<typeof setTimeout>;
  #cause: AbortCause | undefined;
  readonly #onCallerAbort = (): void => this.#abort('cancelled');

  constructor(
    callerSignal: AbortSignal | undefined,
    readonly timeoutMs: number,
  ) {
    this.#callerSignal = callerSignal;
    this.#timer = setTimeout(() => this.#abort('timeout'), timeoutMs);
    if (callerSignal?.aborted) this.#abort('cancelled');
    else callerSignal?.addEventListener('abort', this.#onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get abortCause(): AbortCause | undefined {
    return this.#cause;
  }

  /** SDK streams end quietly when their signal aborts, so an adapter calls this after its read loop. */
  throwIfAborted(): void {
    if (this.#cause) throw new Error(`call ${this.#cause === 'timeout' ? 'timed out' : 'was cancelled'}`);
  }

  /** Stops the timer and closes the HTTP request if it is still open (the consumer stopped reading early). */
  release(): void {
    clearTimeout(this.#timer);
    this.#callerSignal?.removeEventListener('abort', this.#onCallerAbort);
    if (!this.#controller.signal.aborted) this.#controller.abort();
  }

  #abort(cause: AbortCause): void {
    if (this.#controller.signal.aborted) return;
    this.#cause = cause;
    clearTimeout(this.#timer);
    this.#controller.abort();
  }
}

interface HeaderSource {
  get(name: string): string | null;
}

/** Milliseconds to wait before retrying, from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: HeaderSource | undefined, nowMs = Date.now()): number | undefined {
  if (!headers) return undefined;
  const precise = headers.get('retry-after-ms')?.trim();
  if (precise) {
    const ms = Number(precise);
    if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  }
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const dateMs = Date.parse(value);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

export interface FailureContext {
  endpoint: EndpointConfig;
  deadline: CallDeadline;
  /** Removed from every message, in case a server echoes it. */
  apiKey?: string;
  /** Headers of a failed response, for SDKs whose errors do not carry them (ollama). */
  responseHeaders?: HeaderSource;
}

/** What every SDK's error says, read without importing the SDKs. */
interface WireFailure {
  status?: number;
  headers?: HeaderSource;
  /** The provider's own error message. */
  providerMessage: string;
  /** The provider's error types and codes, e.g. `rate_limit_error`, `invalid_request_error context_length_exceeded`. */
  errorType?: string;
}

const CONTEXT_OVERFLOW =
  /context[_ ]length|context window|context size|context limit|maximum context|too long|too many tokens|exceeds? (the )?(available )?context|exceed_context_size|request_too_large/i;

const NETWORK_FAILURE =
  /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|UND_ERR_|fetch failed|terminated|socket hang up|premature close|other side closed|connection error/i;

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function readWireFailure(error: unknown, fallbackHeaders: HeaderSource | undefined): WireFailure {
  const record = asRecord(error);
  // openai and @anthropic-ai/sdk: `status`; ollama's ResponseError: `status_code`.
  const status =
    typeof record?.status === 'number' ? record.status : typeof record?.status_code === 'number' ? record.status_code : undefined;
  const headers = typeof asRecord(record?.headers)?.get === 'function' ? (record?.headers as HeaderSource) : fallbackHeaders;
  // ollama: `error` is the message; openai: the body's `error` object; anthropic: the whole body.
  const body = record?.error;
  const bodyRecord = asRecord(body);
  const nested = asRecord(bodyRecord?.error);
  const providerMessage =
    typeof body === 'string'
      ? body
      : typeof bodyRecord?.message === 'string'
        ? bodyRecord.message
        : typeof nested?.message === 'string'
          ? nested.message
          : error instanceof Error
            ? error.message.replace(/^\d{3} /, '')
            : String(error);
  const typesAndCodes = [nested?.type, bodyRecord?.type, bodyRecord?.code].filter((value) => typeof value === 'string');
  return { status, headers, providerMessage, errorType: typesAndCodes.join(' ') || undefined };
}

/** Messages and codes along the cause chain, e.g. "fetch failed: connect ECONNREFUSED 127.0.0.1:9". */
function causeChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const record = asRecord(current);
    const text = current instanceof Error ? current.message : String(current);
    const code = typeof record?.code === 'string' ? record.code : undefined;
    for (const part of [text, code]) if (part && !parts.some((seen) => seen.includes(part))) parts.push(part);
    current = record?.cause;
  }
  return parts.join(': ');
}

function kindForStatus(status: number, failure: WireFailure): ProviderErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rateLimit';
  // 413 means the request is too big for this endpoint whatever the body says.
  if (status === 413) return 'contextOverflow';
  // 408 is the server giving up on us; a later attempt or another endpoint may do better.
  if (status === 408 || status >= 500) return 'server';
  if (CONTEXT_OVERFLOW.test(`${failure.errorType ?? ''} ${failure.providerMessage}`)) return 'contextOverflow';
  return 'badRequest';
}

/** An error reported inside a stream has no status, only the provider's error type and message. */
function kindForReportedError(failure: WireFailure): ProviderErrorKind {
  const text = `${failure.errorType ?? ''} ${failure.providerMessage}`;
  if (/rate_limit|rate limit/i.test(text)) return 'rateLimit';
  if (/authentication|permission|invalid_api_key/i.test(text)) return 'auth';
  if (CONTEXT_OVERFLOW.test(text)) return 'contextOverflow';
  if (/invalid_request/i.test(text)) return 'badRequest';
  return 'server';
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))}s`;
}

function redact(message: string, apiKey: string | undefined): string {
  return apiKey && apiKey.length >= 4 ? message.split(apiKey).join('[redacted key]') : message;
}

/** The original error, unless it quotes the key: then only its redacted text, so logging the cause cannot leak it. */
function safeCause(error: unknown, failure: WireFailure | undefined, apiKey: string | undefined): unknown {
  const text = `${causeChain(error)} ${failure?.providerMessage ?? ''}`;
  return apiKey && apiKey.length >= 4 && text.includes(apiKey) ? new Error(redact(causeChain(error), apiKey)) : error;
}

/**
 * Maps anything an SDK, fetch or an adapter threw into a ProviderError whose message names the endpoint, the
 * status and the provider's own words. Our deadline's cause wins: after an abort, every SDK error is a symptom.
 */
export function toProviderError(error: unknown, context: FailureContext): ProviderError {
  if (error instanceof ProviderError) return error;
  const { endpoint, deadline } = context;
  let failure: WireFailure | undefined;
  const make = (kind: ProviderErrorKind, summary: string, details: { status?: number; retryAfterMs?: number } = {}) =>
    new ProviderError(
      kind,
      endpoint.provider,
      endpoint.model,
      redact(`${describeEndpoint(endpoint)}: ${summary}`, context.apiKey),
      { ...details, cause: safeCause(error, failure, context.apiKey) },
    );

  if (deadline.abortCause === 'timeout') {
    return make('timeout', `no complete answer within ${seconds(deadline.timeoutMs)}, so the request was stopped.`);
  }
  if (deadline.abortCause === 'cancelled') return make('cancelled', 'the request was cancelled.');

  failure = readWireFailure(error, context.responseHeaders);
  const said = failure.providerMessage;
  if (failure.status !== undefined) {
    const status = failure.status;
    const kind = kindForStatus(status, failure);
    const http = `HTTP ${status}: ${said}`;
    switch (kind) {
      case 'auth':
        return make(
          'auth',
          `${status === 403 ? 'refused access with this API key' : 'rejected the API key'} (${http}). Check the key: ${setKeyAdvice(endpoint)}.`,
          { status },
        );
      case 'rateLimit': {
        const waitMs = retryAfterMs(failure.headers);
        const retry = waitMs === undefined ? '' : `; retry after ${seconds(waitMs)}`;
        return make('rateLimit', `rate limited (${http})${retry}.`, { status, retryAfterMs: waitMs });
      }
      case 'contextOverflow':
        return make('contextOverflow', `the request does not fit the model's context (${http}).`, { status });
      case 'server':
        return make('server', `${status === 529 ? 'overloaded' : 'server error'} (${http}).`, { status });
      default:
        return make('badRequest', `rejected the request (${http}).`, { status });
    }
  }

  if (error instanceof MalformedStreamError || error instanceof SyntaxError) {
    return make('network', `the answer stream was broken (${said}).`);
  }
  const record = asRecord(error);
  const reportedInStream =
    error instanceof StreamReportedError || (asRecord(record?.error) !== undefined && failure.providerMessage !== '');
  if (reportedInStream) return make(kindForReportedError(failure), `reported an error mid-answer: ${said}`);

  const chain = causeChain(error);
  if (/timed? ?out/i.test(chain) && !/ETIMEDOUT/.test(chain)) return make('timeout', `timed out (${chain}).`);
  if (NETWORK_FAILURE.test(chain)) return make('network', `connection failed (${chain}).`);
  // Unrecognised failures are most likely the endpoint misbehaving; the message keeps what happened.
  return make('server', `unexpected failure (${chain}).`);
}
