import { randomBytes } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { apiKeyEnvName, describeEndpoint } from '../providers/errors';
import type { Usage } from '../providers/types';
import { endpointId } from '../router/config';
import { asRecord } from './classify';
import { GatewayError } from './errors';
import type { IngressProtocol } from './protocols';
import { sendGatewayError, type ExchangeState, type GatewayRuntime, type InflightExchange, type Settlement } from './runtime';
import { announce, settle } from './settlement';
import { streamMetaFor, type IREvent, type IRRequest } from './translate';
import { forwardedResponseHeaders, UpstreamTimeoutError } from './upstream';
import { UsageTap, type TapOutcome } from './usageTap';

/** Upstream error bodies kept to translate them into the client's format. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface OutgoingRequest {
  url: URL;
  headers: OutgoingHttpHeaders;
  /** The body, written in order. */
  chunks: Buffer[];
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
  const upstream = runtime.upstream.open(outgoing.url, outgoing.headers, timeoutMs);
  // The model can be the client's own string: anything outside printable ASCII would make the header invalid.
  const model = plan.endpoint.model.replace(/[^\x20-\x7e]/g, '?');
  const routeHeader = `${state.classification.kind}; tier=${plan.tier}; model=${model}${plan.downgrade ? `; downgraded-from=${plan.downgrade.from}` : ''}`;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const finish = (settlement: Settlement) => {
    if (state.finished) return;
    state.finished = true;
    // Node writes the last bytes on the next tick: the ledger work waits until they are on their way.
    setImmediate(() => {
      try {
        settle(runtime, state, settlement);
      } catch (error) {
        // The ledger refused the write (disk full, folder gone): the answer was delivered; say what was not recorded.
        runtime.log(`could not record ${state.classification.kind} on ${plan.endpoint.model} in the ledger: ${(error as Error).message}`);
      } finally {
        runtime.inflight.delete(inflight);
        resolveDone();
      }
    });
  };
  const inflight: InflightExchange = {
    done,
    abort: (reason) => {
      state.abortReason = reason;
      upstream.destroy(new Error(reason));
      if (!response.headersSent) sendGatewayError(response, ingress, new GatewayError('shuttingDown', `Tierwise gateway: ${reason}`));
      else response.destroy();
    },
  };
  runtime.inflight.add(inflight);

  let upstreamAnswered = false;
  let clientGone = false;
  upstream.on('error', (error) => {
    if (state.finished) return;
    if (clientGone) {
      return finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', detail: 'client closed the connection before the answer', errorKind: 'cancelled' });
    }
    const timedOut = error instanceof UpstreamTimeoutError;
    if (!upstreamAnswered || !response.headersSent) {
      runtime.health.recordFailure(endpointId(plan.endpoint));
      sendGatewayError(
        response,
        ingress,
        new GatewayError(timedOut ? 'upstreamTimeout' : 'upstreamUnreachable', `Tierwise: ${describeEndpoint(plan.endpoint)} ${timedOut ? 'timed out' : 'could not be reached'}: ${error.message}`),
      );
      return finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', detail: error.message, errorKind: timedOut ? 'timeout' : 'network' });
    }
    // Mid-stream: the client sees the connection drop (and retries); what streamed so far is settled.
    response.destroy();
  });

  // The client went away before the answer was complete: stop the upstream (it bills only what it generated).
  response.once('close', () => {
    if (response.writableFinished || state.finished) return;
    clientGone = true;
    upstream.destroy(new Error('client closed the connection'));
  });

  upstream.on('response', (upstreamResponse) => {
    upstreamAnswered = true;
    const status = upstreamResponse.statusCode ?? 502;
    // A refused key is Tierwise's, not the client's login: passed on as is, Claude Code would retry and say /login.
    const keyRefused = status === 401 || status === 403;
    if (status >= 400 && (!plan.passThrough || keyRefused)) return relayUpstreamError(runtime, state, upstreamResponse, response, status, finish);
    if (plan.passThrough || status >= 400) return relayPassThrough(state, upstreamResponse, response, status, routeHeader, finish);
    return relayTranslated(runtime, state, upstreamResponse, response, routeHeader, outgoing.ir!, finish);
  });

  for (const chunk of outgoing.chunks.slice(0, -1)) upstream.write(chunk);
  upstream.end(outgoing.chunks.at(-1));
  // The request is written on the next tick; the decision's log line waits until it has left.
  setImmediate(() => announce(runtime, state));
  return done;
}

type Finish = (settlement: Settlement) => void;

function relayPassThrough(
  state: ExchangeState,
  upstreamResponse: IncomingMessage,
  response: ServerResponse,
  status: number,
  routeHeader: string,
  finish: Finish,
): void {
  const streaming = (upstreamResponse.headers['content-type'] ?? '').includes('event-stream') || (upstreamResponse.headers['content-type'] ?? '').includes('ndjson');
  const tap = new UsageTap(state.plan.upstreamProtocol, streaming);
  const headers = forwardedResponseHeaders(upstreamResponse.headers, true);
  headers['x-tierwise-route'] = routeHeader;
  // The headers go out with the first chunk: one write instead of two (the upstream sends both together anyway).
  response.writeHead(status, headers);
  const errorBody: Buffer[] = [];
  // The tap reads chunks after they are relayed (in one batch per turn of the event loop), never before.
  const untapped: Buffer[] = [];
  const drainTap = () => {
    for (const chunk of untapped.splice(0)) tap.push(chunk);
  };
  upstreamResponse.on('data', (chunk: Buffer) => {
    if (!response.write(chunk)) {
      upstreamResponse.pause();
      response.once('drain', () => upstreamResponse.resume());
    }
    if (untapped.push(chunk) === 1) setImmediate(drainTap);
    if (status >= 400 && errorBody.length < 64) errorBody.push(chunk);
  });
  upstreamResponse.once('end', () => {
    response.end();
    setImmediate(() => {
      drainTap();
      const outcome = tap.finish();
      if (status >= 400) {
        const message = upstreamErrorMessage(Buffer.concat(errorBody).toString('utf8'));
        return finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', status, errorKind: `http${status}`, detail: `${status}: ${message}` });
      }
      finish(fromTap(outcome, status));
    });
  });
  upstreamResponse.once('close', () => {
    if (upstreamResponse.complete || state.finished) return;
    response.destroy();
    drainTap();
    finish({ ...fromTap(tap.finish(), status), outcome: 'error', errorKind: 'network', detail: 'upstream closed the stream early' });
  });
  response.once('close', () => {
    if (response.writableFinished || state.finished) return;
    drainTap();
    finish({ ...fromTap(tap.finish(), status), outcome: 'error', errorKind: 'cancelled', detail: 'client closed the stream' });
  });
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
function relayUpstreamError(
  runtime: GatewayRuntime,
  state: ExchangeState,
  upstreamResponse: IncomingMessage,
  response: ServerResponse,
  status: number,
  finish: Finish,
): void {
  const chunks: Buffer[] = [];
  let kept = 0;
  upstreamResponse.on('data', (chunk: Buffer) => {
    if (kept < MAX_ERROR_BODY_BYTES) chunks.push(chunk);
    kept += chunk.length;
  });
  upstreamResponse.once('end', () => {
    const keyRefused = status === 401 || status === 403;
    const upstreamMessage = upstreamErrorMessage(Buffer.concat(chunks).toString('utf8'));
    const message = keyRefused
      ? `${describeEndpoint(state.plan.endpoint)} refused Tierwise's key (${status}: ${upstreamMessage}); check ${apiKeyEnvName(state.plan.endpoint) ?? 'the key'} where Tierwise reads it.`
      : `${describeEndpoint(state.plan.endpoint)} answered ${status}: ${upstreamMessage}`;
    const retryAfter = Number(upstreamResponse.headers['retry-after']);
    const codec = runtime.codecs(state.ingress);
    const kind = status === 429 ? 'rateLimit' : status === 529 || status === 503 ? 'overloaded' : 'upstream';
    if (codec) {
      const encoded = codec.encodeError(status, message, kind, Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {});
      if (!response.headersSent) response.writeHead(encoded.status, encoded.headers).end(JSON.stringify(encoded.body));
    } else {
      sendGatewayError(response, state.ingress, new GatewayError(keyRefused ? 'missingKey' : 'upstreamUnreachable', message, keyRefused ? {} : { status }));
    }
    finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', status, errorKind: `http${status}`, detail: message });
  });
  upstreamResponse.once('close', () => {
    if (upstreamResponse.complete || state.finished) return;
    sendGatewayError(response, state.ingress, new GatewayError('upstreamUnreachable', `Tierwise: ${describeEndpoint(state.plan.endpoint)} closed the connection while answering ${status}`));
    finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', status, errorKind: 'network', detail: 'upstream closed early' });
  });
}

function relayTranslated(
  runtime: GatewayRuntime,
  state: ExchangeState,
  upstreamResponse: IncomingMessage,
  response: ServerResponse,
  routeHeader: string,
  ir: IRRequest,
  finish: Finish,
): void {
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
  response.once('close', () => {
    if (!response.writableFinished) finish(settlement('client closed the stream'));
  });
  upstreamResponse.once('close', () => {
    if (upstreamResponse.complete || state.finished) return;
    response.destroy();
    finish(settlement('upstream closed the stream early'));
  });

  if (!ir.stream) {
    const chunks: Buffer[] = [];
    upstreamResponse.on('data', (chunk: Buffer) => chunks.push(chunk));
    upstreamResponse.once('end', () => {
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
    });
    return;
  }

  const decoder = target.createStreamDecoder();
  const encoder = source.createStreamEncoder(meta);
  const text = new StringDecoder('utf8');
  response.writeHead(200, { 'content-type': source.streamContentType, 'cache-control': 'no-cache', 'x-tierwise-route': routeHeader });
  const write = (events: IREvent[]) => {
    let out = '';
    for (const event of events) {
      observe(event);
      out += encoder.encode(event);
    }
    if (out && !response.write(out)) {
      upstreamResponse.pause();
      response.once('drain', () => upstreamResponse.resume());
    }
  };
  upstreamResponse.on('data', (chunk: Buffer) => {
    try {
      write(decoder.push(text.write(chunk)));
    } catch (error) {
      streamError = (error as Error).message;
      write([{ type: 'error', errorType: 'api_error', message: `Tierwise could not translate ${plan.endpoint.model}'s stream: ${streamError}` }]);
      upstreamResponse.destroy();
      response.end(encoder.end());
      finish(settlement());
    }
  });
  upstreamResponse.once('end', () => {
    if (state.finished) return;
    try {
      write(decoder.push(text.end()));
      write(decoder.end());
    } catch (error) {
      streamError = (error as Error).message;
    }
    response.end(encoder.end());
    finish(settlement());
  });
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

