import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TierName } from '../tiers';
import type { MonthSpend, OpenReservation } from './aggregate';
import { LedgerCalendar, MONTH_KEY_PATTERN } from './calendar';
import { encodeRecord } from './codec';
import { LedgerError } from './errors';
import { DEFAULT_LOCK_TIMING, withFileLock, type LockTiming } from './lock';
import { MonthFile } from './monthFile';
import { LOCAL_HOST, ProcessLiveness } from './processes';
import {
  LEDGER_RECORD_VERSION,
  type CallRecord,
  type DecisionRecord,
  type LedgerRecord,
  type ReleaseRecord,
  type ReserveRecord,
  type SpendTotals,
} from './records';
import { watchSignature, type Disposer } from './watch';

/**
 * How long an unsettled reservation counts against the caps. Longer than any call with its retries; a process
 * that dies stops counting sooner, because reservations of dead pids are dropped.
 */
export const DEFAULT_RESERVATION_TTL_MS = 10 * 60_000;

const MONTH_FILE_PATTERN = /^(\d{4}-\d{2})\.jsonl$/;
const LOCK_FILE_NAME = 'ledger.lock';

/** The per-user folder every VS Code window, the CLI and the gateway share. */
export function defaultLedgerDir(): string {
  return join(homedir(), '.tierwise', 'ledger');
}

export function monthFileName(month: string): string {
  return `${month}.jsonl`;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A record to append; `v` and `ts` (the ledger's clock) are filled in when absent. */
export type LedgerRecordInput = DistributiveOmit<LedgerRecord, 'v' | 'ts'> & {
  v?: typeof LEDGER_RECORD_VERSION;
  ts?: number;
};

export interface LedgerOptions {
  dir: string;
  /** Clock, epoch milliseconds. Tests move it across days and months. */
  now?: () => number;
  /** IANA time zone for days and months; defaults to the process's local zone. */
  timeZone?: string;
  /** Recorded in reserve records; defaults to this process. */
  pid?: number;
  reservationTtlMs?: number;
  lock?: Partial<LockTiming>;
  /** Keep a sidecar snapshot per month so a cold start does not parse the whole month; default true. */
  snapshots?: boolean;
}

export interface ReserveRequest {
  requestId: string;
  tier: TierName;
  /** Worst-case cost of the call, held against the caps until it settles. */
  amountUsd: number;
  ttlMs?: number;
}

/** A reservation is its reserve record: `reservationId` settles or releases it, `expiresAt` ends it. */
export type Reservation = ReserveRecord;

/** Returns undefined to allow the reservation, or why not (handed back as `refusal`). */
export type ReservationCheck<Refusal> = (freshTotals: SpendTotals) => Refusal | undefined;

export type ReserveOutcome<Refusal> =
  | { ok: true; reservation: Reservation; totals: SpendTotals }
  | { ok: false; refusal: Refusal; totals: SpendTotals };

/** Fields a call must match exactly to be listed. */
export type CallFilter = Partial<
  Pick<CallRecord, 'requestId' | 'task' | 'tier' | 'provider' | 'model' | 'client' | 'outcome' | 'reservationId'>
>;

/**
 * The append-only spend ledger: one JSON-lines file per local calendar month in a folder shared by every process.
 * Each record is one `write` to a file opened for appending, so concurrent writers never interleave within a
 * record; totals are kept in memory and brought up to date by reading only the bytes appended since last time.
 */
export class Ledger {
  readonly dir: string;
  private readonly now: () => number;
  private readonly calendar: LedgerCalendar;
  private readonly pid: number;
  private readonly reservationTtlMs: number;
  private readonly lockTiming: LockTiming;
  private readonly liveness = new ProcessLiveness();
  private readonly monthFiles = new Map<string, MonthFile>();
  private currentMonth: string | undefined;
  private readonly watchers = new Set<Disposer>();
  private readonly useSnapshots: boolean;
  private dirReady = false;
  private readonly appendFile = new AppendFile();

  constructor(options: LedgerOptions) {
    this.dir = options.dir;
    this.now = options.now ?? Date.now;
    this.calendar = new LedgerCalendar(options.timeZone);
    this.pid = options.pid ?? process.pid;
    this.reservationTtlMs = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
    this.lockTiming = { ...DEFAULT_LOCK_TIMING, ...options.lock };
    this.useSnapshots = options.snapshots ?? true;
  }

  /** The file holding a month's records, `YYYY-MM.jsonl`. */
  monthPath(month: string): string {
    return join(this.dir, monthFileName(month));
  }

  /** Local day (`YYYY-MM-DD`) of a time on the ledger's calendar. */
  dayOf(epochMs: number): string {
    return this.calendar.dayOf(epochMs);
  }

  /**
   * Appends one record to the file of its month, as a single write to a file opened with O_APPEND, so records
   * from concurrent processes never interleave. Throws LedgerError('writeFailed') when the disk refuses.
   */
  append(input: LedgerRecordInput): LedgerRecord {
    return this.appendAll([input])[0];
  }

  /**
   * Appends records together: one write per month they fall in (normally one), so a decision and its call cost
   * one system call, and no other process's record lands between them.
   */
  appendAll(inputs: readonly LedgerRecordInput[]): LedgerRecord[] {
    const records = inputs.map((input) => ({ ...input, v: LEDGER_RECORD_VERSION, ts: input.ts ?? this.now() }) as LedgerRecord);
    const byPath = new Map<string, string>();
    for (const record of records) {
      const path = this.monthPath(this.calendar.monthOf(record.ts));
      byPath.set(path, (byPath.get(path) ?? '') + encodeRecord(record));
    }
    for (const [path, text] of byPath) this.appendFile.write(path, Buffer.from(text, 'utf8'), () => this.ensureDir());
    return records;
  }

  /**
   * Holds `amountUsd` against the caps if `check` allows it. Atomic across processes: under the ledger lock the
   * totals are brought up to date (with every process's open reservations), checked, and only then is the
   * reservation appended. Settle it by appending the call record with its `reservationId`, or `release` it.
   */
  async reserve<Refusal>(
    request: ReserveRequest,
    check: ReservationCheck<Refusal>,
  ): Promise<ReserveOutcome<Refusal>> {
    this.ensureDir();
    return withFileLock(join(this.dir, LOCK_FILE_NAME), this.lockTiming, () => {
      const totals = this.totals();
      const refusal = check(totals);
      if (refusal !== undefined) return { ok: false, refusal, totals };
      const ts = this.now();
      const record: ReserveRecord = {
        v: LEDGER_RECORD_VERSION,
        ts,
        type: 'reserve',
        reservationId: randomUUID(),
        requestId: request.requestId,
        tier: request.tier,
        amountUsd: request.amountUsd,
        pid: this.pid,
        host: LOCAL_HOST,
        expiresAt: ts + (request.ttlMs ?? this.reservationTtlMs),
      };
      this.append(record);
      return { ok: true, reservation: record, totals };
    });
  }

  /** Gives a reservation back without a billed call (the call never left, or was refused). */
  release(reservationId: string): ReleaseRecord {
    return this.append({ type: 'release', reservationId }) as ReleaseRecord;
  }

  /** Spend for today and this month (local calendar), with open reservations; reads only newly appended bytes. */
  totals(): SpendTotals {
    const nowMs = this.now();
    const day = this.calendar.dayOf(nowMs);
    const file = this.currentMonthFile(day.slice(0, 7), nowMs);
    file.refresh();
    return file.spend.totals(day, nowMs, this.holderAlive);
  }

  /** Totals of any month (`YYYY-MM`), e.g. a past one; `today` is today's bucket, empty for another month. */
  monthTotals(month: string): SpendTotals {
    if (!MONTH_KEY_PATTERN.test(month)) {
      throw new LedgerError('badMonth', `"${month}" is not a month; expected YYYY-MM, e.g. 2026-10.`, this.dir);
    }
    const nowMs = this.now();
    const day = this.calendar.dayOf(nowMs);
    if (month === day.slice(0, 7)) return this.totals();
    const file = this.monthFile(month);
    file.refresh();
    return file.spend.totals(day, nowMs, this.holderAlive);
  }

  /** Months that have a ledger file, oldest first. */
  months(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .map((name) => MONTH_FILE_PATTERN.exec(name)?.[1])
      .filter((month): month is string => month !== undefined)
      .sort();
  }

  /** This month's most recent calls, newest first (from a bounded in-memory buffer). */
  recentCalls(limit: number, filter?: CallFilter): CallRecord[] {
    const spend = this.refreshedCurrent();
    const entries = filter ? Object.entries(filter).filter(([, value]) => value !== undefined) : [];
    const matches =
      entries.length === 0
        ? undefined
        : (call: CallRecord) => entries.every(([key, value]) => call[key as keyof CallRecord] === value);
    return spend.recentCalls.newest(limit, matches);
  }

  /** This month's most recent routing decisions, newest first. */
  recentDecisions(limit: number): DecisionRecord[] {
    return this.refreshedCurrent().recentDecisions.newest(limit);
  }

  /**
   * Calls `onChange` (debounced) when any process appends to the current month, or the day changes, so a status
   * bar can follow other windows within a second. Dispose the result to stop.
   */
  watch(onChange: () => void): Disposer {
    this.ensureDir();
    const signature = (): string => {
      const nowMs = this.now();
      const day = this.calendar.dayOf(nowMs);
      return `${day}|${fileSignature(this.monthPath(day.slice(0, 7)))}`;
    };
    const watcher = watchSignature(this.dir, signature, onChange, (name) => name.endsWith('.jsonl'));
    const disposer: Disposer = {
      dispose: () => {
        watcher.dispose();
        this.watchers.delete(disposer);
      },
    };
    this.watchers.add(disposer);
    return disposer;
  }

  /** Stops every watch and drops the in-memory totals (the files stay). */
  close(): void {
    this.appendFile.close();
    for (const watcher of [...this.watchers]) watcher.dispose();
    this.monthFiles.clear();
    this.currentMonth = undefined;
  }

  /** Test and diagnostics hook: unreadable stretches skipped in the current month so far. */
  skippedStretches(): number {
    const month = this.calendar.monthOf(this.now());
    return this.monthFiles.get(month)?.skippedStretches ?? 0;
  }

  private readonly holderAlive = (reservation: OpenReservation): boolean =>
    (reservation.host !== undefined && reservation.host !== LOCAL_HOST) || this.liveness.isAlive(reservation.pid);

  private refreshedCurrent(): MonthSpend {
    const nowMs = this.now();
    const file = this.currentMonthFile(this.calendar.monthOf(nowMs), nowMs);
    file.refresh();
    return file.spend;
  }

  private currentMonthFile(month: string, nowMs: number): MonthFile {
    if (month === this.currentMonth) return this.monthFile(month);
    const previous = this.currentMonth === undefined ? undefined : this.monthFiles.get(this.currentMonth);
    const file = this.monthFile(month);
    if (previous && previous.month < month) {
      // A reservation taken just before midnight on the last day is settled in the new month's file.
      previous.refresh();
      file.spend.adoptOpenReservations(previous.spend, nowMs);
      // Past months are read again only on request.
      this.monthFiles.delete(previous.month);
    }
    this.currentMonth = month;
    return file;
  }

  private monthFile(month: string): MonthFile {
    let file = this.monthFiles.get(month);
    if (!file) {
      file = new MonthFile(this.monthPath(month), month, this.calendar, this.useSnapshots);
      this.monthFiles.set(month, file);
    }
    return file;
  }

  private ensureDir(): void {
    if (this.dirReady) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.dirReady = true;
  }
}

/**
 * The month file held open for appending (O_APPEND: every write lands at the end, whatever other processes
 * wrote). Opening and closing it per record cost more than the write itself. Before each write an fstat checks
 * the file is still linked: if the file or its folder was deleted (someone cleared their spend history), it is
 * created again rather than written into a file nobody can read.
 */
class AppendFile {
  private path: string | undefined;
  private fd: number | undefined;

  write(path: string, bytes: Buffer, ensureDir: () => void): void {
    let fd: number;
    try {
      fd = this.open(path, ensureDir);
    } catch (error) {
      throw writeFailed(path, error);
    }
    try {
      let written = 0;
      // A short write (disk full, signal) is continued, never dropped.
      while (written < bytes.length) {
        const count = writeSync(fd, bytes, written, bytes.length - written);
        if (count <= 0) throw new Error(`write returned ${count}`);
        written += count;
      }
    } catch (error) {
      this.close();
      throw writeFailed(path, error);
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed: nothing to release
      }
    }
    this.fd = undefined;
    this.path = undefined;
  }

  private open(path: string, ensureDir: () => void): number {
    if (this.fd !== undefined && this.path === path && fstatSync(this.fd).nlink > 0) return this.fd;
    this.close();
    this.fd = openAppend(path, ensureDir);
    this.path = path;
    return this.fd;
  }
}

function openAppend(path: string, ensureDir: () => void): number {
  ensureDir();
  try {
    return openSync(path, 'a', 0o600);
  } catch (error) {
    // The folder was removed while running (someone cleared their spend history): recreate it.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    return openSync(path, 'a', 0o600);
  }
}

function writeFailed(path: string, cause: unknown): LedgerError {
  const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
  return new LedgerError('writeFailed', `Could not append to the spend ledger ${path} (${reason}).`, path, { cause });
}

function fileSignature(path: string): string {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}` : 'none';
}
