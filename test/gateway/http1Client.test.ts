/**
 * The keep-alive HTTP/1.1 client for plain-HTTP upstreams, against real loopback servers: mostly raw TCP servers
 * (net.createServer) that see the exact bytes sent and control every byte, pause and close of the answer, plus a
 * node:http server for what a real upstream does. Covers the request on the wire, connection reuse and when it must
 * not happen, the keep-alive race retry, streaming and backpressure, the idle timeout, abort, and failures.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { Http1Agent, type Http1AgentOptions, type Http1Call } from '../../extension/gateway/http1Client';
import { closedPort } from '../fakes/streams';

const TEST = { timeout: 5000 };

/** A request as a raw server read it off its connection. */
interface RawRequest {
  /** Which connection (0 for the server's first) and which request on it (0 for its first). */
  connection: number;
  index: number;
  requestLine: string;
  headerLines: Array<[string, string]>;
  body: Buffer;
  socket: Socket;
}

/** How a raw server answers a request: write bytes to the socket, close it, or nothing at all. */
type Responder = (request: RawRequest, server: RawServer) => void;

/**
 * A TCP server that splits what arrives on each connection into requests (head, then content-length bytes) and
 * hands each to `respond`. It records connections, requests and closes, and emits 'change' on each.
 */
class RawServer extends EventEmitter {
  readonly sockets: Socket[] = [];
  readonly closed = new Set<number>();
  readonly requests: RawRequest[] = [];
  /** Bytes received on each connection, requests or not. */
  readonly received: Buffer[] = [];
  private readonly server: Server;
  url!: URL;

  constructor(private readonly respond: Responder) {
    super();
    this.server = createServer((socket) => {
      const connection = this.sockets.length;
      this.sockets.push(socket);
      this.received.push(Buffer.alloc(0));
      let pending = Buffer.alloc(0);
      let index = 0;
      socket.on('error', () => {});
      socket.on('close', () => {
        this.closed.add(connection);
        this.emit('change');
      });
      socket.on('data', (chunk: Buffer) => {
        this.received[connection] = Buffer.concat([this.received[connection], chunk]);
        pending = Buffer.concat([pending, chunk]);
        for (;;) {
          const end = pending.indexOf('\r\n\r\n');
          if (end < 0) break;
          const lines = pending.toString('latin1', 0, end).split('\r\n');
          const headerLines = lines.slice(1).map((line): [string, string] => {
            const colon = line.indexOf(':');
            return [line.slice(0, colon), line.slice(colon + 1).trim()];
          });
          const length = Number(headerLines.find(([name]) => name.toLowerCase() === 'content-length')?.[1] ?? 0);
          if (pending.length < end + 4 + length) break;
          const request: RawRequest = { connection, index: index++, requestLine: lines[0], headerLines, body: Buffer.from(pending.subarray(end + 4, end + 4 + length)), socket };
          pending = pending.subarray(end + 4 + length);
          this.requests.push(request);
          this.emit('change');
          if (!socket.destroyed) this.respond(request, this);
        }
      });
      this.emit('change');
    });
  }

  get connections(): number {
    return this.sockets.length;
  }

  async listen(path = '/v1/chat'): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = new URL(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`);
    return this;
  }

  /** Resolves once `check()` holds (re-checked on every connection, request and close). */
  until(check: () => boolean, what: string, ms = 3000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (check()) return resolve();
      const timer = setTimeout(() => {
        this.off('change', onChange);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      const onChange = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.off('change', onChange);
        resolve();
      };
      this.on('change', onChange);
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A complete 200 answer with a Content-Length. */
const ok = (body = 'ok', extraHeaders = ''): string => `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`;

/** Answers every request with `ok()`. */
const answerOk: Responder = (request) => {
  request.socket.write(ok(`ok ${request.connection}.${request.index}`));
};

/** What a call reported; `done` resolves at its onEnd or onError. Counts keep updating afterwards. */
interface Outcome {
  status?: number;
  headers?: IncomingHttpHeaders;
  pieces: Buffer[];
  body: Buffer;
  error?: Error;
  ends: number;
  errors: number;
  /** 'response', 'data', 'end', 'error' in order. */
  events: string[];
  /** Whether send() had returned when the first callback fired. */
  asyncCallbacks: boolean;
}

interface Running {
  call: Http1Call;
  done: Promise<Outcome>;
  outcome: Outcome;
  /** Resolves at the first onData. */
  firstData: Promise<void>;
}

interface RunOptions {
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  idleTimeoutMs?: number;
  /** The handler's onData answer; the default reads on. */
  onData?: (piece: Buffer, running: Running) => boolean;
}

/** Sends one call and records what the handler is told. */
function run(agent: Http1Agent, url: URL, options: RunOptions = {}): Running {
  const outcome: Outcome = {
    pieces: [],
    get body() {
      return Buffer.concat(this.pieces);
    },
    ends: 0,
    errors: 0,
    events: [],
    asyncCallbacks: true,
  };
  let returned = false;
  let settle!: (outcome: Outcome) => void;
  let dataArrived!: () => void;
  const running = {
    outcome,
    done: new Promise<Outcome>((resolve) => (settle = resolve)),
    firstData: new Promise<void>((resolve) => (dataArrived = resolve)),
  } as Running;
  const callback = (event: string) => {
    if (!returned) outcome.asyncCallbacks = false;
    outcome.events.push(event);
  };
  running.call = agent.send(url, options.headers ?? {}, Buffer.from(options.body ?? '{"q":1}'), options.idleTimeoutMs ?? 2000, {
    onResponse: (head) => {
      callback('response');
      outcome.status = head.status;
      outcome.headers = head.headers;
    },
    onData: (piece) => {
      callback('data');
      outcome.pieces.push(Buffer.from(piece));
      dataArrived();
      return options.onData ? options.onData(piece, running) : true;
    },
    onEnd: () => {
      callback('end');
      outcome.ends++;
      settle(outcome);
    },
    onError: (error) => {
      callback('error');
      outcome.errors++;
      outcome.error = error;
      settle(outcome);
    },
  });
  returned = true;
  return running;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Lets pending socket events run (a few turns of the event loop). */
const settleLoop = () => delay(30);

const idleError = (ms: number) => Object.assign(new Error(`idle ${ms}`), { idleMs: ms });

describe('Http1Agent', () => {
  const cleanups: Array<() => unknown> = [];
  const agentFor = (options: Partial<Http1AgentOptions> = {}) => {
    const agent = new Http1Agent({ timeoutError: idleError, ...options });
    cleanups.push(() => agent.destroy());
    return agent;
  };
  const rawServer = async (respond: Responder, path?: string) => {
    const server = await new RawServer(respond).listen(path);
    cleanups.push(() => server.close());
    return server;
  };
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const assertOk = (outcome: Outcome, body: string, what = 'the call') => {
    assert.equal(outcome.error, undefined, `${what} failed: ${outcome.error?.message}`);
    assert.equal(outcome.status, 200, what);
    assert.equal(outcome.body.toString(), body, what);
    assert.equal(outcome.ends, 1, what);
  };

  describe('the request on the wire', () => {
    test('one POST with the path and query, host, content-length, connection: keep-alive, the given headers (an array as two lines) and the exact body', TEST, async () => {
      const server = await rawServer(answerOk, '/v1/chat/completions?stream=true&x=%20y');
      const body = Buffer.concat([Buffer.from('{"text":"Über ✓"}', 'utf8'), Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a])]);
      const outcome = await run(agentFor(), server.url, {
        headers: { 'content-type': 'application/json', 'x-multi': ['first', 'second'], Authorization: 'Bearer k-123' },
        body,
      }).done;
      assertOk(outcome, 'ok 0.0');
      assert.equal(server.requests.length, 1);
      const [request] = server.requests;
      assert.equal(request.requestLine, 'POST /v1/chat/completions?stream=true&x=%20y HTTP/1.1');
      const values = (name: string) => request.headerLines.filter(([header]) => header.toLowerCase() === name).map(([, value]) => value);
      assert.deepEqual(values('host'), [server.url.host]);
      assert.equal(server.url.host, `127.0.0.1:${server.url.port}`);
      assert.deepEqual(values('content-length'), [String(body.length)]);
      assert.deepEqual(values('connection'), ['keep-alive']);
      assert.deepEqual(values('content-type'), ['application/json']);
      assert.deepEqual(values('x-multi'), ['first', 'second'], 'an array value is sent as two header lines');
      assert.deepEqual(values('authorization'), ['Bearer k-123']);
      assert.equal(request.headerLines.length, 7, 'no other header lines');
      assert.deepEqual(request.body, body, 'the exact body bytes');
      assert.equal(server.received[0].length, server.received[0].indexOf('\r\n\r\n') + 4 + body.length, 'nothing after the body');
    });

    test('an empty body is sent with content-length: 0', TEST, async () => {
      const server = await rawServer(answerOk);
      assertOk(await run(agentFor(), server.url, { body: '' }).done, 'ok 0.0');
      assert.deepEqual(
        server.requests[0].headerLines.find(([name]) => name === 'content-length'),
        ['content-length', '0'],
      );
      assert.equal(server.requests[0].body.length, 0);
    });

    test('a node:http server reads the request as sent, and three calls share its keep-alive connection', TEST, async () => {
      let connections = 0;
      const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }> = [];
      const server = createHttpServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
          res.setHeader('content-type', 'application/json');
          res.setHeader('set-cookie', ['a=1', 'b=2']);
          res.end(JSON.stringify({ n: seen.length }));
        });
      });
      server.on('connection', () => connections++);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      );
      const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/chat?x=1`);
      const agent = agentFor();
      for (let n = 1; n <= 3; n++) {
        const outcome = await run(agent, url, { headers: { 'x-multi': ['a', 'b'] }, body: `{"n":${n}}` }).done;
        assertOk(outcome, `{"n":${n}}`, `call ${n}`);
        assert.deepEqual(outcome.headers?.['set-cookie'], ['a=1', 'b=2']);
        assert.equal(outcome.headers?.['content-type'], 'application/json');
      }
      assert.equal(connections, 1, 'one TCP connection for three calls');
      assert.deepEqual(
        seen.map(({ method, url: path, body }) => [method, path, body]),
        [1, 2, 3].map((n) => ['POST', '/api/chat?x=1', `{"n":${n}}`]),
      );
      assert.equal(seen[0].headers.host, url.host);
      assert.equal(seen[0].headers['x-multi'], 'a, b');
      assert.equal(seen[0].headers.connection, 'keep-alive');
    });
  });

  describe('connection reuse', () => {
    test('three sequential calls to a keep-alive server use exactly one TCP connection', TEST, async () => {
      const server = await rawServer(answerOk);
      const agent = agentFor();
      for (let n = 0; n < 3; n++) assertOk(await run(agent, server.url).done, `ok 0.${n}`, `call ${n}`);
      assert.equal(server.connections, 1);
      assert.deepEqual(
        server.requests.map((request) => [request.connection, request.index]),
        [
          [0, 0],
          [0, 1],
          [0, 2],
        ],
      );
      assert.equal(server.closed.size, 0, 'the connection is kept open');
    });

    test('two concurrent calls use two connections, and both are reused after', TEST, async () => {
      const server = await rawServer(answerOk);
      const agent = agentFor();
      const [a, b] = await Promise.all([run(agent, server.url).done, run(agent, server.url).done]);
      assert.deepEqual([a.status, b.status, a.ends, b.ends], [200, 200, 1, 1]);
      assert.equal(server.connections, 2);
      const [c, d] = await Promise.all([run(agent, server.url).done, run(agent, server.url).done]);
      assert.deepEqual([c.status, d.status], [200, 200]);
      assert.equal(server.connections, 2, 'no new connection for the second pair');
    });

    test('a response with connection: close: the agent closes that connection and the next call opens a new one', TEST, async () => {
      const server = await rawServer((request) => request.socket.write(ok('bye', 'connection: close\r\n')));
      const agent = agentFor();
      assertOk(await run(agent, server.url).done, 'bye');
      await server.until(() => server.closed.has(0), 'the client to close the first connection');
      assertOk(await run(agent, server.url).done, 'bye');
      assert.equal(server.connections, 2);
      assert.deepEqual(
        server.requests.map((request) => request.connection),
        [0, 1],
      );
    });

    test('a response with keep-alive: timeout=1 is not reused (1 s minus the 1 s margin); timeout=3 is', TEST, async () => {
      const short = await rawServer((request) => request.socket.write(ok('short', 'keep-alive: timeout=1\r\n')));
      const agent = agentFor();
      assertOk(await run(agent, short.url).done, 'short');
      assertOk(await run(agent, short.url).done, 'short');
      assert.equal(short.connections, 2);

      const long = await rawServer((request) => request.socket.write(ok('long', 'keep-alive: timeout=3, max=100\r\n')));
      assertOk(await run(agent, long.url).done, 'long');
      assertOk(await run(agent, long.url).done, 'long');
      assert.equal(long.connections, 1);
    });

    test('an HTTP/1.0 response without keep-alive is not reused; with connection: keep-alive it is', TEST, async () => {
      const plain = await rawServer((request) => request.socket.write('HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok'));
      const agent = agentFor();
      assertOk(await run(agent, plain.url).done, 'ok');
      assertOk(await run(agent, plain.url).done, 'ok');
      assert.equal(plain.connections, 2);

      const kept = await rawServer((request) => request.socket.write('HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nok'));
      assertOk(await run(agent, kept.url).done, 'ok');
      assertOk(await run(agent, kept.url).done, 'ok');
      assert.equal(kept.connections, 1);
    });

    test('a body read until the close ends the call at the close; the next call opens a new connection', TEST, async () => {
      const server = await rawServer((request) => {
        request.socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil ');
        setTimeout(() => request.socket.end('the close'), 20);
      });
      const agent = agentFor();
      assertOk(await run(agent, server.url).done, 'until the close');
      assertOk(await run(agent, server.url).done, 'until the close');
      assert.equal(server.connections, 2);
    });

    test('a server that closes an idle kept-alive connection (FIN): the next call succeeds on a new connection, never an error', TEST, async () => {
      const server = await rawServer((request) => request.socket.end(ok(`answer ${request.connection}`)));
      const agent = agentFor();
      assertOk(await run(agent, server.url).done, 'answer 0');
      await server.until(() => server.closed.has(0), 'the first connection to close');
      await settleLoop();
      assertOk(await run(agent, server.url).done, 'answer 1');
      assert.equal(server.connections, 2);
    });

    test('a server that closes right after answering, with the next call sent at once from onEnd: still succeeds', TEST, async () => {
      const server = await rawServer((request) => request.socket.end(ok(`answer ${request.connection}`)));
      const agent = agentFor();
      const second = await new Promise<Outcome>((resolve) => {
        const first = run(agent, server.url);
        void first.done.then((outcome) => {
          assertOk(outcome, 'answer 0');
          // No await in between: the FIN may not have been read yet, so the pooled connection may look alive.
          void run(agent, server.url).done.then(resolve);
        });
      });
      assertOk(second, 'answer 1');
      assert.equal(server.connections, 2);
    });

    test('unsolicited bytes on an idle connection close it; the next call opens a new one', TEST, async () => {
      const server = await rawServer((request) => {
        request.socket.write(ok());
        setTimeout(() => request.socket.write('HTTP/1.1 200 OK\r\n'), 30);
      });
      const agent = agentFor();
      assertOk(await run(agent, server.url).done, 'ok');
      await server.until(() => server.closed.has(0), 'the agent to close the connection that talked out of turn');
      assertOk(await run(agent, server.url).done, 'ok');
      assert.equal(server.connections, 2);
    });

    test(
      'bytes after a complete response (in the same chunk): the connection is not reused',
      TEST,
      async () => {
        const server = await rawServer((request) => request.socket.write(`${ok('ok')}JUNK`));
        const agent = agentFor();
        assertOk(await run(agent, server.url).done, 'ok');
        assertOk(await run(agent, server.url).done, 'ok');
        assert.equal(server.connections, 2, 'a connection whose server sent more than the response must not carry the next request');
      },
    );

    test('keepIdleMs: an idle connection is closed after it', TEST, async () => {
      const server = await rawServer(answerOk);
      const agent = agentFor({ keepIdleMs: 100 });
      assertOk(await run(agent, server.url).done, 'ok 0.0');
      const started = Date.now();
      await server.until(() => server.closed.has(0), 'the idle connection to close');
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 60 && elapsed < 1500, `closed after ${elapsed} ms`);
      assertOk(await run(agent, server.url).done, 'ok 1.0');
    });

    test('keepIdleMs: a connection idle past it is not reused, even before the sweep has closed it', TEST, async () => {
      const server = await rawServer(answerOk);
      const agent = agentFor({ keepIdleMs: 40 });
      assertOk(await run(agent, server.url).done, 'ok 0.0');
      await delay(80);
      assert.equal(server.closed.has(0), false, 'not swept yet (the sweep runs once a second)');
      assertOk(await run(agent, server.url).done, 'ok 1.0');
      assert.equal(server.connections, 2);
      await server.until(() => server.closed.has(0), 'the expired connection to close');
    });

    test('an answer that comes before the request was all sent: that connection is closed, not reused', TEST, async () => {
      // Answers on a connection's first bytes, then reads no further: 8 MB cannot all be sent meanwhile.
      const sockets: Socket[] = [];
      const server = createServer((socket) => {
        sockets.push(socket);
        socket.on('error', () => {});
        socket.once('data', () => {
          socket.pause();
          socket.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 7\r\n\r\ntoo big');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => {
        for (const socket of sockets) socket.destroy();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      });
      const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`);
      const agent = agentFor();
      const first = await run(agent, url, { body: Buffer.alloc(8 * 1024 * 1024, 0x61) }).done;
      assert.equal(first.status, 413);
      assert.equal(first.ends, 1);
      const second = await run(agent, url, { body: 'small' }).done;
      assert.equal(second.status, 413);
      assert.equal(sockets.length, 2, 'the second request went on a new connection');
    });

    test('maxIdlePerOrigin: connections beyond it are closed when their response completes', TEST, async () => {
      const server = await rawServer(answerOk);
      const agent = agentFor({ maxIdlePerOrigin: 1 });
      const outcomes = await Promise.all([run(agent, server.url).done, run(agent, server.url).done]);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        [200, 200],
      );
      await server.until(() => server.closed.size === 1, 'one of the two connections to close');
      await settleLoop();
      assert.equal(server.closed.size, 1, 'the other is kept');
      assertOk(await run(agent, server.url).done, [0, 1].filter((n) => !server.closed.has(n)).map((n) => `ok ${n}.1`)[0]);
      assert.equal(server.connections, 2);
    });
  });

  describe('the keep-alive race', () => {
    test('a reused connection closed without an answer when the next request arrives: retried once on a new connection, and the call succeeds', TEST, async () => {
      const server = await rawServer((request) => {
        if (request.connection === 0 && request.index === 1) request.socket.destroy();
        else request.socket.write(ok(`answer ${request.connection}.${request.index}`));
      });
      const agent = agentFor();
      assertOk(await run(agent, server.url, { body: 'first' }).done, 'answer 0.0');
      const second = await run(agent, server.url, { body: 'second' }).done;
      assertOk(second, 'answer 1.0');
      assert.equal(second.errors, 0);
      assert.deepEqual(second.events.filter((event) => event === 'response'), ['response'], 'one head, from the retry');
      assert.equal(server.connections, 2);
      assert.deepEqual(
        server.requests.map((request) => [request.connection, request.index, request.body.toString()]),
        [
          [0, 0, 'first'],
          [0, 1, 'second'],
          [1, 0, 'second'],
        ],
        'the second request was seen on the first connection, then again on a second one',
      );
    });

    test('the retry happens only once: a retry closed without an answer too fails the call', TEST, async () => {
      const server = await rawServer((request) => {
        if (request.connection === 0 && request.index === 0) request.socket.write(ok());
        else request.socket.destroy();
      });
      const agent = agentFor();
      assertOk(await run(agent, server.url).done, 'ok');
      const second = await run(agent, server.url).done;
      assert.ok(second.error, 'the call failed');
      assert.equal(second.errors, 1);
      assert.equal(second.ends, 0);
      await settleLoop();
      assert.equal(server.connections, 2, 'the original connection and one retry, no more');
      assert.equal(server.requests.length, 3);
    });

    test('a reused connection closed after part of the answer arrived is not retried', TEST, async () => {
      const server = await rawServer((request) => {
        if (request.index === 0) request.socket.write(ok());
        else request.socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\npart');
      });
      const agent = agentFor();
      assertOk(await run(agent, server.url).done, 'ok');
      const second = await run(agent, server.url).done;
      assert.equal(second.status, 200);
      assert.equal(second.body.toString(), 'part');
      assert.match(second.error?.message ?? '', /closed the connection before the answer was complete/);
      await settleLoop();
      assert.equal(server.connections, 1);
    });

    test('a fresh connection closed on the first request without an answer: onError, no retry (exactly one connection)', TEST, async () => {
      const server = await rawServer((request) => request.socket.destroy());
      const outcome = await run(agentFor(), server.url).done;
      assert.ok(outcome.error instanceof Error);
      assert.equal(outcome.errors, 1);
      assert.equal(outcome.ends, 0);
      assert.equal(outcome.status, undefined);
      await settleLoop();
      assert.equal(server.connections, 1);
      assert.equal(server.requests.length, 1);
    });
  });

  describe('streaming and backpressure', () => {
    test('a chunked stream written in several writes with delays: every byte in order as it arrives, onEnd once', TEST, async () => {
      const events = Array.from({ length: 5 }, (_, n) => `data: {"n":${n},"text":"piece ${n}"}\n\n`);
      let written = 0;
      const server = await rawServer((request) => {
        request.socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n');
        const next = () => {
          if (request.socket.destroyed) return;
          if (written === events.length) return void request.socket.write('0\r\n\r\n');
          const event = Buffer.from(events[written++]);
          request.socket.write(`${event.length.toString(16)}\r\n`);
          request.socket.write(event);
          request.socket.write('\r\n');
          setTimeout(next, 20);
        };
        next();
      });
      let writtenAtFirstData = -1;
      const running = run(agentFor(), server.url, {
        onData: () => {
          if (writtenAtFirstData < 0) writtenAtFirstData = written;
          return true;
        },
      });
      const outcome = await running.done;
      assertOk(outcome, events.join(''));
      assert.equal(outcome.headers?.['content-type'], 'text/event-stream');
      assert.ok(outcome.pieces.length >= 5, `${outcome.pieces.length} pieces`);
      assert.ok(writtenAtFirstData < events.length, 'the first piece was delivered before the server had written the rest');
      assert.equal(outcome.events[0], 'response');
      assert.equal(outcome.events.at(-1), 'end');
      assert.deepEqual(new Set(outcome.events.slice(1, -1)), new Set(['data']));
      assert.equal(outcome.asyncCallbacks, true);
      await settleLoop();
      assert.equal(outcome.ends, 1);
      assert.equal(outcome.errors, 0);
    });

    test('the idle timeout is per silence, not per call: a stream longer than it in total succeeds', TEST, async () => {
      const server = await rawServer((request) => {
        request.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
        let sent = 0;
        const timer = setInterval(() => {
          if (request.socket.destroyed) return clearInterval(timer);
          request.socket.write(sent < 6 ? `1\r\n${sent}\r\n` : '0\r\n\r\n');
          if (sent++ === 6) clearInterval(timer);
        }, 50);
      });
      const started = Date.now();
      const outcome = await run(agentFor(), server.url, { idleTimeoutMs: 200 }).done;
      assertOk(outcome, '012345');
      assert.ok(Date.now() - started > 250, 'the whole call outlasted the idle timeout');
    });

    test('backpressure: onData false pauses the reading until resume(); then the rest arrives and onEnd fires', TEST, async () => {
      let secondWritten = false;
      const server = await rawServer((request) => {
        request.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n');
        setTimeout(() => {
          request.socket.write('6\r\nsecond\r\n0\r\n\r\n', () => {
            secondWritten = true;
            server.emit('change');
          });
        }, 40);
      });
      const running = run(agentFor(), server.url, { onData: (_piece, { outcome }) => outcome.pieces.length > 1 });
      await running.firstData;
      assert.deepEqual(
        running.outcome.pieces.map((piece) => piece.toString()),
        ['first'],
      );
      await server.until(() => secondWritten, 'the server to write the rest');
      await delay(100);
      assert.deepEqual(
        running.outcome.pieces.map((piece) => piece.toString()),
        ['first'],
        'nothing more while paused, though the rest has been sent',
      );
      assert.equal(running.outcome.ends, 0);
      assert.equal(running.outcome.errors, 0);
      running.call.resume();
      const outcome = await running.done;
      assertOk(outcome, 'firstsecond');
      assert.deepEqual(outcome.events, ['response', 'data', 'data', 'end']);
    });

    test('backpressure with a Content-Length body, and resume() after the end is harmless', TEST, async () => {
      const server = await rawServer((request) => {
        request.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nabc');
        setTimeout(() => request.socket.write('def'), 30);
      });
      const agent = agentFor();
      const running = run(agent, server.url, { onData: () => false });
      await running.firstData;
      await delay(80);
      assert.equal(running.outcome.body.toString(), 'abc');
      running.call.resume();
      await delay(40);
      running.call.resume();
      const outcome = await running.done;
      assertOk(outcome, 'abcdef');
      running.call.resume();
      assertOk(await run(agent, server.url).done, 'abcdef', 'the connection, paused before, is reused and reads on');
      assert.equal(server.connections, 1);
    });
  });

  describe('the idle timeout', () => {
    test('a server that accepts and never answers: onError with the timeoutError after about idleTimeoutMs', TEST, async () => {
      const server = await rawServer(() => {});
      const started = Date.now();
      const outcome = await run(agentFor(), server.url, { idleTimeoutMs: 150 }).done;
      const elapsed = Date.now() - started;
      assert.equal(outcome.error?.message, 'idle 150');
      assert.equal((outcome.error as Error & { idleMs?: number }).idleMs, 150);
      assert.ok(elapsed >= 120 && elapsed < 1000, `timed out after ${elapsed} ms`);
      assert.deepEqual(outcome.events, ['error']);
      await server.until(() => server.closed.has(0), 'the agent to close the silent connection');
      assert.equal(server.requests.length, 1, 'the request had been sent');
    });

    test('a server that sends the head and part of a Content-Length body, then goes silent: onError with the timeoutError', TEST, async () => {
      const server = await rawServer((request) => request.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial'));
      const started = Date.now();
      const outcome = await run(agentFor(), server.url, { idleTimeoutMs: 150 }).done;
      const elapsed = Date.now() - started;
      assert.equal(outcome.status, 200);
      assert.equal(outcome.body.toString(), 'partial');
      assert.equal(outcome.error?.message, 'idle 150');
      assert.ok(elapsed >= 120 && elapsed < 1000, `timed out after ${elapsed} ms`);
      assert.deepEqual(outcome.events, ['response', 'data', 'error']);
      assert.equal(outcome.ends, 0);
      await server.until(() => server.closed.has(0), 'the agent to close the connection');
    });
  });

  describe('abort', () => {
    test('abort(reason) mid-stream: onError(reason) exactly once, no onEnd after, the server sees its socket closed', TEST, async () => {
      const server = await rawServer((request) => {
        request.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\npart\r\n');
        // The server tries to finish the answer a little later.
        setTimeout(() => !request.socket.destroyed && request.socket.write('4\r\nmore\r\n0\r\n\r\n'), 20);
      });
      const running = run(agentFor(), server.url);
      await running.firstData;
      const reason = new Error('the client hung up');
      running.call.abort(reason);
      const outcome = await running.done;
      assert.equal(outcome.error, reason);
      await server.until(() => server.closed.has(0), 'the server to see the connection closed');
      running.call.abort(new Error('again'));
      running.call.resume();
      await delay(50);
      assert.equal(outcome.errors, 1);
      assert.equal(outcome.ends, 0);
      assert.deepEqual(outcome.events, ['response', 'data', 'error']);
      assert.equal(outcome.error, reason);
    });

    test('abort() before any answer: onError(reason), the server sees the close', TEST, async () => {
      const server = await rawServer(() => {});
      const running = run(agentFor(), server.url);
      await server.until(() => server.requests.length === 1, 'the request');
      const reason = new Error('cancelled');
      running.call.abort(reason);
      const outcome = await running.done;
      assert.equal(outcome.error, reason);
      assert.deepEqual(outcome.events, ['error']);
      await server.until(() => server.closed.has(0), 'the server to see the connection closed');
    });

    test('abort() from inside onData stops further onData calls; the chunks read together came as one piece', TEST, async () => {
      const server = await rawServer((request) => {
        // Two chunks in one write (they arrive together), then more later.
        request.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\none\r\n3\r\ntwo\r\n');
        setTimeout(() => !request.socket.destroyed && request.socket.write('5\r\nthree\r\n0\r\n\r\n'), 20);
      });
      const reason = new Error('enough');
      const running = run(agentFor(), server.url, {
        onData: (_piece, { call }) => {
          call.abort(reason);
          return true;
        },
      });
      const outcome = await running.done;
      assert.equal(outcome.error, reason);
      await server.until(() => server.closed.has(0), 'the server to see the connection closed');
      await delay(50);
      assert.deepEqual(
        outcome.pieces.map((piece) => piece.toString()),
        ['onetwo'],
      );
      assert.deepEqual(outcome.events, ['response', 'data', 'error']);
      assert.equal(outcome.ends, 0);
    });

    test('abort() after onEnd does nothing; the connection stays pooled', TEST, async () => {
      const server = await rawServer(answerOk);
      const agent = agentFor();
      const running = run(agent, server.url);
      assertOk(await running.done, 'ok 0.0');
      running.call.abort(new Error('late'));
      await settleLoop();
      assert.equal(running.outcome.errors, 0);
      assertOk(await run(agent, server.url).done, 'ok 0.1');
      assert.equal(server.connections, 1);
    });
  });

  describe('failures', () => {
    test('an unreachable port: onError with ECONNREFUSED', TEST, async () => {
      const url = new URL(`http://127.0.0.1:${await closedPort()}/v1`);
      const outcome = await run(agentFor(), url).done;
      assert.equal((outcome.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNREFUSED');
      assert.deepEqual(outcome.events, ['error']);
      assert.equal(outcome.asyncCallbacks, true);
    });

    test('a header value containing CRLF: onError ERR_INVALID_CHAR, after send() returned, and nothing is sent', TEST, async () => {
      const server = await rawServer(answerOk);
      const agent = agentFor();
      const running = run(agent, server.url, { headers: { 'x-api-key': 'sk-line\r\nx-injected: 1' } });
      const outcome = await running.done;
      assert.equal((outcome.error as NodeJS.ErrnoException | undefined)?.code, 'ERR_INVALID_CHAR');
      assert.equal(outcome.asyncCallbacks, true, 'the error arrives after send() returned');
      assert.deepEqual(outcome.events, ['error']);
      running.call.abort(new Error('no effect'));
      running.call.resume();
      await settleLoop();
      assert.equal(outcome.errors, 1);
      assert.equal(server.connections, 0, 'nothing was sent');
      // The agent is still usable.
      assertOk(await run(agent, server.url).done, 'ok 0.0');
    });

    test('a bad header value in an array, or a bad header name: refused the same way', TEST, async () => {
      const server = await rawServer(answerOk);
      const agent = agentFor();
      const inArray = await run(agent, server.url, { headers: { 'x-multi': ['fine', 'bad\nvalue'] } }).done;
      assert.equal((inArray.error as NodeJS.ErrnoException | undefined)?.code, 'ERR_INVALID_CHAR');
      const badName = await run(agent, server.url, { headers: { 'bad name': 'v' } }).done;
      assert.equal((badName.error as NodeJS.ErrnoException | undefined)?.code, 'ERR_INVALID_HTTP_TOKEN');
      assert.equal(server.connections, 0);
    });

    test('a malformed response: onError saying it is not valid HTTP/1.1; the connection is closed', TEST, async () => {
      const server = await rawServer((request) => request.socket.write('HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n'));
      const agent = agentFor();
      const outcome = await run(agent, server.url).done;
      assert.match(outcome.error?.message ?? '', /not valid HTTP\/1\.1/);
      assert.match(outcome.error?.message ?? '', /bad content-length "x"/);
      assert.equal(outcome.ends, 0);
      assert.equal(outcome.status, undefined, 'no head was reported');
      await server.until(() => server.closed.has(0), 'the agent to close the connection');
    });

    test('a handler that throws: the call fails with that error, not one blaming the upstream; the connection is closed', TEST, async () => {
      const server = await rawServer(answerOk);
      const outcome = await run(agentFor(), server.url, {
        onData: () => {
          throw new Error('sink bug');
        },
      }).done;
      assert.equal(outcome.error?.message, 'sink bug');
      assert.equal(outcome.ends, 0);
      await server.until(() => server.closed.has(0), 'the agent to close the connection');
    });

    test('a server that is not speaking HTTP: onError saying it is not valid HTTP/1.1', TEST, async () => {
      const server = await rawServer((request) => request.socket.write('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
      const outcome = await run(agentFor(), server.url).done;
      assert.match(outcome.error?.message ?? '', /not valid HTTP\/1\.1: not an HTTP\/1\.x status line/);
    });

    test('a Content-Length answer cut short by the close: onError, not onEnd', TEST, async () => {
      const server = await rawServer((request) => request.socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort'));
      const outcome = await run(agentFor(), server.url).done;
      assert.equal(outcome.status, 200);
      assert.equal(outcome.body.toString(), 'short');
      assert.match(outcome.error?.message ?? '', /closed the connection before the answer was complete/);
      assert.equal(outcome.ends, 0);
    });
  });

  describe('destroy()', () => {
    test('closes idle pooled connections (the server sees them close)', TEST, async () => {
      const server = await rawServer(answerOk);
      const agent = agentFor();
      const outcomes = await Promise.all([run(agent, server.url).done, run(agent, server.url).done]);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        [200, 200],
      );
      assert.equal(server.connections, 2);
      await settleLoop();
      assert.equal(server.closed.size, 0, 'pooled, still open');
      agent.destroy();
      await server.until(() => server.closed.size === 2, 'both pooled connections to close');
    });

    for (const [framing, head] of [
      ['a Content-Length body', 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n'],
      ['a body read until the close', 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n'],
    ]) {
      test(`closes a busy connection reading ${framing}: the call fails rather than ending as if complete`, TEST, async () => {
        const server = await rawServer((request) => request.socket.write(`${head}part`));
        const agent = agentFor();
        const running = run(agent, server.url);
        await running.firstData;
        agent.destroy();
        const outcome = await running.done;
        assert.ok(outcome.error, 'an error');
        assert.equal(outcome.ends, 0, 'a truncated body is not reported as complete');
        await server.until(() => server.closed.has(0), 'the server to see the close');
      });
    }

    test(
      'a call waiting for its answer on a reused connection fails at destroy(), and is not sent again',
      TEST,
      async () => {
        const server = await rawServer((request) => {
          if (request.index === 0 && request.connection === 0) request.socket.write(ok());
        });
        const agent = agentFor();
        assertOk(await run(agent, server.url).done, 'ok');
        const running = run(agent, server.url, { idleTimeoutMs: 400 });
        await server.until(() => server.requests.length === 2, 'the second request');
        const started = Date.now();
        agent.destroy();
        const outcome = await running.done;
        const elapsed = Date.now() - started;
        await settleLoop();
        assert.equal(server.connections, 1, 'no connection opened after destroy()');
        assert.equal(server.requests.length, 2, 'the request was not sent again');
        assert.ok(outcome.error && outcome.error.message !== 'idle 400', `failed at once, not by the idle timeout (${outcome.error?.message})`);
        assert.ok(elapsed < 200, `failed after ${elapsed} ms`);
      },
    );
  });
});
