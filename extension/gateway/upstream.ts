import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Agent, Dispatcher } from 'undici';
import type { RequestHeaders } from './classify';

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
 * Connections to upstreams through undici: keep-alive pools per origin (one TLS handshake per upstream, not per
 * request), and a request written to the socket as soon as it is dispatched. On loopback node:http's
 * ClientRequest costs the gateway about as much again as its own routing work, so this is where the
 * gateway's added latency is won; see scripts/bench-gateway.ts.
 */
export class UpstreamConnections {
  private pool: Agent | undefined;

  /** undici is loaded with the first upstream call, not when the extension starts (about 70 ms from disk). */
  private get agent(): Agent {
    if (!this.pool) {
      const undici = require('undici') as typeof import('undici');
      this.pool = new undici.Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 10 * 60_000 });
    }
    return this.pool;
  }

  /** Sends a POST with `body`; the answer goes to `handler`. */
  send(url: URL, headers: OutgoingHttpHeaders, body: Buffer, idleTimeoutMs: number, handler: UpstreamHandler): UpstreamCall {
    let controller: Dispatcher.DispatchController | undefined;
    let pendingAbort: Error | undefined;
    let ended = false;
    // A refusal raised inside dispatch (a header undici rejects) reaches the handler after send() has returned.
    let dispatching = true;
    const fail = (error: Error) => {
      if (ended) return;
      ended = true;
      if (dispatching) queueMicrotask(() => handler.onError(error));
      else handler.onError(error);
    };
    try {
      this.agent.dispatch(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: 'POST',
          headers: requestHeaders(url, headers),
          body,
          // Idle, not whole-call: an agent turn may stream for many minutes, but an upstream silent this long is stuck.
          headersTimeout: idleTimeoutMs,
          bodyTimeout: idleTimeoutMs,
        },
        {
          onRequestStart(started) {
            controller = started;
            if (pendingAbort) started.abort(pendingAbort);
          },
          onResponseStart(_controller, statusCode, responseHeaders) {
            if (statusCode < 200) return; // 1xx: the answer follows
            handler.onResponse({ status: statusCode, headers: responseHeaders });
          },
          onResponseData(current, chunk) {
            if (!handler.onData(chunk)) current.pause();
          },
          onResponseEnd() {
            if (ended) return;
            ended = true;
            handler.onEnd();
          },
          onResponseError(_controller, error) {
            fail(isIdleTimeout(error) ? new UpstreamTimeoutError(idleTimeoutMs) : error);
          },
        },
      );
    } catch (error) {
      fail(error instanceof Error ? error : new Error(String(error)));
    }
    dispatching = false;
    return {
      abort(reason) {
        if (controller) controller.abort(reason);
        else pendingAbort = reason;
      },
      resume() {
        controller?.resume();
      },
    };
  }

  destroy(): void {
    void this.pool?.destroy().catch(() => {});
  }
}

/** undici refused the request before sending it (a header value it cannot send, such as a key with a line break). */
export function isRefusedRequest(error: Error): boolean {
  return (error as { code?: unknown }).code === 'UND_ERR_INVALID_ARG';
}

/** undici's own timeout errors, for the headers or between body chunks. */
function isIdleTimeout(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

/**
 * Header values as strings, without the ones undici sets itself (content-length from the body, host from the
 * origin); credentials in the URL become Basic authorization, as node:http would send them.
 */
function requestHeaders(url: URL, headers: OutgoingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name === 'content-length' || name === 'host') continue;
    out[name] = typeof value === 'number' ? String(value) : value;
  }
  if ((url.username || url.password) && out.authorization === undefined) {
    out.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
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
