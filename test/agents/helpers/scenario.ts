/**
 * One agent-client scenario: a temporary folder (config, ledger, the client's HOME and working directory), the
 * gateway as users start it (`node dist/cli.js gateway --config … --ledger …`, upstream keys in its environment),
 * the bridge into the client's network namespace, and the client run itself. When the scenario's body throws,
 * the client's output, the gateway's log, the ledger and every fake's recorded requests are saved under
 * test-results/agents/<name>/ before the error is passed on.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { CallRecord, LedgerRecord } from '../../../extension/router/ledger/records';
import type { RecordedRequest } from '../../fakes/server';
import { ANTHROPIC_TEST_KEY, callRecordsOf, OPENAI_TEST_KEY, readLedgerRecords } from '../../wire/helpers/routerFixtures';
import { progress } from './clients';
import { bridgeToGateway, isolatedCommand, type GatewayBridge } from './netns';
import { agentResultsDir, cliBundle, repoRoot } from './paths';
import { GroupProcess, runToEnd, type ProcessExit } from './processes';
import { gatewayListenTimeoutMs, versionCheckTimeoutMs } from './timeouts';

export { ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY };

/** Anything that records requests: the shared fakes and the tool upstreams. */
export interface RecordingUpstream {
  readonly requests: RecordedRequest[];
}

export interface ClientRun {
  exit: ProcessExit;
  stdout: string;
  stderr: string;
}

export interface Scenario {
  readonly name: string;
  readonly dir: string;
  /** The client's HOME (throw-away: Claude Code and Codex write their state there). */
  readonly home: string;
  /** The client's working directory. */
  readonly work: string;
  readonly ledgerDir: string;
  readonly gatewayUrl: string;
  readonly gatewayToken: string;
  readonly bridge: GatewayBridge;
  /** Runs `command args…` in its own network namespace whose only way out is the gateway. */
  runClient(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ClientRun>;
  /** What the gateway has logged so far (one line per decision, settlement and refusal). */
  gatewayLog(): string;
  /** Call records in the ledger (read from the month files, not through the ledger's own code). */
  calls(): CallRecord[];
  records(): LedgerRecord[];
}

export interface ScenarioOptions {
  name: string;
  /** The gateway's config file (the tierwise.* settings shape). */
  config: Record<string, unknown>;
  /** Upstreams whose requests are saved when the scenario fails. */
  upstreams: Record<string, RecordingUpstream>;
}

/** Starts the gateway for `options.config`, runs `body`, and always stops everything it started. */
export async function withScenario<T>(options: ScenarioOptions, body: (scenario: Scenario) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `tierwise-agents-${options.name}-`));
  const home = join(dir, 'home');
  const work = join(dir, 'work');
  const ledgerDir = join(dir, 'ledger');
  for (const folder of [home, work, ledgerDir]) mkdirSync(folder);
  const configPath = join(dir, 'tierwise.json');
  writeFileSync(configPath, `${JSON.stringify(options.config, null, 2)}\n`);
  const clientRuns: { name: string; run: ClientRun }[] = [];

  let gateway: GroupProcess | undefined;
  let bridge: GatewayBridge | undefined;
  try {
    const cli = await snapshotCli(dir);
    gateway = new GroupProcess(process.execPath, [cli, 'gateway', '--port', '0', '--config', configPath, '--ledger', ledgerDir], {
      name: 'tierwise gateway',
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, ANTHROPIC_API_KEY: ANTHROPIC_TEST_KEY, OPENAI_API_KEY: OPENAI_TEST_KEY },
      // Stopped by this function; the limit only guards against a hung test.
      timeoutMs: 30 * 60_000,
    });
    const liveGateway = gateway;
    const printed = JSON.parse(await gateway.firstStdoutLine(gatewayListenTimeoutMs)) as { url: string; token: string };
    const port = Number(new URL(printed.url).port);
    const liveBridge = await bridgeToGateway(port, dir);
    bridge = liveBridge;

    const scenario: Scenario = {
      name: options.name,
      dir,
      home,
      work,
      ledgerDir,
      gatewayUrl: printed.url,
      gatewayToken: printed.token,
      bridge: liveBridge,
      runClient: async (name, command, args, env, timeoutMs) => {
        const isolated = isolatedCommand(liveBridge, work, command, args);
        const run = await runToEnd(isolated.command, isolated.args, { name, cwd: isolated.cwd, env, timeoutMs });
        clientRuns.push({ name, run });
        return run;
      },
      gatewayLog: () => liveGateway.stderr,
      records: () => readLedgerRecords(ledgerDir),
      calls: () => callRecordsOf(readLedgerRecords(ledgerDir)),
    };
    const result = await body(scenario);
    await gateway.stop();
    rmSync(join(agentResultsDir, options.name), { recursive: true, force: true }); // a previous failure's artefacts
    return result;
  } catch (error) {
    await gateway?.stop();
    const saved = saveArtefacts(options, dir, clientRuns, gateway, bridge);
    throw attachNote(error, `artefacts saved in ${relative(repoRoot, saved)}`);
  } finally {
    await bridge?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A private copy of dist/cli.js: other test files may rebuild dist/ while this one runs, and a file read while
 * esbuild rewrites it can be cut short. The copy is checked by running it.
 */
let warnedStale = false;

async function snapshotCli(dir: string): Promise<string> {
  let built: number;
  try {
    built = statSync(cliBundle).mtimeMs;
  } catch {
    throw new Error(`${relative(repoRoot, cliBundle)} is missing. "npm test" builds it; to run this file alone, run "npm run build" first.`);
  }
  // A warning, not a failure: an editor saving a file while `npm test` runs must not fail the run.
  const newestSource = newestMtime(join(repoRoot, 'extension'));
  if (newestSource.mtimeMs > built && !warnedStale) {
    warnedStale = true;
    progress(`warning: ${relative(repoRoot, cliBundle)} is older than ${relative(repoRoot, newestSource.path)}; run "npm run build" (npm test does) to test the current gateway.`);
  }
  const copy = join(dir, 'cli.js');
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    copyFileSync(cliBundle, copy);
    const check = await runToEnd(process.execPath, [copy, '--help'], { name: 'tierwise --help', env: { PATH: process.env.PATH }, timeoutMs: versionCheckTimeoutMs });
    if (check.exit.code === 0 && check.stdout.includes('gateway')) return copy;
    last = `${check.stdout}\n${check.stderr}`.trim().slice(-1000);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${relative(repoRoot, cliBundle)} does not run or has no gateway command:\n${last}`);
}

function newestMtime(dir: string): { path: string; mtimeMs: number } {
  let newest = { path: dir, mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const candidate = entry.isDirectory() ? newestMtime(path) : entry.name.endsWith('.ts') ? { path, mtimeMs: statSync(path).mtimeMs } : newest;
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

function saveArtefacts(
  options: ScenarioOptions,
  dir: string,
  clientRuns: { name: string; run: ClientRun }[],
  gateway: GroupProcess | undefined,
  bridge: GatewayBridge | undefined,
): string {
  const target = join(agentResultsDir, options.name);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  clientRuns.forEach(({ name, run }, index) => {
    const base = join(target, `client-${index + 1}-${name.replace(/[^\w.-]+/g, '_')}`);
    writeFileSync(`${base}.stdout.txt`, run.stdout);
    writeFileSync(`${base}.stderr.txt`, `${run.stderr}\n[exit] ${JSON.stringify(run.exit)}\n`);
  });
  if (gateway) writeFileSync(join(target, 'gateway.log'), `${gateway.stderr}\n--- stdout ---\n${gateway.stdout}`);
  if (bridge) writeFileSync(join(target, 'client-requests.json'), `${JSON.stringify(bridge.requests(), null, 2)}\n`);
  for (const [name, upstream] of Object.entries(options.upstreams)) {
    writeFileSync(join(target, `upstream-${name}.requests.json`), `${JSON.stringify(upstream.requests, null, 2)}\n`);
  }
  try {
    writeFileSync(join(target, 'ledger.json'), `${JSON.stringify(readLedgerRecords(join(dir, 'ledger')), null, 2)}\n`);
    copyFileSync(join(dir, 'tierwise.json'), join(target, 'tierwise.json'));
  } catch {
    // the folder was not set up that far
  }
  return target;
}

function attachNote(error: unknown, note: string): unknown {
  if (error instanceof Error) {
    error.message = `${error.message}\n(${note})`;
    return error;
  }
  return new Error(`${String(error)}\n(${note})`);
}
