/**
 * Child processes for the ledger tests: `node --import tsx test/unit/helpers/ledgerChild.ts MODE --dir DIR …`.
 *
 *   append-loop  --tag T [--big-every K --big-bytes B]
 *                                          append forever (every Kth record B bytes) until killed; `ready` after the first
 *   die-mid-record --tag T --records N     append N records, write half of one more, SIGKILL itself
 *   append       --tag T --records N       wait for a line on stdin, append N records, print a JSON summary
 *   reserve-calls --tag T --calls N --cap USD --worst USD --seed S --spread-ms MS [--check-spin-ms MS]
 *                                          wait for a line on stdin, run N concurrent calls that each reserve
 *                                          the worst case under a daily cap, wait, then settle for less
 *   hold                                   print `ready` and stay alive (a live process that is not the test)
 *   at-times     --times T1,T2,…           append one call at each epoch-ms time (process time zone), print totals
 *
 * Imported (not run), it gives the tests an independent reader to check the ledger against.
 */
import { openSync, realpathSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { benchCallRecord } from '../../../extension/router/ledger/bench';
import { encodeRecord } from '../../../extension/router/ledger/codec';
import { Ledger } from '../../../extension/router/ledger/ledger';
import type { CallRecord, LedgerRecord } from '../../../extension/router/ledger/records';

const [mode, ...args] = process.argv.slice(2);

function option(name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

function required(name: string): string {
  const value = option(name);
  if (value === undefined) throw new Error(`ledgerChild ${mode} needs --${name}`);
  return value;
}

function waitForLine(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  return new Promise((resolve) =>
    lines.once('line', () => {
      lines.close();
      resolve();
    }),
  );
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A call record whose detail is `detailBytes` long: big writes span pages, so SIGKILL can cut them short. */
function sizedCall(tag: string, sequence: number, detailBytes: number): CallRecord {
  const record = benchCallRecord(tag, sequence, Date.now());
  return detailBytes > 0 ? { ...record, detail: 'x'.repeat(detailBytes) } : record;
}

async function main(): Promise<void> {
  const ledger = new Ledger({ dir: required('dir') });
  switch (mode) {
    case 'append-loop': {
      const tag = required('tag');
      const bigEvery = Number(option('big-every') ?? '0');
      const bigBytes = Number(option('big-bytes') ?? String(1 << 20));
      for (let sequence = 0; ; sequence++) {
        ledger.append(sizedCall(tag, sequence, bigEvery > 0 && sequence % bigEvery === bigEvery - 1 ? bigBytes : 0));
        if (sequence === 0) process.stdout.write('ready\n');
        // Pause now and then: stdout gets flushed, and the file stays a few megabytes before the kill.
        if (sequence % 20 === 0) await sleep(1);
      }
    }
    case 'die-mid-record': {
      // What a kill in the middle of a write leaves: the first part of a record, no newline, and no chance to finish.
      const tag = required('tag');
      const records = Number(required('records'));
      for (let sequence = 0; sequence < records; sequence++) ledger.append(benchCallRecord(tag, sequence, Date.now()));
      const line = encodeRecord(benchCallRecord(tag, records, Date.now()));
      const fd = openSync(ledger.monthPath(ledger.dayOf(Date.now()).slice(0, 7)), 'a');
      writeSync(fd, line.slice(0, Math.floor(line.length / 2)));
      process.kill(process.pid, 'SIGKILL');
      return new Promise<void>(() => {});
    }
    case 'append': {
      const tag = required('tag');
      const records = Number(required('records'));
      process.stdout.write('ready\n');
      await waitForLine();
      for (let sequence = 0; sequence < records; sequence++) ledger.append(benchCallRecord(tag, sequence, Date.now()));
      process.stdout.write(`${JSON.stringify({ tag, appended: records })}\n`);
      return;
    }
    case 'reserve-calls': {
      const tag = required('tag');
      const calls = Number(required('calls'));
      const capUsd = Number(required('cap'));
      const worstUsd = Number(required('worst'));
      const spreadMs = Number(required('spread-ms'));
      const checkSpinMs = Number(option('check-spin-ms') ?? '0');
      const next = random(Number(required('seed')));
      process.stdout.write('ready\n');
      await waitForLine();
      let reserved = 0;
      let refused = 0;
      let settledUsd = 0;
      let overCapSeen = 0;
      await Promise.all(
        Array.from({ length: calls }, async (_, index) => {
          await sleep(next() * spreadMs);
          const outcome = await ledger.reserve(
            { requestId: `${tag}-${index}`, tier: 'mid', amountUsd: worstUsd },
            (fresh) => {
              // A slow check widens the window in which an unlocked reserve would let two processes both pass.
              const spinUntil = Date.now() + checkSpinMs;
              while (Date.now() < spinUntil);
              const committedUsd = fresh.today.costUsd + fresh.openReservedUsd;
              if (committedUsd > capUsd + 1e-9) overCapSeen++;
              return committedUsd + worstUsd > capUsd + 1e-9 ? { committedUsd } : undefined;
            },
          );
          if (!outcome.ok) {
            refused++;
            return;
          }
          reserved++;
          await sleep(1 + next() * 20);
          const costUsd = Math.round(worstUsd * (0.6 + 0.4 * next()) * 1e6) / 1e6;
          ledger.append({
            ...benchCallRecord(tag, index, Date.now()),
            tier: 'mid',
            reservationId: outcome.reservation.reservationId,
            costUsd,
          });
          settledUsd += costUsd;
        }),
      );
      process.stdout.write(`${JSON.stringify({ tag, reserved, refused, settledUsd, overCapSeen })}\n`);
      return;
    }
    case 'hold':
      process.stdout.write('ready\n');
      setInterval(() => {}, 1 << 30);
      return new Promise<void>(() => {});
    case 'at-times': {
      const times = required('times').split(',').map(Number);
      for (const [index, ts] of times.entries()) ledger.append({ ...benchCallRecord('tz', index, ts), costUsd: 1 });
      const last = times[times.length - 1]!;
      const totals = new Ledger({ dir: required('dir'), now: () => last }).totals();
      process.stdout.write(`${JSON.stringify({ days: times.map((ts) => ledger.dayOf(ts)), months: ledger.months(), totals })}\n`);
      return;
    }
    default:
      throw new Error(`unknown ledgerChild mode ${mode}`);
  }
}

/**
 * The tests' own reader, written independently of the ledger's: records are the complete lines (up to the last
 * newline) that parse, and in a line that does not, the shortest stretches between record starts that parse.
 */
export function naiveRecords(text: string): LedgerRecord[] {
  const records: LedgerRecord[] = [];
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    if (line === '') continue;
    try {
      records.push(JSON.parse(line) as LedgerRecord);
      continue;
    } catch {
      // torn: below
    }
    const starts = [...line.matchAll(/\{"v":1,/g)].map((match) => match.index!);
    const ends = [...starts.slice(1), line.length];
    for (let i = 0; i < starts.length; i++) {
      for (let j = i; j < ends.length; j++) {
        try {
          records.push(JSON.parse(line.slice(starts[i], ends[j])) as LedgerRecord);
          i = j;
          break;
        } catch {
          // try a longer stretch
        }
      }
    }
  }
  return records;
}

export interface NaiveTotals {
  todayUsd: number;
  todayCalls: number;
  monthUsd: number;
  monthCalls: number;
  monthFrontierUsd: number;
  monthInputTokens: number;
  monthOutputTokens: number;
  monthUnpricedCalls: number;
  byTierUsd: Record<string, number>;
  byModelUsd: Record<string, number>;
  byDayUsd: Record<string, number>;
  openReservedUsd: number;
}

/** Sums call records naively; days come from Intl in `timeZone`, not from the ledger's calendar. */
export function naiveTotals(records: LedgerRecord[], nowMs: number, timeZone?: string): NaiveTotals {
  const format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const dayOf = (ts: number) => format.format(ts);
  const today = dayOf(nowMs);
  const totals: NaiveTotals = {
    todayUsd: 0, todayCalls: 0, monthUsd: 0, monthCalls: 0, monthFrontierUsd: 0, monthInputTokens: 0,
    monthOutputTokens: 0, monthUnpricedCalls: 0, byTierUsd: {}, byModelUsd: {}, byDayUsd: {}, openReservedUsd: 0,
  };
  const open = new Map<string, number>();
  for (const record of records) {
    if (record.type === 'reserve' && record.expiresAt > nowMs) open.set(record.reservationId, record.amountUsd);
    if (record.type === 'release') open.delete(record.reservationId);
    if (record.type !== 'call') continue;
    if (record.reservationId) open.delete(record.reservationId);
    const day = dayOf(record.ts);
    totals.monthUsd += record.costUsd;
    totals.monthCalls++;
    totals.monthFrontierUsd += record.frontierCostUsd;
    totals.monthInputTokens += record.inputTokens;
    totals.monthOutputTokens += record.outputTokens;
    if (record.unpriced) totals.monthUnpricedCalls++;
    totals.byTierUsd[record.tier] = (totals.byTierUsd[record.tier] ?? 0) + record.costUsd;
    totals.byModelUsd[record.model] = (totals.byModelUsd[record.model] ?? 0) + record.costUsd;
    totals.byDayUsd[day] = (totals.byDayUsd[day] ?? 0) + record.costUsd;
    if (day === today) {
      totals.todayUsd += record.costUsd;
      totals.todayCalls++;
    }
  }
  for (const amount of open.values()) totals.openReservedUsd += amount;
  return totals;
}

// Run only as a script, so the tests can import the reader above.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(__filename)) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
