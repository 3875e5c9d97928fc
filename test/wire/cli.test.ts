/**
 * The bundled CLI as a user runs it: `node dist/cli.js …` in its own process, keys from the environment, a config
 * file pointing every tier at a fake, and a temporary ledger folder (HOME is a temporary folder too, so nothing
 * can reach ~/.tierwise).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { CallRecord } from '../../extension/router/ledger/records';
import { BUILT_IN_TASK_KINDS } from '../../extension/router/tiers';
import { estimateRequestTokens } from '../../extension/router/tokens';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeOllama, type FakeOllama } from '../fakes/ollama';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import {
  ANTHROPIC_TEST_KEY,
  callRecordsOf,
  ledgerFilesText,
  LOCAL_TEST_MODEL,
  nanoUsd,
  OPENAI_TEST_KEY,
  openReservationsOf,
  readLedgerRecords,
  TEST_PRICES,
  TempDirs,
} from './helpers/routerFixtures';

const REPO_ROOT = resolve(__dirname, '..', '..');
const CLI = join(REPO_ROOT, 'dist', 'cli.js');
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** 100 characters: fails the commit-message check, so the local answer escalates. */
const LONG_SUBJECT = 'Fix the off-by-one error in the pager loop that made the last page render twice on each of the lists';

/** The JSON line `tierwise run` writes to stderr. */
interface RunSummary {
  task: string;
  tier: string;
  provider: string;
  model: string;
  attempts: Array<{ tier: string; model: string; outcome: string; costUsd: number; latencyMs: number; detail?: string }>;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
  frontierCostUsd: number;
  reason: string;
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('tierwise CLI (dist/cli.js)', () => {
  const dirs = new TempDirs();
  let openai: FakeOpenAI;
  let anthropic: FakeAnthropic;
  let ollama: FakeOllama;
  let home: string;

  before(
    async () => {
      // The bundle is what users run: rebuild it so it matches the sources under test (about a second).
      const build = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
      assert.equal(build.status, 0, `npm run build failed:\n${build.stdout}\n${build.stderr}`);
      [openai, anthropic, ollama] = await Promise.all([startFakeOpenAI(), startFakeAnthropic(), startFakeOllama()]);
      home = dirs.make('cli-home');
    },
    { timeout: 120_000 },
  );
  after(async () => {
    await Promise.all([openai?.close(), anthropic?.close(), ollama?.close()]);
    dirs.removeAll();
  });
  beforeEach(() => {
    openai.reset();
    anthropic.reset();
    ollama.reset();
  });

  /** Starts the CLI asynchronously (the fakes live in this process and must keep answering). */
  function startCli(args: string[], options: { stdin?: string; env?: Record<string, string | undefined> } = {}) {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, USERPROFILE: home, OPENAI_API_KEY: OPENAI_TEST_KEY, ANTHROPIC_API_KEY: ANTHROPIC_TEST_KEY };
    for (const [name, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    const child = spawn(process.execPath, [CLI, ...args], { cwd: home, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdin.end(options.stdin ?? '');
    const done = new Promise<CliResult>((resolveDone) => child.once('close', (code) => resolveDone({ code, stdout, stderr })));
    return { child, done };
  }

  const cli = (args: string[], options: { stdin?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> =>
    startCli(args, options).done;

  /** A config file in the shape of the tierwise.* settings: every tier on a fake, explicit prices. */
  function configFile(extra: Record<string, unknown> = {}): string {
    const path = join(dirs.make('cli-config'), 'tierwise.json');
    const config = {
      tiers: {
        local: { endpoints: [{ provider: 'ollama', model: LOCAL_TEST_MODEL, baseUrl: ollama.url, maxOutputTokens: 200 }] },
        mid: { endpoints: [{ provider: 'openai', model: 'gpt-test-mid', baseUrl: openai.baseUrl, maxOutputTokens: 1000 }] },
        frontier: { endpoints: [{ provider: 'anthropic', model: 'claude-test-frontier', baseUrl: anthropic.baseUrl, maxOutputTokens: 2000 }] },
      },
      prices: TEST_PRICES,
      savingsReference: { provider: 'anthropic', model: 'claude-test-frontier' },
      ...extra,
    };
    writeFileSync(path, JSON.stringify(config, null, 2));
    return path;
  }

  const noRequests = () => assert.deepEqual([openai.requests.length, anthropic.requests.length, ollama.requests.length], [0, 0, 0]);

  test('--help lists the commands; --version is package.json\'s', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: tierwise <command>/);
    for (const command of ['route', 'run', 'spend', 'bench']) assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));

    const version = await cli(['--version']);
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), PACKAGE_VERSION);
  });

  describe('route', () => {
    test('one decision line per default task kind, with the tier, endpoint and a hand-computed reservation', async () => {
      const ledgerDir = dirs.make('cli-route-ledger');
      const prompts = BUILT_IN_TASK_KINDS.map((task) => ({ task, prompt: `Please do the ${task} task for pager.ts, line 42.` }));
      const result = await cli(['route', '--config', configFile(), '--ledger', ledgerDir], { stdin: prompts.map((line) => JSON.stringify(line)).join('\n') + '\n' });

      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.equal(lines.length, BUILT_IN_TASK_KINDS.length);
      const expectedTier: Record<string, string> = {
        commitMessage: 'local',
        explainDiagnostic: 'local',
        findFiles: 'local',
        refactor: 'mid',
        plan: 'frontier',
        planStep: 'mid',
        ask: 'mid',
      };
      for (const [index, { task, prompt }] of prompts.entries()) {
        const line = lines[index];
        const estInputTokens = estimateRequestTokens({ messages: [{ content: prompt }] });
        const tier = expectedTier[task];
        // local: free (a loopback Ollama with no price); mid: est × $2 + 1000 × $8; frontier: est × $18.75 (the
        // 5-minute write price, above the $15 input price) + 2000 × $75, per million tokens.
        const [provider, model, reservedUsd] =
          tier === 'local'
            ? ['ollama', LOCAL_TEST_MODEL, 0]
            : tier === 'mid'
              ? ['openai', 'gpt-test-mid', nanoUsd((estInputTokens * 2 + 1000 * 8) / 1e6)]
              : ['anthropic', 'claude-test-frontier', nanoUsd((estInputTokens * 18.75 + 2000 * 75) / 1e6)];
        assert.deepEqual(
          { task: line.task, tier: line.tier, provider: line.provider, model: line.model, estInputTokens: line.estInputTokens, reservedUsd: line.reservedUsd },
          { task, tier, provider, model, estInputTokens, reservedUsd },
          `line ${index + 1} (${task})`,
        );
        assert.match(String(line.reason), new RegExp(`rule ${task} → ${tier}`));
      }
      noRequests();
    });

    test('a malformed line answers {"error": "line N: …"} and exits 1; the other lines are still answered', async () => {
      const input = ['{"task":"refactor","prompt":"Rename x."}', '{"task":5}', 'not json at all', '{"task":"plan","prompt":"Plan it.","maxOutputTokens":500}'].join('\n');
      const result = await cli(['route', '--config', configFile(), '--ledger', dirs.make('cli-route-bad-ledger')], { stdin: `${input}\n` });

      assert.equal(result.code, 1);
      const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.equal(lines.length, 4);
      assert.deepEqual([lines[0].task, lines[0].tier], ['refactor', 'mid']);
      assert.match(String(lines[1].error), /^line 2: "task" must be a non-empty string/);
      assert.match(String(lines[2].error), /^line 3: not valid JSON/);
      assert.deepEqual([lines[3].task, lines[3].tier], ['plan', 'frontier']);
      // maxOutputTokens from the line bounds the reservation: est × $18.75 + 500 × $75.
      const est = estimateRequestTokens({ messages: [{ content: 'Plan it.' }] });
      assert.equal(lines[3].reservedUsd, nanoUsd((est * 18.75 + 500 * 75) / 1e6));
    });
  });

  describe('run', () => {
    test('commitMessage: local answer fails its check, mid answers; answer on stdout, one JSON summary on stderr, the key only on the wire', async () => {
      const ledgerDir = dirs.make('cli-run-ledger');
      ollama.reply({ type: 'answer', text: LONG_SUBJECT, usage: { prompt_eval_count: 80, eval_count: 22 } });
      openai.reply({ type: 'answer', text: 'Fix off-by-one in the pager loop', usage: { prompt_tokens: 90, completion_tokens: 9 } });

      const result = await cli(['run', '--task', 'commitMessage', '--config', configFile(), '--ledger', ledgerDir, 'diff --git a/pager.ts b/pager.ts']);

      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'Fix off-by-one in the pager loop\n');
      const stderrLines = result.stderr.trim().split('\n');
      assert.equal(stderrLines.length, 1, result.stderr);
      const summary = JSON.parse(stderrLines[0]) as RunSummary;
      assert.deepEqual(
        Object.keys(summary).sort(),
        ['attempts', 'cacheReadTokens', 'cacheWriteTokens', 'costUsd', 'frontierCostUsd', 'inputTokens', 'model', 'outputTokens', 'provider', 'reason', 'task', 'tier'],
      );
      assert.deepEqual(
        [summary.task, summary.tier, summary.provider, summary.model],
        ['commitMessage', 'mid', 'openai', 'gpt-test-mid'],
      );
      assert.deepEqual(
        summary.attempts.map((attempt) => [attempt.tier, attempt.model, attempt.outcome, attempt.costUsd, attempt.detail]),
        [
          ['local', LOCAL_TEST_MODEL, 'validationFailed', 0, 'subject is 100 characters (max 72)'],
          ['mid', 'gpt-test-mid', 'ok', 0.000252, undefined],
        ],
      );
      assert.deepEqual(
        [summary.inputTokens, summary.outputTokens, summary.cacheReadTokens, summary.cacheWriteTokens],
        [80 + 90, 22 + 9, 0, 0],
      );
      // Local is free; mid: 90 × $2 + 9 × $8 = $0.000252. Frontier reference on both attempts' tokens:
      // (80 × 15 + 22 × 75) + (90 × 15 + 9 × 75) = 2,850 + 2,025 µ$ = $0.004875.
      assert.equal(summary.costUsd, 0.000252);
      assert.equal(summary.frontierCostUsd, 0.004875);
      assert.match(summary.reason, /escalated local → mid/);

      assert.equal(openai.requests[0].headers.authorization, `Bearer ${OPENAI_TEST_KEY}`);
      assert.equal(ollama.requests.length, 1);
      assert.equal(anthropic.requests.length, 0);
      const files = ledgerFilesText(ledgerDir);
      for (const key of [OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY]) {
        assert.ok(!files.includes(key), 'a key was written to the ledger');
        assert.ok(!result.stderr.includes(key) && !result.stdout.includes(key), 'a key was printed');
      }
      const records = readLedgerRecords(ledgerDir);
      assert.deepEqual(callRecordsOf(records).map((call: CallRecord) => [call.tier, call.outcome, call.client]), [['local', 'validationFailed', 'cli'], ['mid', 'ok', 'cli']]);
      assert.deepEqual(openReservationsOf(records), []);
    });

    test('ANTHROPIC_API_KEY from the environment reaches the Anthropic fake; cost by hand', async () => {
      const ledgerDir = dirs.make('cli-run-anthropic-ledger');
      // `run --task plan` checks the answer against the plan schema, as the editor does.
      const plan = JSON.stringify({ goal: 'Migrate the settings', steps: [{ id: 1, description: 'Move the settings.', files: ['src/settings.ts'], tier: 'mid', kind: 'refactor' }] });
      anthropic.reply({ type: 'answer', text: plan, usage: { input_tokens: 100, output_tokens: 1000 } });

      const result = await cli(['run', '--task', 'plan', '--config', configFile(), '--ledger', ledgerDir, 'Plan the settings migration.']);

      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${plan}\n`);
      const summary = JSON.parse(result.stderr) as RunSummary;
      assert.deepEqual([summary.tier, summary.provider, summary.model], ['frontier', 'anthropic', 'claude-test-frontier']);
      // 100 × $15 + 1000 × $75 per MTok = $0.0765; the reference is the same model.
      assert.deepEqual([summary.costUsd, summary.frontierCostUsd], [0.0765, 0.0765]);
      assert.equal(anthropic.requests[0].headers.authorization, `Bearer ${ANTHROPIC_TEST_KEY}`);
      assert.ok(!ledgerFilesText(ledgerDir).includes(ANTHROPIC_TEST_KEY));
    });

    test('with the default frontier model (claude-sonnet-4-5) stderr is still exactly the one JSON summary line', async () => {
      // The Anthropic SDK console.warn()s a deprecation notice for this model on every request.
      const config = configFile({
        tiers: {
          frontier: { endpoints: [{ provider: 'anthropic', model: 'claude-sonnet-4-5', baseUrl: anthropic.baseUrl, maxOutputTokens: 2000 }] },
        },
        prices: { ...TEST_PRICES, 'claude-sonnet-4-5': { inputPerMTokUsd: 3, outputPerMTokUsd: 15 } },
        routes: { ask: 'frontier' },
      });
      anthropic.reply({ type: 'answer', text: 'An answer.', usage: { input_tokens: 100, output_tokens: 10 } });

      const result = await cli(['run', '--task', 'ask', '--config', config, '--ledger', dirs.make('cli-run-sonnet-ledger'), 'Plan it.']);

      assert.equal(result.code, 0, result.stderr);
      assert.equal(anthropic.requests.length, 1);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `stderr should be one JSON line, got:\n${result.stderr}`);
      assert.equal((JSON.parse(lines[0]) as RunSummary).model, 'claude-sonnet-4-5');
    });

    test('a key the provider rejects (and quotes back) exits 1 naming the key variable, never the key, even with verbose logging', async () => {
      const ledgerDir = dirs.make('cli-run-401-ledger');
      openai.reply({ type: 'error', status: 401, message: `Incorrect API key provided: ${OPENAI_TEST_KEY}.` });

      const result = await cli(['run', '--task', 'refactor', '--config', configFile(), '--ledger', ledgerDir, 'Rename x.'], { env: { TIERWISE_VERBOSE: '1' } });

      assert.equal(result.code, 1);
      assert.match(result.stderr, /OPENAI_API_KEY/);
      assert.ok(!result.stderr.includes(OPENAI_TEST_KEY), result.stderr);
      assert.ok(!ledgerFilesText(ledgerDir).includes(OPENAI_TEST_KEY));
    });

    test('no key in the environment: exits 1 naming ANTHROPIC_API_KEY, without calling the provider', async () => {
      const result = await cli(['run', '--task', 'plan', '--config', configFile(), '--ledger', dirs.make('cli-run-nokey-ledger'), 'Plan it.'], {
        env: { ANTHROPIC_API_KEY: undefined },
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /ANTHROPIC_API_KEY/);
      noRequests();
    });

    test('a call over the cap (policy block, daily cap $0.0001) exits non-zero naming the cap and its setting; nothing is called', async () => {
      const config = configFile({ budgets: { dailyUsd: 0.0001, policy: 'block' } });
      const result = await cli(['run', '--task', 'plan', '--config', config, '--ledger', dirs.make('cli-blocked-ledger'), 'Plan it.']);

      assert.notEqual(result.code, 0);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /Tierwise blocked plan: daily cap \$0\.0001/);
      assert.match(result.stderr, /tierwise\.budgets\.dailyUsd/);
      noRequests();
    });

    test('a config file with a bad value exits 2 naming the key path and what was expected', async () => {
      const path = configFile({ budgets: { dailyUsd: 'ten dollars' } });
      const result = await cli(['run', '--task', 'plan', '--config', path, '--ledger', dirs.make('cli-badconfig-ledger'), 'Plan it.']);

      assert.equal(result.code, 2);
      assert.ok(result.stderr.includes(path), result.stderr);
      assert.match(result.stderr, /budgets\.dailyUsd: expected a number or null/);
      noRequests();
    });
  });

  describe('Ctrl+C (SIGINT) during run', () => {
    test('mid-stream: exits 1 with a cancelled message, the connection is closed and the reservation settled', async () => {
      const ledgerDir = dirs.make('cli-sigint-ledger');
      openai.reply({ type: 'answer', text: Array.from({ length: 50 }, (_, index) => `word${index} `), chunkDelayMs: 100 });
      const { child, done } = startCli(['run', '--task', 'refactor', '--config', configFile(), '--ledger', ledgerDir, 'Rename x.']);
      await openai.waitForRequests(1);
      await new Promise((resolveWait) => setTimeout(resolveWait, 300));
      child.kill('SIGINT');
      const result = await done;

      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /^tierwise: OpenAI-compatible gpt-test-mid at .*: the request was cancelled\.$/m);
      assert.equal(await openai.settled(openai.requests[0]), 'clientClosed');
      const records = readLedgerRecords(ledgerDir);
      assert.deepEqual(callRecordsOf(records).map((call) => [call.outcome, call.errorKind]), [['error', 'cancelled']]);
      assert.deepEqual(openReservationsOf(records), []);
    });

    test('while waiting out a Retry-After: exits 1 with a cancelled message, not an "unexpected error" with a stack', async () => {
      const ledgerDir = dirs.make('cli-sigint-wait-ledger');
      openai.reply({ type: 'error', status: 429, message: 'Rate limit reached.', headers: { 'retry-after': '5' } });
      const { child, done } = startCli(['run', '--task', 'refactor', '--config', configFile(), '--ledger', ledgerDir, 'Rename x.']);
      await openai.waitForRequests(1);
      await new Promise((resolveWait) => setTimeout(resolveWait, 300));
      child.kill('SIGINT');
      const result = await done;

      assert.doesNotMatch(result.stderr, /unexpected error/);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /cancelled/);
      assert.equal(openai.requests.length, 1);
      assert.deepEqual(openReservationsOf(readLedgerRecords(ledgerDir)), []);
    });
  });

  test('spend and spend --json after a run: totals equal the run\'s cost', async () => {
    const ledgerDir = dirs.make('cli-spend-ledger');
    const config = configFile();
    ollama.reply({ type: 'answer', text: LONG_SUBJECT, usage: { prompt_eval_count: 80, eval_count: 22 } });
    openai.reply({ type: 'answer', text: 'Fix off-by-one in the pager loop', usage: { prompt_tokens: 90, completion_tokens: 9 } });
    const run = await cli(['run', '--task', 'commitMessage', '--config', config, '--ledger', ledgerDir, 'diff']);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stderr) as RunSummary;

    const json = await cli(['spend', '--ledger', ledgerDir, '--config', config, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as {
      day: string;
      today: { costUsd: number; frontierCostUsd: number; calls: number; inputTokens: number; outputTokens: number };
      thisMonth: { costUsd: number; calls: number };
      monthByModel: Record<string, { costUsd: number }>;
      openReservedUsd: number;
      savings: { todayUsd: number };
    };
    assert.equal(report.today.costUsd, summary.costUsd);
    assert.equal(report.thisMonth.costUsd, summary.costUsd);
    assert.equal(nanoUsd(report.today.frontierCostUsd), summary.frontierCostUsd);
    assert.deepEqual([report.today.calls, report.today.inputTokens, report.today.outputTokens], [2, 170, 31]);
    assert.equal(report.monthByModel['gpt-test-mid'].costUsd, 0.000252);
    assert.equal(report.openReservedUsd, 0);
    // $0.004875 − $0.000252.
    assert.equal(nanoUsd(report.savings.todayUsd), 0.004623);

    const text = await cli(['spend', '--ledger', ledgerDir, '--config', config]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^Today \\(${report.day}\\):\\s+\\$0\\.00025\\s+2 calls\\s+170 in / 31 out$`, 'm'));
    assert.match(text.stdout, /gpt-test-mid\s+\$0\.00025\s+1 calls/);
    assert.match(text.stdout, /Savings versus frontier-only: \$0\.0046 this month \(frontier-only would have cost \$0\.0049\)/);
  });
});
