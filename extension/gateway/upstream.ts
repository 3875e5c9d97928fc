import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { RequestHeaders } from './classify';
import { Http1Agent } from './http1Client';

/** The status line and headers of an upstream's answer. */
export interface UpstreamResponseHead {
  status: number;
  /** Lower-case names; repeated headers as arrays. */
  headers: IncomingHttpHeaders;
}

/** What the gateway does with an upstream's answer, as it arrives. */
export interface UpstreamHandler {
  onResponse(head: UpstreamResponseHead): void;
  /** A body chunk; false asks the upstream to wait until `UpstreamCall.resume()`. */
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  /**
   * The call failed: no connection, silent past the idle timeout (UpstreamTimeoutError), the connection closed
   * before the answer was complete, or `abort` was called. It may come before or after onResponse.
   */
  onError(error: Error): void;
}

export interface UpstreamCall {
  /** Stops the call (the upstream bills only what it generated); onError follows with `reason`. */
  abort(reason: Error): void;
  /** Reads on after onData returned false. */
  resume(): void;
}

/**
 * Connections to upstreams, keep-alive pools per origin (one TLS handshake per upstream, not per request), in two
 * transports behind one interface:
 *   - plain HTTP (local servers: Ollama, LM Studio, llama.cpp; anything on the LAN) goes through Http1Agent, which
 *     writes the request in one write as soon as it is sent. On loopback, where nothing hides a client library's
 *     cost behind a network round trip, node:http's ClientRequest and undici each cost the gateway 25–30 µs per
 *     request before the first byte left (see scripts/bench-gateway.ts);
 *   - HTTPS (the providers' APIs) goes through node:https, which VS Code's extension host patches to apply the
 *     user's proxy settings and system certificates: a corporate proxy or TLS-inspecting firewall keeps working.
 */
export class UpstreamConnections {
  private readonly plain = new Http1Agent({ timeoutError: (idleMs) => new UpstreamTimeoutError(idleMs) });
  private readonly tls = new HttpsAgent({ keepAlive: true, scheduling: 'lifo' });

  /** Sends a POST with `body`; the answer goes to `handler`. */
  send(url: URL, headers: OutgoingHttpHeaders, body: Buffer, idleTimeoutMs: number, handler: UpstreamHandler): UpstreamCall {
    return url.protocol === 'https:' ? this.sendTls(url, headers, body, idleTimeoutMs, handler) : this.sendPlain(url, headers, body, idleTimeoutMs, handler);
  }

  private sendPlain(url: URL, headers: OutgoingHttpHeaders, body: Buffer, idleTimeoutMs: number, handler: UpstreamHandler): UpstreamCall {
    return this.plain.send(url, withUrlCredentials(url, headers), body, idleTimeoutMs, handler);
  }

  private sendTls(url: URL, headers: OutgoingHttpHeaders, body: Buffer, idleTimeoutMs: number, handler: UpstreamHandler): UpstreamCall {
    let ended = false;
    let answer: IncomingMessage | undefined;
    const fail = (error: Error) => {
      if (ended) return;
      ended = true;
      queueMicrotask(() => handler.onError(error));
    };
    let request: ClientRequest;
    try {
      request = httpsRequest({
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port || undefined,
        path: url.pathname + url.search,
        method: 'POST',
        headers: { ...requestHeaders(withUrlCredentials(url, headers)), 'content-length': String(body.length) },
        agent: this.tls,
      });
    } catch (error) {
      // node:http refuses a header it cannot send (a key with a line break in it, say) before anything is sent.
      fail(error instanceof Error ? error : new Error(String(error)));
      return { abort: () => {}, resume: () => {} };
    }
    request.setTimeout(idleTimeoutMs, () => request.destroy(new UpstreamTimeoutError(idleTimeoutMs)));
    request.on('error', fail);
    request.on('response', (response) => {
      answer = response;
      handler.onResponse({ status: response.statusCode ?? 502, headers: response.headers });
      response.on('data', (chunk: Buffer) => {
        if (!handler.onData(chunk)) response.pause();
      });
      response.once('end', () => {
        if (ended) return;
        ended = true;
        handler.onEnd();
      });
      response.once('close', () => {
        if (!response.complete) fail(request.destroyed && request.errored ? request.errored : new Error('the upstream closed the connection before the answer was complete'));
      });
    });
    request.end(body);
    return {
      abort(reason) {
        request.destroy(reason);
      },
      resume() {
        answer?.resume();
      },
    };
  }

  destroy(): void {
    this.plain.destroy();
    this.tls.destroy();
  }
}

/** The request was refused before it was sent: a header value that cannot be sent, such as a key with a line break. */
export function isRefusedRequest(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'ERR_INVALID_CHAR' || code === 'ERR_INVALID_HTTP_TOKEN';
}

/** Credentials in the URL become Basic authorization, as node:http would send them. */
function withUrlCredentials(url: URL, headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  if (!(url.username || url.password) || headers.authorization !== undefined) return headers;
  return { ...headers, authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` };
}

/** Header values as strings, without the ones the transport sets (content-length from the body, host from the URL). */
function requestHeaders(headers: OutgoingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name === 'content-length' || name === 'host') continue;
    out[name] = typeof value === 'number' ? String(value) : value;
  }
  return out;
}

export class UpstreamTimeoutError extends Error {
  override readonly name = 'UpstreamTimeoutError';
  constructor(readonly idleMs: number) {
    super(`no data from the upstream for ${idleMs < 10_000 ? `${idleMs} ms` : `${Math.round(idleMs / 1000)} s`}`);
  }
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and headers about this connection, never forwarded either way. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'expect']);

/**
 * Client headers that must not reach an upstream: the gateway token (x-api-key / authorization), browser and proxy
 * identity, compression (the gateway reads the stream for usage), and account headers for the client's own login,
 * which would contradict Tierwise's key.
 */
const CLIENT_ONLY = new Set([
  'x-api-key',
  'authorization',
  'origin',
  'referer',
  'cookie',
  'accept-encoding',
  'forwarded',
  'chatgpt-account-id',
  'openai-organization',
  'openai-project',
]);

/** Upstream response headers the client should not see. */
const UPSTREAM_ONLY = new Set(['set-cookie', 'alt-svc']);

/** The client's headers for a same-protocol upstream, minus what must not cross; `dropBetas` removes beta flags. */
export function forwardedRequestHeaders(headers: RequestHeaders, dropBetas?: (beta: string) => boolean): OutgoingHttpHeaders {
  const forwarded: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || CLIENT_ONLY.has(name) || name.startsWith('x-forwarded-') || name.startsWith('proxy-')) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (name === 'anthropic-beta' && dropBetas) {
      const kept = (Array.isArray(value) ? value.join(',') : value)
        .split(',')
        .map((beta) => beta.trim())
        .filter((beta) => beta && !dropBetas(beta));
      if (kept.length) forwarded[name] = kept.join(',');
      continue;
    }
    forwarded[name] = value;
  }
  forwarded['accept-encoding'] = 'identity';
  return forwarded;
}

/** The upstream's response headers for the client, minus hop-by-hop ones (content-length kept when the body is untouched). */
export function forwardedResponseHeaders(headers: IncomingHttpHeaders, keepContentLength: boolean): OutgoingHttpHeaders {
  const forwarded: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (UPSTREAM_ONLY.has(name)) continue;
    if (HOP_BY_HOP.has(name) && !(keepContentLength && name === 'content-length')) continue;
    const value = headers[name];
    if (value !== undefined) forwarded[name] = value;
  }
  return forwarded;
}
