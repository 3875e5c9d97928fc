import { capLabel, findCapViolation, type CapViolation } from '../router/budget';
import { endpointId, type EndpointConfig, type TierwiseConfig } from '../router/config';
import type { SpendTotals } from '../router/ledger/records';
import { worstCaseCostUsd } from '../router/prices';
import { TIER_ORDER, tierAbove, tierBelow, type TierName } from '../router/tiers';
import type { AgentTaskKind } from './classify';
import { INGRESS_PROVIDER, upstreamProtocolFor, type IngressProtocol, type WireProtocol } from './protocols';

/**
 * Where agent requests go: the routes table maps a task kind to a tier; kinds the table leaves out use the
 * gateway's defaults below, where `clientModel` means "the model the client asked for, on the upstream of the
 * protocol it speaks" (no rewrite). Pure: the same input, config and state always give the same plan.
 */
export type AgentRouteDefault = TierName | 'clientModel';

export const DEFAULT_AGENT_ROUTES: Record<AgentTaskKind, AgentRouteDefault> = {
  'agent.main': 'clientModel',
  'agent.subagent': 'mid',
  'agent.background': 'local',
  'agent.compaction': 'mid',
  'agent.longContext': 'clientModel',
  'agent.thinking': 'clientModel',
};

/**
 * Output tokens reserved for a pass-through request that names no maximum (Codex often sends none): the upstream
 * may then write up to the model's own limit, so reserve a long answer rather than a short one.
 */
export const UNSTATED_MAX_OUTPUT_TOKENS = 32_000;

/** Model names a client can ask for to let Tierwise choose (`auto`) or to pin a tier. */
export const MODEL_ALIASES: Record<string, TierName | 'auto'> = {
  'tierwise-auto': 'auto',
  'tierwise-local': 'local',
  'tierwise-mid': 'mid',
  'tierwise-frontier': 'frontier',
};

export type RouteTarget = { type: 'clientModel'; rule: string } | { type: 'tier'; tier: TierName; rule: string };

/** The routes table's tier for `kind`, or the gateway default; an alias model pins a tier or hands the choice over. */
export function routeTargetFor(kind: AgentTaskKind, config: TierwiseConfig, clientModel: string | undefined): RouteTarget {
  const alias = clientModel !== undefined && Object.hasOwn(MODEL_ALIASES, clientModel) ? MODEL_ALIASES[clientModel] : undefined;
  if (alias && alias !== 'auto') return { type: 'tier', tier: alias, rule: `model alias ${clientModel} → ${alias}` };
  const configured = Object.hasOwn(config.routes, kind) ? config.routes[kind] : undefined;
  if (configured) return { type: 'tier', tier: configured, rule: `rule ${kind} → ${configured}` };
  const fallback = DEFAULT_AGENT_ROUTES[kind];
  if (fallback !== 'clientModel') return { type: 'tier', tier: fallback, rule: `${kind} → ${fallback} (gateway default)` };
  if (clientModel && !alias) return { type: 'clientModel', rule: `${kind} → client's model ${clientModel} (gateway default)` };
  // No model of its own to keep (an alias or none): the engine's rule for unlisted kinds, ask's tier.
  const askTier = Object.hasOwn(config.routes, 'ask') ? config.routes.ask : 'mid';
  return { type: 'tier', tier: askTier, rule: `${kind} with ${clientModel ? `model ${clientModel}` : 'no model'} → ask's tier ${askTier}` };
}

/**
 * The endpoint for "the client's model": a configured endpoint of the ingress provider with exactly that model
 * (its tier counts the spend), or the first endpoint of that provider (frontier first) as a template for the base
 * URL and key, or the provider's public API; an unconfigured model counts as frontier.
 */
export function clientModelEndpoint(ingress: IngressProtocol, model: string, config: TierwiseConfig): { endpoint: EndpointConfig; tier: TierName } {
  const provider = INGRESS_PROVIDER[ingress];
  let template: EndpointConfig | undefined;
  for (let index = TIER_ORDER.length - 1; index >= 0; index--) {
    const tier = TIER_ORDER[index];
    for (const endpoint of config.tiers[tier].endpoints) {
      if (endpoint.provider !== provider) continue;
      if (endpoint.model === model) return { endpoint, tier };
      template ??= endpoint;
    }
  }
  const endpoint: EndpointConfig = { provider, model };
  if (template?.baseUrl !== undefined) endpoint.baseUrl = template.baseUrl;
  if (template?.apiKeyEnv !== undefined) endpoint.apiKeyEnv = template.apiKeyEnv;
  if (template?.timeoutMs !== undefined) endpoint.timeoutMs = template.timeoutMs;
  if (template?.local !== undefined) endpoint.local = template.local;
  return { endpoint, tier: 'frontier' };
}

/**
 * What a plan is made from. The prompt estimates are read only when an endpoint has a context window to check or
 * the plan is priced, so a caller may supply them as getters that estimate on first read.
 */
export interface PlanInput {
  kind: AgentTaskKind;
  ingress: IngressProtocol;
  /** The body's `model`. */
  clientModel: string | undefined;
  /** Prompt tokens reserved for (errs high). */
  estInputTokens: number;
  /** Prompt tokens checked against context windows (nearer the real count); estInputTokens when absent. */
  contextInputTokens?: number;
  /** The request's own output cap (`max_tokens`, `max_output_tokens`…), if it names one. */
  requestedMaxOutputTokens: number | undefined;
  /** The endpoint this session's stream is on, if any. */
  stickyEndpointId?: string;
  /** Whether a request in `from` can be translated for an upstream speaking `to`. */
  canTranslate: (from: IngressProtocol, to: WireProtocol) => boolean;
}

export interface PlanState {
  totals: SpendTotals;
  unavailableEndpointIds?: ReadonlySet<string>;
}

export interface RoutedPlan {
  kind: 'route';
  tier: TierName;
  endpoint: EndpointConfig;
  upstreamProtocol: WireProtocol;
  /** Same protocol both sides: the body goes upstream byte for byte except `model`. */
  passThrough: boolean;
  /** The client's own model (not a tier's endpoint). */
  clientModelRoute: boolean;
  /** Output tokens the reservation covers (and, when translating, the cap sent upstream). */
  maxOutputTokens: number;
  worstCaseUsd: number;
  reason: string;
  /** Set when a cap moved the request to a cheaper tier. */
  downgrade?: { from: TierName; to: TierName; because: string };
  /** The session's endpoint was kept. */
  sticky: boolean;
}

export interface BlockedPlan {
  kind: 'blocked';
  tier: TierName;
  reason: string;
  violation: CapViolation;
}

export interface NoEndpointPlan {
  kind: 'noEndpoint';
  reason: string;
}

export type RoutePlan = RoutedPlan | BlockedPlan | NoEndpointPlan;

interface Candidate {
  tier: TierName;
  endpoint: EndpointConfig;
  clientModelRoute: boolean;
}

/** Whether any cap is set (null or absent means none). */
export function capsConfigured(budgets: TierwiseConfig['budgets']): boolean {
  const isCap = (value: number | null | undefined) => typeof value === 'number';
  return isCap(budgets.dailyUsd) || isCap(budgets.monthlyUsd) || isCap(budgets.perRequestUsd) || Object.values(budgets.perTierDailyUsd ?? {}).some(isCap);
}

/** "daily cap 92%", or for the per-request cap "$1.20 > $0.50" (as the editor's decisions say it). */
function capState(violation: CapViolation): string {
  if (violation.cap === 'perRequest') return `${capLabel(violation)} $${violation.requestUsd.toFixed(2)} > $${violation.capUsd.toFixed(2)}`;
  const percent = violation.capUsd > 0 ? `${Math.floor((violation.committedUsd / violation.capUsd) * 100)}%` : 'is $0';
  return `${capLabel(violation)} ${percent}`;
}

/**
 * Routes that did not depend on the prompt's size, by config and translators: with no cap set and no endpoint cooling down, the same
 * kind, client model, protocol and sticky endpoint always take the same route, so the walk through the tiers is
 * done once. A plan made from a template gets its own prices and output cap, from its own request.
 */
const routeTemplates = new WeakMap<TierwiseConfig, WeakMap<PlanInput['canTranslate'], Map<string, RouteTemplate>>>();
const ROUTE_TEMPLATES_PER_CONFIG = 512;

interface RouteTemplate {
  candidate: Candidate;
  reasons: string[];
  sticky: boolean;
}

export function planRoute(input: PlanInput, config: TierwiseConfig, state: PlanState): RoutePlan {
  const cacheable = !capsConfigured(config.budgets) && (state.unavailableEndpointIds?.size ?? 0) === 0;
  if (!cacheable) return planOf(computePlan(input, config, state));
  const key = `${input.ingress}\u0000${input.kind}\u0000${input.clientModel ?? ''}\u0000${input.stickyEndpointId ?? ''}`;
  // Per config and per set of translators (a gateway without one cannot take the routes that need it).
  let byTranslators = routeTemplates.get(config);
  let templates = byTranslators?.get(input.canTranslate);
  const hit = templates?.get(key);
  if (hit) return shapePlan(input, config, hit.candidate, hit.reasons, hit.sticky);

  // Plan while watching whether the prompt's size or output cap played a part (a context window was checked).
  let planning = true;
  let sizeDependent = false;
  const watched: PlanInput = {
    kind: input.kind,
    ingress: input.ingress,
    clientModel: input.clientModel,
    stickyEndpointId: input.stickyEndpointId,
    canTranslate: input.canTranslate,
    get estInputTokens() {
      sizeDependent ||= planning;
      return input.estInputTokens;
    },
    get contextInputTokens() {
      sizeDependent ||= planning;
      return input.contextInputTokens;
    },
    get requestedMaxOutputTokens() {
      sizeDependent ||= planning;
      return input.requestedMaxOutputTokens;
    },
  };
  const plan = computePlan(watched, config, state);
  planning = false;
  if (plan.kind === 'route' && !sizeDependent && !plan.downgrade) {
    if (!byTranslators) routeTemplates.set(config, (byTranslators = new WeakMap()));
    if (!templates) byTranslators.set(input.canTranslate, (templates = new Map()));
    if (templates.size >= ROUTE_TEMPLATES_PER_CONFIG) templates.clear();
    templates.set(key, { candidate: plan.candidate, reasons: plan.reasons, sticky: plan.sticky });
  }
  return planOf(plan);
}

const planOf = (computed: ComputedPlan): RoutePlan => (computed.kind === 'route' ? computed.plan : computed);

/** A routed plan for `candidate`; its worst-case price, output cap and reason are worked out when first read. */
function shapePlan(input: PlanInput, config: TierwiseConfig, candidate: Candidate, why: string[], sticky: boolean): RoutedPlan {
  return new ShapedPlan(input, config, candidate, why, sticky);
}

/**
 * A class rather than an object literal with getters: V8 builds such a literal on its slow path, about twenty times
 * slower, and a plan is made for every request.
 */
class ShapedPlan implements RoutedPlan {
  readonly kind = 'route';
  readonly tier: TierName;
  readonly endpoint: EndpointConfig;
  readonly upstreamProtocol: WireProtocol;
  readonly passThrough: boolean;
  readonly clientModelRoute: boolean;
  downgrade?: RoutedPlan['downgrade'];
  private outputCap: number | undefined;
  private worstCase: number | undefined;
  private joined: string | undefined;

  constructor(
    private readonly input: PlanInput,
    private readonly config: TierwiseConfig,
    candidate: Candidate,
    private readonly why: string[],
    readonly sticky: boolean,
  ) {
    this.tier = candidate.tier;
    this.endpoint = candidate.endpoint;
    this.clientModelRoute = candidate.clientModelRoute;
    this.upstreamProtocol = upstreamProtocolFor(candidate.endpoint, input.ingress, candidate.clientModelRoute);
    this.passThrough = this.upstreamProtocol === input.ingress;
  }

  /** Read before sending only for a translated request or a cap; a pass-through reads it after the request has left. */
  get maxOutputTokens(): number {
    return (this.outputCap ??= outputTokensFor(this.input.requestedMaxOutputTokens, this.endpoint, this.passThrough));
  }

  /** Priced when first read: with no cap set, only the log and the decision record read it. */
  get worstCaseUsd(): number {
    return (this.worstCase ??= worstCaseCostUsd(this.endpoint, this.input.estInputTokens, this.maxOutputTokens, this.config));
  }

  get reason(): string {
    return (this.joined ??= this.why.join('; '));
  }
}

/** The plan, and for a route what a template needs to make the same route again. */
type ComputedPlan = BlockedPlan | NoEndpointPlan | { kind: 'route'; plan: RoutedPlan; candidate: Candidate; reasons: string[]; sticky: boolean; downgrade: boolean };

function computePlan(input: PlanInput, config: TierwiseConfig, state: PlanState): ComputedPlan {
  const target = routeTargetFor(input.kind, config, input.clientModel);
  const reasons = [target.rule];
  const shape = (candidate: Candidate, why: string[], sticky: boolean): RoutedPlan => shapePlan(input, config, candidate, why, sticky);

  /** The tier's endpoints that can take the request now, in order; `skipped` says why the others cannot. */
  const usableIn = (tier: TierName, skipped: string[]): Candidate[] =>
    config.tiers[tier].endpoints.flatMap((endpoint) => {
      const why = unusableBecause(endpoint, input, state);
      if (why) skipped.push(why);
      return why ? [] : [{ tier, endpoint, clientModelRoute: false }];
    });

  const preferSticky = (candidates: Candidate[]): { pick: Candidate; sticky: boolean } => {
    const sticky = input.stickyEndpointId ? candidates.find((candidate) => endpointId(candidate.endpoint) === input.stickyEndpointId) : undefined;
    return { pick: sticky ?? candidates[0], sticky: sticky !== undefined };
  };

  let first: { pick: Candidate; sticky: boolean };
  if (target.type === 'clientModel') {
    const { endpoint, tier } = clientModelEndpoint(input.ingress, input.clientModel!, config);
    first = { pick: { tier, endpoint, clientModelRoute: true }, sticky: input.stickyEndpointId === endpointId(endpoint) };
  } else {
    // Context and availability: climb until some tier has an endpoint that can take the request.
    let tier = target.tier;
    for (;;) {
      const skipped: string[] = [];
      const candidates = usableIn(tier, skipped);
      if (candidates.length > 0) {
        if (skipped.length) reasons.push(`skipped ${skipped.join('; ')}`);
        first = preferSticky(candidates);
        break;
      }
      const above = tierAbove(tier);
      const why = skipped.length ? skipped.join('; ') : 'no endpoints configured';
      if (above) {
        reasons.push(`${tier}: ${why} → ${above}`);
        tier = above;
        continue;
      }
      // No tier can take it (a long conversation being compacted, say): the model the client chose has carried the
      // conversation so far, so it goes there rather than nowhere.
      if (!input.clientModel || Object.hasOwn(MODEL_ALIASES, input.clientModel)) return { kind: 'noEndpoint', reason: [...reasons, `${tier}: ${why}`].join('; ') };
      reasons.push(`${tier}: ${why} → client's model ${input.clientModel}`);
      const { endpoint, tier: clientTier } = clientModelEndpoint(input.ingress, input.clientModel, config);
      first = { pick: { tier: clientTier, endpoint, clientModelRoute: true }, sticky: input.stickyEndpointId === endpointId(endpoint) };
      break;
    }
  }

  if (first.sticky) reasons.push(`session stays on ${first.pick.endpoint.model}`);
  const primary = shape(first.pick, reasons, first.sticky);
  const violation = capsConfigured(config.budgets) ? findCapViolation(state.totals, config.budgets, primary.tier, primary.worstCaseUsd) : undefined;
  if (!violation) return { kind: 'route', plan: primary, candidate: first.pick, reasons, sticky: first.sticky, downgrade: false };

  const capText = capState(violation);
  if (config.budgets.policy !== 'downgrade') {
    // The gateway cannot ask a question mid-request: `ask` refuses like `block`, and the message says how to raise the cap.
    const refusal = config.budgets.policy === 'ask' ? 'blocked (policy ask: the gateway cannot ask)' : 'blocked';
    return { kind: 'blocked', tier: primary.tier, reason: `${primary.reason}; ${capText} → ${refusal}`, violation };
  }
  for (let lower = tierBelow(primary.tier); lower; lower = tierBelow(lower)) {
    const candidates = usableIn(lower, []);
    const stickyFirst = preferSticky(candidates);
    const ordered = stickyFirst.sticky ? [stickyFirst.pick, ...candidates.filter((candidate) => candidate !== stickyFirst.pick)] : candidates;
    for (const candidate of ordered) {
      const sticky = stickyFirst.sticky && candidate === stickyFirst.pick;
      const plan = shape(candidate, [...reasons, `${capText} → downgraded ${primary.tier} → ${lower}`], sticky);
      if (!findCapViolation(state.totals, config.budgets, lower, plan.worstCaseUsd)) {
        plan.downgrade = { from: primary.tier, to: lower, because: capText };
        return { kind: 'route', plan, candidate, reasons: [], sticky, downgrade: true };
      }
    }
  }
  return { kind: 'blocked', tier: primary.tier, reason: `${primary.reason}; ${capText} → no cheaper tier fits → blocked`, violation };
}

/** Why `endpoint` cannot take the request right now, or undefined when it can. */
function unusableBecause(endpoint: EndpointConfig, input: PlanInput, state: PlanState): string | undefined {
  if (state.unavailableEndpointIds?.has(endpointId(endpoint))) return `${endpoint.model} cooling down`;
  const protocol = upstreamProtocolFor(endpoint, input.ingress);
  const passThrough = protocol === input.ingress;
  if (!passThrough && !input.canTranslate(input.ingress, protocol)) return `${endpoint.model} needs ${input.ingress} → ${protocol} translation, which is not available`;
  if (endpoint.contextWindowTokens === undefined) return undefined;
  const output = outputTokensFor(input.requestedMaxOutputTokens, endpoint, passThrough);
  const prompt = input.contextInputTokens ?? input.estInputTokens;
  if (prompt + output > endpoint.contextWindowTokens) {
    return `${endpoint.model} context ${endpoint.contextWindowTokens} < ~${prompt} prompt + ${output} output tokens`;
  }
  return undefined;
}

/**
 * Output tokens to reserve. Pass-through sends the client's own cap unchanged, so that is what the upstream may
 * write; a translated request is built by the gateway and capped at the endpoint's maxOutputTokens.
 */
export function outputTokensFor(requested: number | undefined, endpoint: EndpointConfig, passThrough: boolean): number {
  if (passThrough) return requested ?? endpoint.maxOutputTokens ?? UNSTATED_MAX_OUTPUT_TOKENS;
  const wanted = requested ?? endpoint.maxOutputTokens ?? UNSTATED_MAX_OUTPUT_TOKENS;
  return Math.min(wanted, endpoint.maxOutputTokens ?? wanted);
}
