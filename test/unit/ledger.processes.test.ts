/**
 * The ledger shared by several processes: appenders killed mid-write, concurrent appenders, reservations racing
 * for the last dollar of a cap, abandoned locks, the process time zone, and watching another process append.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { benchCallRecord } from '../../extension/router/ledger/bench';
import { LedgerError } from '../../extension/router/ledger/errors';
import { Ledger } from '../../extension/router/ledger/ledger';
import type { CallRecord, LedgerRecord, SpendTotals } from '../../extension/router/ledger/records';
import { naiveRecords, naiveTotals } from './helpers/ledgerChild';

const REPO_ROOT = resolve(__dirname, '..', '..');
const CHILD_SCRIPT = join(REPO_ROOT, 'test', 'unit', 'helpers', 'ledgerChild.ts');

const dirs: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tierwise-ledger-proc-'));
  dirs.push(dir);
  return dir;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface Child {
  process: ChildProcessWithoutNullStreams;
  /** Resolves with the first output line that satisfies `match`. */
  line(match: (line: string) => boolean): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function startChild(mode: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, mode, ...args], { cwd: REPO_ROOT, env });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const seen: string[] = [];
  const waiting: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    seen.push(line);
    for (const waiter of waiting.filter((w) => w.match(line))) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((done) =>
    child.once('close', (code, signal) => done({ code, signal, stderr })),
  );
  return {
    process: child,
    exited,
    line: (match) =>
      new Promise((resolveLine, reject) => {
        const earlier = seen.find(match);
        if (earlier !== undefined) return resolveLine(earlier);
        waiting.push({ match, resolve: resolveLine });
        void exited.then(({ code, signal }) =>
          reject(new Error(`ledgerChild ${mode} ended (${code ?? signal}) before the expected line: ${stderr}`)),
        );
      }),
  };
}

const isJson = (line: string) => line.startsWith('{');

function readMonthFiles(dir: string): string {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .map((name) => readFileSync(join(dir, name), 'utf8'))
    .join('');
}

function callsOf(records: LedgerRecord[]): CallRecord[] {
  return records.filter((record): record is CallRecord => record.type === 'call');
}

function assertTotalsMatch(totals: SpendTotals, records: LedgerRecord[], nowMs: number): void {
  const naive = naiveTotals(records, nowMs);
  assert.equal(totals.thisMonth.calls, naive.monthCalls);
  assert.ok(Math.abs(totals.thisMonth.costUsd - naive.monthUsd) < 1e-9, `${totals.thisMonth.costUsd} vs ${naive.monthUsd}`);
  assert.equal(totals.today.calls, naive.todayCalls);
  assert.equal(totals.thisMonth.inputTokens, naive.monthInputTokens);
}

function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('a process killed while appending', () => {
  test('SIGKILL in an append loop: every complete record is readable and the totals add up', async (t) => {
    const dir = tempDir();
    const child = startChild('append-loop', ['--dir', dir, '--tag', 'k', '--big-every', '50', '--big-bytes', String(64 * 1024)]);
    await child.line((line) => line === 'ready');
    await sleep(150 + Math.random() * 150);
    child.process.kill('SIGKILL');
    const { signal } = await child.exited;
    assert.equal(signal, 'SIGKILL');

    const text = readMonthFiles(dir);
    const sequences = callsOf(naiveRecords(text)).map((call) => Number(call.requestId.slice(2)));
    assert.ok(sequences.length > 10, `the child appended ${sequences.length} records before it was killed`);
    // In file order, 0, 1, 2, … with no gap: nothing before the record being written was lost.
    sequences.forEach((sequence, index) => assert.equal(sequence, index));
    t.diagnostic(`${sequences.length} records, ${text.length} bytes, tail ${text.endsWith('\n') ? 'complete' : 'torn'}`);

    // The next writer's record lands after whatever the killed one left; it is found, nothing else is lost.
    const ledger = new Ledger({ dir });
    ledger.append(benchCallRecord('after', 0, Date.now()));
    const records = naiveRecords(readMonthFiles(dir));
    assert.equal(callsOf(records).length, sequences.length + 1);
    assert.equal(callsOf(records).at(-1)!.requestId, 'after-0');
    assertTotalsMatch(ledger.totals(), records, Date.now());
  });

  test('a record cut in half by a kill is skipped, and the next record on the same line is still read', async () => {
    const dir = tempDir();
    const child = startChild('die-mid-record', ['--dir', dir, '--tag', 'd', '--records', '20']);
    assert.equal((await child.exited).signal, 'SIGKILL');
    assert.ok(!readMonthFiles(dir).endsWith('\n'), 'the file ends in the torn half-record');

    const reader = new Ledger({ dir });
    assert.equal(reader.totals().thisMonth.calls, 20);
    const writer = new Ledger({ dir });
    writer.append(benchCallRecord('next', 0, Date.now()));
    writer.append(benchCallRecord('next', 1, Date.now()));
    const totals = reader.totals();
    assert.equal(totals.thisMonth.calls, 22);
    assert.equal(reader.skippedStretches(), 1);
    assert.deepEqual(reader.recentCalls(3).map((call) => call.requestId), ['next-1', 'next-0', 'd-19']);
    assertTotalsMatch(totals, naiveRecords(readMonthFiles(dir)), Date.now());
  });
});

describe('concurrent appenders', () => {
  test('3 processes × 4,000 records: nothing lost, nothing torn', async () => {
    const dir = tempDir();
    const perProcess = 4000;
    const appenders = ['a', 'b', 'c'].map((tag) => startChild('append', ['--dir', dir, '--tag', tag, '--records', String(perProcess)]));
    await Promise.all(appenders.map((child) => child.line((line) => line === 'ready')));
    for (const child of appenders) child.process.stdin.end('go\n');
    await Promise.all(appenders.map((child) => child.line(isJson)));

    const text = readMonthFiles(dir);
    const lines = text.split('\n').filter((line) => line !== '');
    const records = callsOf(naiveRecords(text));
    assert.equal(lines.length, 3 * perProcess, 'one line per record');
    assert.equal(records.length, 3 * perProcess, 'every line is a whole record');
    let expectedCostUsd = 0;
    for (const tag of ['a', 'b', 'c']) {
      const sequences = records.filter((call) => call.requestId.startsWith(`${tag}-`)).map((call) => Number(call.requestId.slice(2)));
      assert.deepEqual(sequences, Array.from({ length: perProcess }, (_, index) => index), `${tag}: each record once, in order`);
      for (let sequence = 0; sequence < perProcess; sequence++) expectedCostUsd += benchCallRecord(tag, sequence, 0).costUsd;
    }
    const totals = new Ledger({ dir }).totals();
    assert.equal(totals.thisMonth.calls, 3 * perProcess);
    assert.ok(Math.abs(totals.thisMonth.costUsd - expectedCostUsd) < 1e-9, 'checksum of costs');
    assertTotalsMatch(totals, records, Date.now());
  });
});

describe('reservations across processes', () => {
  test('100 calls over 3 processes against a daily cap: never over it, and most of it used', async (t) => {
    const dir = tempDir();
    const capUsd = 2;
    const worstUsd = 0.1;
    const callers = [34, 33, 33].map((calls, index) =>
      startChild('reserve-calls', [
        '--dir', dir, '--tag', `p${index}`, '--calls', String(calls), '--cap', String(capUsd),
        '--worst', String(worstUsd), '--seed', String(1000 + index), '--spread-ms', '300', '--check-spin-ms', '4',
      ]),
    );
    await Promise.all(callers.map((child) => child.line((line) => line === 'ready')));
    for (const child of callers) child.process.stdin.end('go\n');
    const summaries = await Promise.all(
      callers.map(async (child) => JSON.parse(await child.line(isJson)) as { reserved: number; refused: number; settledUsd: number; overCapSeen: number }),
    );

    const records = naiveRecords(readMonthFiles(dir));
    const settledUsd = callsOf(records).reduce((sum, call) => sum + call.costUsd, 0);
    t.diagnostic(`settled $${settledUsd.toFixed(4)} of a $${capUsd} cap; ${JSON.stringify(summaries)}`);
    assert.equal(summaries.reduce((sum, s) => sum + s.reserved + s.refused, 0), 100);
    assert.ok(summaries.every((s) => s.overCapSeen === 0), 'no check ever saw committed spend over the cap');
    assert.ok(settledUsd <= capUsd + 1e-9, `settled ${settledUsd} is within the cap`);
    assert.ok(settledUsd > 0.8 * capUsd, `settled ${settledUsd} uses more than 80% of the cap`);

    // Replay the file: when each reservation was appended, settled spend plus open reservations plus it fit the cap.
    let committedSettledUsd = 0;
    const open = new Map<string, number>();
    for (const record of records) {
      if (record.type === 'reserve') {
        const openUsd = [...open.values()].reduce((sum, amount) => sum + amount, 0);
        assert.ok(committedSettledUsd + openUsd + record.amountUsd <= capUsd + 1e-9, 'each reservation fit under the cap');
        open.set(record.reservationId, record.amountUsd);
      } else if (record.type === 'call') {
        committedSettledUsd += record.costUsd;
        assert.ok(record.costUsd <= open.get(record.reservationId!)! + 1e-12, 'settled at most what was reserved');
        open.delete(record.reservationId!);
      }
    }
    assert.equal(open.size, 0, 'every reservation was settled');
    assert.equal(new Ledger({ dir }).totals().openReservedUsd, 0);
  });

  test("a lock left by a dead process is taken over at once", async () => {
    const dir = tempDir();
    const lockPath = join(dir, 'ledger.lock');
    writeFileSync(lockPath, JSON.stringify({ pid: deadPid(), threadId: 0, host: hostname(), takenAt: Date.now(), token: 'gone' }));
    const ledger = new Ledger({ dir, lock: { timeoutMs: 2000 } });
    const started = Date.now();
    const outcome = await ledger.reserve({ requestId: 'r', tier: 'mid', amountUsd: 1 }, () => undefined);
    assert.ok(outcome.ok);
    assert.ok(Date.now() - started < 500, `took ${Date.now() - started} ms`);
    assert.ok(!existsSync(lockPath), 'the lock is released afterwards');
  });

  test('a fresh lock held by a live process is waited for, then the wait ends with an error naming it', async () => {
    const dir = tempDir();
    const holder = startChild('hold', ['--dir', dir]);
    await holder.line((line) => line === 'ready');
    const lockPath = join(dir, 'ledger.lock');
    const pid = holder.process.pid!;
    writeFileSync(lockPath, JSON.stringify({ pid, threadId: 0, host: hostname(), takenAt: Date.now(), token: 'held' }));
    const ledger = new Ledger({ dir, lock: { timeoutMs: 300, staleMs: 5000 } });
    await assert.rejects(
      ledger.reserve({ requestId: 'r', tier: 'mid', amountUsd: 1 }, () => undefined),
      (error: unknown) => error instanceof LedgerError && error.kind === 'lockTimeout' && error.message.includes(String(pid)),
    );
    assert.ok(existsSync(lockPath), "another process's lock is left alone");
    assert.equal(ledger.totals().openReservedUsd, 0);

    // Once older than staleMs it is abandoned even though its process runs.
    writeFileSync(lockPath, JSON.stringify({ pid, threadId: 0, host: hostname(), takenAt: Date.now() - 10_000, token: 'old' }));
    assert.ok((await ledger.reserve({ requestId: 'r', tier: 'mid', amountUsd: 1 }, () => undefined)).ok);
    holder.process.kill('SIGKILL');
  });

  test('an empty lock file (its taker died before writing it) is taken over once old', async () => {
    const dir = tempDir();
    const lockPath = join(dir, 'ledger.lock');
    writeFileSync(lockPath, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockPath, old, old);
    const ledger = new Ledger({ dir, lock: { timeoutMs: 1000, staleMs: 5000 } });
    assert.ok((await ledger.reserve({ requestId: 'r', tier: 'mid', amountUsd: 1 }, () => undefined)).ok);
  });
});

describe('the process time zone', () => {
  test('with TZ=America/New_York, 23:59 and 00:01 are different days and the month boundary switches files', async () => {
    const dir = tempDir();
    const times = [
      '2026-10-30T23:59:00-04:00',
      '2026-10-31T00:01:00-04:00',
      '2026-10-31T23:59:00-04:00', // already 1 November in UTC
      '2026-11-01T00:01:00-04:00',
    ].map((iso) => new Date(iso).getTime());
    const child = startChild('at-times', ['--dir', dir, '--times', times.join(',')], { ...process.env, TZ: 'America/New_York' });
    const result = JSON.parse(await child.line(isJson)) as { days: string[]; months: string[]; totals: SpendTotals };
    assert.deepEqual(result.days, ['2026-10-30', '2026-10-31', '2026-10-31', '2026-11-01']);
    assert.deepEqual(result.months, ['2026-10', '2026-11']);
    assert.equal(result.totals.month, '2026-11');
    assert.equal(result.totals.thisMonth.calls, 1);
    assert.equal(naiveRecords(readFileSync(join(dir, '2026-10.jsonl'), 'utf8')).length, 3);
  });
});

describe('watching another process', () => {
  test('an append by another process is noticed within a second', async (t) => {
    const dir = tempDir();
    const reader = new Ledger({ dir });
    let noticedAt = 0;
    const watching = reader.watch(() => (noticedAt ||= Date.now()));
    const writer = startChild('append', ['--dir', dir, '--tag', 'w', '--records', '1']);
    await writer.line((line) => line === 'ready');
    const sentAt = Date.now();
    writer.process.stdin.end('go\n');
    await writer.line(isJson);
    while (noticedAt === 0 && Date.now() - sentAt < 2000) await sleep(10);
    watching.dispose();
    t.diagnostic(`noticed ${noticedAt - sentAt} ms after the go signal`);
    assert.ok(noticedAt > 0 && noticedAt - sentAt < 1000, `noticed after ${noticedAt - sentAt} ms`);
    assert.equal(reader.totals().thisMonth.calls, 1);
  });
});
