// The Spend & Routing panel's view model: plain functions from ledger records, totals and config to what the
// webview draws. No `vscode` import, so the unit tests run it in plain Node.
import type { CapUsage } from '../router/budget';
import {
  DEFAULT_BASE_URLS,
  DEFAULT_KEY_ENV,
  PROVIDER_KINDS,
  endpointBaseUrl,
  endpointId,
  isLocalEndpoint,
  type BudgetPolicy,
  type EndpointConfig,
  type TierwiseConfig,
} from '../router/config';
import type { CallRecord, DecisionRecord, SpendBucket, SpendTotals } from '../router/ledger/records';
import type { EndpointStatus } from '../router/providerStatus';
import { BUILT_IN_TASK_KINDS, TIER_ORDER } from '../router/tiers';
import type {
  CapMeter,
  DaySpendPoint,
  DecisionRow,
  EndpointStatusView,
  EndpointView,
  RoutingView,
  SpendShare,
  SpendSummary,
} from '../../webview/protocol';

/** How many days the chart covers, today included. */
export const CHART_DAYS = 30;
/** Most request rows the panel lists (the ledger keeps the newest 500 calls and decisions of the month). */
export const DECISION_ROWS_LIMIT = 200;

const BUDGET_POLICIES: BudgetPolicy[] = ['downgrade', 'block', 'ask'];
const DAY_MS = 86_400_000;

// ---- requests ----

interface RequestGroup {
  decision?: DecisionRecord;
  /** Oldest first. */
  attempts: CallRecord[];
}

const promptTokenCount = (call: CallRecord): number =>
  (call.inputTokens || 0) + (call.cacheReadTokens || 0) + (call.cacheWrite5mTokens || 0) + (call.cacheWrite1hTokens || 0);

const tierRank = (tier: string): number => (TIER_ORDER as readonly string[]).indexOf(tier);

/** Tier moves up the ladder between consecutive attempts (fallback within a tier is not an escalation). */
export function escalationCount(attempts: Pick<CallRecord, 'tier'>[]): number {
  let count = 0;
  for (let i = 1; i < attempts.length; i++) {
    if (tierRank(attempts[i].tier) > tierRank(attempts[i - 1].tier)) count++;
  }
  return count;
}

function attemptNote(call: CallRecord): string | undefined {
  if (call.outcome === 'ok') return undefined;
  const what = call.outcome === 'validationFailed' ? 'failed its check' : `failed${call.errorKind ? ` (${call.errorKind})` : ''}`;
  return `${call.tier} ${call.model} ${what}${call.detail ? `: ${call.detail}` : ''}`;
}

/**
 * One row per request, newest first: the decision plus every call with its requestId. The row shows the final
 * attempt's tier and model, the sum of the attempts' cost, tokens and latency, and how often it escalated.
 * Calls whose decision fell out of the recent buffer still make a row; a decision with no call yet is `pending`.
 * Both lists are newest first, as `Ledger.recentCalls` / `recentDecisions` return them.
 */
export function requestRows(calls: readonly CallRecord[], decisions: readonly DecisionRecord[], limit = DECISION_ROWS_LIMIT): DecisionRow[] {
  const groups = new Map<string, RequestGroup>();
  const groupOf = (requestId: string): RequestGroup => {
    let group = groups.get(requestId);
    if (!group) groups.set(requestId, (group = { attempts: [] }));
    return group;
  };
  for (const decision of decisions) {
    const group = groupOf(decision.requestId);
    if (!group.decision || decision.ts < group.decision.ts) group.decision = decision;
  }
  for (const call of calls) groupOf(call.requestId).attempts.push(call);

  const rows: DecisionRow[] = [];
  for (const [requestId, { decision, attempts }] of groups) {
    // Given newest first: reversed, equal timestamps keep file order; the stable sort fixes any clock skew.
    const ordered = [...attempts].reverse().sort((a, b) => a.ts - b.ts);
    const final = ordered[ordered.length - 1];
    const first = decision ?? ordered[0];
    rows.push({
      requestId,
      ts: decision?.ts ?? ordered[0].ts,
      task: first.task,
      client: first.client,
      tier: final?.tier ?? decision!.tier,
      provider: final?.provider ?? decision!.provider,
      model: final?.model ?? decision!.model,
      inputTokens: ordered.reduce((sum, call) => sum + promptTokenCount(call), 0),
      outputTokens: ordered.reduce((sum, call) => sum + (call.outputTokens || 0), 0),
      costUsd: roundMicroUsd(ordered.reduce((sum, call) => sum + call.costUsd, 0)),
      latencyMs: ordered.reduce((sum, call) => sum + (call.latencyMs || 0), 0),
      attempts: ordered.length,
      escalations: escalationCount(ordered),
      outcome: final?.outcome ?? 'pending',
      unpriced: ordered.some((call) => call.unpriced),
      reason: decision?.reason ?? '',
      attemptNotes: ordered.slice(0, -1).map(attemptNote).filter((note): note is string => note !== undefined),
    });
  }
  rows.sort((a, b) => b.ts - a.ts);
  return rows.slice(0, limit);
}

/** Sums of many small float costs drift (0.1 + 0.2); the panel shows at most 4 decimals. */
const roundMicroUsd = (amountUsd: number): number => Math.round(amountUsd * 1e9) / 1e9;

// ---- days ----

function dayToUtcMs(day: string): number {
  const [year, month, date] = day.split('-').map(Number);
  return Date.UTC(year, month - 1, date);
}

function utcMsToDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** The `count` local calendar days ending with `today` (YYYY-MM-DD), oldest first. Pure date arithmetic. */
export function lastDays(today: string, count = CHART_DAYS): string[] {
  const end = dayToUtcMs(today);
  return Array.from({ length: count }, (_, index) => utcMsToDay(end - (count - 1 - index) * DAY_MS));
}

/** The months (YYYY-MM) those days fall in, oldest first: at most three for 30 days (late February). */
export function monthsOfDays(days: readonly string[]): string[] {
  return [...new Set(days.map((day) => day.slice(0, 7)))];
}

/** One point per day, oldest first; a day with no calls is an explicit zero, not a gap. */
export function dailySeries(today: string, spendByDay: Readonly<Record<string, SpendBucket>>, count = CHART_DAYS): DaySpendPoint[] {
  return lastDays(today, count).map((day) => {
    const bucket = spendByDay[day];
    return { day, costUsd: bucket?.costUsd ?? 0, calls: bucket?.calls ?? 0 };
  });
}

// ---- spend ----

function shares(entries: [string, SpendBucket][], totalUsd: number): SpendShare[] {
  return entries.map(([name, bucket]) => ({
    name,
    costUsd: bucket.costUsd,
    calls: bucket.calls,
    share: totalUsd > 0 ? bucket.costUsd / totalUsd : 0,
  }));
}

/**
 * Everything the spend half of the panel shows. `spendByDay` holds the chart's days across months (the current
 * month's `monthByDay` plus earlier months'); `capUsages` comes from the engine's budget module.
 */
export function spendSummary(totals: SpendTotals, capUsages: CapUsage[], spendByDay: Readonly<Record<string, SpendBucket>>): SpendSummary {
  const month = totals.thisMonth;
  const caps: CapMeter[] = capUsages.map(({ cap, spentUsd, capUsd, percent, level }) => ({ cap, spentUsd, capUsd, percent, level }));
  const byModel = Object.entries(totals.monthByModel)
    .filter(([, bucket]) => bucket.calls > 0)
    .sort(([nameA, a], [nameB, b]) => b.costUsd - a.costUsd || b.calls - a.calls || nameA.localeCompare(nameB));
  return {
    day: totals.day,
    month: totals.month,
    todayUsd: totals.today.costUsd,
    callsToday: totals.today.calls,
    monthUsd: month.costUsd,
    callsThisMonth: month.calls,
    openReservedUsd: totals.openReservedUsd,
    savingsUsd: Math.max(0, roundMicroUsd(month.frontierCostUsd - month.costUsd)),
    frontierCostUsd: month.frontierCostUsd,
    unpricedCallsThisMonth: month.unpricedCalls,
    caps,
    byTier: shares(TIER_ORDER.map((tier) => [tier, totals.monthByTier[tier]]), month.costUsd),
    byModel: shares(byModel, month.costUsd),
    days: dailySeries(totals.day, spendByDay),
  };
}

// ---- routing ----

/** A URL fit to show: any `user:password@` part is dropped (keys never reach the webview). */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

export function endpointView(endpoint: EndpointConfig): EndpointView {
  return {
    id: endpointId(endpoint),
    provider: endpoint.provider,
    model: endpoint.model,
    baseUrl: displayUrl(endpointBaseUrl(endpoint)),
    baseUrlIsDefault: endpoint.baseUrl === undefined,
    local: isLocalEndpoint(endpoint),
  };
}

/** The routing editor's content: a row per built-in task kind and per extra kind in `routes`, tiers, caps. */
export function routingView(config: TierwiseConfig): RoutingView {
  const builtIn = new Set<string>(BUILT_IN_TASK_KINDS);
  const extraTasks = Object.keys(config.routes)
    .filter((task) => !builtIn.has(task))
    .sort();
  const fallbackTier = config.routes.ask ?? 'mid';
  const budgets = config.budgets;
  return {
    routes: [...BUILT_IN_TASK_KINDS, ...extraTasks].map((task) => ({
      task,
      tier: config.routes[task] ?? fallbackTier,
      builtIn: builtIn.has(task),
    })),
    tiers: TIER_ORDER.map((tier) => ({ tier, endpoints: config.tiers[tier].endpoints.map(endpointView) })),
    budgets: {
      dailyUsd: budgets.dailyUsd ?? null,
      monthlyUsd: budgets.monthlyUsd ?? null,
      perRequestUsd: budgets.perRequestUsd ?? null,
      perTierDailyUsd: Object.fromEntries(TIER_ORDER.map((tier) => [tier, budgets.perTierDailyUsd?.[tier] ?? null])) as RoutingView['budgets']['perTierDailyUsd'],
      softThresholdPercent: budgets.softThresholdPercent,
      policy: budgets.policy,
    },
    options: {
      tiers: [...TIER_ORDER],
      providers: [...PROVIDER_KINDS],
      policies: [...BUDGET_POLICIES],
      defaultBaseUrls: { ...DEFAULT_BASE_URLS },
    },
  };
}

// ---- provider status ----

/** A probe result as the panel shows it: the key only as a yes/no and the name it is stored under. */
export function endpointStatusView(status: EndpointStatus, endpoint: EndpointConfig | undefined): EndpointStatusView {
  const keyName = status.local ? undefined : (endpoint?.apiKeyEnv ?? DEFAULT_KEY_ENV[status.provider]);
  return {
    tier: status.tier,
    endpointId: status.endpointId,
    provider: status.provider,
    model: status.model,
    baseUrl: displayUrl(status.baseUrl),
    local: status.local,
    reachable: status.reachable,
    ...(status.models ? { models: [...status.models] } : {}),
    ...(status.modelAvailable !== undefined ? { modelAvailable: status.modelAvailable } : {}),
    ...(status.error !== undefined ? { error: status.error } : {}),
    hasKey: status.hasKey,
    ...(keyName ? { keyName } : {}),
  };
}

/** Identity of the configured endpoint set: a cached status is only reused for the same endpoints. */
export function endpointsSignature(config: TierwiseConfig): string {
  return JSON.stringify(TIER_ORDER.map((tier) => config.tiers[tier].endpoints));
}
