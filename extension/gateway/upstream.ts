import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { RequestHeaders } from './classify';

/**
 * Connections to upstreams: keep-alive agents (one TLS handshake per upstream, not per request), and the header
 * rules for what crosses the gateway in each direction.
 */
export class UpstreamConnections {
  private readonly http = new HttpAgent({ keepAlive: true, scheduling: 'lifo' });
  private readonly https = new HttpsAgent({ keepAlive: true, scheduling: 'lifo' });

  /** Opens a request; the caller writes the body, ends it, and listens for 'response' and 'error'. */
  open(url: URL, headers: OutgoingHttpHeaders, idleTimeoutMs: number): ClientRequest {
    const secure = url.protocol === 'https:';
    const agent = secure ? this.https : this.http;
    // Plain options rather than the URL: node:http would convert the URL on every request (a measurable share of
    // the gateway's added latency on loopback). A URL with credentials in it keeps the conversion.
    const request =
      url.username || url.password
        ? (secure ? httpsRequest : httpRequest)(url, { method: 'POST', headers, agent })
        : (secure ? httpsRequest : httpRequest)({
            protocol: url.protocol,
            hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
            port: url.port || undefined,
            path: url.pathname + url.search,
            method: 'POST',
            headers,
            agent,
          });
    // Idle, not whole-call: an agent turn may stream for many minutes, but an upstream silent this long is stuck.
    request.setTimeout(idleTimeoutMs, () => request.destroy(new UpstreamTimeoutError(idleTimeoutMs)));
    request.setNoDelay(true);
    return request;
  }

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

export class UpstreamTimeoutError extends Error {
  override readonly name = 'UpstreamTimeoutError';
  constructor(readonly idleMs: number) {
    super(`no data from the upstream for ${Math.round(idleMs / 1000)} s`);
  }
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and headers about this connection, never forwarded either way. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length']);

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
