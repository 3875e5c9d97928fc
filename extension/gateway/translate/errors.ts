/**
 * Translation failures, and the status policy behind every codec's encodeError: which HTTP status each kind of
 * gateway error gets so that the coding agent retries what may pass later and stops on what will not.
 *
 * What the agents retry (checked against their sources and issue trackers):
 * - Claude Code retries 408, 409, 429, 5xx, 529 (overloaded_error) and connection errors, up to 10 times with
 *   backoff; it stops on other 4xx. On 401/403 it tells the user to run /login.
 * - Codex retries 5xx and transport errors (request_max_retries, stream_max_retries); a 400 ends the turn with
 *   "unexpected status 400: <body>", so the body's message reaches the user.
 * - Both SDKs (anthropic, openai) obey `x-should-retry: false` before looking at the status.
 */

/** A request or response this module cannot translate. `field` is the path of the offending field. */
export class TranslationError extends Error {
  override readonly name = 'TranslationError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** An error the upstream reported inside a stream or a 200 body (Responses status "failed"). */
export class UpstreamReportedError extends Error {
  override readonly name = 'UpstreamReportedError';
  constructor(
    readonly status: number | undefined,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

export type GatewayErrorKind = 'auth' | 'rateLimit' | 'budget' | 'invalid' | 'upstream' | 'overloaded';

export interface EncodedError {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export interface EncodeErrorOptions {
  /** Sent as Retry-After on rate limits and overload. */
  retryAfterSeconds?: number;
}

/**
 * The status the client sees.
 * - budget → 400: clients stop on it and print the message (which names the cap and the setting that raises it).
 *   429/5xx would be retried for minutes against a cap that will not lift; Codex retries a 402; Claude Code answers
 *   403 with "Please run /login", sending the user after the wrong fix. The Anthropic codec answers 402
 *   `billing_error` instead (Claude Code re-sends a 400 several times, but stops on 402).
 * - auth → 401: the client's own gateway token is wrong, so logging in again is the right advice.
 * - rateLimit → 429 and overloaded → the protocol's overload status: worth retrying after a wait.
 * - invalid → the given 4xx (400 otherwise): the request itself is wrong.
 * - upstream → the upstream's status, except that an upstream 401/403 (Tierwise's provider key was refused) becomes
 *   400: retrying cannot fix it and the client's own login is fine.
 */
export function clientStatus(kind: GatewayErrorKind, status: number, overloadedStatus: number): number {
  switch (kind) {
    case 'budget':
      return 400;
    case 'auth':
      return 401;
    case 'rateLimit':
      return 429;
    case 'overloaded':
      return overloadedStatus;
    case 'invalid':
      return status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 429 ? status : 400;
    case 'upstream':
      if (status === 401 || status === 403) return 400;
      return status >= 400 && status <= 599 ? status : 502;
  }
}

/** Whether the client should try the same request again. */
export function isRetryable(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export function errorHeaders(status: number, options: EncodeErrorOptions = {}): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (!isRetryable(status)) headers['x-should-retry'] = 'false';
  if (isRetryable(status) && options.retryAfterSeconds !== undefined) {
    headers['retry-after'] = String(Math.max(0, Math.ceil(options.retryAfterSeconds)));
  }
  return headers;
}
