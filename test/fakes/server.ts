/**
 * The plumbing every loopback fake shares: listen on 127.0.0.1, record each request, answer it from a per-route
 * script queue, and play streams with delays and faults. A provider fake is a `WireDialect`: how that provider
 * frames answers, errors and model lists.
 *
 * Scripts are plain JSON so a test can drive a fake running in another process through its control routes:
 *   POST /__fake/script   {"route": "chat" | "models", "scripts": [FakeScript, …]}   queue replies
 *   GET  /__fake/requests                                                          what was received
 *   POST /__fake/reset                                                             clear queues and records
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export type FakeRoute = 'chat' | 'models';

/** An error as the fake should render it in its provider's format. */
export interface FakeErrorSpec {
  message: string;
  /** Provider error type, e.g. `rate_limit_error`; a fitting one is chosen from the status when absent. */
  errorType?: string;
  /** OpenAI's `code`, e.g. `context_length_exceeded`. */
  code?: string;
}

/** What happens to an answer stream after `afterChunks` text chunks. */
export interface StreamInterruption {
  afterChunks: number;
  /**
   * reset: close the socket without ending the response (a dropped connection);
   * malformed: send one frame that is not valid JSON, then carry on;
   * end: end the response cleanly but without the closing frames;
   * error: send the provider's in-stream error frame, then end.
   */
  with: 'reset' | 'malformed' | 'end' | { error: FakeErrorSpec };
}

export type FakeScript<U> =
  | {
      type: 'answer';
      /** A string is streamed word by word; an array is streamed one element per chunk. */
      text?: string | string[];
      /** Provider-shaped usage; null sends none (a server that does not report usage). Default: small counts. */
      usage?: U | null;
      stopReason?: string;
      /** Pause before the status line (for timeouts before the first byte). */
      headersDelayMs?: number;
      /** Pause between text chunks (for timeouts and cancellation mid-stream). */
      chunkDelayMs?: number;
      interrupt?: StreamInterruption;
    }
  | ({ type: 'error'; status: number; headers?: Record<string, string>; headersDelayMs?: number } & FakeErrorSpec)
  | { type: 'models'; ids: string[] }
  /** Close the connection before sending anything. */
  | { type: 'reset' };

/** In-process tests may compute a reply from the request (e.g. echo the prompt). */
export type FakeReply<U> = FakeScript<U> | ((request: RecordedRequest) => FakeScript<U>);

export interface RecordedRequest {
  index: number;
  method: string;
  /** Path with query string. */
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The body parsed as JSON, or undefined. */
  body: unknown;
  /** open until the exchange ends: answered in full, closed by the client early, or reset by the fake. */
  outcome: 'open' | 'completed' | 'clientClosed' | 'reset';
}

export interface AnswerFrames {
  /** Frames before the first text chunk. */
  head: string[];
  text(chunk: string, index: number): string;
  /** Frames after the last text chunk: finish reason, usage, end marker. */
  tail: string[];
}

export interface AnswerContext<U> {
  model: string;
  chunks: string[];
  text: string;
  usage: U | null;
  stopReason: string | undefined;
  body: Record<string, unknown>;
}

/** How one provider frames things on the wire. */
export interface WireDialect<U> {
  readonly provider: string;
  readonly routes: Record<FakeRoute, { method: 'GET' | 'POST'; path: string }>;
  /** Appended to the origin to give what an EndpointConfig's baseUrl needs (OpenAI's SDK wants `/v1`). */
  readonly baseUrlPath: string;
  readonly streamContentType: string;
  /** Headers every response carries, e.g. a request id. */
  readonly responseHeaders: Record<string, string>;
  isStreaming(body: Record<string, unknown>): boolean;
  defaultUsage(chunks: string[]): U;
  answerFrames(answer: AnswerContext<U>): AnswerFrames;
  malformedFrame(): string;
  streamErrorFrame(error: FakeErrorSpec): string;
  completion(answer: AnswerContext<U>): unknown;
  errorBody(status: number, error: FakeErrorSpec): unknown;
  modelsBody(ids: string[]): unknown;
}

export interface FakeServerOptions<U> {
  /** 0 (default) picks a free port. */
  port?: number;
  /** What the models route lists when nothing is queued for it. */
  models?: string[];
  /** The chat reply when nothing is queued. */
  defaultReply?: FakeReply<U>;
  /** Serve HTTPS with this key and certificate (test/fixtures/tls holds one for 127.0.0.1). */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface FakeServer<U> {
  readonly provider: string;
  /** http://127.0.0.1:port */
  readonly url: string;
  /** The baseUrl an EndpointConfig needs to reach this fake. */
  readonly baseUrl: string;
  /** Every request received, in order (control routes excluded). */
  readonly requests: RecordedRequest[];
  /** Queue replies for the chat route. */
  reply(...replies: FakeReply<U>[]): void;
  enqueue(route: FakeRoute, ...replies: FakeReply<U>[]): void;
  /** Resolves once the exchange has ended, with how it ended. */
  settled(request: RecordedRequest): Promise<RecordedRequest['outcome']>;
  /** Resolves when at least `count` requests have arrived. */
  waitForRequests(count: number): Promise<void>;
  /** Clears queues and records. */
  reset(): void;
  close(): Promise<void>;
}

const CONTROL_PREFIX = '/__fake/';

/** Splits "Hello brave world" into "Hello", " brave", " world". */
export function wordChunks(text: string): string[] {
  return text.match(/\s*\S+/g) ?? (text ? [text] : []);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** The whole body, or undefined when the client closed the connection before sending all of it. */
async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of request) chunks.push(chunk as Buffer);
  } catch {
    return undefined;
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

export async function startFakeServer<U>(dialect: WireDialect<U>, options: FakeServerOptions<U> = {}): Promise<FakeServer<U>> {
  const requests: RecordedRequest[] = [];
  const queues: Record<FakeRoute, FakeReply<U>[]> = { chat: [], models: [] };
  const settledWaiters = new Map<RecordedRequest, Array<(outcome: RecordedRequest['outcome']) => void>>();
  let requestWaiters: Array<{ count: number; resolve: () => void }> = [];

  const finish = (record: RecordedRequest, outcome: RecordedRequest['outcome']): void => {
    if (record.outcome !== 'open') return;
    record.outcome = outcome;
    for (const resolve of settledWaiters.get(record) ?? []) resolve(outcome);
    settledWaiters.delete(record);
  };

  const nextScript = (route: FakeRoute, record: RecordedRequest): FakeScript<U> => {
    const reply: FakeReply<U> | undefined =
      queues[route].shift() ??
      (route === 'models'
        ? { type: 'models', ids: options.models ?? [] }
        : (options.defaultReply ?? { type: 'answer', text: `Hello from the fake ${dialect.provider} server.` }));
    return typeof reply === 'function' ? reply(record) : reply;
  };

  const routeOf = (method: string, path: string): FakeRoute | undefined => {
    const pathname = path.split('?')[0];
    return (Object.keys(dialect.routes) as FakeRoute[]).find(
      (route) => dialect.routes[route].method === method && dialect.routes[route].path === pathname,
    );
  };

  const handleControl = (path: string, body: unknown, response: ServerResponse): void => {
    const send = (status: number, payload: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    if (path === `${CONTROL_PREFIX}requests`) return send(200, requests);
    if (path === `${CONTROL_PREFIX}reset`) {
      fake.reset();
      return send(200, { ok: true });
    }
    if (path === `${CONTROL_PREFIX}script`) {
      const { route = 'chat', scripts } = (body ?? {}) as { route?: FakeRoute; scripts?: FakeScript<U>[] };
      if (!(route in queues) || !Array.isArray(scripts)) return send(400, { error: 'expected {route?, scripts: [...]}' });
      queues[route].push(...scripts);
      return send(200, { queued: queues[route].length });
    }
    send(404, { error: `unknown control route ${path}` });
  };

  const play = async (script: FakeScript<U>, record: RecordedRequest, response: ServerResponse, closed: AbortSignal) => {
    const write = (frame: string): Promise<void> =>
      new Promise((resolve) => (closed.aborted ? resolve() : response.write(frame, () => resolve())));
    const reset = (): void => {
      finish(record, 'reset');
      response.socket?.destroy();
    };
    const sendJson = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      response.writeHead(status, { ...dialect.responseHeaders, 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(payload));
    };

    switch (script.type) {
      case 'reset':
        return reset();
      case 'models':
        return sendJson(200, dialect.modelsBody(script.ids));
      case 'error':
        if (script.headersDelayMs) await sleep(script.headersDelayMs, closed);
        if (closed.aborted) return;
        return sendJson(script.status, dialect.errorBody(script.status, script), script.headers);
      case 'answer':
        break;
    }

    const body = (record.body ?? {}) as Record<string, unknown>;
    const chunks = Array.isArray(script.text) ? script.text : wordChunks(script.text ?? 'OK');
    const answer: AnswerContext<U> = {
      model: typeof body.model === 'string' ? body.model : 'fake-model',
      chunks,
      text: chunks.join(''),
      usage: script.usage === undefined ? dialect.defaultUsage(chunks) : script.usage,
      stopReason: script.stopReason,
      body,
    };
    if (script.headersDelayMs) await sleep(script.headersDelayMs, closed);
    if (closed.aborted) return;
    if (!dialect.isStreaming(body)) return sendJson(200, dialect.completion(answer));

    response.writeHead(200, {
      ...dialect.responseHeaders,
      'content-type': dialect.streamContentType,
      'cache-control': 'no-cache',
    });
    response.flushHeaders();
    const frames = dialect.answerFrames(answer);
    for (const frame of frames.head) await write(frame);
    const interrupt = script.interrupt;
    for (let index = 0; index <= chunks.length; index++) {
      if (interrupt?.afterChunks === index) {
        if (interrupt.with === 'reset') return reset();
        if (interrupt.with === 'end') return void response.end();
        if (interrupt.with === 'malformed') await write(dialect.malformedFrame());
        else {
          await write(dialect.streamErrorFrame(interrupt.with.error));
          return void response.end();
        }
      }
      if (index === chunks.length) break;
      if (index > 0 && script.chunkDelayMs) await sleep(script.chunkDelayMs, closed);
      if (closed.aborted) return;
      await write(frames.text(chunks[index], index));
    }
    for (const frame of frames.tail) await write(frame);
    response.end();
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const method = request.method ?? 'GET';
    const path = request.url ?? '/';
    const rawBody = await readBody(request);
    // An incomplete request (the connection closed mid-body) is not a request: nothing to record or answer.
    if (rawBody === undefined) return;
    const body = parseJson(rawBody);
    if (path.startsWith(CONTROL_PREFIX)) return handleControl(path, body, response);

    const record: RecordedRequest = {
      index: requests.length,
      method,
      path,
      headers: request.headers,
      rawBody,
      body,
      outcome: 'open',
    };
    requests.push(record);
    requestWaiters = requestWaiters.filter((waiter) => (requests.length >= waiter.count ? void waiter.resolve() : true));

    const closedController = new AbortController();
    response.on('close', () => {
      finish(record, response.writableFinished ? 'completed' : 'clientClosed');
      closedController.abort();
    });

    const route = routeOf(method, path);
    if (!route) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify(dialect.errorBody(404, { message: `fake ${dialect.provider}: no route ${method} ${path}` })));
      return;
    }
    try {
      await play(nextScript(route, record), record, response, closedController.signal);
    } catch (error) {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`fake ${dialect.provider} failed: ${String(error)}`);
    }
  };
  const server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handle) : createServer(handle);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const fake: FakeServer<U> = {
    provider: dialect.provider,
    url,
    baseUrl: `${url}${dialect.baseUrlPath}`,
    requests,
    reply: (...replies) => queues.chat.push(...replies),
    enqueue: (route, ...replies) => queues[route].push(...replies),
    settled: (record) =>
      record.outcome !== 'open'
        ? Promise.resolve(record.outcome)
        : new Promise((resolve) => settledWaiters.set(record, [...(settledWaiters.get(record) ?? []), resolve])),
    waitForRequests: (count) =>
      requests.length >= count ? Promise.resolve() : new Promise((resolve) => requestWaiters.push({ count, resolve })),
    reset: () => {
      requests.length = 0;
      queues.chat.length = 0;
      queues.models.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
