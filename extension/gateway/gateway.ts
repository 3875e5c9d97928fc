import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { version } from '../../package.json';
import type { KeyResolver } from '../providers/types';
import type { TierwiseConfig } from '../router/config';
import { EndpointHealth } from '../router/endpointHealth';
import type { RouterLedger } from '../router/router';
import { canTranslateWith, type CodecLookup } from './codecs';
import { runCountTokens } from './countTokens';
import { GatewayError } from './errors';
import { runChatExchange } from './exchange';
import { JsonScanError } from './jsonSpans';
import { DEFAULT_KEY_CACHE_MS, KeyCache } from './keyCache';
import { modelsListing } from './models';
import type { IngressProtocol, WireProtocol } from './protocols';
import { RawBody } from './requestBody';
import { sendGatewayError, type GatewayRuntime, type InflightExchange } from './runtime';
import { GatewayAccess } from './security';
import { SessionTracker, type SessionSummary } from './sessions';
import { SettlementBatch } from './settlement';
import { codecFor } from './translate';
import { UpstreamConnections } from './upstream';

/** Bodies larger than this are refused (413): Claude Code's largest turns with images stay well below. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
/** How long a shutdown waits for answers still streaming before cutting them. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5000;
const DEFAULT_HOST = '127.0.0.1';
/** After answering a refused or oversized request, its remaining body is drained at most this long. */
const DRAIN_REFUSED_BODY_MS = 2000;

export interface GatewayOptions {
  /** Read on every request, so settings changes apply to the next one. */
  config: () => TierwiseConfig;
  /** The spend ledger shared with the editor and the CLI. */
  ledger: RouterLedger;
  /** Upstream keys (environment and key file in the CLI, SecretStorage in the extension). */
  keys: KeyResolver;
  /** How long a key found by `keys` is reused before asking again; SecretStorage is an IPC round trip. */
  keyCacheMs?: number;
  /** The per-install token clients must present (see loadOrCreateGatewayToken). */
  tokenValue: string;
  /** A loopback IPv4 address; 127.0.0.1 by default. Anything else is refused. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** One line per decision, settlement and refusal; never keys, and prompt text only with debugLogPrompts. */
  log?: (line: string) => void;
  debugLogPrompts?: boolean | (() => boolean);
  /** Protocol translators (default: the gateway's own); a lookup without one for a protocol rules out routes that need it. */
  codecs?: CodecLookup;
  maxBodyBytes?: number;
  shutdownGraceMs?: number;
  now?: () => number;
}

export interface RunningGateway {
  /** http://127.0.0.1:PORT — the base URL for Anthropic clients; OpenAI clients use `${url}/v1`. */
  url: string;
  token: string;
  port: number;
  /** Stops accepting requests, lets answers in flight finish (up to the grace period), then closes. */
  close(): Promise<void>;
  /** Agent sessions seen so far: sticky endpoints, cache reads and writes, cache breaks. */
  sessions(): SessionSummary[];
}

export interface Gateway {
  readonly sessions: SessionTracker;
  listen(): Promise<RunningGateway>;
  close(): Promise<void>;
}

const CHAT_ROUTES: Record<string, IngressProtocol> = {
  '/v1/messages': 'anthropic',
  '/v1/chat/completions': 'openaiChat',
  '/v1/responses': 'openaiResponses',
};
const COUNT_TOKENS_PATH = '/v1/messages/count_tokens';
const MODELS_PATH = '/v1/models';

/** The error format a path's clients understand. */
function protocolOfPath(path: string): WireProtocol {
  return path.startsWith('/v1/messages') ? 'anthropic' : path === '/v1/responses' ? 'openaiResponses' : 'openaiChat';
}

export function createGateway(options: GatewayOptions): Gateway {
  const host = options.host ?? DEFAULT_HOST;
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
    throw new Error(`The Tierwise gateway only listens on a loopback address such as 127.0.0.1, not "${host}".`);
  }
  if (!options.tokenValue) throw new Error('The Tierwise gateway needs a token (see loadOrCreateGatewayToken).');
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const access = new GatewayAccess(options.tokenValue);
  const debugLogPrompts = options.debugLogPrompts;
  const now = options.now ?? Date.now;
  const codecs = options.codecs ?? codecFor;
  const runtime: GatewayRuntime = {
    config: options.config,
    ledger: options.ledger,
    keys: new KeyCache(options.keys, options.keyCacheMs ?? DEFAULT_KEY_CACHE_MS, now),
    sessions: new SessionTracker({ now }),
    health: new EndpointHealth(() => options.config().fallback, now),
    upstream: new UpstreamConnections(),
    codecs,
    canTranslate: canTranslateWith(codecs),
    log: options.log ?? (() => {}),
    debugLogPrompts: typeof debugLogPrompts === 'function' ? debugLogPrompts : () => debugLogPrompts === true,
    now,
    settlements: new SettlementBatch(() => runtime),
    inflight: new Set<InflightExchange>(),
    planningCache: {},
    version,
  };
  const handlers = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;

  const refuse = (request: IncomingMessage, response: ServerResponse, protocol: WireProtocol, error: GatewayError) => {
    response.setHeader('connection', 'close');
    sendGatewayError(response, protocol, error);
    // Drain what the client is still sending so it reads the answer instead of a reset, but not for long.
    request.resume();
    setTimeout(() => request.destroy(), DRAIN_REFUSED_BODY_MS).unref();
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?', 1)[0];
    const protocol = protocolOfPath(path);
    const refusal = access.check(request.headers);
    if (refusal) {
      runtime.log(`refused ${request.method} ${path}: ${refusal.message}`);
      return refuse(request, response, protocol, refusal);
    }
    if (closing) return refuse(request, response, protocol, new GatewayError('shuttingDown', 'Tierwise gateway: shutting down.'));

    const method = request.method ?? 'GET';
    const chatProtocol = Object.hasOwn(CHAT_ROUTES, path) ? CHAT_ROUTES[path] : undefined;
    if (path === MODELS_PATH) {
      if (method !== 'GET') return refuse(request, response, protocol, new GatewayError('methodNotAllowed', `Tierwise gateway: ${path} takes GET.`));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(modelsListing(runtime.config(), request.headers)));
      return;
    }
    if (!chatProtocol && path !== COUNT_TOKENS_PATH) {
      return refuse(request, response, protocol, new GatewayError('notFound', `Tierwise gateway: no route ${method} ${path}.`));
    }
    if (method !== 'POST') return refuse(request, response, protocol, new GatewayError('methodNotAllowed', `Tierwise gateway: ${path} takes POST.`));

    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBodyBytes) return refuse(request, response, protocol, tooLarge(maxBodyBytes));
    const raw = await readBody(request, maxBodyBytes);
    if (raw === 'tooLarge') return refuse(request, response, protocol, tooLarge(maxBodyBytes));
    if (raw === 'aborted') return;
    let body: RawBody;
    try {
      body = new RawBody(raw);
    } catch (error) {
      if (!(error instanceof JsonScanError)) throw error;
      return sendGatewayError(response, protocol, new GatewayError('badRequest', `Tierwise gateway: the request body is not a JSON object (${error.message}).`));
    }

    if (path === COUNT_TOKENS_PATH) return runCountTokens(runtime, request, response, body);
    return runChatExchange(runtime, chatProtocol!, request, response, body);
  };

  const server: Server = createServer({ noDelay: true, keepAlive: true }, (request, response) => {
    const handled = handle(request, response).catch((error: unknown) => {
      const protocol = protocolOfPath(request.url ?? '/');
      // A field that does not parse is the request's fault (400), which clients do not retry; anything else is ours.
      if (error instanceof JsonScanError) return sendGatewayError(response, protocol, new GatewayError('badRequest', `Tierwise gateway: ${error.message}`));
      runtime.log(`internal error: ${(error as Error)?.stack ?? String(error)}`);
      sendGatewayError(response, protocol, new GatewayError('internal', `Tierwise gateway: internal error: ${(error as Error)?.message ?? String(error)}`));
    });
    handlers.add(handled);
    void handled.finally(() => handlers.delete(handled));
  });

  const close = (): Promise<void> =>
    (closing ??= (async () => {
      // What has finished is written now: the host may not wait for the grace period (VS Code shutting down).
      runtime.settlements.flush();
      server.close();
      server.closeIdleConnections();
      const grace = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
      const everything = () => Promise.all([...handlers, ...[...runtime.inflight].map((exchange) => exchange.done)]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([everything(), new Promise<void>((resolve) => (timer = setTimeout(resolve, grace)))]);
      clearTimeout(timer);
      for (const exchange of [...runtime.inflight]) exchange.abort('the gateway is shutting down');
      await Promise.race([everything(), new Promise<void>((resolve) => setTimeout(resolve, 1000).unref())]);
      // Whatever finished in the last moments is written now rather than when its batch would have been due.
      runtime.settlements.flush();
      server.closeAllConnections();
      runtime.upstream.destroy();
    })());

  return {
    sessions: runtime.sessions,
    close,
    listen: () =>
      new Promise<RunningGateway>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) =>
          reject(error.code === 'EADDRINUSE' ? new Error(`The Tierwise gateway could not listen on ${host}:${options.port}: the port is in use.`, { cause: error }) : error),
        );
        server.listen(options.port ?? 0, host, () => {
          const { port } = server.address() as AddressInfo;
          access.setAddress(host, port);
          runtime.log(`gateway listening on http://${host}:${port}`);
          resolve({ url: `http://${host}:${port}`, token: options.tokenValue, port, close, sessions: () => runtime.sessions.snapshot() });
        });
      }),
  };
}

/** Creates a gateway and starts listening. */
export function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  return createGateway(options).listen();
}

function tooLarge(maxBodyBytes: number): GatewayError {
  return new GatewayError('tooLarge', `Tierwise gateway: the request body is larger than ${Math.round(maxBodyBytes / (1024 * 1024))} MiB.`);
}

type BodyOutcome = Buffer | 'tooLarge' | 'aborted';

/**
 * The whole body, or why not: more than `limit` bytes, or the client went away. An agent turn on loopback mostly
 * arrives with its headers in one read, and the request handler runs while Node is still parsing that read: a
 * microtask later the body is complete and buffered, and one read() takes it, cheaper than switching the stream to
 * flowing mode and waiting for 'end' (two more ticks). A body still arriving is collected chunk by chunk.
 */
function readBody(request: IncomingMessage, limit: number): Promise<BodyOutcome> {
  return new Promise((resolve) => {
    queueMicrotask(() => {
      // By now the parser has buffered what that read held; Content-Length says whether it is all of the body.
      const declared = Number(request.headers['content-length']);
      if (declared > 0 && declared <= limit && request.readableLength === declared && request.readableFlowing === null && !request.destroyed) {
        return resolve(request.read(declared) as Buffer);
      }
      collectBody(request, limit, resolve, [], 0);
    });
  });
}

function collectBody(request: IncomingMessage, limit: number, resolve: (outcome: BodyOutcome) => void, chunks: Buffer[], size: number): void {
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      request.off('data', onData);
      return resolve('tooLarge');
    }
    chunks.push(chunk);
  };
  request.on('data', onData);
  request.once('end', () => resolve(size > limit ? 'tooLarge' : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
  request.once('close', () => {
    if (!request.complete) resolve('aborted');
  });
  request.once('error', () => resolve('aborted'));
}
