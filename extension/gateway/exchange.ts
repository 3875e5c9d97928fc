import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { describeEndpoint, missingKeyError } from '../providers/errors';
import { outputLimitParam } from '../providers/openaiCompatible';
import { ZERO_USAGE, type Usage } from '../providers/types';
import { describeViolation, findCapViolation } from '../router/budget';
import { endpointBaseUrl, endpointId, isLocalEndpoint, type TierwiseConfig } from '../router/config';
import type { EndpointHealth } from '../router/endpointHealth';
import { LEDGER_RECORD_VERSION, type CallRecord, type SpendTotals } from '../router/ledger/records';
import type { RouterLedger } from '../router/router';
import { priceCall, referenceCostUsd } from '../router/prices';
import { classify, contentText, asRecord, type Classification } from './classify';
import { canTranslateWith, type CodecLookup } from './codecs';
import { encodeGatewayError, GatewayError } from './errors';
import type { KeyCache } from './keyCache';
import { quickInputTokens } from './estimate';
import { withModel } from './jsonSpans';
import { DEFAULT_ANTHROPIC_VERSION, upstreamAuthHeaders, upstreamUrl, type IngressProtocol, type WireProtocol } from './protocols';
import type { BodyView, RawBody } from './requestBody';
import { planRoute, type PlanInput, type RoutedPlan } from './route';
import { ATTRIBUTION_BLOCK_PREFIX, prefixDigest, prefixSessionKey, sessionIdentity, streamOf, type PrefixDigest, type SessionTracker } from './sessions';
import { streamMetaFor, type IREvent, type ProtocolCodec } from './translate';
import { forwardedRequestHeaders, forwardedResponseHeaders, UpstreamTimeoutError, type UpstreamConnections } from './upstream';
import { UsageTap, type TapOutcome } from './usageTap';

/** What every exchange shares: built once by the gateway. */
export interface GatewayRuntime {
  readonly config: () => TierwiseConfig;
  readonly ledger: RouterLedger;
  readonly keys: KeyCache;
  readonly sessions: SessionTracker;
  readonly health: EndpointHealth;
  readonly upstream: UpstreamConnections;
  readonly codecs: CodecLookup;
  readonly log: (line: string) => void;
  readonly debugLogPrompts: () => boolean;
  readonly now: () => number;
  /** Exchanges under way, for a graceful shutdown. */
  readonly inflight: Set<InflightExchange>;
  readonly version: string;
}

export interface InflightExchange {
  /** Resolves once the exchange is settled in the ledger. */
  readonly done: Promise<void>;
  /** Ends it now (shutdown grace is over): the upstream is cut and what was used is settled. */
  abort(reason: string): void;
}

/** Reserving can race with other processes; after this many refusals the request is answered as blocked. */
const MAX_RESERVE_ATTEMPTS = 3;
/** Upstream error bodies kept to translate them into the client's format. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const PROMPT_LOG_CHARS = 2000;
/** Beta flags tied to the model the client chose; dropped when the gateway sends the request to another model. */
const MODEL_BOUND_BETA = /^context-1m-/;

interface ExchangeState {
  readonly requestId: string;
  readonly config: TierwiseConfig;
  readonly ingress: IngressProtocol;
  readonly classification: Classification;
  readonly plan: RoutedPlan;
  readonly reservationId: string | undefined;
  readonly estInputTokens: number;
  readonly startedAt: number;
  readonly sessionKey: string;
  readonly stream: string | undefined;
  readonly body: RawBody;
  prefix: PrefixDigest | undefined;
  /** Cache breaks found for this turn, for the call record's detail. */
  readonly notes: string[];
  announced: boolean;
  settled: boolean;
  /** Set when the gateway cut the exchange (shutdown): the call record says so rather than blaming a side. */
  abortReason?: string;
}

interface Settlement {
  usage: Usage | undefined;
  estimatedOutputTokens: number;
  outcome: CallRecord['outcome'];
  detail?: string;
  errorKind?: string;
  /** The upstream status, for endpoint health. */
  status?: number;
}

let uncappedTotals: SpendTotals | undefined;

/**
 * Totals for a plan. They matter only through the caps, so with no cap set the plan does not wait for the ledger to
 * read what other processes appended: any totals give the same plan.
 */
function totalsForPlanning(runtime: GatewayRuntime, config: TierwiseConfig): SpendTotals {
  if (capsConfigured(config.budgets)) return runtime.ledger.totals();
  uncappedTotals ??= runtime.ledger.totals();
  return uncappedTotals;
}

/** Whether any cap is set (null or absent means none). */
export function capsConfigured(budgets: TierwiseConfig['budgets']): boolean {
  const isCap = (value: number | null | undefined) => typeof value === 'number';
  return isCap(budgets.dailyUsd) || isCap(budgets.monthlyUsd) || isCap(budgets.perRequestUsd) || Object.values(budgets.perTierDailyUsd ?? {}).some(isCap);
}

export function requestedMaxOutputTokens(ingress: IngressProtocol, body: BodyView): number | undefined {
  const value = ingress === 'anthropic' ? body.get('max_tokens') : ingress === 'openaiChat' ? (body.get('max_completion_tokens') ?? body.get('max_tokens')) : body.get('max_output_tokens');
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Writes a gateway error in the client's format (the translator's encoding for budget errors when there is one). */
export function sendGatewayError(response: ServerResponse, protocol: WireProtocol, error: GatewayError, codec?: ProtocolCodec): void {
  if (response.destroyed) return;
  if (response.headersSent) {
    response.destroy(error);
    return;
  }
  if (codec && error.kind === 'budget') {
    const encoded = codec.encodeError(error.status, error.message, 'budget');
    response.writeHead(encoded.status, encoded.headers).end(JSON.stringify(encoded.body));
    return;
  }
  const encoded = encodeGatewayError(protocol, error);
  response.writeHead(encoded.status, encoded.headers).end(encoded.body);
}

/**
 * One chat request end to end: classification, route, reservation, the upstream call (pass-through or
 * translated), and settlement in the ledger when the answer has been relayed.
 */
export async function runChatExchange(
  runtime: GatewayRuntime,
  ingress: IngressProtocol,
  request: IncomingMessage,
  response: ServerResponse,
  body: RawBody,
): Promise<void> {
  const config = runtime.config();
  const headers = request.headers;
  const classification = classify({ protocol: ingress, headers, body });
  const model = body.get('model');
  const clientModel = typeof model === 'string' ? model : undefined;
  const identity = sessionIdentity(headers, body, classification.client);
  let prefix: PrefixDigest | undefined;
  let sessionKey: string;
  if (identity) {
    sessionKey = identity.key;
  } else {
    prefix = prefixDigest(ingress, body);
    sessionKey = prefixSessionKey(prefix).key;
  }
  const stream = streamOf(classification.kind, headers);
  const estInputTokens = quickInputTokens(ingress, body.raw.length, body);
  const planInput: PlanInput = {
    kind: classification.kind,
    ingress,
    clientModel,
    estInputTokens,
    requestedMaxOutputTokens: requestedMaxOutputTokens(ingress, body),
    stickyEndpointId: stream ? runtime.sessions.stickyEndpoint(sessionKey, stream) : undefined,
    canTranslate: canTranslateWith(runtime.codecs),
  };
  const requestId = randomUUID();
  const who = `${classification.kind} [${classification.client}]`;

  // Plan and reserve: under the ledger lock the caps are checked against every process's spend.
  let plan = planRoute(planInput, config, { totals: totalsForPlanning(runtime, config), unavailableEndpointIds: runtime.health.coolingDown() });
  let reservationId: string | undefined;
  for (let attempt = 1; ; attempt++) {
    if (plan.kind === 'noEndpoint') {
      runtime.log(`${who}: no endpoint (${classification.reason}; ${plan.reason})`);
      return sendGatewayError(response, ingress, new GatewayError('noEndpoint', `Tierwise: no endpoint can take this ${classification.kind} request: ${plan.reason}.`));
    }
    if (plan.kind === 'blocked') {
      runtime.log(`${who}: blocked (${classification.reason}; ${plan.reason})`);
      const message =
        `Tierwise blocked this ${classification.kind} request: ${describeViolation(plan.violation)}. ` +
        `Raise it in VS Code (${plan.violation.setting}) or in the gateway's config file ("${plan.violation.setting.replace(/^tierwise\./, '')}"), ` +
        `or wait for the period to end.`;
      return sendGatewayError(response, ingress, new GatewayError('budget', message), runtime.codecs(ingress));
    }
    const routed: RoutedPlan = plan;
    // A reservation holds spend against caps: a free call, or a config with no cap at all, has nothing to hold it against.
    if (routed.worstCaseUsd <= 0 || !capsConfigured(config.budgets)) break;
    const reserved = await runtime.ledger.reserve({ requestId, tier: routed.tier, amountUsd: routed.worstCaseUsd }, (fresh) =>
      findCapViolation(fresh, config.budgets, routed.tier, routed.worstCaseUsd),
    );
    if (reserved.ok) {
      reservationId = reserved.reservation.reservationId;
      break;
    }
    const replanned = planRoute(planInput, config, { totals: runtime.ledger.totals(), unavailableEndpointIds: runtime.health.coolingDown() });
    plan =
      attempt >= MAX_RESERVE_ATTEMPTS && replanned.kind === 'route'
        ? { kind: 'blocked', tier: routed.tier, reason: `${routed.reason}; reservation refused ${attempt} times`, violation: reserved.refusal }
        : replanned;
  }

  const state: ExchangeState = {
    requestId,
    config,
    ingress,
    classification,
    plan,
    reservationId,
    estInputTokens,
    startedAt: runtime.now(),
    sessionKey,
    stream,
    body,
    prefix,
    notes: [],
    announced: false,
    settled: false,
  };
  if (plan.downgrade) {
    // Never silent: a downgraded main turn changes the model the user is talking to.
    runtime.log(`${who}: downgraded ${plan.downgrade.from} → ${plan.downgrade.to} because ${plan.downgrade.because} (${plan.endpoint.model})`);
  }
  if (response.destroyed || request.socket.destroyed) {
    // The client gave up while the reservation was being taken.
    if (reservationId) runtime.ledger.release(reservationId);
    runtime.log(`${who}: the client went away before the request was sent`);
    return;
  }

  let apiKey: string | undefined;
  try {
    // A cached key is used at once: an await here would yield to whatever else is queued.
    apiKey = runtime.keys.cached(plan.endpoint) ?? (await runtime.keys.get(plan.endpoint));
  } catch (error) {
    if (reservationId) runtime.ledger.release(reservationId);
    return sendGatewayError(response, ingress, new GatewayError('missingKey', `Tierwise could not read the key for ${describeEndpoint(plan.endpoint)}: ${(error as Error).message}`));
  }
  if (!apiKey && !isLocalEndpoint(plan.endpoint)) {
    if (reservationId) runtime.ledger.release(reservationId);
    runtime.log(`${who}: ${missingKeyError(plan.endpoint).message}`);
    return sendGatewayError(response, ingress, new GatewayError('missingKey', `Tierwise: ${missingKeyError(plan.endpoint).message}`));
  }

  let outgoing: { url: URL; headers: OutgoingHttpHeaders; chunks: Buffer[] };
  try {
    outgoing = plan.passThrough ? passThroughRequest({ request, body, plan, apiKey }) : translatedRequest(runtime, state, apiKey);
  } catch (error) {
    if (reservationId) runtime.ledger.release(reservationId);
    const message = error instanceof Error ? error.message : String(error);
    return sendGatewayError(response, ingress, new GatewayError('badRequest', `Tierwise could not send this request to ${plan.endpoint.model}: ${message}`));
  }
  await relay(runtime, state, response, outgoing);
}

export interface PassThroughInput {
  request: IncomingMessage;
  body: RawBody;
  plan: Pick<RoutedPlan, 'endpoint' | 'upstreamProtocol' | 'clientModelRoute'>;
  apiKey: string | undefined;
  countTokens?: boolean;
}

/** The client's request for a same-protocol upstream: its bytes with only `model` changed, its headers minus ours. */
export function passThroughRequest({ request, body, plan, apiKey, countTokens }: PassThroughInput) {
  const swapModel = body.get('model') !== plan.endpoint.model;
  // Only the model value changes; every other byte (system blocks, cache_control breakpoints) goes as sent.
  const chunks = swapModel ? withModel(body.raw, body.scan, plan.endpoint.model) : [body.raw];
  const headers = forwardedRequestHeaders(request.headers, swapModel && !plan.clientModelRoute ? (beta) => MODEL_BOUND_BETA.test(beta) : undefined);
  Object.assign(headers, upstreamAuthHeaders(plan.endpoint.provider, apiKey));
  if (plan.upstreamProtocol === 'anthropic' && headers['anthropic-version'] === undefined) headers['anthropic-version'] = DEFAULT_ANTHROPIC_VERSION;
  headers['content-type'] = 'application/json';
  headers['content-length'] = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const query = request.url?.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
  return { url: upstreamUrl(plan.endpoint, plan.upstreamProtocol, { query, countTokens }), headers, chunks };
}

function translatedRequest(runtime: GatewayRuntime, state: ExchangeState, apiKey: string | undefined) {
  const { plan, body, ingress } = state;
  const source = runtime.codecs(ingress)!;
  const target = runtime.codecs(plan.upstreamProtocol)!;
  const ir = source.parseRequest(body.all());
  // Claude Code's attribution line means nothing to another model; it would only cost tokens there.
  ir.system = ir.system.filter((block) => !block.text.startsWith(ATTRIBUTION_BLOCK_PREFIX));
  ir.model = plan.endpoint.model;
  ir.maxOutputTokens = plan.maxOutputTokens;
  const built = target.buildRequest(ir, plan.upstreamProtocol === 'openaiChat' ? { outputLimitField: outputLimitParam(endpointBaseUrl(plan.endpoint)) } : {});
  if (plan.upstreamProtocol === 'ollama') {
    // Without num_ctx Ollama silently truncates long prompts to its small default context.
    const options = asRecord(built.body.options) ?? {};
    if (plan.endpoint.numCtx !== undefined) built.body.options = { ...options, num_ctx: plan.endpoint.numCtx };
    if (plan.endpoint.keepAlive !== undefined) built.body.keep_alive = plan.endpoint.keepAlive;
  }
  const bytes = Buffer.from(JSON.stringify(built.body), 'utf8');
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': bytes.length,
    accept: ir.stream ? target.streamContentType : 'application/json',
    'accept-encoding': 'identity',
    'user-agent': `tierwise-gateway/${runtime.version}`,
    ...upstreamAuthHeaders(plan.endpoint.provider, apiKey),
  };
  if (plan.upstreamProtocol === 'anthropic') headers['anthropic-version'] = DEFAULT_ANTHROPIC_VERSION;
  return { url: upstreamUrl(plan.endpoint, plan.upstreamProtocol), headers, chunks: [bytes], ir };
}

/** Sends the request upstream and relays the answer; resolves once the exchange is settled. */
function relay(
  runtime: GatewayRuntime,
  state: ExchangeState,
  response: ServerResponse,
  outgoing: { url: URL; headers: OutgoingHttpHeaders; chunks: Buffer[]; ir?: ReturnType<ProtocolCodec['parseRequest']> },
): Promise<void> {
  const { plan, ingress } = state;
  const timeoutMs = plan.endpoint.timeoutMs ?? state.config.requestTimeoutMs;
  const upstream = runtime.upstream.open(outgoing.url, outgoing.headers, timeoutMs);
  const routeHeader = `${state.classification.kind}; tier=${plan.tier}; model=${plan.endpoint.model}${plan.downgrade ? `; downgraded-from=${plan.downgrade.from}` : ''}`;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const finish = (settlement: Settlement) => {
    if (state.settled) return;
    settle(runtime, state, settlement);
    runtime.inflight.delete(inflight);
    resolveDone();
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
    if (state.settled) return;
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
    if (response.writableFinished || state.settled) return;
    clientGone = true;
    upstream.destroy(new Error('client closed the connection'));
  });

  upstream.on('response', (upstreamResponse) => {
    upstreamAnswered = true;
    const status = upstreamResponse.statusCode ?? 502;
    if (status >= 400 && !plan.passThrough) return relayTranslatedError(runtime, state, upstreamResponse, response, status, finish);
    if (plan.passThrough || status >= 400) return relayPassThrough(state, upstreamResponse, response, status, routeHeader, finish);
    return relayTranslated(runtime, state, upstreamResponse, response, routeHeader, outgoing.ir!, finish);
  });

  for (const chunk of outgoing.chunks.slice(0, -1)) upstream.write(chunk);
  upstream.end(outgoing.chunks.at(-1));
  announce(runtime, state);
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
  upstreamResponse.on('data', (chunk: Buffer) => {
    tap.push(chunk);
    if (status >= 400 && errorBody.length < 64) errorBody.push(chunk);
    if (!response.write(chunk)) {
      upstreamResponse.pause();
      response.once('drain', () => upstreamResponse.resume());
    }
  });
  upstreamResponse.once('end', () => {
    response.end();
    const outcome = tap.finish();
    if (status >= 400) {
      const message = upstreamErrorMessage(Buffer.concat(errorBody).toString('utf8'));
      return finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', status, errorKind: `http${status}`, detail: `${status}: ${message}` });
    }
    finish(fromTap(outcome, status));
  });
  upstreamResponse.once('close', () => {
    if (upstreamResponse.complete || state.settled) return;
    response.destroy();
    finish({ ...fromTap(tap.finish(), status), outcome: 'error', errorKind: 'network', detail: 'upstream closed the stream early' });
  });
  response.once('close', () => {
    if (!response.writableFinished) finish({ ...fromTap(tap.finish(), status), outcome: 'error', errorKind: 'cancelled', detail: 'client closed the stream' });
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

/** The upstream's error translated into the client's format (a Tierwise key refused upstream is not the client's login). */
function relayTranslatedError(
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
    const message = `${describeEndpoint(state.plan.endpoint)} answered ${status}: ${upstreamErrorMessage(Buffer.concat(chunks).toString('utf8'))}`;
    const retryAfter = Number(upstreamResponse.headers['retry-after']);
    const codec = runtime.codecs(state.ingress)!;
    const kind = status === 429 ? 'rateLimit' : status === 529 || status === 503 ? 'overloaded' : 'upstream';
    const encoded = codec.encodeError(status, message, kind, Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {});
    if (!response.headersSent) response.writeHead(encoded.status, encoded.headers).end(JSON.stringify(encoded.body));
    finish({ usage: undefined, estimatedOutputTokens: 0, outcome: 'error', status, errorKind: `http${status}`, detail: message });
  });
  upstreamResponse.once('close', () => {
    if (upstreamResponse.complete || state.settled) return;
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
  ir: ReturnType<ProtocolCodec['parseRequest']>,
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
    if (upstreamResponse.complete || state.settled) return;
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
  response.flushHeaders();
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
    if (state.settled) return;
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

/**
 * The route is taken: the session's stream is bound to the endpoint (a move breaks its prompt cache) and the
 * decision is logged. Cheap and synchronous, so it does not hold the upstream's answer back.
 */
function announce(runtime: GatewayRuntime, state: ExchangeState): void {
  if (state.announced) return;
  state.announced = true;
  const { plan, classification } = state;
  if (state.stream) {
    const id = endpointId(plan.endpoint);
    const previous = runtime.sessions.bind(state.sessionKey, state.stream, id);
    if (previous) {
      state.notes.push(`cache break: moved from ${previous} to ${id}`);
      runtime.sessions.noteCacheBreak(state.sessionKey);
    }
  }
  runtime.log(
    `${classification.kind} [${classification.client}] → ${plan.tier} ${plan.endpoint.provider}/${plan.endpoint.model}` +
      `${plan.passThrough ? '' : ` (translated ${state.ingress} → ${plan.upstreamProtocol})`} (${classification.reason}; ${plan.reason})` +
      `; reserved $${plan.worstCaseUsd.toFixed(4)}${state.notes.length ? `; ${state.notes.join('; ')}` : ''}`,
  );
  if (runtime.debugLogPrompts()) runtime.log(`prompt (${classification.kind}): ${lastUserPrompt(state.body.all()).slice(0, PROMPT_LOG_CHARS)}`);
}

/** Whether this turn's stable prefix differs from the stream's previous turn (then the prompt cache was missed). */
function checkPrefix(runtime: GatewayRuntime, state: ExchangeState): void {
  if (!state.stream) return;
  let prefix = state.prefix;
  try {
    prefix ??= prefixDigest(state.ingress, state.body);
  } catch {
    // A part of the body that does not parse (the upstream said so): no cache check for this turn.
    return;
  }
  const broke = runtime.sessions.observePrefix(state.sessionKey, state.stream, prefix);
  if (broke) state.notes.push(`cache break: ${broke}`);
}

/**
 * After the answer: the decision and the call go to the ledger (the call settles the reservation), with the cache
 * check. Done here rather than on the way in, so none of it sits between the client and the upstream.
 */
function settle(runtime: GatewayRuntime, state: ExchangeState, settlement: Settlement): void {
  if (state.settled) return;
  announce(runtime, state);
  state.settled = true;
  const { plan, config, classification } = state;
  const id = endpointId(plan.endpoint);
  runtime.ledger.append({
    v: LEDGER_RECORD_VERSION,
    type: 'decision',
    ts: state.startedAt,
    requestId: state.requestId,
    task: classification.kind,
    tier: plan.tier,
    provider: plan.endpoint.provider,
    model: plan.endpoint.model,
    reason: `${classification.reason}; ${plan.reason}`,
    estInputTokens: state.estInputTokens,
    reservedUsd: plan.worstCaseUsd,
    client: classification.client,
  });
  checkPrefix(runtime, state);
  const reported = settlement.usage;
  // No usage from the server, or a stream cut short: count the estimate rather than nothing.
  let usage: Usage;
  let estimated = false;
  if (reported && settlement.outcome === 'ok') {
    usage = reported;
  } else if (reported) {
    usage = { ...reported, outputTokens: Math.max(reported.outputTokens, settlement.estimatedOutputTokens) };
  } else if (settlement.estimatedOutputTokens > 0 || (settlement.outcome === 'ok' && settlement.status !== undefined && settlement.status < 400)) {
    usage = { ...ZERO_USAGE, inputTokens: state.estInputTokens, outputTokens: settlement.estimatedOutputTokens };
    estimated = true;
  } else {
    usage = { ...ZERO_USAGE };
  }
  const status = settlement.status;
  if (settlement.outcome === 'ok') runtime.health.recordSuccess(id);
  else if (status !== undefined && (status === 429 || status >= 500)) runtime.health.recordFailure(id);

  const price = priceCall(plan.endpoint, usage, config);
  const reference = config.savingsReference ?? config.tiers.frontier.endpoints[0];
  const frontierCostUsd = reference ? (referenceCostUsd(reference, usage, config) ?? price.costUsd) : price.costUsd;
  const detail = state.abortReason ?? settlement.detail;
  const errorKind = state.abortReason ? 'shutdown' : settlement.errorKind;
  const details = [...state.notes, ...(detail ? [detail] : []), ...(estimated ? ['usage estimated (the server reported none)'] : [])];
  runtime.ledger.append({
    v: LEDGER_RECORD_VERSION,
    type: 'call',
    ts: runtime.now(),
    requestId: state.requestId,
    ...(state.reservationId && { reservationId: state.reservationId }),
    task: classification.kind,
    tier: plan.tier,
    provider: plan.endpoint.provider,
    model: plan.endpoint.model,
    endpointId: id,
    client: classification.client,
    ...usage,
    costUsd: price.costUsd,
    unpriced: price.unpriced,
    frontierCostUsd,
    latencyMs: runtime.now() - state.startedAt,
    outcome: settlement.outcome,
    ...(details.length && { detail: details.join('; ') }),
    ...(errorKind && { errorKind }),
  });
  const session = runtime.sessions.recordUsage(state.sessionKey, usage);
  runtime.log(
    `${classification.kind} [${classification.client}]: ${plan.tier} ${plan.endpoint.model} ${settlement.outcome}` +
      `${details.length ? ` (${details.join('; ')})` : ''}; ${usage.inputTokens + usage.cacheReadTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens}→${usage.outputTokens} tokens` +
      ` (cache read ${usage.cacheReadTokens}, write ${usage.cacheWrite5mTokens + usage.cacheWrite1hTokens}; session ${session.cacheReadTokens} read / ${session.cacheWriteTokens} written over ${session.turns} calls)` +
      `, $${price.costUsd.toFixed(4)}${price.unpriced ? ' (unpriced: fallback price)' : ''}, ${runtime.now() - state.startedAt} ms`,
  );
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

function lastUserPrompt(body: Record<string, unknown>): string {
  const items = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : [];
  for (let index = items.length - 1; index >= 0; index--) {
    const item = asRecord(items[index]);
    if (item?.role === 'user') return contentText(item.content);
  }
  return '';
}
