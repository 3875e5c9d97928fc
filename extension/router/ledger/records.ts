import type { TierName } from '../tiers';
import type { ProviderKind } from '../config';

/**
 * The ledger is a set of append-only JSON-lines files, one per calendar month (`YYYY-MM.jsonl`, local time).
 * Every record is one line whose first key is `"v"`, so a reader can find the start of the next record after
 * a torn one. Amounts are US dollars; times are epoch milliseconds.
 */
export const LEDGER_RECORD_VERSION = 1;

/** Who made the call: the editor, the CLI, or (later) an agent client through the gateway. */
export type LedgerClient = 'editor' | 'cli' | 'claude-code' | 'codex' | 'other' | (string & {});

interface RecordBase {
  v: typeof LEDGER_RECORD_VERSION;
  ts: number;
}

/** A routing decision for one request (one user action). */
export interface DecisionRecord extends RecordBase {
  type: 'decision';
  requestId: string;
  task: string;
  tier: TierName;
  provider: ProviderKind;
  model: string;
  reason: string;
  estInputTokens: number;
  reservedUsd: number;
  client: LedgerClient;
}

/** Worst-case cost held against the caps until the call it covers settles. */
export interface ReserveRecord extends RecordBase {
  type: 'reserve';
  reservationId: string;
  requestId: string;
  tier: TierName;
  amountUsd: number;
  pid: number;
  /** `os.hostname()` of the reserving process: its pid is only checked for liveness on the same host. */
  host?: string;
  /** After this an unsettled reservation no longer counts (its process died without settling). */
  expiresAt: number;
}

/** A reservation given back without a call being billed (the call never left, or was refused). */
export interface ReleaseRecord extends RecordBase {
  type: 'release';
  reservationId: string;
}

export type AttemptOutcome = 'ok' | 'validationFailed' | 'error';

/** One provider call (an attempt). It settles the reservation it names. */
export interface CallRecord extends RecordBase {
  type: 'call';
  requestId: string;
  reservationId?: string;
  task: string;
  tier: TierName;
  provider: ProviderKind;
  model: string;
  endpointId: string;
  client: LedgerClient;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  reasoningTokens: number;
  /** Actual cost; for an unpriced paid model, the fallback price's cost. */
  costUsd: number;
  /** True when no price was known and costUsd used the configured fallback price. */
  unpriced: boolean;
  /** What the savings reference (frontier) model would have cost for the same tokens. */
  frontierCostUsd: number;
  latencyMs: number;
  outcome: AttemptOutcome;
  /** Validator's reason (validationFailed) or the typed error's kind and message (error). */
  detail?: string;
  errorKind?: string;
}

export type LedgerRecord = DecisionRecord | ReserveRecord | ReleaseRecord | CallRecord;

/** Spend summed over a period. */
export interface SpendBucket {
  costUsd: number;
  frontierCostUsd: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  unpricedCalls: number;
}

/** What the meter, the panel, `tierwise spend` and the budget checks read. */
export interface SpendTotals {
  /** Local calendar day (YYYY-MM-DD) and month (YYYY-MM) these totals are for. */
  day: string;
  month: string;
  today: SpendBucket;
  thisMonth: SpendBucket;
  todayByTier: Record<TierName, SpendBucket>;
  monthByTier: Record<TierName, SpendBucket>;
  monthByModel: Record<string, SpendBucket>;
  /** Who spent it: the editor, the CLI, or an agent client through the gateway (claude-code, codex, other). */
  monthByClient: Record<string, SpendBucket>;
  /** Day (YYYY-MM-DD) → bucket, for the days of the current month that have calls. */
  monthByDay: Record<string, SpendBucket>;
  /** Open (unsettled, unexpired) reservations, in dollars, that count against today's and this month's caps. */
  openReservedUsd: number;
  openReservedByTierUsd: Record<TierName, number>;
}
