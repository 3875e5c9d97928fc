import { randomUUID } from 'node:crypto';
import { ProviderError, promptTokens, ZERO_USAGE, type ChatRequest, type KeyResolver, type ProviderAdapter, type Usage } from '../providers/types';
import { endpointId, type EndpointConfig, type ProviderKind, type TierwiseConfig } from './config';
import { BudgetBlockedError, findCapViolation, type CapViolation } from './budget';
import { decide, firstUsableEndpoint, routeTierFor, type AskDecision, type Decision, type RouteRequest, type RoutedDecision } from './decide';
import { EndpointHealth } from './endpointHealth';
import { NoEndpointError, OverCapDeclinedError, TierExhaustedError } from './errors';
import { LEDGER_RECORD_VERSION, type CallRecord, type LedgerClient, type LedgerRecord, type ReserveRecord, type SpendTotals } from './ledger/records';
import { priceCall, referenceCostUsd, worstCaseCostUsd } from './prices';
import { estimateRequestTokens, estimateTokens, TokenCalibration } from './tokens';
import { tierAbove, type TierName } from './tiers';
import { nonEmpty, type Validator, type Verdict } from './validators/verdict';

/** The part of the ledger the router uses: totals, appends, and an atomic check-and-reserve across processes. */
export interface RouterLedger {
  totals(): SpendTotals;
  append(record: LedgerRecord): void;
  /** Records written together (one write): a decision and its call. */
  appendAll(records: readonly LedgerRecord[]): void;
  reserve<Refusal>(
    reservation: { requestId: string; tier: TierName; amountUsd: number },
    check: (fresh: SpendTotals) => Refusal | undefined,
  ): Promise<{ ok: true; reservation: ReserveRecord } | { ok: false; refusal: Refusal }>;
  release(reservationId: string): void;
}

export interface RouterDeps {
  config: () => TierwiseConfig;
  ledger: RouterLedger;
  providers: (kind: ProviderKind) => ProviderAdapter;
  keys: KeyResolver;
  client: LedgerClient;
  /** One line per decision and escalation; never prompt text or keys. */
  log?: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  calibration?: TokenCalibration;
  health?: EndpointHealth;
}

export interface RunOptions {
  validator?: Validator;
  signal?: AbortSignal;
  /** Streamed text of the attempt in progress (a new attempt starts over: `attempt` changes). */
  onText?: (delta: string, attempt: number) => void;
  /** Policy `ask`: return true to spend past the cap. Without it, `ask` behaves as `block`. */
  confirmOverCap?: (decision: AskDecision) => Promise<boolean>;
  json?: boolean;
  temperature?: number;
}

export interface AttemptSummary {
  tier: TierName;
  provider: ProviderKind;
  model: string;
  usage: Usage;
  costUsd: number;
  unpriced: boolean;
  frontierCostUsd: number;
  latencyMs: number;
  outcome: CallRecord['outcome'];
  detail?: string;
}

export interface RunResult {
  requestId: string;
  text: string;
  /** The tier, provider and model whose answer this is. */
  tier: TierName;
  provider: ProviderKind;
  model: string;
  /** The decision's reason plus every escalation and fallback after it. */
  reason: string;
  /** Things the user should be told even on success: a cap downgrade, the local tier being unavailable. */
  notices: string[];
  verdict: Verdict;
  attempts: AttemptSummary[];
  costUsd: number;
  frontierCostUsd: number;
  usage: Usage;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

const sumUsage = (items: Usage[]): Usage =>
  items.reduce(
    (sum, usage) => ({
      inputTokens: sum.inputTokens + usage.inputTokens,
      outputTokens: sum.outputTokens + usage.outputTokens,
      cacheReadTokens: sum.cacheReadTokens + usage.cacheReadTokens,
      cacheWrite5mTokens: sum.cacheWrite5mTokens + usage.cacheWrite5mTokens,
      cacheWrite1hTokens: sum.cacheWrite1hTokens + usage.cacheWrite1hTokens,
      reasoningTokens: sum.reasoningTokens + usage.reasoningTokens,
    }),
    { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0 },
  );

interface AttemptContext {
  requestId: string;
  request: RouteRequest;
  options: RunOptions;
  config: TierwiseConfig;
  estInputTokens: number;
  rawEstInputTokens: number;
  /** The tier the user agreed to spend past a cap on (policy `ask`); escalating beyond it checks the caps again. */
  overCapConsentTier?: TierName;
  attempts: AttemptSummary[];
  reasons: string[];
  notices: string[];
}

/** A call that returned an answer, not yet judged or recorded. */
interface Answer {
  text: string;
  tier: TierName;
  endpoint: EndpointConfig;
  usage: Usage;
  latencyMs: number;
  reservationId: string;
}

/**
 * Runs requests end to end: decision, reservation, the provider call with fallback inside the tier, settlement
 * in the ledger, validation and escalation up the tiers. The same code serves the extension, the CLI and the gateway.
 */
export class Router {
  readonly calibration: TokenCalibration;
  readonly health: EndpointHealth;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly deps: RouterDeps) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? defaultSleep;
    this.calibration = deps.calibration ?? new TokenCalibration();
    this.health = deps.health ?? new EndpointHealth(() => deps.config().fallback, this.now);
  }

  /** The decision for a request right now, without calling anything (`tierwise route`, the UI's preview). */
  decide(request: RouteRequest): Decision {
    return this.decideWith(request, this.deps.config(), this.estimate(request).estInputTokens);
  }

  private decideWith(request: RouteRequest, config: TierwiseConfig, estInputTokens: number): Decision {
    return decide(request, config, {
      totals: this.deps.ledger.totals(),
      estInputTokens,
      unavailableEndpointIds: this.health.coolingDown(),
    });
  }

  async run(request: RouteRequest, options: RunOptions = {}): Promise<RunResult> {
    const config = this.deps.config();
    const { estInputTokens, rawEstInputTokens } = this.estimate(request);
    let decision = this.decideWith(request, config, estInputTokens);
    let overCapConsentTier: TierName | undefined;
    if (decision.kind === 'ask') {
      if (!options.confirmOverCap) {
        decision = { ...decision, kind: 'blocked' };
      } else if (await options.confirmOverCap(decision)) {
        overCapConsentTier = decision.proposed.tier;
        decision = { ...decision.proposed, reason: `${decision.reason} → confirmed by user` };
      } else {
        throw new OverCapDeclinedError(`Call not made: ${decision.reason}.`);
      }
    }
    if (decision.kind === 'blocked') {
      this.log(`${request.task}: ${decision.reason}`);
      throw new BudgetBlockedError(decision.violation, request.task);
    }
    if (decision.kind === 'noEndpoint') throw new NoEndpointError(`No endpoint can take ${request.task}: ${decision.reason}`);

    const requestId = randomUUID();
    this.deps.ledger.append({
      v: LEDGER_RECORD_VERSION,
      type: 'decision',
      ts: this.now(),
      requestId,
      task: decision.task,
      tier: decision.tier,
      provider: decision.endpoint.provider,
      model: decision.endpoint.model,
      reason: decision.reason,
      estInputTokens: decision.estInputTokens,
      reservedUsd: decision.reservedUsd,
      client: this.deps.client,
    });
    this.log(`${request.task} → ${decision.tier} ${decision.endpoint.provider}/${decision.endpoint.model} (${decision.reason}); reserved $${decision.reservedUsd.toFixed(4)}`);
    return this.climb(
      { requestId, request, options, config, estInputTokens, rawEstInputTokens, overCapConsentTier, attempts: [], reasons: [decision.reason],
        notices: decision.downgrade ? [`${decision.downgrade.because}: ${request.task} downgraded from ${decision.downgrade.from} to ${decision.downgrade.to}`] : [] },
      decision,
    );
  }

  /** Tries the decided tier, then escalates while the answer fails its check and the limit and caps allow. */
  private async climb(context: AttemptContext, decision: RoutedDecision): Promise<RunResult> {
    const validator = context.options.validator ?? nonEmpty;
    let tier = decision.tier;
    let startIndex = decision.endpointIndex;
    let escalations = 0;
    let last: { answer: Answer; verdict: Verdict } | undefined;

    for (;;) {
      let answer: Answer;
      try {
        answer = await this.runTier(context, tier, startIndex);
      } catch (error) {
        const above = tierAbove(tier);
        if (error instanceof TierExhaustedError && tier === 'local' && above && !last && context.config.localUnavailable === 'nextTier') {
          context.reasons.push(`local tier unavailable → ${above}`);
          context.notices.push(`The local model did not answer, so ${context.request.task} ran on the ${above} tier (tierwise.localUnavailable: nextTier).`);
          this.log(`${context.request.task}: ${error.message} → ${above}`);
          tier = above;
          startIndex = 0;
          continue;
        }
        if (last && (error instanceof BudgetBlockedError || error instanceof TierExhaustedError)) {
          context.reasons.push(`escalation stopped: ${error.message}`);
          break;
        }
        throw error;
      }
      const verdict = validator(answer.text);
      context.attempts.push(this.settle(context, answer, verdict.ok ? 'ok' : 'validationFailed', verdict.ok ? undefined : verdict.reason));
      last = { answer, verdict };
      if (verdict.ok) break;

      const above = tierAbove(tier);
      if (!above || escalations >= context.config.escalation.maxEscalations) {
        context.reasons.push(`${answer.endpoint.model} failed check (${verdict.reason}); no escalation left`);
        break;
      }
      escalations++;
      const step = `${answer.endpoint.model} failed check (${verdict.reason}) → escalated ${tier} → ${above}`;
      context.reasons.push(step);
      this.log(`${context.request.task}: ${step}`);
      tier = above;
      startIndex = 0;
    }

    const { answer, verdict } = last!;
    const costUsd = context.attempts.reduce((sum, attempt) => sum + attempt.costUsd, 0);
    const frontierCostUsd = context.attempts.reduce((sum, attempt) => sum + attempt.frontierCostUsd, 0);
    return {
      requestId: context.requestId,
      text: answer.text,
      tier: answer.tier,
      provider: answer.endpoint.provider,
      model: answer.endpoint.model,
      reason: context.reasons.join('; '),
      notices: context.notices,
      verdict,
      attempts: context.attempts,
      costUsd: roundUsd(costUsd),
      frontierCostUsd: roundUsd(frontierCostUsd),
      usage: sumUsage(context.attempts.map((attempt) => attempt.usage)),
    };
  }

  /** Fallback inside one tier: each endpoint in order, retrying a rate limit when Retry-After is short. */
  private async runTier(context: AttemptContext, tier: TierName, startIndex: number): Promise<Answer> {
    const { config } = context;
    const failures: ProviderError[] = [];
    let index = startIndex;
    for (;;) {
      const choice = firstUsableEndpoint(tier, context.request, config, {
        totals: this.deps.ledger.totals(),
        estInputTokens: context.estInputTokens,
        unavailableEndpointIds: this.health.coolingDown(),
      }, index);
      if (!('endpoint' in choice)) break;
      index = choice.index + 1;
      for (let retry = 0; ; retry++) {
        try {
          return await this.attempt(context, tier, choice.endpoint, choice.maxOutputTokens);
        } catch (error) {
          if (!(error instanceof ProviderError)) throw error;
          const waitMs = error.details.retryAfterMs ?? 0;
          if (error.kind === 'rateLimit' && retry < config.fallback.retriesPerEndpoint && waitMs <= config.fallback.maxRetryWaitMs) {
            this.log(`${context.request.task}: ${choice.endpoint.model} rate-limited; retrying in ${waitMs} ms`);
            try {
              await this.sleep(waitMs, context.options.signal);
            } catch (cause) {
              const { provider, model } = choice.endpoint;
              throw new ProviderError('cancelled', provider, model, `${provider} ${model}: cancelled while waiting to retry`, { cause });
            }
            continue;
          }
          if (!error.isFallbackWorthy && error.kind !== 'contextOverflow') throw error;
          failures.push(error);
          context.reasons.push(`${choice.endpoint.model} ${error.kind} → next endpoint`);
          this.log(`${context.request.task}: ${choice.endpoint.model} failed (${error.kind}: ${error.message}); trying the next endpoint`);
          break;
        }
      }
    }
    throw new TierExhaustedError(tier, failures);
  }

  /** One provider call under a reservation. Failures are recorded here; answers are recorded once judged. */
  private async attempt(context: AttemptContext, tier: TierName, endpoint: EndpointConfig, maxOutputTokens: number): Promise<Answer> {
    const { config, options } = context;
    const id = endpointId(endpoint);
    const worstCaseUsd = worstCaseCostUsd(endpoint, context.estInputTokens, maxOutputTokens, config);
    const reserved = await this.deps.ledger.reserve<CapViolation>({ requestId: context.requestId, tier, amountUsd: worstCaseUsd }, (fresh) =>
      context.overCapConsentTier === tier ? undefined : findCapViolation(fresh, config.budgets, tier, worstCaseUsd),
    );
    if (!reserved.ok) throw new BudgetBlockedError(reserved.refusal, `${context.request.task} on ${tier} (${endpoint.model})`);
    const reservationId = reserved.reservation.reservationId;

    const attemptNumber = context.attempts.length;
    const chat: ChatRequest = {
      system: context.request.system,
      stableContext: context.request.stableContext,
      messages: context.request.messages,
      maxOutputTokens,
      temperature: options.temperature,
      json: options.json,
      signal: options.signal,
      timeoutMs: endpoint.timeoutMs ?? config.requestTimeoutMs,
    };
    const startedAt = this.now();
    let text = '';
    let usage: Usage | undefined;
    try {
      const apiKey = await this.deps.keys(endpoint);
      for await (const event of this.deps.providers(endpoint.provider).stream(endpoint, chat, apiKey)) {
        if (event.type === 'text') {
          text += event.text;
          options.onText?.(event.text, attemptNumber);
        } else {
          usage = event.usageReported === false ? undefined : event.usage;
        }
      }
    } catch (error) {
      const failure =
        error instanceof ProviderError
          ? error
          : new ProviderError('network', endpoint.provider, endpoint.model, `unexpected failure: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      if (failure.kind !== 'cancelled') this.health.recordFailure(id);
      // A stream that broke after text arrived was billed for it: count an estimate rather than nothing.
      const billed = text.length > 0 ? this.estimatedUsage(context, text) : ZERO_USAGE;
      const answer: Answer = { text, tier, endpoint, usage: billed, latencyMs: this.now() - startedAt, reservationId };
      context.attempts.push(this.settle(context, answer, 'error', failure.message, failure.kind));
      throw failure;
    }
    this.health.recordSuccess(id);
    const reported = usage ?? this.estimatedUsage(context, text);
    if (usage) this.calibration.observe(id, context.rawEstInputTokens, promptTokens(usage));
    return { text, tier, endpoint, usage: reported, latencyMs: this.now() - startedAt, reservationId };
  }

  /** Prices an attempt and appends its call record, which settles its reservation. */
  private settle(context: AttemptContext, answer: Answer, outcome: CallRecord['outcome'], detail?: string, errorKind?: string): AttemptSummary {
    const { config } = context;
    const { endpoint, usage } = answer;
    const price = priceCall(endpoint, usage, config);
    const reference = config.savingsReference ?? config.tiers.frontier.endpoints[0];
    const frontierCostUsd = reference ? referenceCostUsd(reference, usage, config) ?? price.costUsd : price.costUsd;
    this.deps.ledger.append({
      v: LEDGER_RECORD_VERSION,
      type: 'call',
      ts: this.now(),
      requestId: context.requestId,
      reservationId: answer.reservationId,
      task: context.request.task,
      tier: answer.tier,
      provider: endpoint.provider,
      model: endpoint.model,
      endpointId: endpointId(endpoint),
      client: this.deps.client,
      ...usage,
      costUsd: price.costUsd,
      unpriced: price.unpriced,
      frontierCostUsd,
      latencyMs: answer.latencyMs,
      outcome,
      ...(detail ? { detail } : {}),
      ...(errorKind ? { errorKind } : {}),
    });
    this.log(
      `${context.request.task}: ${answer.tier} ${endpoint.model} ${outcome}${detail ? ` (${detail})` : ''}; ` +
        `${usage.inputTokens + usage.cacheReadTokens}→${usage.outputTokens} tokens, $${price.costUsd.toFixed(4)}${price.unpriced ? ' (unpriced: fallback price)' : ''}, ${answer.latencyMs} ms`,
    );
    return {
      tier: answer.tier,
      provider: endpoint.provider,
      model: endpoint.model,
      usage,
      costUsd: price.costUsd,
      unpriced: price.unpriced,
      frontierCostUsd,
      latencyMs: answer.latencyMs,
      outcome,
      ...(detail ? { detail } : {}),
    };
  }

  private estimate(request: RouteRequest): { estInputTokens: number; rawEstInputTokens: number } {
    const rawEstInputTokens = estimateRequestTokens(request);
    // Calibrate against the endpoint the rule would pick first; the ratio is per endpoint.
    const config = this.deps.config();
    const first = config.tiers[request.tier ?? routeTierFor(request.task, config).tier].endpoints[0];
    const estInputTokens = first ? this.calibration.corrected(endpointId(first), rawEstInputTokens) : rawEstInputTokens;
    return { estInputTokens, rawEstInputTokens };
  }

  private estimatedUsage(context: AttemptContext, text: string): Usage {
    return { ...ZERO_USAGE, inputTokens: context.estInputTokens, outputTokens: estimateTokens(text) };
  }

  private log(line: string): void {
    this.deps.log?.(line);
  }
}

const roundUsd = (amount: number) => Math.round(amount * 1e9) / 1e9;
