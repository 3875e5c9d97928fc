/**
 * 100 routed calls from 3 processes sharing one ledger folder, against a daily cap that cannot hold them all.
 * The real adapters call one fake OpenAI server in this process. The ledger files are then read independently:
 * settled spend stays within the cap, no reservation was taken past it at any point, nothing is left open, and
 * the calls that did not run were refused with BudgetBlockedError.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import type { TierwiseConfig } from '../../extension/router/config';
import type { LedgerRecord } from '../../extension/router/ledger/records';
import { estimateRequestTokens } from '../../extension/router/tokens';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import type { RouterChildSummary } from './helpers/routerChild';
import { callRecordsOf, nanoUsd, OPENAI_TEST_KEY, openReservationsOf, readLedgerRecords, routerConfig, TempDirs } from './helpers/routerFixtures';

const REPO_ROOT = resolve(__dirname, '..', '..');
const CHILD_SCRIPT = join(REPO_ROOT, 'test', 'wire', 'helpers', 'routerChild.ts');

const PROCESS_COUNT = 3;
const TOTAL_CALLS = 100;
const DAILY_CAP_USD = 1;
const MAX_OUTPUT_TOKENS = 1200;
/** Each answer: 200 prompt tokens at $10 + 300 output tokens at $40 per MTok = $0.014. */
const ANSWER_USAGE = { prompt_tokens: 200, completion_tokens: 300 };
const ANSWER_COST_USD = 0.014;
/** Start times spread over this window, so settled calls free room for later ones. */
const SPREAD_MS = 1500;

interface RunningChild {
  process: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  summary: Promise<RouterChildSummary>;
}

function startChild(args: string[]): RunningChild {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, ...args], { cwd: REPO_ROOT });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const lines = createInterface({ input: child.stdout });
  let onReady: () => void;
  const ready = new Promise<void>((resolveReady) => (onReady = resolveReady));
  let lastLine = '';
  lines.on('line', (line) => (line === 'ready' ? onReady() : (lastLine = line)));
  const summary = new Promise<RouterChildSummary>((resolveSummary, reject) =>
    child.once('close', (code, signal) =>
      code === 0
        ? resolveSummary(JSON.parse(lastLine) as RouterChildSummary)
        : reject(new Error(`routerChild exited with ${code ?? signal}: ${stderr}`)),
    ),
  );
  // A child that dies before `ready` must fail the test, not hang it.
  void summary.catch(() => onReady());
  return { process: child, ready, summary };
}

describe('router under concurrency: 3 processes, one ledger, one daily cap', () => {
  const dirs = new TempDirs();
  const children: RunningChild[] = [];
  let fake: FakeOpenAI;

  before(async () => {
    fake = await startFakeOpenAI({
      defaultReply: { type: 'answer', text: ['Renamed ', 'the ', 'variable.'], usage: ANSWER_USAGE, headersDelayMs: 40, chunkDelayMs: 10 },
    });
  });
  after(async () => {
    for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await fake.close();
    dirs.removeAll();
  });

  test(`${TOTAL_CALLS} calls over ${PROCESS_COUNT} processes never settle or reserve past a $${DAILY_CAP_USD} daily cap`, { timeout: 120_000 }, async (t) => {
    const ledgerDir = dirs.make('router-concurrency-ledger');
    const configPath = join(dirs.make('router-concurrency-config'), 'config.json');
    const config: TierwiseConfig = routerConfig(
      { mid: [{ provider: 'openai', model: 'gpt-test-conc', baseUrl: fake.baseUrl, maxOutputTokens: MAX_OUTPUT_TOKENS }] },
      {
        budgets: { dailyUsd: DAILY_CAP_USD, policy: 'block' },
        prices: { 'gpt-test-conc': { inputPerMTokUsd: 10, outputPerMTokUsd: 40, cacheWrite5mPerMTokUsd: 10 } },
        savingsReference: null,
      },
    );
    writeFileSync(configPath, JSON.stringify(config));

    const startedAt = Date.now();
    const shares = Array.from({ length: PROCESS_COUNT }, (_, index) => Math.floor(TOTAL_CALLS / PROCESS_COUNT) + (index < TOTAL_CALLS % PROCESS_COUNT ? 1 : 0));
    for (const [index, calls] of shares.entries()) {
      children.push(
        startChild(['--dir', ledgerDir, '--config', configPath, '--calls', String(calls), '--tag', `p${index}`, '--spread-ms', String(SPREAD_MS), '--seed', String(index + 7)]),
      );
    }
    await Promise.all(children.map((child) => child.ready));
    const goAt = Date.now();
    for (const child of children) child.process.stdin.write('go\n');
    const summaries = await Promise.all(children.map((child) => child.summary));
    const callsWallMs = Date.now() - goAt;

    // What the processes saw.
    const answered = summaries.reduce((sum, summary) => sum + summary.answered, 0);
    const blocked = summaries.reduce((sum, summary) => sum + (summary.failures.BudgetBlockedError ?? 0), 0);
    assert.deepEqual(summaries.flatMap((summary) => summary.unexpected), [], 'every failure should be a BudgetBlockedError');
    assert.equal(answered + blocked, TOTAL_CALLS);
    assert.ok(blocked > 0, 'the cap should have refused some calls');
    assert.equal(fake.requests.length, answered, 'a blocked call reached the provider');
    assert.ok(fake.requests.every((request) => request.headers.authorization === `Bearer ${OPENAI_TEST_KEY}`));

    // What the ledger files say, read without the ledger.
    const records = readLedgerRecords(ledgerDir);
    const calls = callRecordsOf(records);
    assert.equal(calls.length, answered);
    assert.ok(calls.every((call) => call.outcome === 'ok' && call.costUsd === ANSWER_COST_USD));
    const settledUsd = nanoUsd(calls.reduce((sum, call) => sum + call.costUsd, 0));
    assert.equal(settledUsd, nanoUsd(answered * ANSWER_COST_USD));
    assert.ok(settledUsd <= DAILY_CAP_USD, `settled $${settledUsd} > cap $${DAILY_CAP_USD}`);
    assert.ok(settledUsd > DAILY_CAP_USD / 2, `only $${settledUsd} of the $${DAILY_CAP_USD} cap was used`);
    assert.deepEqual(openReservationsOf(records), []);
    assert.equal(records.filter((record) => record.type === 'reserve').length, answered, 'every reservation should belong to an answered call');

    // Each reservation is the worst case by hand: the call's prompt estimate at $10 (input = 5-minute write) plus
    // 1200 output tokens at $40. The estimate is at least the raw one (calibration against the fake's 200 reported
    // prompt tokens only ever raises it).
    const rawEstimates = shares.flatMap((count, p) =>
      Array.from({ length: count }, (_, index) => estimateRequestTokens({ messages: [{ content: `Rename variable p${p}-${index}.` }] })),
    );
    const decisions = new Map(records.flatMap((record) => (record.type === 'decision' ? [[record.requestId, record] as const] : [])));
    const reserves = records.filter((record) => record.type === 'reserve');
    for (const reserve of reserves) {
      const decision = decisions.get(reserve.requestId);
      assert.ok(decision, `reservation ${reserve.reservationId} has no decision`);
      assert.ok(decision.estInputTokens >= Math.min(...rawEstimates));
      assert.equal(reserve.amountUsd, nanoUsd((decision.estInputTokens * 10 + MAX_OUTPUT_TOKENS * 40) / 1e6));
      assert.equal(decision.reservedUsd, reserve.amountUsd);
    }
    const largestReservationUsd = Math.max(...reserves.map((reserve) => reserve.amountUsd));

    // Replaying the files in order: no reservation was ever appended past the cap (settled + open + this one).
    const maxCommittedUsd = replayMaxCommitted(records);
    assert.ok(maxCommittedUsd <= DAILY_CAP_USD, `a reservation took committed spend to $${maxCommittedUsd}`);

    const totalWallMs = Date.now() - startedAt;
    t.diagnostic(
      `answered ${answered}, blocked ${blocked}, settled $${settledUsd.toFixed(3)} of $${DAILY_CAP_USD}, ` +
        `peak committed $${maxCommittedUsd.toFixed(4)}, largest reservation $${largestReservationUsd}, per-process ${summaries.map((s) => `${s.tag}:${s.answered}/${s.calls}`).join(' ')}; ` +
        `calls ${callsWallMs} ms, with process start ${totalWallMs} ms`,
    );
  });
});

/** The highest settled-plus-reserved spend right after any reservation, replaying the records in file order. */
function replayMaxCommitted(records: LedgerRecord[]): number {
  let settledUsd = 0;
  const open = new Map<string, number>();
  let maxCommittedUsd = 0;
  for (const record of records) {
    if (record.type === 'reserve') {
      open.set(record.reservationId, record.amountUsd);
      const openUsd = [...open.values()].reduce((sum, amount) => sum + amount, 0);
      maxCommittedUsd = Math.max(maxCommittedUsd, nanoUsd(settledUsd + openUsd));
    } else if (record.type === 'release') {
      open.delete(record.reservationId);
    } else if (record.type === 'call') {
      if (record.reservationId) open.delete(record.reservationId);
      settledUsd += record.costUsd;
    }
  }
  return maxCommittedUsd;
}
