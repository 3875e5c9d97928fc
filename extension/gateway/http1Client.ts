import { validateHeaderName, validateHeaderValue, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Http1ParseError, Http1ResponseParser } from './http1Response';

/** What a plain-HTTP call reports, as it happens (see UpstreamHandler, which this mirrors). */
export interface Http1Handler {
  onResponse(head: { status: number; headers: IncomingHttpHeaders }): void;
  /** false: stop reading until resume(). */
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  onError(error: Error): void;
}

export interface Http1Call {
  abort(reason: Error): void;
  resume(): void;
}

export interface Http1AgentOptions {
  /** How long an idle connection is kept for the next request (shortened by a server's keep-alive hint). */
  keepIdleMs?: number;
  /** Idle connections kept per origin; more are closed. */
  maxIdlePerOrigin?: number;
  /** Builds the error for an upstream silent longer than the call's idle timeout. */
  timeoutError: (idleMs: number) => Error;
}

const DEFAULT_KEEP_IDLE_MS = 30_000;
/** How often idle connections past their time are closed (one is never reused past it, swept or not). */
const SWEEP_INTERVAL_MS = 1000;
const DEFAULT_MAX_IDLE_PER_ORIGIN = 256;
/** A server's keep-alive timeout is trusted minus this, so the gateway never reuses a connection it is closing. */
const KEEP_ALIVE_MARGIN_MS = 1000;

/**
 * A keep-alive HTTP/1.1 client for plain-HTTP upstreams (Ollama, LM Studio, llama.cpp, a LAN server). The request
 * leaves in one write as soon as it is sent, and the answer is parsed as it arrives (Http1ResponseParser): on
 * loopback nothing hides a client library's own cost, and this is the gateway's request path.
 *
 * A connection is reused only after a complete response that allows it, with the request sent in full. A reused
 * connection the server closed just as the request went out (a keep-alive race, its idle timeout as a rule) is
 * retried once on a new connection when not a byte of answer had arrived.
 */
export class Http1Agent {
  private readonly idle = new Map<string, Connection[]>();
  private destroyed = false;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly open = new Set<Connection>();
  private readonly keepIdleMs: number;
  private readonly maxIdlePerOrigin: number;

  constructor(private readonly options: Http1AgentOptions) {
    this.keepIdleMs = options.keepIdleMs ?? DEFAULT_KEEP_IDLE_MS;
    this.maxIdlePerOrigin = options.maxIdlePerOrigin ?? DEFAULT_MAX_IDLE_PER_ORIGIN;
  }

  /**
   * POSTs `body` to `url` with `headers` (host, content-length and connection are the agent's); the answer goes
   * to `handler`, never before send() has returned. A header that cannot be sent is refused with node:http's error.
   */
  send(url: URL, headers: OutgoingHttpHeaders, body: Buffer, idleTimeoutMs: number, handler: Http1Handler): Http1Call {
    let head: string;
    try {
      if (this.destroyed) throw new Error('the gateway has closed its connections to upstreams');
      head = requestHead(url, headers, body.length);
    } catch (error) {
      queueMicrotask(() => handler.onError(error as Error));
      return { abort: () => {}, resume: () => {} };
    }
    const exchange = new Exchange(this, url, head, body, idleTimeoutMs, handler);
    exchange.start(this.take(url));
    return exchange;
  }

  /** Closes every connection, idle or busy: a call still waiting for its answer fails, and is not sent again. */
  destroy(): void {
    this.destroyed = true;
    clearInterval(this.sweeper);
    for (const connection of [...this.open]) {
      connection.exchange?.abort(new Error('the gateway closed its connections to upstreams'));
      connection.socket.destroy();
    }
    this.idle.clear();
  }

  /** An idle connection to the origin (the most recently used), or a new one. */
  take(url: URL, fresh = false): Connection {
    const key = originKey(url);
    const pool = fresh ? undefined : this.idle.get(key);
    const now = Date.now();
    while (pool?.length) {
      const connection = pool.pop()!;
      if (!connection.socket.destroyed && !connection.socket.readableEnded && connection.idleUntil > now) return connection;
      connection.socket.destroy();
    }
    const connection = new Connection(this, key, url);
    this.open.add(connection);
    return connection;
  }

  /** A connection whose response is complete: kept for the next request, or closed. */
  release(connection: Connection, parser: Http1ResponseParser): void {
    const socket = connection.socket;
    const keepMs = Math.min(this.keepIdleMs, parser.keepAliveTimeoutMs === undefined ? Infinity : parser.keepAliveTimeoutMs - KEEP_ALIVE_MARGIN_MS);
    const pool = this.idle.get(connection.key) ?? [];
    // Bytes of the request still unsent: the upstream answered before reading all of it, and the two sides of the
    // connection no longer agree where the next request starts.
    const unsent = socket.writableLength > 0;
    if (!parser.keepAlive || parser.trailingBytes || unsent || keepMs <= 0 || socket.destroyed || socket.readableEnded || pool.length >= this.maxIdlePerOrigin) {
      socket.destroy();
      return;
    }
    // Not a timer per connection (re-armed twice a request): a deadline, and a sweep while any connection waits.
    connection.idleUntil = Date.now() + keepMs;
    socket.unref();
    if (socket.isPaused()) socket.resume();
    pool.push(connection);
    this.idle.set(connection.key, pool);
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
  }

  /** Closes idle connections past their time; stops sweeping once none is left. */
  private sweep(): void {
    const now = Date.now();
    let waiting = 0;
    for (const pool of this.idle.values()) {
      for (const connection of pool.filter((candidate) => candidate.idleUntil <= now)) connection.socket.destroy();
      waiting += pool.length;
    }
    if (waiting === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** The connection closed: forgotten. */
  forget(connection: Connection): void {
    this.open.delete(connection);
    const pool = this.idle.get(connection.key);
    const at = pool?.indexOf(connection) ?? -1;
    if (at >= 0) pool!.splice(at, 1);
  }

  timeoutError(idleMs: number): Error {
    return this.options.timeoutError(idleMs);
  }
}

/** One socket and the exchange it carries now, if any. */
class Connection {
  readonly socket: Socket;
  exchange: Exchange | undefined;
  /** Whether a response has already been read on this connection. */
  used = false;
  /** While idle: when it stops being reused (its server's keep-alive timeout, or the agent's). */
  idleUntil = 0;
  /** The socket's idle timeout, set again only when a call asks for another. */
  timeoutMs = 0;

  constructor(agent: Http1Agent, readonly key: string, url: URL) {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.socket = connect({ host, port: Number(url.port) || 80, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 });
    this.socket.on('data', (chunk: Buffer) => (this.exchange ? this.exchange.onData(chunk) : this.socket.destroy()));
    this.socket.on('end', () => this.exchange?.onClosed(undefined));
    this.socket.on('error', (error) => this.exchange?.onClosed(error));
    this.socket.on('timeout', () => (this.exchange ? this.exchange.onTimeout() : this.socket.destroy()));
    // A close with the exchange still here had no 'end' before it: not the server's orderly end of a body.
    this.socket.on('close', () => {
      agent.forget(this);
      this.exchange?.onClosed(new Error('the connection to the upstream closed before the answer was complete'));
    });
  }
}

class Exchange implements Http1Call {
  private connection: Connection | undefined;
  private parser: Http1ResponseParser | undefined;
  private ended = false;
  private retried = false;
  private wantPause = false;

  constructor(
    private readonly agent: Http1Agent,
    private readonly url: URL,
    private readonly head: string,
    private readonly body: Buffer,
    private readonly idleTimeoutMs: number,
    private readonly handler: Http1Handler,
  ) {}

  start(connection: Connection): void {
    this.connection = connection;
    connection.exchange = this;
    this.parser = new Http1ResponseParser({
      head: (status, headers) => {
        if (!this.ended) this.handler.onResponse({ status, headers });
      },
      data: (piece) => {
        if (!this.ended && !this.handler.onData(piece)) this.wantPause = true;
      },
      // Acted on once the chunk has been read through: bytes after the response decide whether the connection is reused.
      complete: () => {},
    });
    const socket = connection.socket;
    socket.ref();
    // Idle, not whole-call: an agent turn may stream for many minutes, but an upstream silent this long is stuck.
    // Reads and writes restart it; a connection waiting in the pool longer than this is closed when it fires.
    if (connection.timeoutMs !== this.idleTimeoutMs) {
      socket.setTimeout(this.idleTimeoutMs);
      connection.timeoutMs = this.idleTimeoutMs;
    }
    socket.cork();
    socket.write(this.head, 'latin1');
    socket.write(this.body);
    socket.uncork();
  }

  onData(chunk: Buffer): void {
    try {
      this.parser!.feed(chunk);
    } catch (error) {
      // A parse error is the upstream's; anything else was thrown by the handler, and is reported as it is.
      return this.fail(error instanceof Http1ParseError ? new Error(`the upstream's answer is not valid HTTP/1.1: ${error.message}`) : (error as Error));
    }
    if (this.parser!.complete) return this.complete();
    if (this.wantPause && !this.ended) {
      this.wantPause = false;
      this.connection!.socket.pause();
    }
  }

  onTimeout(): void {
    this.fail(this.agent.timeoutError(this.idleTimeoutMs));
  }

  /** The connection ended or failed while this exchange was on it. */
  onClosed(error: Error | undefined): void {
    if (this.ended) return;
    const parser = this.parser!;
    if (!error && parser.end()) return this.complete(); // a body that ends with the connection
    const connection = this.connection!;
    if (connection.used && !parser.started && !this.retried) {
      // A keep-alive race: the server closed this idle connection (its idle timeout) as the request went out. It may
      // have read the request first, as it may before any 502; a client retries that 502 just the same.
      this.retried = true;
      connection.exchange = undefined;
      connection.socket.destroy();
      return this.start(this.agent.take(this.url, true));
    }
    this.fail(error ?? new Error('the upstream closed the connection before the answer was complete'));
  }

  abort(reason: Error): void {
    this.fail(reason);
  }

  resume(): void {
    if (!this.ended) this.connection?.socket.resume();
  }

  private complete(): void {
    if (this.ended) return;
    this.ended = true;
    const connection = this.connection!;
    connection.exchange = undefined;
    connection.used = true;
    this.agent.release(connection, this.parser!);
    this.handler.onEnd();
  }

  private fail(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    const connection = this.connection!;
    connection.exchange = undefined;
    connection.socket.destroy();
    this.handler.onError(error);
  }
}

function originKey(url: URL): string {
  return `${url.hostname}:${url.port || 80}`;
}

/** Set from the request itself, whatever the caller's headers say. */
const AGENT_HEADERS = new Set(['host', 'content-length', 'connection', 'transfer-encoding']);

/** The request line and headers, checked as node:http checks them (a line break in a value is refused). */
function requestHead(url: URL, headers: OutgoingHttpHeaders, bodyLength: number): string {
  let head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || AGENT_HEADERS.has(name)) continue;
    validateHeaderName(name);
    if (Array.isArray(value)) {
      for (const item of value) {
        validateHeaderValue(name, item);
        head += `${name}: ${item}\r\n`;
      }
    } else {
      validateHeaderValue(name, String(value));
      head += `${name}: ${value}\r\n`;
    }
  }
  return `${head}content-length: ${bodyLength}\r\nconnection: keep-alive\r\n\r\n`;
}
