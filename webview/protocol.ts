/**
 * The typed message protocol between the extension and the Spend & Routing webview. Both sides import these
 * maps, so renaming a message or a field breaks the build instead of failing silently at run time.
 * No DOM and no `vscode` types here: the file is compiled into both programs (engine types are imported as types
 * only, so they never reach the webview bundle).
 *
 * Three kinds of message:
 * - notifications from the extension (`ExtensionToWebview`): `state`, `providerStatus`;
 * - notifications from the webview (`WebviewToExtension`): `ready`, `runCommand`;
 * - requests from the webview (`WebviewRequests`, name → [request, response]), answered by sequence number.
 */
import type { BudgetPolicy, ProviderKind } from '../extension/router/config';
import type { AttemptOutcome, LedgerClient } from '../extension/router/ledger/records';
import type { TierName } from '../extension/router/tiers';

export type { BudgetPolicy, ProviderKind, TierName };

/** Where spend stands against a cap; `level` is `warning` from the soft threshold, `exceeded` at the cap. */
export interface CapMeter {
  cap: 'daily' | 'monthly';
  spentUsd: number;
  capUsd: number;
  percent: number;
  level: 'ok' | 'warning' | 'exceeded';
}

/** One slice of the month's spend (a tier or a model). */
export interface SpendShare {
  name: string;
  costUsd: number;
  calls: number;
  /** Fraction (0–1) of the month's spend; 0 when nothing was spent. */
  share: number;
}

/** One local calendar day of the chart. A day with no calls has `calls: 0` and `costUsd: 0`. */
export interface DaySpendPoint {
  day: string;
  costUsd: number;
  calls: number;
}

export interface SpendSummary {
  /** Local calendar day (YYYY-MM-DD) and month (YYYY-MM) the figures are for. */
  day: string;
  month: string;
  todayUsd: number;
  callsToday: number;
  monthUsd: number;
  callsThisMonth: number;
  /** Held for calls still running; counts against the caps until they settle. */
  openReservedUsd: number;
  /** What frontier-only would have cost minus what was spent, this month; never below 0. */
  savingsUsd: number;
  frontierCostUsd: number;
  unpricedCallsThisMonth: number;
  caps: CapMeter[];
  byTier: SpendShare[];
  byModel: SpendShare[];
  /** The last 30 days, oldest first, today last. */
  days: DaySpendPoint[];
}

/** One request (one user action): its decision and every attempt, summed. */
export interface DecisionRow {
  requestId: string;
  /** When the request was decided (epoch ms). */
  ts: number;
  task: string;
  client: LedgerClient;
  /** The final attempt's tier, provider and model (the decision's while nothing has been called yet). */
  tier: TierName | (string & {});
  provider: ProviderKind | (string & {});
  model: string;
  /** Prompt tokens (cached and uncached) and output tokens, summed over attempts. */
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Sum of the attempts' latencies. */
  latencyMs: number;
  attempts: number;
  /** Moves up a tier after the first attempted tier. */
  escalations: number;
  /** The final attempt's outcome; `pending` while the request has no attempt yet. */
  outcome: AttemptOutcome | 'pending';
  unpriced: boolean;
  /** Why the router chose the first tier. */
  reason: string;
  /** What went wrong on attempts before the final answer, one line each. */
  attemptNotes: string[];
}

/** A configured endpoint as the routing editor shows it (no keys: there are none in settings). */
export interface EndpointView {
  /** The engine's endpoint id; edits name it so a stale list cannot move the wrong endpoint. */
  id: string;
  provider: ProviderKind;
  model: string;
  /** Shown URL, with any user:password part removed. */
  baseUrl: string;
  baseUrlIsDefault: boolean;
  local: boolean;
}

export interface RouteRow {
  task: string;
  tier: TierName;
  builtIn: boolean;
}

export interface BudgetsView {
  dailyUsd: number | null;
  monthlyUsd: number | null;
  perRequestUsd: number | null;
  perTierDailyUsd: Record<TierName, number | null>;
  softThresholdPercent: number;
  policy: BudgetPolicy;
}

export interface RoutingView {
  routes: RouteRow[];
  tiers: { tier: TierName; endpoints: EndpointView[] }[];
  budgets: BudgetsView;
  /** The choices the selects offer, from the engine. */
  options: {
    tiers: TierName[];
    providers: ProviderKind[];
    policies: BudgetPolicy[];
    defaultBaseUrls: Record<ProviderKind, string>;
  };
}

/** What the panel shows. Amounts are US dollars. */
export interface SpendViewState {
  extensionVersion: string;
  spend: SpendSummary;
  decisions: DecisionRow[];
  routing: RoutingView;
}

export interface EndpointStatusView {
  tier: TierName;
  endpointId: string;
  provider: ProviderKind;
  model: string;
  baseUrl: string;
  local: boolean;
  reachable: boolean;
  /** Models the server lists; undefined when it could not be asked. */
  models?: string[];
  modelAvailable?: boolean;
  error?: string;
  /** Whether a key is stored for this endpoint: a boolean, never the key. */
  hasKey: boolean;
  /** The name the key is stored under (e.g. ANTHROPIC_API_KEY), for paid endpoints. */
  keyName?: string;
}

export interface ProviderStatusView {
  /** When the endpoints were last asked (epoch ms); undefined before the first check. */
  checkedAt?: number;
  checking: boolean;
  endpoints: EndpointStatusView[];
}

export type BudgetAmountKey = 'dailyUsd' | 'monthlyUsd' | 'perRequestUsd';

/** One edit from the routing editor; the extension turns it into a write of the matching `tierwise.*` setting. */
export type SettingEdit =
  | { kind: 'route'; task: string; tier: TierName }
  | { kind: 'moveEndpoint'; tier: TierName; endpointId: string; index: number; direction: 'up' | 'down' }
  | { kind: 'removeEndpoint'; tier: TierName; endpointId: string; index: number }
  | { kind: 'addEndpoint'; tier: TierName; provider: ProviderKind; model: string; baseUrl?: string }
  | { kind: 'budgetAmount'; key: BudgetAmountKey; value: number | null }
  | { kind: 'tierDailyCap'; tier: TierName; value: number | null }
  | { kind: 'softThreshold'; value: number }
  | { kind: 'policy'; value: BudgetPolicy };

/** The answer to an edit: written, or why not (the engine's validation messages, naming the setting). */
export type SettingEditResult = { ok: true; setting: string } | { ok: false; error: string; problems?: string[] };

/** Commands the panel may run (a fixed list: the webview cannot run arbitrary commands). */
export type PanelCommand = 'setApiKey' | 'openBudgetSettings' | 'openRoutingSettings' | 'showLog';

/** Messages the extension posts to the webview, by type. */
export interface ExtensionToWebview {
  state: SpendViewState;
  providerStatus: ProviderStatusView;
}

/** Messages the webview posts to the extension that need no answer, by type. */
export interface WebviewToExtension {
  /** The webview's script has loaded and is listening; nothing is posted before this arrives. */
  ready: Record<string, never>;
  runCommand: { command: PanelCommand };
}

/** Requests from the webview, by name: [request payload, response payload]. */
export interface WebviewRequests {
  updateSetting: [SettingEdit, SettingEditResult];
  /** Asks every endpoint again now, ignoring the cached status. */
  refreshProviders: [Record<string, never>, ProviderStatusView];
}

export type MessageOf<Map> = { [Type in keyof Map]: { type: Type; payload: Map[Type] } }[keyof Map];

export type RequestName = keyof WebviewRequests;
export type RequestOf<Name extends RequestName> = WebviewRequests[Name][0];
export type ResponseOf<Name extends RequestName> = WebviewRequests[Name][1];

/** A request: `seq` is unique per webview session and comes back on the response. */
export type RequestMessage = { [Name in RequestName]: { type: 'request'; name: Name; seq: number; payload: RequestOf<Name> } }[RequestName];
export type ResponseMessage = { [Name in RequestName]: { type: 'response'; name: Name; seq: number; payload: ResponseOf<Name> } }[RequestName];

export type ToWebviewMessage = MessageOf<ExtensionToWebview> | ResponseMessage;
export type FromWebviewMessage = MessageOf<WebviewToExtension> | RequestMessage;
