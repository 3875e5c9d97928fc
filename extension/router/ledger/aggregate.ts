import { TIER_ORDER, isTierName, type TierName } from '../tiers';
import type { LedgerCalendar } from './calendar';
import type { CallRecord, DecisionRecord, LedgerRecord, SpendBucket, SpendTotals } from './records';

/** How many recent calls and decisions a month keeps in memory for the panel. */
export const RECENT_RECORDS_CAPACITY = 500;

export function emptyBucket(): SpendBucket {
  return { costUsd: 0, frontierCostUsd: 0, calls: 0, inputTokens: 0, outputTokens: 0, unpricedCalls: 0 };
}

function copyBucket(bucket: SpendBucket): SpendBucket {
  return { ...bucket };
}

function addCall(bucket: SpendBucket, call: CallRecord): void {
  bucket.costUsd += call.costUsd;
  bucket.frontierCostUsd += call.frontierCostUsd || 0;
  bucket.calls += 1;
  bucket.inputTokens += call.inputTokens || 0;
  bucket.outputTokens += call.outputTokens || 0;
  if (call.unpriced) bucket.unpricedCalls += 1;
}

function bucketsByTier(): Record<TierName, SpendBucket> {
  const byTier = {} as Record<TierName, SpendBucket>;
  for (const tier of TIER_ORDER) byTier[tier] = emptyBucket();
  return byTier;
}

function copyByTier(byTier: Record<TierName, SpendBucket>): Record<TierName, SpendBucket> {
  const copy = {} as Record<TierName, SpendBucket>;
  for (const tier of TIER_ORDER) copy[tier] = copyBucket(byTier[tier]);
  return copy;
}

export interface DaySpend {
  total: SpendBucket;
  byTier: Record<TierName, SpendBucket>;
}

/** A reserve record not yet closed by a call or a release. */
export interface OpenReservation {
  reservationId: string;
  tier: string;
  amountUsd: number;
  pid: number;
  host: string | undefined;
  expiresAt: number;
}

/** Whether an open reservation's process still runs; false drops the reservation for good. */
export type ReservationHolderCheck = (reservation: OpenReservation) => boolean;

/** Fixed-size buffer of the newest items. */
export class RecentRing<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  oldestFirst(): T[] {
    return this.newest(this.size).reverse();
  }

  /** Newest first, at most `limit`, only those `accept` keeps. */
  newest(limit: number, accept?: (item: T) => boolean): T[] {
    const out: T[] = [];
    for (let i = 1; i <= this.size && out.length < limit; i++) {
      const item = this.items[(this.next - i + this.capacity) % this.capacity] as T;
      if (!accept || accept(item)) out.push(item);
    }
    return out;
  }
}

function bucketIn(buckets: Map<string, SpendBucket>, key: string): SpendBucket {
  let bucket = buckets.get(key);
  if (!bucket) buckets.set(key, (bucket = emptyBucket()));
  return bucket;
}

/** MonthSpend as plain JSON, for the sidecar snapshot. */
export interface MonthSpendJson {
  recordCount: number;
  thisMonth: SpendBucket;
  monthByTier: Record<TierName, SpendBucket>;
  monthByModel: [string, SpendBucket][];
  monthByClient: [string, SpendBucket][];
  monthByDay: [string, DaySpend][];
  openReservations: OpenReservation[];
  recentCalls: CallRecord[];
  recentDecisions: DecisionRecord[];
}

/** Everything a month file adds up to, built record by record in file order. */
export class MonthSpend {
  readonly thisMonth = emptyBucket();
  readonly monthByTier = bucketsByTier();
  readonly monthByModel = new Map<string, SpendBucket>();
  readonly monthByClient = new Map<string, SpendBucket>();
  readonly monthByDay = new Map<string, DaySpend>();
  readonly openReservations = new Map<string, OpenReservation>();
  readonly recentCalls = new RecentRing<CallRecord>(RECENT_RECORDS_CAPACITY);
  readonly recentDecisions = new RecentRing<DecisionRecord>(RECENT_RECORDS_CAPACITY);
  recordCount = 0;

  constructor(
    readonly month: string,
    private readonly calendar: LedgerCalendar,
  ) {}

  apply(record: LedgerRecord): void {
    this.recordCount++;
    switch (record.type) {
      case 'call':
        this.applyCall(record);
        break;
      case 'reserve':
        this.openReservations.set(record.reservationId, {
          reservationId: record.reservationId,
          tier: record.tier,
          amountUsd: record.amountUsd,
          pid: record.pid,
          host: record.host,
          expiresAt: record.expiresAt,
        });
        break;
      case 'release':
        this.openReservations.delete(record.reservationId);
        break;
      case 'decision':
        this.recentDecisions.push(record);
        break;
    }
  }

  private applyCall(call: CallRecord): void {
    if (call.reservationId !== undefined) this.openReservations.delete(call.reservationId);
    this.recentCalls.push(call);
    addCall(this.thisMonth, call);
    const tier = isTierName(call.tier) ? call.tier : undefined;
    if (tier) addCall(this.monthByTier[tier], call);

    addCall(bucketIn(this.monthByModel, call.model), call);
    addCall(bucketIn(this.monthByClient, call.client), call);

    const day = this.calendar.dayOf(call.ts);
    let daySpend = this.monthByDay.get(day);
    if (!daySpend) this.monthByDay.set(day, (daySpend = { total: emptyBucket(), byTier: bucketsByTier() }));
    addCall(daySpend.total, call);
    if (tier) addCall(daySpend.byTier[tier], call);
  }

  toJson(): MonthSpendJson {
    return {
      recordCount: this.recordCount,
      thisMonth: this.thisMonth,
      monthByTier: this.monthByTier,
      monthByModel: [...this.monthByModel],
      monthByClient: [...this.monthByClient],
      monthByDay: [...this.monthByDay],
      openReservations: [...this.openReservations.values()],
      recentCalls: this.recentCalls.oldestFirst(),
      recentDecisions: this.recentDecisions.oldestFirst(),
    };
  }

  static fromJson(month: string, calendar: LedgerCalendar, json: MonthSpendJson): MonthSpend {
    const spend = new MonthSpend(month, calendar);
    spend.recordCount = json.recordCount;
    Object.assign(spend.thisMonth, json.thisMonth);
    for (const tier of TIER_ORDER) Object.assign(spend.monthByTier[tier], json.monthByTier[tier]);
    for (const [model, bucket] of json.monthByModel) spend.monthByModel.set(model, { ...emptyBucket(), ...bucket });
    for (const [client, bucket] of json.monthByClient) spend.monthByClient.set(client, { ...emptyBucket(), ...bucket });
    for (const [day, daySpend] of json.monthByDay) {
      const byTier = bucketsByTier();
      for (const tier of TIER_ORDER) Object.assign(byTier[tier], daySpend.byTier[tier]);
      spend.monthByDay.set(day, { total: { ...emptyBucket(), ...daySpend.total }, byTier });
    }
    for (const reservation of json.openReservations) spend.openReservations.set(reservation.reservationId, reservation);
    for (const call of json.recentCalls) spend.recentCalls.push(call);
    for (const decision of json.recentDecisions) spend.recentDecisions.push(decision);
    return spend;
  }

  /** Carries a previous month's still-open reservations over a month boundary. */
  adoptOpenReservations(previous: MonthSpend, nowMs: number): void {
    for (const [id, reservation] of previous.openReservations) {
      if (reservation.expiresAt > nowMs && !this.openReservations.has(id)) this.openReservations.set(id, reservation);
    }
  }

  /**
   * The totals for `day`. Expired reservations and those whose process is gone are dropped here, so they stop
   * counting even if their call is never settled.
   */
  totals(day: string, nowMs: number, holderAlive: ReservationHolderCheck): SpendTotals {
    let openReservedUsd = 0;
    const openReservedByTierUsd = {} as Record<TierName, number>;
    for (const tier of TIER_ORDER) openReservedByTierUsd[tier] = 0;
    for (const [id, reservation] of this.openReservations) {
      if (reservation.expiresAt <= nowMs || !holderAlive(reservation)) {
        this.openReservations.delete(id);
        continue;
      }
      openReservedUsd += reservation.amountUsd;
      if (isTierName(reservation.tier)) openReservedByTierUsd[reservation.tier] += reservation.amountUsd;
    }

    const todaySpend = this.monthByDay.get(day);
    const monthByModel: Record<string, SpendBucket> = {};
    for (const [model, bucket] of this.monthByModel) monthByModel[model] = copyBucket(bucket);
    const monthByClient: Record<string, SpendBucket> = {};
    for (const [client, bucket] of this.monthByClient) monthByClient[client] = copyBucket(bucket);
    const monthByDay: Record<string, SpendBucket> = {};
    for (const [key, spend] of this.monthByDay) monthByDay[key] = copyBucket(spend.total);

    return {
      day,
      month: this.month,
      today: todaySpend ? copyBucket(todaySpend.total) : emptyBucket(),
      thisMonth: copyBucket(this.thisMonth),
      todayByTier: todaySpend ? copyByTier(todaySpend.byTier) : bucketsByTier(),
      monthByTier: copyByTier(this.monthByTier),
      monthByModel,
      monthByClient,
      monthByDay,
      openReservedUsd,
      openReservedByTierUsd,
    };
  }
}
