/**
 * The gateway's cost on loopback, printed and never gating CI (`npm run bench` calls benchGateway(); standalone:
 * `node --import tsx scripts/bench-gateway.ts`, which builds dist/ first).
 *
 * Three paths to one fake Anthropic upstream (test/fakes, in its own process): direct; through a bare Node
 * pass-through proxy (http.request piping, keep-alive upstream: the floor any proxy pays); and through the gateway
 * as users run it (`node dist/cli.js gateway`, its own process: classification, route, a reservation and a
 * settlement in the ledger, pass-through with the usage tap). The client sends Claude-Code-shaped main turns,
 * one request at a time, over a keep-alive agent per path, rotating the three paths every round so drift hits
 * all of them alike. Three sets: a session's first turn (Claude Code's system prompt and tool definitions are
 * about 55 KB) answered without and with streaming, and a turn forty tool round trips into a session (about
 * 230 KB), streamed as Claude Code always asks. Added latency is the path's median (p99) minus the direct median
 * (p99); the goal is a gateway adding at most 1.3× what the bare proxy adds.
 *
 * On a small machine one run's ratio moves with where the scheduler happens to put the four processes: with a
 * second bare proxy in the gateway's place, runs on 2 cores ranged 0.91–1.16 (streamed). So the latency sets run
 * RUNS times, each with fresh processes, and the figures are those of the median run (as activation time is the
 * median of fresh starts); every run's ratio is printed.
 *
 * Then concurrency: slow streams (each ~1 s) opened together through the gateway, ramping 50, 100, 200, 400…
 * until a step has an error (a status other than 200, a dropped connection, a stream without its end).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '..');
const CLI = join(REPO_ROOT, 'dist', 'cli.js');
const FAKE_CLI = join(REPO_ROOT, 'test', 'fakes', 'cli.ts');

/** Requests per path and mode, after WARMUP_REQUESTS per path and mode that are not counted. */
export const LATENCY_REQUESTS = 1000;
/** Fresh runs of the latency sets; the median run is reported. */
export const RUNS = 5;
const WARMUP_REQUESTS = 100;
/** Concurrent slow streams per step; the ramp stops at the first step with an error. */
export const CONCURRENCY_STEPS = [50, 100, 200, 400, 800];
/** A slow stream: this many chunks, this far apart (about 1 s in all). */
const SLOW_STREAM_CHUNKS = 10;
const SLOW_STREAM_CHUNK_DELAY_MS = 100;
/** One request (or one slow stream) that takes longer than this counts as failed. */
const REQUEST_TIMEOUT_MS = 30_000;
const PROCESS_START_TIMEOUT_MS = 20_000;
/** The gateway adding at most this multiple of what a bare proxy adds. */
export const ADDED_LATENCY_GOAL_RATIO = 1.3;

const CLIENT_MODEL = 'claude-sonnet-4-5-20250929';
const ANSWER_TEXT = 'The off-by-one is in the loop bound: use i < pages instead of i <= pages so the last page renders once.';

type PathName = 'direct' | 'proxy' | 'gateway';
type Mode = 'nonStreamed' | 'streamed' | 'longSession';

/** What each set sends: the turn, and whether the answer streams. */
const MODES: Record<Mode, { label: string; stream: boolean; historyRoundTrips: number }> = {
  nonStreamed: { label: 'first turn, not streamed', stream: false, historyRoundTrips: 1 },
  streamed: { label: 'first turn, streamed', stream: true, historyRoundTrips: 1 },
  longSession: { label: 'turn 40 tool calls in, streamed', stream: true, historyRoundTrips: 40 },
};

export interface LatencyFigures {
  medianMs: number;
  p99Ms: number;
}

export interface ModeFigures {
  label: string;
  bodyBytes: number;
  /** Time to the end of the answer, per path. */
  latency: Record<PathName, LatencyFigures>;
  /** Path minus direct. */
  added: Record<'proxy' | 'gateway', LatencyFigures>;
  /** The gateway's added median over the bare proxy's. */
  gatewayOverProxyRatio: number;
}

export interface ConcurrencyStep {
  streams: number;
  errors: number;
  /** The first few errors, for the report. */
  sampleErrors: string[];
  wallMs: number;
}

/** One set over every run: the median run's figures, and each run's ratio in run order. */
export interface ModeSummary extends ModeFigures {
  runRatios: number[];
}

export interface GatewayBenchFigures {
  requestsPerPath: number;
  runs: number;
  modes: Record<Mode, ModeSummary>;
  concurrency: { steps: ConcurrencyStep[]; heldWithoutErrors: number };
}

export interface GatewayBenchOptions {
  latencyRequests?: number;
  runs?: number;
  concurrencySteps?: number[];
  log?: (line: string) => void;
}

interface Started {
  child: ChildProcess;
  line: Record<string, unknown>;
}

/**
 * Starts a process that prints one JSON line once ready. Its stderr (the gateway logs two lines per request) goes
 * to a file, not through this process: reading it here would put work on the client between the requests it times.
 */
function startProcess(name: string, args: string[], env: NodeJS.ProcessEnv, logPath: string, cwd = REPO_ROOT): Promise<Started> {
  return new Promise((resolveStart, reject) => {
    const log = openSync(logPath, 'w');
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['pipe', 'pipe', log] });
    closeSync(log);
    let stdout = '';
    const stderr = () => readFileSync(logPath, 'utf8').slice(-10_000);
    const timer = setTimeout(() => fail(new Error(`${name} printed no JSON line within ${PROCESS_START_TIMEOUT_MS} ms.\n${stderr()}`)), PROCESS_START_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      // Ready: its exit at the end of the run (after its log is removed) is no longer a failure to start.
      child.off('exit', exitedEarly);
      try {
        resolveStart({ child, line: JSON.parse(stdout.slice(0, newline)) as Record<string, unknown> });
      } catch {
        fail(new Error(`${name} printed "${stdout.slice(0, newline)}", not JSON.\n${stderr()}`));
      }
    });
    const exitedEarly = (code: number | null, signal: NodeJS.Signals | null) => fail(new Error(`${name} exited (${code ?? signal}) before it was ready.\n${stderr()}`));
    child.once('exit', exitedEarly);
  });
}

/** The bare pass-through proxy: headers copied, bytes piped both ways, a keep-alive agent upstream. */
const BARE_PROXY = `
const http = require('node:http');
const upstreamPort = Number(process.argv[1]);
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer({ keepAlive: true }, (req, res) => {
  const forward = http.request({ host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers: req.headers, agent }, (upstream) => {
    res.writeHead(upstream.statusCode, upstream.headers);
    upstream.pipe(res);
  });
  forward.on('error', () => res.destroy());
  req.pipe(forward);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
process.stdin.on('end', () => process.exit(0)).resume();
`;

/**
 * A Claude Code main turn of realistic size: a system prompt of about 13 KB and sixteen tools of about 2.5 KB each
 * (Claude Code 2.1's are of that order), then `historyRoundTrips` Read calls whose results are 50 lines of code.
 */
function mainTurnBody(stream: boolean, historyRoundTrips: number): Buffer {
  const tools = ['Agent', 'Bash', 'Glob', 'Grep', 'Read', 'Edit', 'Write', 'NotebookEdit', 'WebFetch', 'TodoWrite', 'WebSearch', 'BashOutput', 'KillShell', 'Skill', 'ToolSearch', 'ExitPlanMode'].map((name) => ({
    name,
    description: `${name}: works in the user's repository. ${'Prefer dedicated tools over Bash; paths are absolute. '.repeat(45)}`,
    input_schema: { type: 'object', properties: { file_path: { type: 'string', description: 'The absolute path' }, limit: { type: 'number' } }, required: ['file_path'], additionalProperties: false },
  }));
  const history = Array.from({ length: historyRoundTrips }, (_, index) => [
    { role: 'assistant', content: [{ type: 'tool_use', id: `toolu_${index}`, name: 'Read', input: { file_path: `/home/dev/pager/src/page${index}.ts` } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${index}`, content: `export function page${index}(items: string[]) { return items.map((item) => \`<li>\${item}</li>\`).join(''); }\n`.repeat(50) }] },
  ]).flat();
  const last = history.at(-1) as { content: Array<Record<string, unknown>> };
  last.content[0].cache_control = { type: 'ephemeral' };
  // In Claude Code's key order: the conversation first, the system prompt and tools after it.
  const body = {
    model: CLIENT_MODEL,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Fix the off-by-one in src/pager.ts — the last page renders twice.' }] }, ...history],
    temperature: 1,
    system: [
      { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.330; cc_entrypoint=cli;' },
      { type: 'text', text: `You are Claude Code, Anthropic's official CLI for Claude. ${'Follow the repository conventions. '.repeat(380)}`, cache_control: { type: 'ephemeral' } },
    ],
    tools,
    metadata: { user_id: JSON.stringify({ device_id: 'bench', account_uuid: '', session_id: '7c1b6a0e-bench-4c2b-9d1f-000000000001' }) },
    max_tokens: 32000,
    thinking: { type: 'enabled', budget_tokens: 31999 },
    stream,
  };
  return Buffer.from(JSON.stringify(body));
}

function headersFor(key: string, bodyBytes: number): OutgoingHttpHeaders {
  return {
    'content-type': 'application/json',
    'content-length': bodyBytes,
    'user-agent': 'claude-cli/2.1.330 (external, cli)',
    'x-app': 'cli',
    'anthropic-version': '2023-06-01',
    'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14',
    'x-claude-code-session-id': '7c1b6a0e-bench-4c2b-9d1f-000000000001',
    'x-api-key': key,
  };
}

interface Target {
  port: number;
  key: string;
  agent: Agent;
}

/** One request to its end: milliseconds, or why it failed. */
function timeRequest(target: Target, body: Buffer, expectStreamEnd: boolean): Promise<number> {
  return new Promise((resolveTime, reject) => {
    const started = process.hrtime.bigint();
    const req = httpRequest(
      { host: '127.0.0.1', port: target.port, path: '/v1/messages?beta=true', method: 'POST', agent: target.agent, headers: headersFor(target.key, body.length), timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        let tail = '';
        res.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString('latin1')).slice(-200)));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}: ${tail}`));
          if (expectStreamEnd && !tail.includes('message_stop')) return reject(new Error('stream ended without message_stop'));
          resolveTime(Number(process.hrtime.bigint() - started) / 1e6);
        });
        res.on('error', (error) => reject(error));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

function figuresOf(samples: number[]): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { medianMs: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

async function fakeControl(fakeUrl: string, path: string, payload?: unknown): Promise<void> {
  const response = await fetch(`${fakeUrl}/__fake/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload ?? {}) });
  if (!response.ok) throw new Error(`fake upstream ${path}: ${response.status} ${await response.text()}`);
}

export async function benchGateway(options: GatewayBenchOptions = {}): Promise<GatewayBenchFigures> {
  const requests = options.latencyRequests ?? LATENCY_REQUESTS;
  const runs = options.runs ?? RUNS;
  const log = options.log ?? (() => {});
  try {
    statSync(CLI);
  } catch {
    throw new Error(`${CLI} is missing; run "npm run build" first.`);
  }
  const perRun: Array<Record<Mode, ModeFigures>> = [];
  let concurrency: GatewayBenchFigures['concurrency'] = { steps: [], heldWithoutErrors: 0 };
  for (let run = 1; run <= runs; run++) {
    log(`run ${run} of ${runs}`);
    // The concurrency ramp once, after the last latency run.
    const measured = await benchRun(requests, run === runs ? (options.concurrencySteps ?? CONCURRENCY_STEPS) : [], log);
    perRun.push(measured.modes);
    if (run === runs) concurrency = measured.concurrency;
  }
  const modes = {} as Record<Mode, ModeSummary>;
  for (const mode of Object.keys(MODES) as Mode[]) {
    const figures = perRun.map((run) => run[mode]);
    const byRatio = [...figures].sort((a, b) => a.gatewayOverProxyRatio - b.gatewayOverProxyRatio);
    // The middle run; of an even number, the higher of the two in the middle.
    modes[mode] = { ...byRatio[Math.floor(byRatio.length / 2)], runRatios: figures.map((figure) => figure.gatewayOverProxyRatio) };
  }
  return { requestsPerPath: requests, runs, modes, concurrency };
}

/** One run: fresh processes, every latency set, then the concurrency ramp if `steps` has any. */
async function benchRun(requests: number, steps: number[], log: (line: string) => void): Promise<Pick<GatewayBenchFigures, 'concurrency'> & { modes: Record<Mode, ModeFigures> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tierwise-bench-gateway-'));
  const children: ChildProcess[] = [];
  try {
    const plainEnv = { PATH: process.env.PATH, HOME: dir };
    const fake = await startProcess('fake Anthropic upstream', ['--import', 'tsx', FAKE_CLI, 'anthropic', '--text', ANSWER_TEXT], plainEnv, join(dir, 'fake.log'));
    children.push(fake.child);
    const fakeUrl = String(fake.line.url);
    const fakePort = Number(new URL(fakeUrl).port);

    const proxy = await startProcess('bare proxy', ['-e', BARE_PROXY, String(fakePort)], plainEnv, join(dir, 'proxy.log'));
    children.push(proxy.child);

    // The client's model is the frontier endpoint, priced, so every call reserves and settles in the ledger.
    const configPath = join(dir, 'tierwise.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        tiers: {
          local: { endpoints: [{ provider: 'ollama', model: 'qwen-bench:7b', baseUrl: 'http://127.0.0.1:9' }] },
          mid: { endpoints: [{ provider: 'anthropic', model: 'claude-bench-mid', baseUrl: fakeUrl }] },
          frontier: { endpoints: [{ provider: 'anthropic', model: CLIENT_MODEL, baseUrl: fakeUrl }] },
        },
        prices: { [CLIENT_MODEL]: { inputPerMTokUsd: 3, outputPerMTokUsd: 15 }, 'claude-bench-mid': { inputPerMTokUsd: 1, outputPerMTokUsd: 5 } },
      }),
    );
    const gateway = await startProcess('tierwise gateway', [CLI, 'gateway', '--port', '0', '--config', configPath, '--ledger', join(dir, 'ledger')], {
      ...plainEnv,
      ANTHROPIC_API_KEY: 'sk-ant-bench-upstream-key',
    }, join(dir, 'gateway.log'));
    children.push(gateway.child);

    const keepAlive = () => new Agent({ keepAlive: true, maxSockets: 1 });
    const targets: Record<PathName, Target> = {
      direct: { port: fakePort, key: 'sk-ant-bench-upstream-key', agent: keepAlive() },
      proxy: { port: Number(proxy.line.port), key: 'sk-ant-bench-upstream-key', agent: keepAlive() },
      gateway: { port: Number(new URL(String(gateway.line.url)).port), key: String(gateway.line.token), agent: keepAlive() },
    };
    const paths: PathName[] = ['direct', 'proxy', 'gateway'];

    const modes = {} as Record<Mode, ModeFigures>;
    for (const mode of Object.keys(MODES) as Mode[]) {
      const { label, stream, historyRoundTrips } = MODES[mode];
      const body = mainTurnBody(stream, historyRoundTrips);
      log(`${label} (${body.length} bytes): warming up (${WARMUP_REQUESTS} per path), then ${requests} requests per path`);
      for (let round = 0; round < WARMUP_REQUESTS; round++) {
        for (const path of paths) await timeRequest(targets[path], body, stream);
      }
      const samples: Record<PathName, number[]> = { direct: [], proxy: [], gateway: [] };
      for (let round = 0; round < requests; round++) {
        // Rotate which path goes first, so no path always follows the same one.
        for (let offset = 0; offset < paths.length; offset++) {
          const path = paths[(round + offset) % paths.length];
          samples[path].push(await timeRequest(targets[path], body, stream));
        }
      }
      await fakeControl(fakeUrl, 'reset'); // the fake keeps every request it saw
      const latency = { direct: figuresOf(samples.direct), proxy: figuresOf(samples.proxy), gateway: figuresOf(samples.gateway) };
      const addedOver = (path: 'proxy' | 'gateway') => ({ medianMs: latency[path].medianMs - latency.direct.medianMs, p99Ms: latency[path].p99Ms - latency.direct.p99Ms });
      const added = { proxy: addedOver('proxy'), gateway: addedOver('gateway') };
      modes[mode] = { label, bodyBytes: body.length, latency, added, gatewayOverProxyRatio: added.gateway.medianMs / added.proxy.medianMs };
    }

    const concurrency: GatewayBenchFigures['concurrency'] = { steps: [], heldWithoutErrors: 0 };
    const streamBody = mainTurnBody(true, MODES.streamed.historyRoundTrips);
    const slowAnswer = { type: 'answer', text: Array.from({ length: SLOW_STREAM_CHUNKS }, (_, index) => `chunk ${index} `), chunkDelayMs: SLOW_STREAM_CHUNK_DELAY_MS };
    for (const streams of steps) {
      await fakeControl(fakeUrl, 'reset');
      await fakeControl(fakeUrl, 'script', { route: 'chat', scripts: Array.from({ length: streams }, () => slowAnswer) });
      const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
      const started = Date.now();
      const outcomes = await Promise.allSettled(Array.from({ length: streams }, () => timeRequest({ ...targets.gateway, agent }, streamBody, true)));
      agent.destroy();
      const failures = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      const step = { streams, errors: failures.length, sampleErrors: [...new Set(failures.map((failure) => String((failure.reason as Error)?.message ?? failure.reason)))].slice(0, 3), wallMs: Date.now() - started };
      concurrency.steps.push(step);
      log(`${streams} concurrent slow streams: ${step.errors} errors, ${step.wallMs} ms`);
      if (step.errors > 0) break;
      concurrency.heldWithoutErrors = streams;
    }

    for (const target of Object.values(targets)) target.agent.destroy();
    return { modes, concurrency };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatGatewayBench(figures: GatewayBenchFigures): string {
  const ms = (value: number) => `${value.toFixed(3)} ms`;
  const lines = [
    `Gateway latency on loopback: ${figures.requestsPerPath} requests per path and set, Claude Code turns, keep-alive;`,
    `${figures.runs} runs with fresh processes, the median run's figures shown`,
  ];
  for (const figuresOfMode of Object.values(figures.modes)) {
    lines.push('', `${figuresOfMode.label} (${figuresOfMode.bodyBytes} bytes)`);
    lines.push(`  ${'path'.padEnd(9)}${'median'.padStart(12)}${'p99'.padStart(12)}${'added median'.padStart(15)}${'added p99'.padStart(13)}`);
    for (const path of ['direct', 'proxy', 'gateway'] as const) {
      const added = path === 'direct' ? undefined : figuresOfMode.added[path];
      lines.push(
        `  ${path.padEnd(9)}${ms(figuresOfMode.latency[path].medianMs).padStart(12)}${ms(figuresOfMode.latency[path].p99Ms).padStart(12)}` +
          `${(added ? ms(added.medianMs) : '').padStart(15)}${(added ? ms(added.p99Ms) : '').padStart(13)}`,
      );
    }
    const ratio = figuresOfMode.gatewayOverProxyRatio;
    lines.push(`  gateway adds ${ratio.toFixed(2)}× what the bare proxy adds (goal ≤ ${ADDED_LATENCY_GOAL_RATIO}×: ${ratio <= ADDED_LATENCY_GOAL_RATIO ? 'met' : 'not met'})`);
    lines.push(`  each run: ${figuresOfMode.runRatios.map((runRatio) => `${runRatio.toFixed(2)}×`).join(', ')}`);
  }
  lines.push('', `Concurrent slow streams through the gateway (${SLOW_STREAM_CHUNKS} chunks, ${SLOW_STREAM_CHUNK_DELAY_MS} ms apart):`);
  for (const step of figures.concurrency.steps) {
    lines.push(`  ${String(step.streams).padStart(5)} streams: ${step.errors === 0 ? 'no errors' : `${step.errors} errors (${step.sampleErrors.join('; ')})`}, ${step.wallMs} ms`);
  }
  const last = figures.concurrency.steps.at(-1);
  if (!last) lines.push('  not measured');
  else lines.push(`  held without errors: ${figures.concurrency.heldWithoutErrors}${last.errors === 0 ? ' (the ramp ended without errors)' : ''}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) throw new Error(`npm run build failed (exit ${build.status ?? build.signal})`);
  const figures = await benchGateway({ log: (line) => process.stderr.write(`[bench-gateway] ${line}\n`) });
  process.stdout.write(formatGatewayBench(figures));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench-gateway failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
