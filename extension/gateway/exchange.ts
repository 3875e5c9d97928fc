import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { describeEndpoint, missingKeyError } from '../providers/errors';
import { outputLimitParam } from '../providers/openaiCompatible';
import { describeViolation, findCapViolation } from '../router/budget';
import { endpointBaseUrl, isLocalEndpoint, type TierwiseConfig } from '../router/config';
import type { SpendTotals } from '../router/ledger/records';
import { asRecord, classify, type AgentTaskKind, type Classification } from './classify';
import { GatewayError } from './errors';
import { quickInputEstimate, type QuickEstimate } from './estimate';
import { withModel } from './jsonSpans';
import { DEFAULT_ANTHROPIC_VERSION, upstreamAuthHeaders, upstreamUrl, type IngressProtocol } from './protocols';
import { relay, type OutgoingRequest } from './relay';
import type { BodyView, RawBody } from './requestBody';
import { capsConfigured, planRoute, type PlanInput, type RoutedPlan } from './route';
import { sendGatewayError, type ExchangeState, type GatewayRuntime } from './runtime';
import { ATTRIBUTION_BLOCK_PREFIX, prefixDigest, prefixSessionKey, sessionIdentity, streamOf, type PrefixDigest } from './sessions';
import { forwardedRequestHeaders } from './upstream';

/** Reserving can race with other processes; after this many refusals the request is answered as blocked. */
const MAX_RESERVE_ATTEMPTS = 3;
/** Beta flags tied to the model the client chose; dropped when the gateway sends the request to another model. */
const MODEL_BOUND_BETA = /^context-1m-/;

/**
 * Totals for a plan. They matter only through the caps, so with no cap set the plan does not wait for the ledger to
 * read what other processes appended: any totals give the same plan.
 */
function totalsForPlanning(runtime: GatewayRuntime, config: TierwiseConfig): SpendTotals {
  if (capsConfigured(config.budgets)) return runtime.ledger.totals();
  runtime.planningCache.uncappedTotals ??= runtime.ledger.totals();
  return runtime.planningCache.uncappedTotals;
}


/**
 * One turn as routing and the ledger read it: its estimates and request id are worked out when first read (routing
 * reads the estimates and the output cap only for context windows, caps and translation; otherwise the decision
 * record does, after the request has left). Classes rather than object literals with getters, which V8 builds on
 * its slow path, about twenty times slower, on every request.
 */
class Turn implements PlanInput {
  private estimate: QuickEstimate | undefined;
  private id: string | undefined;

  constructor(
    readonly kind: AgentTaskKind,
    readonly ingress: IngressProtocol,
    readonly clientModel: string | undefined,
    readonly stickyEndpointId: string | undefined,
    readonly canTranslate: PlanInput['canTranslate'],
    readonly body: RawBody,
  ) {}

  private estimated(): QuickEstimate {
    return (this.estimate ??= quickInputEstimate(this.ingress, this.body.raw.length, this.body));
  }

  get estInputTokens(): number {
    return this.estimated().budgetTokens;
  }

  get contextInputTokens(): number {
    return this.estimated().contextTokens;
  }

  get requestedMaxOutputTokens(): number | undefined {
    return requestedMaxOutputTokens(this.ingress, this.body);
  }

  /** Made when first needed: a reservation, or the ledger records written after the answer. */
  get requestId(): string {
    return (this.id ??= randomUUID());
  }
}

/** A routed turn from its decision to its settlement. */
class TurnState implements ExchangeState {
  readonly notes: string[] = [];
  announced = false;
  finished = false;
  settled = false;
  abortReason?: string;

  constructor(
    private readonly turn: Turn,
    readonly config: TierwiseConfig,
    readonly classification: Classification,
    readonly plan: RoutedPlan,
    readonly reservationId: string | undefined,
    readonly startedAt: number,
    readonly sessionKey: string,
    readonly stream: string | undefined,
    public prefix: PrefixDigest | undefined,
  ) {}

  get requestId(): string {
    return this.turn.requestId;
  }

  get ingress(): IngressProtocol {
    return this.turn.ingress;
  }

  get body(): RawBody {
    return this.turn.body;
  }

  get estInputTokens(): number {
    return this.turn.estInputTokens;
  }
}

export function requestedMaxOutputTokens(ingress: IngressProtocol, body: BodyView): number | undefined {
  const value = ingress === 'anthropic' ? body.get('max_tokens') : ingress === 'openaiChat' ? (body.get('max_completion_tokens') ?? body.get('max_tokens')) : body.get('max_output_tokens');
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
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
  const turn = new Turn(classification.kind, ingress, clientModel, stream ? runtime.sessions.stickyEndpoint(sessionKey, stream) : undefined, runtime.canTranslate, body);
  const planInput: PlanInput = turn;
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
      // describeViolation names the VS Code setting; a `tierwise gateway --config` file has the same key without the prefix.
      const message =
        `Tierwise blocked this ${classification.kind} request: ${describeViolation(plan.violation)}. ` +
        `In a tierwise config file the key is "${plan.violation.setting.replace(/^tierwise\./, '')}".`;
      return sendGatewayError(response, ingress, new GatewayError('budget', message), runtime.codecs(ingress));
    }
    const routed: RoutedPlan = plan;
    // A reservation holds spend against caps: a free call, or a config with no cap at all, has nothing to hold it against.
    if (!capsConfigured(config.budgets) || routed.worstCaseUsd <= 0) break;
    const reserved = await runtime.ledger.reserve({ requestId: turn.requestId, tier: routed.tier, amountUsd: routed.worstCaseUsd }, (fresh) =>
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

  const state = new TurnState(turn, config, classification, plan, reservationId, runtime.now(), sessionKey, stream, prefix);
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

  let outgoing: OutgoingRequest;
  try {
    outgoing = plan.passThrough ? passThroughRequest({ request, body, plan, apiKey }) : translatedRequest(runtime, state, apiKey);
  } catch (error) {
    if (reservationId) runtime.ledger.release(reservationId);
    const message = error instanceof Error ? error.message : String(error);
    return sendGatewayError(response, ingress, new GatewayError('badRequest', `Tierwise could not send this request to ${plan.endpoint.model}: ${message}`));
  }
  let relayed: Promise<void>;
  try {
    relayed = relay(runtime, state, response, outgoing);
  } catch (error) {
    // http.request refuses a header it cannot send, e.g. a key with a line break in it.
    if (reservationId) runtime.ledger.release(reservationId);
    return sendGatewayError(response, ingress, new GatewayError('missingKey', `Tierwise could not call ${describeEndpoint(plan.endpoint)}: ${(error as Error).message}`));
  }
  await relayed;
}

export interface PassThroughInput {
  request: IncomingMessage;
  body: RawBody;
  plan: Pick<RoutedPlan, 'endpoint' | 'upstreamProtocol' | 'clientModelRoute'>;
  apiKey: string | undefined;
  countTokens?: boolean;
}

/** The client's request for a same-protocol upstream: its bytes with only `model` changed, its headers minus ours. */
export function passThroughRequest({ request, body, plan, apiKey, countTokens }: PassThroughInput): OutgoingRequest {
  const swapModel = body.get('model') !== plan.endpoint.model;
  // Only the model value changes; every other byte (system blocks, cache_control breakpoints) goes as sent.
  const bytes = swapModel ? Buffer.concat(withModel(body.raw, body.scan, plan.endpoint.model)) : body.raw;
  const headers = forwardedRequestHeaders(request.headers, swapModel && !plan.clientModelRoute ? (beta) => MODEL_BOUND_BETA.test(beta) : undefined);
  Object.assign(headers, upstreamAuthHeaders(plan.endpoint.provider, apiKey));
  if (plan.upstreamProtocol === 'anthropic' && headers['anthropic-version'] === undefined) headers['anthropic-version'] = DEFAULT_ANTHROPIC_VERSION;
  headers['content-type'] = 'application/json';
  const query = request.url?.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
  return { url: upstreamUrl(plan.endpoint, plan.upstreamProtocol, { query, countTokens }), headers, body: bytes };
}

function translatedRequest(runtime: GatewayRuntime, state: ExchangeState, apiKey: string | undefined): OutgoingRequest {
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
    accept: ir.stream ? target.streamContentType : 'application/json',
    'accept-encoding': 'identity',
    'user-agent': `tierwise-gateway/${runtime.version}`,
    ...upstreamAuthHeaders(plan.endpoint.provider, apiKey),
  };
  if (plan.upstreamProtocol === 'anthropic') headers['anthropic-version'] = DEFAULT_ANTHROPIC_VERSION;
  return { url: upstreamUrl(plan.endpoint, plan.upstreamProtocol), headers, body: bytes, ir };
}

