/**
 * Ledger benchmarks for `tierwise bench`: append rate with several processes writing at once, and the time of a
 * totals query on a 50,000-record month (cold and warm). Both do the real work in a temporary folder.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { TIER_ORDER } from '../tiers';
import { LedgerCalendar } from './calendar';
import { encodeRecord, parseLine } from './codec';
import { Ledger, monthFileName } from './ledger';
import type { CallRecord, LedgerRecord } from './records';

/** What one appender process reports. */
export interface AppendBenchChildResult {
  tag: string;
  appended: number;
  startedAt: number;
  endedAt: number;
}

/** Call record number `sequence` of appender `tag`; its cost follows from the sequence so sums can be checked. */
export function benchCallRecord(tag: string, sequence: number, ts: number): CallRecord {
  return {
    v: 1,
    ts,
    type: 'call',
    requestId: `${tag}-${sequence}`,
    task: 'commitMessage',
    tier: 'local',
    provider: 'ollama',
    model: 'qwen2.5-coder:7b',
    endpointId: 'ollama:qwen2.5-coder:7b@http://127.0.0.1:11434',
    client: 'cli',
    inputTokens: 1000 + (sequence % 500),
    outputTokens: 50 + (sequence % 50),
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    reasoningTokens: 0,
    costUsd: (sequence % 100) / 10_000,
    unpriced: false,
    frontierCostUsd: (sequence % 100) / 1000,
    latencyMs: 100 + (sequence % 900),
    outcome: 'ok',
  };
}

const DEFAULT_APPEND_RECORDS_PER_PROCESS = 30_000;

export interface AppendRateOptions {
  processes?: number;
  /** Records per process, or run each process for `seconds`. Default: 30,000 records each (about 13 MB apiece). */
  recordsPerProcess?: number;
  seconds?: number;
  /** How to start one appender: command and arguments before `--dir …`. Defaults to this package's child script. */
  childCommand?: string[];
}

export interface AppendRateResult {
  processes: number;
  records: number;
  elapsedMs: number;
  recordsPerSecond: number;
  /** Read back afterwards: every record of every process present exactly once, none torn. */
  recordsReadBack: number;
  lost: number;
  duplicated: number;
  tornStretches: number;
}

/** Loader flags (tsx and the like) this process was started with, so a child can run TypeScript too. */
function loaderFlags(execArgv: string[]): string[] {
  const flags: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (['--import', '--require', '-r', '--loader', '--experimental-loader'].includes(arg) && i + 1 < execArgv.length) {
      flags.push(arg, execArgv[++i]!);
    } else if (/^--(import|require|loader|experimental-loader)=/.test(arg)) {
      flags.push(arg);
    }
  }
  return flags;
}

/**
 * From sources (tests, `npm run bench`) the child is the .ts file beside this one, run with the same loader;
 * in the bundled CLI it is the `ledgerAppendChild.js` entry point next to `cli.js`.
 */
function defaultAppendChildCommand(): string[] {
  // __filename, not __dirname: tsx sets only the former when an ES module imports this file.
  const here = dirname(__filename);
  const source = join(here, 'appendBenchChild.ts');
  if (existsSync(source)) {
    const loaders = loaderFlags(process.execArgv);
    return [process.execPath, ...(loaders.length > 0 ? loaders : ['--import', 'tsx']), source];
  }
  const bundled = join(here, 'ledgerAppendChild.js');
  if (existsSync(bundled)) return [process.execPath, bundled];
  throw new Error(
    `The ledger append benchmark needs its child script: neither ${source} nor ${bundled} exists ` +
      `(the CLI build must bundle extension/router/ledger/appendBenchChild.ts as ledgerAppendChild.js).`,
  );
}

interface RunningChild {
  ready: Promise<void>;
  result: Promise<AppendBenchChildResult>;
  go(): void;
  kill(): void;
}

function startAppender(command: string[], args: string[]): RunningChild {
  const child = spawn(command[0]!, [...command.slice(1), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const lines = createInterface({ input: child.stdout });
  let onReady: () => void = () => {};
  let onResult: (result: AppendBenchChildResult) => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  // 'close' comes after the child's output has been read, so its result line is never missed.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const result = new Promise<AppendBenchChildResult>((resolve, reject) => {
    onResult = resolve;
    void exited.then((code) => reject(new Error(`ledger appender exited with ${code} before reporting: ${stderr.trim()}`)));
  });
  result.catch(() => {}); // Observed by the caller; this only keeps an early failure from being "unhandled".

  // A child that dies before `ready` fails the whole run instead of hanging it.
  void exited.then(() => onReady());
  lines.on('line', (line) => {
    if (line === 'ready') onReady();
    else if (line.startsWith('{')) onResult(JSON.parse(line) as AppendBenchChildResult);
  });
  return {
    ready,
    result,
    go: () => child.stdin.end('go\n'),
    kill: () => child.kill('SIGKILL'),
  };
}

/** Every record in the ledger folder's month files, with the number of unreadable stretches. */
export function readAllRecords(dir: string): { records: LedgerRecord[]; tornStretches: number } {
  const records: LedgerRecord[] = [];
  let tornStretches = 0;
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.jsonl'))) {
    const text = readFileSync(join(dir, name), 'utf8');
    for (const line of text.split('\n')) tornStretches += parseLine(line, (record) => records.push(record));
  }
  return { records, tornStretches };
}

/** Appends from `processes` processes at once, then reads everything back and checks nothing was lost or torn. */
export async function benchAppendRate(options: AppendRateOptions = {}): Promise<AppendRateResult> {
  const processes = options.processes ?? 3;
  const limit = options.seconds
    ? ['--seconds', String(options.seconds)]
    : ['--records', String(options.recordsPerProcess ?? DEFAULT_APPEND_RECORDS_PER_PROCESS)];
  const command = options.childCommand ?? defaultAppendChildCommand();
  const dir = mkdtempSync(join(tmpdir(), 'tierwise-bench-append-'));
  const children: RunningChild[] = [];
  try {
    for (let i = 0; i < processes; i++) children.push(startAppender(command, ['--dir', dir, '--tag', `p${i}`, ...limit]));
    await Promise.all(children.map((child) => child.ready));
    for (const child of children) child.go();
    const results = await Promise.all(children.map((child) => child.result));

    const records = results.reduce((sum, result) => sum + result.appended, 0);
    const elapsedMs = Math.max(1, Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt)));
    const { records: readBack, tornStretches } = readAllRecords(dir);
    const seen = new Set<string>();
    let duplicated = 0;
    for (const record of readBack) {
      if (record.type !== 'call') continue;
      if (seen.has(record.requestId)) duplicated++;
      seen.add(record.requestId);
    }
    let lost = 0;
    for (const result of results) {
      for (let sequence = 0; sequence < result.appended; sequence++) if (!seen.has(`${result.tag}-${sequence}`)) lost++;
    }
    return {
      processes,
      records,
      elapsedMs,
      recordsPerSecond: Math.round((records / elapsedMs) * 1000),
      recordsReadBack: readBack.length,
      lost,
      duplicated,
      tornStretches,
    };
  } finally {
    for (const child of children) child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Totals a synthetic month should add up to, computed while generating it. */
export interface SyntheticMonth {
  lines: string[];
  calls: number;
  costUsd: number;
}

const SYNTHETIC_MODELS = {
  local: ['qwen2.5-coder:7b'],
  mid: ['claude-haiku-4-5', 'gpt-5-mini'],
  frontier: ['claude-sonnet-4-5', 'gpt-5'],
} as const;

/**
 * `count` records spread over `[startMs, startMs + spanMs)` the way requests produce them: a decision, a
 * reservation and its call; now and then a failed validation escalated to the next tier, or a released
 * reservation. Deterministic.
 */
export function syntheticMonth(count: number, startMs: number, spanMs: number): SyntheticMonth {
  const lines: string[] = [];
  let calls = 0;
  let costUsd = 0;
  const perRecordMs = spanMs / count;
  let request = 0;
  const push = (record: LedgerRecord): void => {
    if (lines.length >= count) return;
    lines.push(encodeRecord(record));
    if (record.type === 'call') {
      calls++;
      costUsd += record.costUsd;
    }
  };
  while (lines.length < count) {
    const ts = Math.floor(startMs + lines.length * perRecordMs);
    const tier = TIER_ORDER[request % 3]!;
    const models = SYNTHETIC_MODELS[tier];
    const model = models[request % models.length]!;
    const requestId = `req-${request}`;
    const provider = model.startsWith('gpt') ? 'openai' : tier === 'local' ? 'ollama' : 'anthropic';
    const call = (reservationId: string, callTier: typeof tier, callModel: string, outcome: CallRecord['outcome']): CallRecord => ({
      v: 1,
      ts: ts + 2,
      type: 'call',
      requestId,
      reservationId,
      task: tier === 'local' ? 'commitMessage' : tier === 'mid' ? 'refactor' : 'plan',
      tier: callTier,
      provider,
      model: callModel,
      endpointId: `${provider}:${callModel}`,
      client: request % 5 === 0 ? 'cli' : 'editor',
      inputTokens: 800 + (request % 4000),
      outputTokens: 100 + (request % 900),
      cacheReadTokens: request % 3 === 0 ? 2000 : 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      reasoningTokens: 0,
      costUsd: callTier === 'local' ? 0 : ((request % 97) + 1) / (callTier === 'mid' ? 10_000 : 1000),
      unpriced: request % 41 === 0,
      frontierCostUsd: ((request % 97) + 1) / 1000,
      latencyMs: 200 + (request % 3000),
      outcome,
      ...(outcome === 'validationFailed' ? { detail: 'the answer was not a conventional commit subject' } : {}),
    });
    push({
      v: 1, ts, type: 'decision', requestId, task: 'refactor', tier, provider, model,
      reason: 'route for refactor', estInputTokens: 1200, reservedUsd: 0.05, client: 'editor',
    });
    const reservationId = `res-${request}`;
    push({
      v: 1, ts: ts + 1, type: 'reserve', reservationId, requestId, tier, amountUsd: 0.05,
      pid: 1, host: 'bench', expiresAt: ts + 600_000,
    });
    if (request % 13 === 12) {
      push({ v: 1, ts: ts + 2, type: 'release', reservationId });
    } else if (request % 7 === 6 && tier !== 'frontier') {
      push(call(reservationId, tier, model, 'validationFailed'));
      const next = TIER_ORDER[TIER_ORDER.indexOf(tier) + 1]!;
      push({
        v: 1, ts: ts + 3, type: 'reserve', reservationId: `${reservationId}-up`, requestId, tier: next,
        amountUsd: 0.2, pid: 1, host: 'bench', expiresAt: ts + 600_000,
      });
      push(call(`${reservationId}-up`, next, SYNTHETIC_MODELS[next][0], 'ok'));
    } else {
      push(call(reservationId, tier, model, 'ok'));
    }
    request++;
  }
  return { lines, calls, costUsd };
}

export interface TotalsQueryOptions {
  records?: number;
  queries?: number;
}

export interface TotalsQueryResult {
  records: number;
  fileBytes: number;
  /** First totals() of a fresh Ledger that parses the whole month (median of 3). */
  coldLoadMs: number;
  /** First totals() of a fresh Ledger when a sidecar snapshot exists (median of 3). */
  coldLoadFromSnapshotMs: number;
  /** totals() with nothing new on disk. */
  warmP50Us: number;
  warmP99Us: number;
  /** totals() right after another record was appended (it reads and adds that record). */
  afterAppendP50Us: number;
  afterAppendP99Us: number;
  /** The totals match what the generator put in the file. */
  correct: boolean;
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

function timeMs(work: () => void): number {
  const start = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Cold and warm totals() on a month of `records` records (default 50,000). */
export async function benchTotalsQuery(options: TotalsQueryOptions = {}): Promise<TotalsQueryResult> {
  const count = options.records ?? 50_000;
  const queries = options.queries ?? 2000;
  const dir = mkdtempSync(join(tmpdir(), 'tierwise-bench-totals-'));
  try {
    // A fixed month and clock: the 28th, late, with the whole month before it.
    const calendar = new LedgerCalendar();
    const monthStart = new Date(2026, 9, 1).getTime();
    const now = new Date(2026, 9, 28, 23, 0).getTime();
    const month = calendar.monthOf(monthStart);
    const synthetic = syntheticMonth(count, monthStart, now - monthStart - 60_000);
    const path = join(dir, monthFileName(month));
    writeFileSync(path, synthetic.lines.join(''));
    const fileBytes = readFileSync(path).length;
    const clock = (): number => now;

    const cold: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ledger = new Ledger({ dir, now: clock, snapshots: false });
      cold.push(timeMs(() => ledger.totals()));
    }
    new Ledger({ dir, now: clock, snapshots: true }).totals(); // writes the snapshot
    const fromSnapshot: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ledger = new Ledger({ dir, now: clock, snapshots: true });
      fromSnapshot.push(timeMs(() => ledger.totals()));
    }

    const ledger = new Ledger({ dir, now: clock, snapshots: false });
    const first = ledger.totals();
    const correct =
      first.thisMonth.calls === synthetic.calls && Math.abs(first.thisMonth.costUsd - synthetic.costUsd) < 1e-6;

    const warm: number[] = [];
    for (let i = 0; i < queries; i++) warm.push(timeMs(() => ledger.totals()) * 1000);
    const afterAppend: number[] = [];
    for (let i = 0; i < Math.min(queries, 1000); i++) {
      ledger.append(benchCallRecord('warm', i, now - 1000));
      afterAppend.push(timeMs(() => ledger.totals()) * 1000);
    }
    warm.sort((a, b) => a - b);
    afterAppend.sort((a, b) => a - b);
    ledger.close();
    const round = (value: number, digits: number): number => Number(value.toFixed(digits));
    return {
      records: count,
      fileBytes,
      coldLoadMs: round(median(cold), 1),
      coldLoadFromSnapshotMs: round(median(fromSnapshot), 1),
      warmP50Us: round(percentile(warm, 0.5), 1),
      warmP99Us: round(percentile(warm, 0.99), 1),
      afterAppendP50Us: round(percentile(afterAppend, 0.5), 1),
      afterAppendP99Us: round(percentile(afterAppend, 0.99), 1),
      correct,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
