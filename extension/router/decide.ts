import type { ChatRequest } from '../providers/types';
import { endpointId, type EndpointConfig, type TierwiseConfig } from './config';
import { capLabel, findCapViolation, type CapViolation } from './budget';
import type { SpendTotals } from './ledger/records';
import { worstCaseCostUsd } from './prices';
import { TIER_ORDER, tierAbove, tierBelow, type TaskKind, type TierName } from './tiers';

/** What a caller asks for: a task kind and the prompt, before any routing. */
export interface RouteRequest {
  task: TaskKind;
  system?: string;
  stableContext?: string;
  messages: ChatRequest['messages'];
  maxOutputTokens?: number;
  /** Start no lower than this tier (an escalation, or work that must not go below a tier). */
  minimumTier?: TierName;
  /** Run on exactly this tier, whatever the routes table says (a plan step marked for a tier). Caps still apply. */
  tier?: TierName;
  /** Why `tier` was pinned, for the decision's reason (e.g. "plan step 2"). */
  tierReason?: string;
}

/** Everything a decision may depend on besides the request and the config; the decision is pure in these. */
export interface RoutingState {
  totals: SpendTotals;
  /** Prompt size estimate (already calibrated) for the request. */
  estInputTokens: number;
  /** Endpoints to pass over for now (cooling down after repeated failures, or known unreachable). */
  unavailableEndpointIds?: ReadonlySet<string>;
}

export interface RoutedDecision {
  kind: 'route';
  task: TaskKind;
  tier: TierName;
  endpoint: EndpointConfig;
  /** Index of `endpoint` in its tier; fallback continues from here. */
  endpointIndex: number;
  reason: string;
  estInputTokens: number;
  maxOutputTokens: number;
  reservedUsd: number;
  /** Set when a cap moved the request to a cheaper tier: what the user should be told. */
  downgrade?: { from: TierName; to: TierName; because: string };
}

export interface BlockedDecision {
  kind: 'blocked';
  task: TaskKind;
  tier: TierName;
  reason: string;
  violation: CapViolation;
  estInputTokens: number;
}

/** Policy `ask`: the call would cross a cap; the UI asks, and on yes the proposed route runs. */
export interface AskDecision {
  kind: 'ask';
  task: TaskKind;
  tier: TierName;
  reason: string;
  violation: CapViolation;
  proposed: RoutedDecision;
  estInputTokens: number;
}

export interface NoEndpointDecision {
  kind: 'noEndpoint';
  task: TaskKind;
  tier: TierName;
  reason: string;
  estInputTokens: number;
}

export type Decision = RoutedDecision | BlockedDecision | AskDecision | NoEndpointDecision;

const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

export function routeTierFor(task: TaskKind, config: TierwiseConfig): { tier: TierName; rule: string } {
  const routed = Object.hasOwn(config.routes, task) ? config.routes[task] : undefined;
  if (routed) return { tier: routed, rule: `rule ${task} → ${routed}` };
  const fallback = Object.hasOwn(config.routes, 'ask') ? config.routes.ask : 'mid';
  return { tier: fallback, rule: `no rule for ${task}, using ask's tier → ${fallback}` };
}

export function outputTokensFor(request: RouteRequest, endpoint: EndpointConfig): number {
  const wanted = request.maxOutputTokens ?? endpoint.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
  return Math.min(wanted, endpoint.maxOutputTokens ?? wanted);
}

interface EndpointChoice {
  endpoint: EndpointConfig;
  index: number;
  maxOutputTokens: number;
  skipped: string[];
}

/** The tier's first endpoint that is available and whose context window holds the prompt plus the output. */
export function firstUsableEndpoint(
  tier: TierName,
  request: RouteRequest,
  config: TierwiseConfig,
  state: RoutingState,
  startIndex = 0,
): EndpointChoice | { skipped: string[] } {
  const skipped: string[] = [];
  const endpoints = config.tiers[tier].endpoints;
  for (let index = startIndex; index < endpoints.length; index++) {
    const endpoint = endpoints[index];
    const maxOutputTokens = outputTokensFor(request, endpoint);
    if (state.unavailableEndpointIds?.has(endpointId(endpoint))) {
      skipped.push(`${endpoint.model} cooling down`);
      continue;
    }
    if (endpoint.contextWindowTokens !== undefined && state.estInputTokens + maxOutputTokens > endpoint.contextWindowTokens) {
      skipped.push(
        `${endpoint.model} context ${endpoint.contextWindowTokens} < ~${state.estInputTokens} prompt + ${maxOutputTokens} output tokens`,
      );
      continue;
    }
    return { endpoint, index, maxOutputTokens, skipped };
  }
  return { skipped };
}

/** "daily cap 92%" (already committed of the cap), or for the per-request cap "$1.20 > $0.50". */
const capState = (violation: CapViolation) =>
  violation.cap === 'perRequest'
    ? `$${violation.requestUsd.toFixed(2)} > $${violation.capUsd.toFixed(2)}`
    : violation.capUsd > 0
      ? `${Math.floor((violation.committedUsd / violation.capUsd) * 100)}%`
      : 'is $0';

/**
 * Routes one request: the rule's tier (raised to `minimumTier`), the first endpoint there that can hold the
 * prompt, then the caps. Pure: the same request, config and state always give the same decision.
 */
export function decide(request: RouteRequest, config: TierwiseConfig, state: RoutingState): Decision {
  const { tier: ruleTier, rule } = request.tier
    ? { tier: request.tier, rule: `${request.tierReason ?? request.task} pinned → ${request.tier}` }
    : routeTierFor(request.task, config);
  const reasons = [rule];
  let tier = ruleTier;
  if (request.minimumTier && TIER_ORDER.indexOf(request.minimumTier) > TIER_ORDER.indexOf(tier)) {
    reasons.push(`raised to ${request.minimumTier}`);
    tier = request.minimumTier;
  }

  // Context and availability: climb until some tier has an endpoint that can take the request.
  let choice = firstUsableEndpoint(tier, request, config, state);
  while (!('endpoint' in choice)) {
    const above = tierAbove(tier);
    const why = choice.skipped.length ? choice.skipped.join('; ') : 'no endpoints configured';
    if (!above) {
      return { kind: 'noEndpoint', task: request.task, tier, reason: [...reasons, `${tier}: ${why}`].join('; '), estInputTokens: state.estInputTokens };
    }
    reasons.push(`${tier}: ${why} → ${above}`);
    tier = above;
    choice = firstUsableEndpoint(tier, request, config, state);
  }
  if (choice.skipped.length) reasons.push(`skipped ${choice.skipped.join('; ')}`);

  const routed = (pick: EndpointChoice, onTier: TierName, why: string[]): RoutedDecision => ({
    kind: 'route',
    task: request.task,
    tier: onTier,
    endpoint: pick.endpoint,
    endpointIndex: pick.index,
    reason: why.join('; '),
    estInputTokens: state.estInputTokens,
    maxOutputTokens: pick.maxOutputTokens,
    reservedUsd: worstCaseCostUsd(pick.endpoint, state.estInputTokens, pick.maxOutputTokens, config),
  });

  const first = routed(choice, tier, reasons);
  const violation = findCapViolation(state.totals, config.budgets, tier, first.reservedUsd);
  if (!violation) return first;

  const capText = `${capLabel(violation)} ${capState(violation)}`;
  switch (config.budgets.policy) {
    case 'block':
      return { kind: 'blocked', task: request.task, tier, reason: `${first.reason}; ${capText} → blocked`, violation, estInputTokens: state.estInputTokens };
    case 'ask':
      return { kind: 'ask', task: request.task, tier, reason: `${first.reason}; ${capText} → needs confirmation`, violation, proposed: first, estInputTokens: state.estInputTokens };
    case 'downgrade': {
      // Never below the caller's minimum: an escalation that cannot afford its tier stops instead of going back down.
      const floor = request.minimumTier ? TIER_ORDER.indexOf(request.minimumTier) : 0;
      for (let lower = tierBelow(tier); lower && TIER_ORDER.indexOf(lower) >= floor; lower = tierBelow(lower)) {
        for (let index = 0; index < config.tiers[lower].endpoints.length; index++) {
          const lowerChoice = firstUsableEndpoint(lower, request, config, state, index);
          if (!('endpoint' in lowerChoice)) break;
          index = lowerChoice.index;
          const candidate = routed(lowerChoice, lower, [...reasons, `${capText} → downgraded ${tier} → ${lower}`]);
          if (!findCapViolation(state.totals, config.budgets, lower, candidate.reservedUsd)) {
            return { ...candidate, downgrade: { from: tier, to: lower, because: capText } };
          }
        }
      }
      return {
        kind: 'blocked',
        task: request.task,
        tier,
        reason: `${first.reason}; ${capText} → no cheaper tier fits → blocked`,
        violation,
        estInputTokens: state.estInputTokens,
      };
    }
  }
}
