import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { apiKeyEnvName, describeEndpoint } from '../providers/errors';
import type { Usage } from '../providers/types';
import { endpointId } from '../router/config';
import { asRecord } from './classify';
import { GatewayError } from './errors';
import type { IngressProtocol } from './protocols';
import { sendGatewayError, type ExchangeState, type GatewayRuntime, type InflightExchange, type Settlement } from './runtime';
import { bindStream } from './settlement';
import { streamMetaFor, type IREvent, type IRRequest } from './translate';
import { forwardedResponseHeaders, isRefusedRequest, UpstreamTimeoutError, type UpstreamHandler } from './upstream';
import { UsageTap, type TapOutcome } from './usageTap';

/** Upstream error bodies kept to translate them into the client's format. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Relayed bytes the usage tap lets gather before it reads them. */
const TAP_BATCH_BYTES = 64 * 1024;

export interface OutgoingRequest {
  url: URL;
  /** Without content-length: the transport sets it from `body`. */
  headers: OutgoingHttpHeaders;
  body: Buffer;
  /** Set when the request was translated: the client's request in the IR, for encoding the answer. */
  ir?: IRRequest;
}

/** Sends the request upstream and relays the answer; resolves once the exchange is settled. */
export function relay(
  runtime: GatewayRuntime,
  state: ExchangeState,
  response: ServerResponse,
  outgoing: OutgoingRequest,
): Promise<void> {
  const { plan, ingress } = state;
  const timeoutMs = plan.endpoint.timeoutMs ?? state.config.requestTimeoutMs;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const finish: Finish = (settlement, status) => {
    if (state.finished) return;
    state.finished = true;
    runtime.settlements.add({
      state,
      settlement,
      status,
      done: () => {
        runtime.inflight.delete(inflight);
        resolveDone();
      },
    });
  };

  /** Where the answer goes once its status is known; undefined until then. */
  let sink: AnswerSink | undefined;
  let clientGone = false;
  const handler: UpstreamHandler = {
    onResponse: ({ status, headers }) => {
      // A refused key is Tierwise's, not the client's login: passed on as is, Claude Code would retry and say /login.
      const keyRefused = status === 401 || status === 403;
      const context: SinkContext = { runtime, state, response, status, headers, finish, resume: () => call.resume(), abort: (reason) => call.abort(reason) };
      if (status >= 400 && (!plan.passThrough || keyRefused)) sink = upstreamErrorSink(context);
      else if (plan.passThrough || status >= 400) sink = passThroughSink(context, routeHeaderOf(state));
      else sink = translatedSink(context, routeHeaderOf(state), outgoing.ir!);
    },
    onData: (chunk) => sink!.data(chunk),
    onEnd: () => sink!.end(),
    onError: (error) => {
      if (state.finished) return;
      if (sink) return sink.cut(clientGone ? 'client' : 'upstream', error);
      if (clientGone) {
        return finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', detail: 'client closed the connection before the answer', errorKind: 'cancelled' });
      }
      if (isRefusedRequest(error)) {
        // Not the endpoint's fault, and not something a retry fixes: say what could not be sent.
        sendGatewayError(response, ingress, new GatewayError('missingKey', `Tierwise could not call ${describeEndpoint(plan.endpoint)}: ${error.message}`));
        return finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', detail: error.message, errorKind: 'badRequest' });
      }
      const timedOut = error instanceof UpstreamTimeoutError;
      runtime.health.recordFailure(endpointId(plan.endpoint));
      sendGatewayError(
        response,
        ingress,
        new GatewayError(timedOut ? 'upstreamTimeout' : 'upstreamUnreachable', `Tierwise: ${describeEndpoint(plan.endpoint)} ${timedOut ? 'timed out' : 'could not be reached'}: ${error.message}`),
      );
      finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', detail: error.message, errorKind: timedOut ? 'timeout' : 'network' });
    },
  };
  const call = runtime.upstream.send(outgoing.url, outgoing.headers, outgoing.body, timeoutMs, handler);

  const inflight: InflightExchange = {
    done,
    abort: (reason) => {
      state.abortReason = reason;
      call.abort(new Error(reason));
      if (!response.headersSent) sendGatewayError(response, ingress, new GatewayError('shuttingDown', `Tierwise gateway: ${reason}`));
      else response.destroy();
    },
  };
  runtime.inflight.add(inflight);

  // The client went away before the answer was complete: stop the upstream (it bills only what it generated).
  response.once('close', () => {
    if (response.writableFinished || state.finished) return;
    clientGone = true;
    call.abort(new Error('client closed the connection'));
  });

  // The request is on its way: the session follows its endpoint now, and the decision is logged with the next batch.
  bindStream(runtime, state);
  runtime.settlements.announce(state);
  return done;
}

/** The x-tierwise-route header: kind, tier and model (anything outside printable ASCII would make it invalid). */
function routeHeaderOf(state: ExchangeState): string {
  const { plan } = state;
  const model = plan.endpoint.model.replace(/[^\x20-\x7e]/g, '?');
  return `${state.classification.kind}; tier=${plan.tier}; model=${model}${plan.downgrade ? `; downgraded-from=${plan.downgrade.from}` : ''}`;
}

/** Ends the exchange: its settlement (or how to work it out, with the status for endpoint health) is queued. */
type Finish = (settlement: Settlement | (() => Settlement), status?: number) => void;

interface SinkContext {
  runtime: GatewayRuntime;
  state: ExchangeState;
  response: ServerResponse;
  status: number;
  headers: IncomingHttpHeaders;
  finish: Finish;
  /** Reads on from the upstream after the client drained. */
  resume: () => void;
  /** Stops the upstream (its onError is then ignored: the exchange has finished). */
  abort: (reason: Error) => void;
}

/** One way of relaying an answer: pass-through, translated, or an upstream error in the client's format. */
interface AnswerSink {
  /** A body chunk; false while the client is not keeping up. */
  data(chunk: Buffer): boolean;
  end(): void;
  /** The answer stopped early: the client went away, or the upstream failed (closed, timed out) mid-answer. */
  cut(by: 'client' | 'upstream', error: Error): void;
}

/** Writes to the client; false (and a resume once drained) when its buffer is full. */
function writeOrWait(context: SinkContext, data: Buffer | string): boolean {
  if (context.response.write(data)) return true;
  context.response.once('drain', context.resume);
  return false;
}

/** Why an answer stopped early, for the call record. */
function cutDetail(by: 'client' | 'upstream', error: Error): string {
  if (by === 'client') return 'client closed the stream';
  return error instanceof UpstreamTimeoutError ? `upstream stalled mid-answer: ${error.message}` : 'upstream closed the stream early';
}

function passThroughSink(context: SinkContext, routeHeader: string): AnswerSink {
  const { state, response, status, finish } = context;
  const contentType = String(context.headers['content-type'] ?? '');
  const tap = new UsageTap(state.plan.upstreamProtocol, contentType.includes('event-stream') || contentType.includes('ndjson'));
  const headers = forwardedResponseHeaders(context.headers, true);
  headers['x-tierwise-route'] = routeHeader;
  // The headers go out with the first chunk: one write instead of two (the upstream sends both together anyway).
  response.writeHead(status, headers);
  const errorBody: Buffer[] = [];
  // The tap reads what was relayed later, in batches (once TAP_BATCH_BYTES have gathered, and at the end), so a
  // stream of small events costs the relay an array push per event rather than a parse.
  let untapped: Buffer[] = [];
  let untappedBytes = 0;
  const drainTap = () => {
    const batch = untapped;
    untapped = [];
    untappedBytes = 0;
    for (const chunk of batch) tap.push(chunk);
  };
  return {
    data(chunk) {
      const written = writeOrWait(context, chunk);
      untapped.push(chunk);
      if ((untappedBytes += chunk.length) >= TAP_BATCH_BYTES && untappedBytes - chunk.length < TAP_BATCH_BYTES) setImmediate(drainTap);
      if (status >= 400 && errorBody.length < 64) errorBody.push(chunk);
      return written;
    },
    end() {
      response.end();
      // What the tap has not read yet is read with the batch, after the answer is out.
      finish(() => {
        drainTap();
        const outcome = tap.finish();
        if (status < 400) return fromTap(outcome, status);
        const message = upstreamErrorMessage(Buffer.concat(errorBody).toString('utf8'));
        return { usage: undefined, estimatedOutputTokens: 0, outcome: 'error', status, errorKind: `http${status}`, detail: `${status}: ${message}` };
      }, status);
    },
    cut(by, error) {
      // Mid-stream: the client sees the connection drop (and retries); what streamed so far is settled.
      if (by === 'upstream') response.destroy();
      drainTap();
      finish({ ...fromTap(tap.finish(), status), outcome: 'error', errorKind: by === 'client' ? 'cancelled' : 'network', detail: cutDetail(by, error) });
    },
  };
}

function fromTap(outcome: TapOutcome, status: number): Settlement {
  const ended = outcome.completed && !outcome.streamError;
  return {
    usage: outcome.usage,
    estimatedOutputTokens: outcome.estimatedOutputTokens,
    outcome: ended ? 'ok' : 'error',
    status,
    ...(outcome.streamError !== undefined && { detail: outcome.streamError, errorKind: 'stream' }),
    ...(!outcome.completed && outcome.streamError === undefined && { detail: 'stream ended without its final event', errorKind: 'stream' }),
  };
}

/**
 * The upstream's error in the client's format: for translated calls, and for a key the upstream refused (then a
 * 400 that names the key, since the client's own token for the gateway was fine).
 */
function upstreamErrorSink(context: SinkContext): AnswerSink {
  const { runtime, state, response, status, finish } = context;
  const chunks: Buffer[] = [];
  let kept = 0;
  return {
    data(chunk) {
      if (kept < MAX_ERROR_BODY_BYTES) chunks.push(chunk);
      kept += chunk.length;
      return true;
    },
    end() {
      const keyRefused = status === 401 || status === 403;
      const upstreamMessage = upstreamErrorMessage(Buffer.concat(chunks).toString('utf8'));
      const message = keyRefused
        ? `${describeEndpoint(state.plan.endpoint)} refused Tierwise's key (${status}: ${upstreamMessage}); check ${apiKeyEnvName(state.plan.endpoint) ?? 'the key'} where Tierwise reads it.`
        : `${describeEndpoint(state.plan.endpoint)} answered ${status}: ${upstreamMessage}`;
      const retryAfter = Number(context.headers['retry-after']);
      const codec = runtime.codecs(state.ingress);
      const kind = status === 429 ? 'rateLimit' : status === 529 || status === 503 ? 'overloaded' : 'upstream';
      if (codec) {
        const encoded = codec.encodeError(status, message, kind, Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {});
        if (!response.headersSent) response.writeHead(encoded.status, encoded.headers).end(JSON.stringify(encoded.body));
      } else {
        sendGatewayError(response, state.ingress, new GatewayError(keyRefused ? 'missingKey' : 'upstreamUnreachable', message, keyRefused ? {} : { status }));
      }
      finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', status, errorKind: `http${status}`, detail: message });
    },
    cut(by, error) {
      if (by === 'upstream') {
        sendGatewayError(response, state.ingress, new GatewayError('upstreamUnreachable', `Tierwise: ${describeEndpoint(state.plan.endpoint)} closed the connection while answering ${status}`));
      }
      finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', status, errorKind: by === 'client' ? 'cancelled' : 'network', detail: cutDetail(by, error) });
    },
  };
}

function translatedSink(context: SinkContext, routeHeader: string, ir: IRRequest): AnswerSink {
  const { runtime, state, response, finish } = context;
  const { plan, ingress } = state;
  const source = runtime.codecs(ingress)!;
  const target = runtime.codecs(plan.upstreamProtocol)!;
  const meta = streamMetaFor(ir, { id: clientFacingId(ingress), model: plan.endpoint.model });
  let usage: Usage | undefined;
  let outputChars = 0;
  let streamError: string | undefined;
  let stopped = false;
  const observe = (event: IREvent) => {
    if (event.type === 'start' && event.usage) usage = { ...event.usage };
    else if (event.type === 'usage') usage = { ...event.usage };
    else if (event.type === 'textDelta' || event.type === 'thinkingDelta') outputChars += event.text.length;
    else if (event.type === 'toolCallDelta') outputChars += event.argumentsJsonDelta.length;
    else if (event.type === 'error') streamError = event.message;
    else if (event.type === 'stop') stopped = true;
  };
  const settlement = (aborted?: string): Settlement => ({
    usage,
    estimatedOutputTokens: Math.ceil(outputChars / 3),
    outcome: aborted || streamError || !stopped ? 'error' : 'ok',
    status: 200,
    ...((aborted || streamError || !stopped) && { detail: aborted ?? streamError ?? 'stream ended without its final event', errorKind: aborted ? 'cancelled' : 'stream' }),
  });
  const cut = (by: 'client' | 'upstream', error: Error) => {
    if (by === 'upstream') response.destroy();
    finish(settlement(cutDetail(by, error)));
  };

  if (!ir.stream) {
    const chunks: Buffer[] = [];
    return {
      data(chunk) {
        chunks.push(chunk);
        return true;
      },
      end() {
        try {
          const answer = target.parseResponse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          usage = answer.usageReported === false ? undefined : answer.usage;
          stopped = true;
          const encoded = JSON.stringify(source.encodeResponse(answer, meta));
          response.writeHead(200, { 'content-type': 'application/json', 'x-tierwise-route': routeHeader }).end(encoded);
          finish(settlement());
        } catch (error) {
          sendGatewayError(response, ingress, new GatewayError('upstreamUnreachable', `Tierwise could not read ${plan.endpoint.model}'s answer: ${(error as Error).message}`));
          finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', errorKind: 'badResponse', detail: (error as Error).message });
        }
      },
      cut,
    };
  }

  const decoder = target.createStreamDecoder();
  const encoder = source.createStreamEncoder(meta);
  const text = new StringDecoder('utf8');
  response.writeHead(200, { 'content-type': source.streamContentType, 'cache-control': 'no-cache', 'x-tierwise-route': routeHeader });
  let failed = false;
  const write = (events: IREvent[]): boolean => {
    let out = '';
    for (const event of events) {
      observe(event);
      out += encoder.encode(event);
    }
    return out ? writeOrWait(context, out) : true;
  };
  return {
    data(chunk) {
      if (failed) return true;
      try {
        return write(decoder.push(text.write(chunk)));
      } catch (error) {
        failed = true;
        streamError = (error as Error).message;
        write([{ type: 'error', errorType: 'api_error', message: `Tierwise could not translate ${plan.endpoint.model}'s stream: ${streamError}` }]);
        response.end(encoder.end());
        finish(settlement());
        context.abort(new Error(`untranslatable stream: ${streamError}`));
        return true;
      }
    },
    end() {
      if (state.finished) return;
      try {
        write(decoder.push(text.end()));
        write(decoder.end());
      } catch (error) {
        streamError = (error as Error).message;
      }
      response.end(encoder.end());
      finish(settlement());
    },
    cut,
  };
}

function upstreamErrorMessage(text: string): string {
  try {
    const body = asRecord(JSON.parse(text));
    const error = body?.error;
    const message = typeof error === 'string' ? error : asRecord(error)?.message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: use the text
  }
  return text.trim().slice(0, 500) || 'no message';
}

function clientFacingId(protocol: IngressProtocol): string {
  const token = randomBytes(12).toString('hex');
  return protocol === 'anthropic' ? `msg_tw${token}` : protocol === 'openaiChat' ? `chatcmpl-tw${token}` : `resp_tw${token}`;
}

