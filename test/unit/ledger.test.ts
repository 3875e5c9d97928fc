import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { benchCallRecord, syntheticMonth } from '../../extension/router/ledger/bench';
import { LedgerCalendar } from '../../extension/router/ledger/calendar';
import { RECORD_START_MARKER, encodeRecord, parseLine } from '../../extension/router/ledger/codec';
import { LedgerError } from '../../extension/router/ledger/errors';
import { Ledger, defaultLedgerDir, type LedgerOptions } from '../../extension/router/ledger/ledger';
import type { CallRecord, DecisionRecord, LedgerRecord, ReserveRecord } from '../../extension/router/ledger/records';
import { naiveRecords, naiveTotals } from './helpers/ledgerChild';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tierwise-ledger-test-'));
  dirs.push(dir);
  return dir;
}

/** A settable clock. */
function clockAt(ms: number): { now: () => number; set(ms: number): void; advance(ms: number): void } {
  let current = ms;
  return { now: () => current, set: (value) => void (current = value), advance: (delta) => void (current += delta) };
}

function ledgerAt(clock: { now: () => number }, options: Partial<LedgerOptions> = {}): Ledger {
  return new Ledger({ dir: tempDir(), now: clock.now, timeZone: 'UTC', ...options });
}

function call(overrides: Partial<CallRecord> & { ts: number }): CallRecord {
  return { ...benchCallRecord('t', 0, overrides.ts), ...overrides };
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}

const OCT_15_NOON_UTC = Date.UTC(2026, 9, 15, 12);

describe('record lines', () => {
  test('every line starts with the version marker, whatever the key order', () => {
    const line = encodeRecord({ type: 'release', reservationId: 'r', ts: 1, v: 1 } as LedgerRecord);
    assert.ok(line.startsWith(RECORD_START_MARKER));
    assert.ok(line.endsWith('}\n'));
  });

  test('a torn fragment does not swallow the record that follows it on the same line', () => {
    const whole = encodeRecord(call({ ts: 5, requestId: 'after' })).trimEnd();
    const fragment = encodeRecord(call({ ts: 4, requestId: 'torn' })).slice(0, 60);
    const found: LedgerRecord[] = [];
    const skipped = parseLine(fragment + whole, (record) => found.push(record));
    assert.deepEqual(found.map((record) => (record as CallRecord).requestId), ['after']);
    assert.equal(skipped, 1);
  });

  test('a complete record that lost its newline, then another record, yields both', () => {
    const first = encodeRecord(call({ ts: 4, requestId: 'first' })).trimEnd();
    const second = encodeRecord(call({ ts: 5, requestId: 'second' })).trimEnd();
    const found: LedgerRecord[] = [];
    assert.equal(parseLine(first + second, (record) => found.push(record)), 0);
    assert.deepEqual(found.map((record) => (record as CallRecord).requestId), ['first', 'second']);
  });

  test('garbage without a marker is skipped; a nested object shaped like the marker does not split a record', () => {
    const found: LedgerRecord[] = [];
    assert.equal(parseLine('not a record', (record) => found.push(record)), 1);
    const nested = JSON.stringify({ v: 1, ts: 1, type: 'release', reservationId: 'r', extra: { v: 1, x: 2 } });
    assert.equal(parseLine(`{"v":1,"ty${nested}`, (record) => found.push(record)), 1);
    assert.equal(found.length, 1);
  });
});

describe('totals', () => {
  test('sum calls by day, month, tier and model; today follows the clock', () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock);
    const yesterday = OCT_15_NOON_UTC - 86_400_000;
    ledger.append(call({ ts: yesterday, tier: 'mid', model: 'claude-haiku-4-5', costUsd: 0.5, frontierCostUsd: 2 }));
    ledger.append(call({ ts: OCT_15_NOON_UTC - 1000, tier: 'frontier', model: 'gpt-5', costUsd: 1.25, unpriced: true }));
    ledger.append(call({ ts: OCT_15_NOON_UTC - 500, tier: 'local', costUsd: 0, inputTokens: 700, outputTokens: 30 }));
    ledger.append({
      type: 'decision', requestId: 'd', task: 'plan', tier: 'frontier', provider: 'openai', model: 'gpt-5',
      reason: 'route', estInputTokens: 10, reservedUsd: 1, client: 'cli',
    });

    const totals = ledger.totals();
    assert.equal(totals.day, '2026-10-15');
    assert.equal(totals.month, '2026-10');
    assert.equal(totals.today.calls, 2);
    assert.equal(totals.today.costUsd, 1.25);
    assert.equal(totals.today.unpricedCalls, 1);
    assert.equal(totals.thisMonth.calls, 3);
    assert.equal(totals.thisMonth.costUsd, 1.75);
    assert.equal(totals.todayByTier.mid.calls, 0);
    assert.equal(totals.monthByTier.mid.costUsd, 0.5);
    assert.equal(totals.monthByTier.frontier.costUsd, 1.25);
    assert.equal(totals.todayByTier.local.inputTokens, 700);
    assert.deepEqual(Object.keys(totals.monthByDay).sort(), ['2026-10-14', '2026-10-15']);
    assert.equal(totals.monthByModel['claude-haiku-4-5']!.frontierCostUsd, 2);

    clock.advance(12 * 3600_000); // past midnight UTC: today starts empty, the month keeps everything
    const tomorrow = ledger.totals();
    assert.equal(tomorrow.day, '2026-10-16');
    assert.equal(tomorrow.today.calls, 0);
    assert.equal(tomorrow.todayByTier.frontier.calls, 0);
    assert.equal(tomorrow.thisMonth.calls, 3);
  });

  test('totals are copies: changing them does not change the ledger', () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock);
    ledger.append(call({ ts: OCT_15_NOON_UTC, costUsd: 1 }));
    const first = ledger.totals();
    first.thisMonth.costUsd = 99;
    first.monthByTier.local.costUsd = 99;
    assert.equal(ledger.totals().thisMonth.costUsd, 1);
    assert.equal(ledger.totals().monthByTier.local.costUsd, 1);
  });

  test('reads only what was appended since, and leaves a half-written last line for later', () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock);
    const path = ledger.monthPath('2026-10');
    ledger.append(call({ ts: OCT_15_NOON_UTC, costUsd: 1 }));
    assert.equal(ledger.totals().thisMonth.calls, 1);

    const line = encodeRecord(call({ ts: OCT_15_NOON_UTC, costUsd: 2 }));
    appendFileSync(path, line.slice(0, 100)); // another process is in the middle of writing this
    assert.equal(ledger.totals().thisMonth.calls, 1);
    appendFileSync(path, line.slice(100));
    assert.equal(ledger.totals().thisMonth.costUsd, 3);
    assert.equal(ledger.skippedStretches(), 0);
  });

  test('a torn line in the middle of a month is skipped, and the records around it count', () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock);
    const path = ledger.monthPath('2026-10');
    ledger.append(call({ ts: OCT_15_NOON_UTC, requestId: 'a', costUsd: 1 }));
    // A writer killed mid-record: a fragment without newline, then the next writer's records.
    appendFileSync(path, encodeRecord(call({ ts: OCT_15_NOON_UTC, requestId: 'torn', costUsd: 50 })).slice(0, 77));
    ledger.append(call({ ts: OCT_15_NOON_UTC, requestId: 'b', costUsd: 2 }));
    // And a torn fragment that did get a newline.
    appendFileSync(path, `${RECORD_START_MARKER}"type":"call","costUsd":\n`);
    ledger.append(call({ ts: OCT_15_NOON_UTC, requestId: 'c', costUsd: 4 }));

    const totals = ledger.totals();
    assert.equal(totals.thisMonth.calls, 3);
    assert.equal(totals.thisMonth.costUsd, 7);
    assert.equal(ledger.skippedStretches(), 2);
    assert.deepEqual(ledger.recentCalls(10).map((c) => c.requestId), ['c', 'b', 'a']);
    const independent = naiveTotals(naiveRecords(readFileSync(path, 'utf8')), clock.now(), 'UTC');
    assert.equal(independent.monthUsd, totals.thisMonth.costUsd);
  });

  test('the folder removed while its month file is held open is created again on the next append', () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock, { snapshots: false });
    ledger.append(call({ ts: OCT_15_NOON_UTC, costUsd: 1 }));
    rmSync(ledger.dir, { recursive: true, force: true });
    ledger.append(call({ ts: OCT_15_NOON_UTC, costUsd: 2 }));
    const lines = readFileSync(ledger.monthPath('2026-10'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 1, 'the record went to a file that can be read, not to the deleted one');
    assert.equal(ledger.totals().thisMonth.costUsd, 2);
  });

  test('appendAll writes records in order, each to its own month', () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock, { snapshots: false });
    const september = Date.UTC(2026, 8, 30, 12);
    ledger.appendAll([call({ ts: OCT_15_NOON_UTC, costUsd: 1, requestId: 'a' }), call({ ts: september, costUsd: 2, requestId: 'b' }), call({ ts: OCT_15_NOON_UTC, costUsd: 3, requestId: 'c' })]);
    const ids = (month: string) => naiveRecords(readFileSync(ledger.monthPath(month), 'utf8')).map((record) => (record as CallRecord).requestId);
    assert.deepEqual(ids('2026-10'), ['a', 'c']);
    assert.deepEqual(ids('2026-09'), ['b']);
    assert.equal(ledger.totals().thisMonth.costUsd, 4);
  });

  test('a file replaced under the same name is read from the start', () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock, { snapshots: false });
    ledger.append(call({ ts: OCT_15_NOON_UTC, costUsd: 1 }));
    ledger.append(call({ ts: OCT_15_NOON_UTC, costUsd: 1 }));
    assert.equal(ledger.totals().thisMonth.calls, 2);
    unlinkSync(ledger.monthPath('2026-10'));
    assert.equal(ledger.totals().thisMonth.calls, 0);
    ledger.append(call({ ts: OCT_15_NOON_UTC, costUsd: 5 }));
    assert.equal(ledger.totals().thisMonth.costUsd, 5);
  });

  test('monthTotals reads any month; a bad month name is an error naming the format', () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock);
    ledger.append(call({ ts: Date.UTC(2026, 8, 3), costUsd: 3 }));
    assert.equal(ledger.monthTotals('2026-09').thisMonth.costUsd, 3);
    assert.equal(ledger.monthTotals('2026-09').today.calls, 0);
    assert.equal(ledger.totals().thisMonth.calls, 0);
    assert.deepEqual(ledger.months(), ['2026-09']);
    assert.throws(() => ledger.monthTotals('2026-9'), (error: unknown) => error instanceof LedgerError && error.kind === 'badMonth');
  });

  test('the default folder is per user', () => {
    assert.ok(defaultLedgerDir().endsWith(join('.tierwise', 'ledger')));
  });
});

describe('reservations', () => {
  test('a reservation counts until its call settles it, or it is released', async () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock);
    const first = await ledger.reserve({ requestId: 'r1', tier: 'frontier', amountUsd: 0.4 }, () => undefined);
    const second = await ledger.reserve({ requestId: 'r2', tier: 'mid', amountUsd: 0.1 }, () => undefined);
    assert.ok(first.ok && second.ok);
    let totals = ledger.totals();
    assert.equal(totals.openReservedUsd, 0.5);
    assert.equal(totals.openReservedByTierUsd.frontier, 0.4);

    ledger.append(call({ ts: clock.now(), tier: 'frontier', reservationId: first.reservation.reservationId, costUsd: 0.3 }));
    totals = ledger.totals();
    assert.equal(totals.openReservedUsd, 0.1);
    assert.equal(totals.today.costUsd, 0.3);

    ledger.release(second.reservation.reservationId);
    assert.equal(ledger.totals().openReservedUsd, 0);
  });

  test('a refusal appends nothing and is handed back with the totals it was based on', async () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock);
    ledger.append(call({ ts: clock.now(), costUsd: 0.9 }));
    const outcome = await ledger.reserve({ requestId: 'r', tier: 'mid', amountUsd: 0.2 }, (fresh) =>
      fresh.today.costUsd + fresh.openReservedUsd + 0.2 > 1 ? { capUsd: 1, spentUsd: fresh.today.costUsd } : undefined,
    );
    assert.deepEqual(outcome.ok ? undefined : outcome.refusal, { capUsd: 1, spentUsd: 0.9 });
    assert.equal(outcome.totals.today.costUsd, 0.9);
    assert.equal(ledger.totals().openReservedUsd, 0);
    assert.equal(readFileSync(ledger.monthPath('2026-10'), 'utf8').split('\n').length, 2);
  });

  test('an expired reservation stops counting', async () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock, { reservationTtlMs: 60_000 });
    const outcome = await ledger.reserve({ requestId: 'r', tier: 'mid', amountUsd: 1 }, () => undefined);
    assert.ok(outcome.ok);
    assert.equal(outcome.reservation.expiresAt, OCT_15_NOON_UTC + 60_000);
    clock.advance(59_999);
    assert.equal(ledger.totals().openReservedUsd, 1);
    clock.advance(1);
    assert.equal(ledger.totals().openReservedUsd, 0);
    // Another process reading cold agrees.
    assert.equal(new Ledger({ dir: ledger.dir, now: clock.now, timeZone: 'UTC' }).totals().openReservedUsd, 0);
  });

  test("a dead process's reservation stops counting; another host's is left to expire", () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock);
    const reserve = (reservationId: string, pid: number, host?: string): ReserveRecord => ({
      v: 1, ts: clock.now(), type: 'reserve', reservationId, requestId: reservationId, tier: 'mid', amountUsd: 1,
      pid, ...(host ? { host } : {}), expiresAt: clock.now() + 60_000,
    });
    ledger.append(reserve('dead-here', deadPid()));
    ledger.append(reserve('alive-here', process.pid));
    ledger.append(reserve('elsewhere', deadPid(), 'another-machine.example'));
    assert.equal(ledger.totals().openReservedUsd, 2);
  });

  test('a reservation taken before midnight on the last day still counts after the month changes', async () => {
    const clock = clockAt(Date.UTC(2026, 9, 31, 23, 59, 30));
    const ledger = ledgerAt(clock);
    const outcome = await ledger.reserve({ requestId: 'r', tier: 'mid', amountUsd: 0.7 }, () => undefined);
    assert.ok(outcome.ok);
    clock.set(Date.UTC(2026, 10, 1, 0, 0, 30));
    assert.equal(ledger.totals().month, '2026-11');
    assert.equal(ledger.totals().openReservedUsd, 0.7);
    ledger.append(call({ ts: clock.now(), reservationId: outcome.reservation.reservationId, costUsd: 0.5 }));
    const totals = ledger.totals();
    assert.equal(totals.openReservedUsd, 0);
    assert.equal(totals.thisMonth.costUsd, 0.5);
  });
});

describe('calendar', () => {
  const zone = 'America/New_York';
  const newYork = (iso: string) => new Date(iso).getTime();

  test('23:59 and 00:01 local are different days; the month boundary switches files', () => {
    const clock = clockAt(newYork('2026-10-30T23:59:00-04:00'));
    const ledger = ledgerAt(clock, { timeZone: zone });
    ledger.append(call({ ts: clock.now(), costUsd: 1 }));
    clock.set(newYork('2026-10-31T00:01:00-04:00'));
    ledger.append(call({ ts: clock.now(), costUsd: 2 }));
    let totals = ledger.totals();
    assert.equal(totals.day, '2026-10-31');
    assert.equal(totals.today.costUsd, 2);
    assert.deepEqual(totals.monthByDay['2026-10-30']?.costUsd, 1);
    assert.equal(totals.thisMonth.costUsd, 3);

    // 23:59 on the 31st in New York is already November in UTC; the file follows local time.
    clock.set(newYork('2026-10-31T23:59:00-04:00'));
    ledger.append(call({ ts: clock.now(), costUsd: 4 }));
    clock.set(newYork('2026-11-01T00:01:00-04:00'));
    ledger.append(call({ ts: clock.now(), costUsd: 8 }));
    totals = ledger.totals();
    assert.equal(totals.month, '2026-11');
    assert.equal(totals.day, '2026-11-01');
    assert.equal(totals.thisMonth.costUsd, 8);
    assert.equal(totals.today.costUsd, 8);
    assert.deepEqual(ledger.months(), ['2026-10', '2026-11']);
    assert.equal(ledger.monthTotals('2026-10').thisMonth.costUsd, 7);
    assert.equal(naiveRecords(readFileSync(ledger.monthPath('2026-11'), 'utf8')).length, 1);
  });

  test('the repeated hour when daylight saving ends stays on the same day', () => {
    // 1 November 2026: New York falls back from 02:00 EDT to 01:00 EST.
    const calendar = new LedgerCalendar(zone);
    assert.equal(calendar.dayOf(newYork('2026-11-01T01:30:00-04:00')), '2026-11-01');
    assert.equal(calendar.dayOf(newYork('2026-11-01T01:30:00-05:00')), '2026-11-01');
    assert.equal(calendar.dayOf(newYork('2026-11-01T23:59:59-05:00')), '2026-11-01');
    assert.equal(calendar.dayOf(newYork('2026-11-02T00:00:00-05:00')), '2026-11-02');
    assert.equal(new LedgerCalendar('Asia/Kathmandu').dayOf(Date.UTC(2026, 0, 1, 18, 14)), '2026-01-01');
    assert.equal(new LedgerCalendar('Asia/Kathmandu').dayOf(Date.UTC(2026, 0, 1, 18, 15)), '2026-01-02');
  });
});

describe('recent calls and decisions', () => {
  test('newest first, limited, filtered, from a bounded buffer', () => {
    const clock = clockAt(OCT_15_NOON_UTC);
    const ledger = ledgerAt(clock);
    for (let i = 0; i < 600; i++) {
      ledger.append(call({ ts: OCT_15_NOON_UTC + i, requestId: `c${i}`, tier: i % 2 ? 'mid' : 'local' }));
    }
    const decision: Omit<DecisionRecord, 'v' | 'ts'> = {
      type: 'decision', requestId: 'd1', task: 'ask', tier: 'mid', provider: 'openai', model: 'gpt-5-mini',
      reason: 'route', estInputTokens: 5, reservedUsd: 0.01, client: 'editor',
    };
    ledger.append(decision);
    ledger.append({ ...decision, requestId: 'd2' });

    assert.deepEqual(ledger.recentCalls(3).map((c) => c.requestId), ['c599', 'c598', 'c597']);
    assert.deepEqual(ledger.recentCalls(2, { tier: 'local' }).map((c) => c.requestId), ['c598', 'c596']);
    assert.equal(ledger.recentCalls(10_000).length, 500);
    assert.deepEqual(ledger.recentDecisions(5).map((d) => d.requestId), ['d2', 'd1']);
  });
});

describe('sidecar snapshot', () => {
  const monthStart = Date.UTC(2026, 9, 1);
  const now = Date.UTC(2026, 9, 20, 12);

  function writeMonth(dir: string, count: number): void {
    writeFileSync(join(dir, '2026-10.jsonl'), syntheticMonth(count, monthStart, now - monthStart - 1000).lines.join(''));
  }

  test('a cold start from the snapshot gives the same totals as reading the whole month', () => {
    const dir = tempDir();
    writeMonth(dir, 12_000);
    const options = { dir, now: () => now, timeZone: 'UTC' };
    const full = new Ledger({ ...options, snapshots: false }).totals();
    new Ledger(options).totals();
    assert.ok(existsSync(join(dir, '2026-10.snapshot.json')), 'a cold read of more than 2 MB writes a snapshot');
    appendFileSync(join(dir, '2026-10.jsonl'), encodeRecord(call({ ts: now - 10, costUsd: 0.25, model: 'after-snapshot' })));
    const fromSnapshot = new Ledger(options);
    const reread = new Ledger({ ...options, snapshots: false });
    assert.deepEqual(fromSnapshot.totals(), reread.totals());
    assert.equal(fromSnapshot.totals().thisMonth.calls, full.thisMonth.calls + 1);
    assert.deepEqual(fromSnapshot.recentCalls(500), reread.recentCalls(500));
    assert.deepEqual(fromSnapshot.recentDecisions(500), reread.recentDecisions(500));
  });

  test('a snapshot is ignored for a rewritten file or another time zone', () => {
    const dir = tempDir();
    writeMonth(dir, 12_000);
    new Ledger({ dir, now: () => now, timeZone: 'UTC' }).totals();
    assert.ok(existsSync(join(dir, '2026-10.snapshot.json')));

    const elsewhere = new Ledger({ dir, now: () => now, timeZone: 'Pacific/Kiritimati', snapshots: true }).totals();
    const elsewhereFull = new Ledger({ dir, now: () => now, timeZone: 'Pacific/Kiritimati', snapshots: false }).totals();
    assert.deepEqual(elsewhere, elsewhereFull);

    // Same size, same name, different content: a user restored an older copy.
    const path = join(dir, '2026-10.jsonl');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace(/"costUsd":0\.0(\d)/g, '"costUsd":0.1$1'));
    const rewritten = new Ledger({ dir, now: () => now, timeZone: 'UTC' }).totals();
    const rewrittenFull = new Ledger({ dir, now: () => now, timeZone: 'UTC', snapshots: false }).totals();
    assert.deepEqual(rewritten, rewrittenFull);
  });
});

describe('watch', () => {
  test('notifies within a second when another ledger appends, and stops when disposed', async () => {
    const dir = tempDir();
    const reader = new Ledger({ dir });
    const writer = new Ledger({ dir });
    let notified = 0;
    const watching = reader.watch(() => notified++);
    const started = Date.now();
    writer.append(call({ ts: Date.now(), costUsd: 1 }));
    while (notified === 0 && Date.now() - started < 1500) await new Promise((resolve) => setTimeout(resolve, 10));
    const elapsed = Date.now() - started;
    assert.equal(notified, 1, 'one notification');
    assert.ok(elapsed < 1000, `notified after ${elapsed} ms`);
    assert.equal(reader.totals().thisMonth.costUsd, 1);

    watching.dispose();
    writer.append(call({ ts: Date.now(), costUsd: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 900));
    assert.equal(notified, 1);
    reader.close();
  });
});

describe('spend by client', () => {
  test('splits the month by who made the call: editor, CLI, agent clients through the gateway', () => {
    const clock = clockAt(Date.UTC(2026, 10, 24, 12));
    const ledger = ledgerAt(clock, { snapshots: false });
    ledger.append(call({ ts: clock.now(), client: 'editor', costUsd: 0.1 }));
    ledger.append(call({ ts: clock.now(), client: 'claude-code', costUsd: 0.25 }));
    ledger.append(call({ ts: clock.now(), client: 'claude-code', costUsd: 0.5 }));
    ledger.append(call({ ts: clock.now(), client: 'codex', costUsd: 0.05 }));
    const { monthByClient, thisMonth } = ledger.totals();
    assert.deepEqual(
      Object.fromEntries(Object.entries(monthByClient).map(([client, bucket]) => [client, [bucket.calls, bucket.costUsd]])),
      { editor: [1, 0.1], 'claude-code': [2, 0.75], codex: [1, 0.05] },
    );
    assert.equal(thisMonth.calls, 4);
    ledger.close();
  });
});
