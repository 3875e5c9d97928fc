import type { WireProtocol } from './protocols';

/**
 * Errors the gateway itself answers with, in the client's own error format. The status is chosen for what the
 * client does next: Claude Code and Codex retry 429, 5xx, 529 and network errors (Claude Code also 401, 408 and
 * 409; Codex also 402/403 and other unexpected statuses), while both stop on 400. So everything a retry cannot fix
 * — a cap, a missing key, no endpoint — is a 400, with `x-should-retry: false` for clients built on the Anthropic
 * or OpenAI SDKs, which honour it. A cap reaching an Anthropic client is a 402 `billing_error`, as the translators
 * answer it (Claude Code stops on it too; Codex would retry a 402, so OpenAI clients get the 400).
 */
export type GatewayErrorKind =
  | 'unauthorized'
  | 'forbidden'
  | 'notFound'
  | 'methodNotAllowed'
  | 'tooLarge'
  | 'badRequest'
  | 'budget'
  | 'missingKey'
  | 'noEndpoint'
  | 'upstreamUnreachable'
  | 'upstreamTimeout'
  | 'shuttingDown'
  | 'internal';

const STATUS: Record<GatewayErrorKind, number> = {
  unauthorized: 401,
  forbidden: 403,
  notFound: 404,
  methodNotAllowed: 405,
  tooLarge: 413,
  badRequest: 400,
  budget: 400,
  missingKey: 400,
  noEndpoint: 400,
  upstreamUnreachable: 502,
  upstreamTimeout: 504,
  shuttingDown: 503,
  internal: 500,
};

/** Kinds a retry cannot fix. */
const FINAL: ReadonlySet<GatewayErrorKind> = new Set(['budget', 'missingKey', 'noEndpoint', 'badRequest', 'tooLarge', 'forbidden', 'notFound', 'methodNotAllowed']);

const ANTHROPIC_BUDGET_STATUS = 402;

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  402: 'billing_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  500: 'api_error',
  502: 'api_error',
  503: 'api_error',
  504: 'timeout_error',
};

const OPENAI_CODES: Partial<Record<GatewayErrorKind, string>> = {
  unauthorized: 'invalid_api_key',
  budget: 'tierwise_budget_cap',
  missingKey: 'tierwise_missing_key',
  noEndpoint: 'tierwise_no_endpoint',
  tooLarge: 'request_too_large',
};

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly status: number;
  constructor(
    readonly kind: GatewayErrorKind,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = options.status ?? STATUS[kind];
  }

  get final(): boolean {
    return FINAL.has(this.kind);
  }
}

export interface EncodedError {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A gateway error as the client's provider would have sent it. */
export function encodeGatewayError(protocol: WireProtocol, error: GatewayError): EncodedError {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (error.final) headers['x-should-retry'] = 'false';
  if (protocol === 'anthropic') {
    // As the translators answer a cap: Anthropic's own "billing" error, on which Claude Code stops.
    const status = error.kind === 'budget' ? ANTHROPIC_BUDGET_STATUS : error.status;
    const type = ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    return { status, headers, body: JSON.stringify({ type: 'error', error: { type, message: error.message } }) };
  }
  if (protocol === 'ollama') return { status: error.status, headers, body: JSON.stringify({ error: error.message }) };
  const type = error.status >= 500 ? 'server_error' : 'invalid_request_error';
  return {
    status: error.status,
    headers,
    body: JSON.stringify({ error: { message: error.message, type, param: null, code: OPENAI_CODES[error.kind] ?? null } }),
  };
}
