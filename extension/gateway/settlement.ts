import { ZERO_USAGE, type Usage } from '../providers/types';
import { endpointId } from '../router/config';
import { LEDGER_RECORD_VERSION, type CallRecord, type DecisionRecord, type LedgerRecord } from '../router/ledger/records';
import { priceCall, referenceCostUsd } from '../router/prices';
import { asRecord, contentText } from './classify';
import type { ExchangeState, GatewayRuntime, Settlement } from './runtime';
import { prefixDigest } from './sessions';

const PROMPT_LOG_CHARS = 2000;

/**
 * The route is taken: the session's stream is bound to the endpoint at once (the next turn must see it, and a move
 * breaks the prompt cache). Its log line waits for the next batch (see SettlementBatch.announce).
 */
export function bindStream(runtime: GatewayRuntime, state: ExchangeState): void {
  if (!state.stream) return;
  const id = endpointId(state.plan.endpoint);
  const previous = runtime.sessions.bind(state.sessionKey, state.stream, id);
  if (previous) {
    state.notes.push(`cache break: moved from ${previous} to ${id}`);
    runtime.sessions.noteCacheBreak(state.sessionKey);
  }
}

/** The decision's log line: kind, client, tier, endpoint and why. */
function announce(runtime: GatewayRuntime, state: ExchangeState): void {
  if (state.announced) return;
  state.announced = true;
  const { plan, classification } = state;
  runtime.log(
    `${classification.kind} [${classification.client}] → ${plan.tier} ${plan.endpoint.provider}/${plan.endpoint.model}` +
      `${plan.passThrough ? '' : ` (translated ${state.ingress} → ${plan.upstreamProtocol})`} (${classification.reason}; ${plan.reason})` +
      // Only a reservation is worth a figure here: with no cap set nothing is held, and pricing it would be for show.
      `${state.reservationId ? `; reserved $${plan.worstCaseUsd.toFixed(4)}` : ''}${state.notes.length ? `; ${state.notes.join('; ')}` : ''}`,
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

/** One finished exchange waiting for its records to be written. */
export interface PendingSettlement {
  state: ExchangeState;
  /** How it ended, or how to find out (reading a relayed stream for its usage waits for the batch too). */
  settlement: Settlement | (() => Settlement);
  /** The upstream status, for endpoint health when `settlement` is still to be worked out. */
  status?: number;
  /** Called once its records are written (or could not be). */
  done: () => void;
}

/** How long finished exchanges wait to be written together, and how many make a batch flush at once. */
export const SETTLE_BATCH_MS = 20;
const SETTLE_BATCH_MAX = 64;

/**
 * Group commit for settlements. An answer's bookkeeping (prices, the cache check, two ledger records, a log
 * line) waits up to SETTLE_BATCH_MS and is done together with the others that finished meanwhile: one write to
 * the ledger for the batch, and the code run in a warm loop rather than once per answer, cold, on a machine busy
 * with the next turn. Nothing waits on it but the ledger: reservations stay held until their call record lands.
 * `flush()` writes what is pending at once (shutdown).
 */
export class SettlementBatch {
  private pending: PendingSettlement[] = [];
  private announcements: ExchangeState[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `runtime` is read when a batch is written (the runtime holds this batch). */
  constructor(private readonly runtimeOf: () => GatewayRuntime) {}

  /**
   * A request has gone upstream: its decision is logged with the next batch, not while the upstream works on it
   * (on a busy machine a log write then delays the answer), and always before its settlement's line.
   */
  announce(state: ExchangeState): void {
    this.announcements.push(state);
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.flush(), SETTLE_BATCH_MS);
  }

  add(item: PendingSettlement): void {
    // Endpoint health is not bookkeeping: the next request (a retry, often at once) must see a failure.
    const known = typeof item.settlement === 'function' ? undefined : item.settlement;
    const status = known ? known.status : item.status;
    const id = endpointId(item.state.plan.endpoint);
    if (known ? known.outcome === 'ok' : status !== undefined && status < 400) this.runtimeOf().health.recordSuccess(id);
    else if (status !== undefined && (status === 429 || status >= 500)) this.runtimeOf().health.recordFailure(id);
    this.pending.push(item);
    if (this.pending.length >= SETTLE_BATCH_MAX) this.flush();
    else this.schedule();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const runtime = this.runtimeOf();
    const announcements = this.announcements;
    this.announcements = [];
    for (const state of announcements) announce(runtime, state);
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const records: LedgerRecord[] = [];
    const settled: PendingSettlement[] = [];
    for (const item of batch) {
      try {
        records.push(...settlementRecords(runtime, item.state, typeof item.settlement === 'function' ? item.settlement() : item.settlement));
        settled.push(item);
      } catch (error) {
        runtime.log(`could not settle ${item.state.classification.kind} on ${item.state.plan.endpoint.model}: ${(error as Error).message}`);
      }
    }
    try {
      runtime.ledger.appendAll(records);
      // Read our own appends now, while nothing waits: the next request's cap check then has only others' to read.
      if (settled.some((item) => item.state.reservationId)) runtime.ledger.totals();
    } catch (error) {
      // The ledger refused the write (disk full, folder gone): the answers were delivered; say what was not recorded.
      runtime.log(`could not record ${settled.length} call(s) in the ledger: ${(error as Error).message}`);
    }
    for (const item of batch) item.done();
  }
}

/**
 * After the answer: the decision and the call for the ledger (the call settles the reservation), with the cache
 * check and the log line. Done here rather than on the way in, so none of it sits between the client and the upstream.
 */
function settlementRecords(runtime: GatewayRuntime, state: ExchangeState, settlement: Settlement): LedgerRecord[] {
  if (state.settled) return [];
  announce(runtime, state);
  state.settled = true;
  const { plan, config, classification } = state;
  const id = endpointId(plan.endpoint);
  const decision: DecisionRecord = {
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
  };
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

  const price = priceCall(plan.endpoint, usage, config);
  const reference = config.savingsReference ?? config.tiers.frontier.endpoints[0];
  const frontierCostUsd = reference ? (referenceCostUsd(reference, usage, config) ?? price.costUsd) : price.costUsd;
  const detail = state.abortReason ?? settlement.detail;
  const errorKind = state.abortReason ? 'shutdown' : settlement.errorKind;
  const details = [...state.notes, ...(detail ? [detail] : []), ...(estimated ? ['usage estimated (the server reported none)'] : [])];
  const call: CallRecord = {
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
  };
  const session = runtime.sessions.recordUsage(state.sessionKey, usage);
  runtime.log(
    `${classification.kind} [${classification.client}]: ${plan.tier} ${plan.endpoint.model} ${settlement.outcome}` +
      `${details.length ? ` (${details.join('; ')})` : ''}; ${usage.inputTokens + usage.cacheReadTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens}→${usage.outputTokens} tokens` +
      ` (cache read ${usage.cacheReadTokens}, write ${usage.cacheWrite5mTokens + usage.cacheWrite1hTokens}; session ${session.cacheReadTokens} read / ${session.cacheWriteTokens} written over ${session.turns} calls)` +
      `, $${price.costUsd.toFixed(4)}${price.unpriced ? ' (unpriced: fallback price)' : ''}, ${call.latencyMs} ms`,
  );
  return [decision, call];
}

function lastUserPrompt(body: Record<string, unknown>): string {
  const items = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : [];
  for (let index = items.length - 1; index >= 0; index--) {
    const item = asRecord(items[index]);
    if (item?.role === 'user') return contentText(item.content);
  }
  return '';
}
