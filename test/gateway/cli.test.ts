/**
 * `tierwise gateway` as a user runs it (the bundled dist/cli.js in its own process, HOME a temporary folder), and
 * the gateway's shutdown: answers in flight finish, up to the grace period.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeOllama, type FakeOllama } from '../fakes/ollama';
import { ANTHROPIC_TEST_KEY, callRecordsOf, openReservationsOf, readLedgerRecords } from '../wire/helpers/routerFixtures';
import {
  CLIENT_MODEL,
  claudeCodeHeaders,
  claudeCodeMainTurn,
  eventually,
  fakeTiers,
  gatewayConfig,
  send,
  startHarness,
  streamTurn,
  TempDirs,
} from './helpers/gatewayFixtures';

const REPO_ROOT = resolve(__dirname, '..', '..');
const CLI = join(REPO_ROOT, 'dist', 'cli.js');
/** A key and self-signed certificate for 127.0.0.1, for loopback HTTPS servers in tests only. */
const TLS_FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'tls');

interface GatewayProcess {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function spawnGateway(args: string[], home: string, env: NodeJS.ProcessEnv = {}): GatewayProcess {
  const child = spawn(process.execPath, [CLI, 'gateway', ...args], {
    cwd: home,
    env: { PATH: process.env.PATH, HOME: home, ANTHROPIC_API_KEY: ANTHROPIC_TEST_KEY, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}


describe('tierwise gateway (dist/cli.js)', () => {
  const dirs = new TempDirs();
  let anthropic: FakeAnthropic;
  let ollama: FakeOllama;

  before(
    async () => {
      const build = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
      assert.equal(build.status, 0, `npm run build failed:\n${build.stdout}\n${build.stderr}`);
      [anthropic, ollama] = await Promise.all([startFakeAnthropic(), startFakeOllama()]);
    },
    { timeout: 120_000 },
  );
  after(async () => {
    await Promise.all([anthropic?.close(), ollama?.close()]);
    dirs.removeAll();
  });

  test('prints one JSON line with url and token, serves a request, and stops on SIGTERM after the stream in flight', { timeout: 30_000 }, async () => {
    const home = dirs.make('gateway-cli-home');
    const ledgerDir = join(home, 'state', 'ledger');
    const configPath = join(home, 'tierwise.json');
    const config = gatewayConfig(fakeTiers({ anthropic: anthropic.baseUrl, ollama: ollama.baseUrl }));
    writeFileSync(configPath, JSON.stringify({ tiers: config.tiers, prices: config.prices, savingsReference: config.savingsReference }));

    const gateway = spawnGateway(['--port', '0', '--config', configPath, '--ledger', ledgerDir], home);
    try {
      const line = await eventually(() => (gateway.stdout().includes('\n') ? gateway.stdout().split('\n')[0] : undefined), 15_000).catch(() => {
        throw new Error(`no JSON line; stderr:\n${gateway.stderr()}`);
      });
      const printed = JSON.parse(line) as { url: string; token: string };
      assert.deepEqual(Object.keys(printed).sort(), ['token', 'url']);
      assert.match(printed.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const tokenPath = join(dirname(ledgerDir), 'gateway-token');
      assert.equal(readFileSync(tokenPath, 'utf8').trim(), printed.token);
      assert.equal(statSync(tokenPath).mode & 0o777, 0o600);

      anthropic.reply({ type: 'answer', text: 'Served.', usage: { input_tokens: 100, output_tokens: 3 } });
      const served = await send(printed.url, '/v1/messages?beta=true', { headers: claudeCodeHeaders({}, printed.token), body: JSON.stringify(claudeCodeMainTurn()) });
      assert.equal(served.status, 200);
      assert.match(served.body, /"text":"Served\."/);
      assert.equal(anthropic.requests.at(-1)?.headers['x-api-key'], ANTHROPIC_TEST_KEY);
      const [call] = await eventually(() => {
        const calls = callRecordsOf(readLedgerRecords(ledgerDir));
        return calls.length ? calls : undefined;
      });
      assert.deepEqual([call.client, call.model, call.inputTokens], ['claude-code', CLIENT_MODEL, 100]);

      // SIGTERM mid-stream: the answer still completes, then the process exits 0.
      anthropic.reply({ type: 'answer', text: ['slow', ' but', ' complete'], chunkDelayMs: 300 });
      const inFlight = streamTurn(printed.url, JSON.stringify(claudeCodeMainTurn()), { token: printed.token });
      await anthropic.waitForRequests(2);
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
      gateway.child.kill('SIGTERM');
      const finished = await inFlight;
      assert.equal(finished.ended, true);
      assert.match(finished.text, /event: message_stop/);
      assert.equal(await gateway.exited, 0);
      assert.equal(gateway.stdout().trim().split('\n').length, 1, 'stdout holds only the JSON line');
      assert.deepEqual(openReservationsOf(readLedgerRecords(ledgerDir)), []);
      assert.ok(!gateway.stderr().includes(ANTHROPIC_TEST_KEY), 'the key is never logged');
    } finally {
      gateway.child.kill('SIGKILL');
    }
  });

  test('an HTTPS upstream works, trusting a certificate added through NODE_EXTRA_CA_CERTS', { timeout: 30_000 }, async () => {
    // How a TLS-inspecting proxy's certificate is added outside VS Code (inside, VS Code adds the system's).
    const tls = { key: readFileSync(join(TLS_FIXTURES, 'loopback.key')), cert: readFileSync(join(TLS_FIXTURES, 'loopback.crt')) };
    const secure = await startFakeAnthropic({ tls });
    const home = dirs.make('gateway-cli-tls');
    const ledgerDir = join(home, 'ledger');
    const configPath = join(home, 'tierwise.json');
    const tiers = fakeTiers({ anthropic: secure.baseUrl, ollama: ollama.baseUrl });
    tiers.frontier = [{ provider: 'anthropic', model: CLIENT_MODEL, baseUrl: secure.baseUrl }];
    const config = gatewayConfig(tiers);
    writeFileSync(configPath, JSON.stringify({ tiers: config.tiers, prices: config.prices }));
    const gateway = spawnGateway(['--port', '0', '--config', configPath, '--ledger', ledgerDir], home, { NODE_EXTRA_CA_CERTS: join(TLS_FIXTURES, 'loopback.crt') });
    try {
      const line = await eventually(() => (gateway.stdout().includes('\n') ? gateway.stdout().split('\n')[0] : undefined), 15_000).catch(() => {
        throw new Error(`no JSON line; stderr:\n${gateway.stderr()}`);
      });
      const printed = JSON.parse(line) as { url: string; token: string };
      secure.reply({ type: 'answer', text: ['Over', ' TLS.'], usage: { input_tokens: 120, output_tokens: 4 } });
      const streamed = await streamTurn(printed.url, JSON.stringify(claudeCodeMainTurn()), { token: printed.token });
      assert.equal(streamed.ended, true, gateway.stderr());
      assert.match(streamed.text, /Over/);
      assert.match(streamed.text, /event: message_stop/);
      assert.equal(secure.requests[0]?.headers['x-api-key'], ANTHROPIC_TEST_KEY);
      const [call] = await eventually(() => {
        const calls = callRecordsOf(readLedgerRecords(ledgerDir));
        return calls.length ? calls : undefined;
      });
      assert.deepEqual([call.outcome, call.inputTokens, call.outputTokens], ['ok', 120, 4]);
    } finally {
      gateway.child.kill('SIGKILL');
      await secure.close();
    }
  });

  test('a busy port is reported, with exit code 1', { timeout: 30_000 }, async () => {
    const home = dirs.make('gateway-cli-busy');
    const busy = await startHarness(dirs, gatewayConfig(fakeTiers({ anthropic: anthropic.baseUrl, ollama: ollama.baseUrl })));
    try {
      const gateway = spawnGateway(['--port', String(busy.gateway.port), '--ledger', join(home, 'ledger')], home);
      assert.equal(await gateway.exited, 1);
      assert.match(gateway.stderr(), /port is in use/);
    } finally {
      await busy.gateway.close();
    }
  });
});

describe('gateway shutdown', () => {
  const dirs = new TempDirs();
  let anthropic: FakeAnthropic;
  let ollama: FakeOllama;
  before(async () => {
    [anthropic, ollama] = await Promise.all([startFakeAnthropic(), startFakeOllama()]);
  });
  after(async () => {
    await Promise.all([anthropic?.close(), ollama?.close()]);
    dirs.removeAll();
  });
  afterEach(() => anthropic.reset());

  test('close() lets a stream in flight finish, then refuses new connections', async () => {
    const harness = await startHarness(dirs, gatewayConfig(fakeTiers({ anthropic: anthropic.baseUrl, ollama: ollama.baseUrl })));
    anthropic.reply({ type: 'answer', text: ['a', 'b', 'c'], chunkDelayMs: 100 });
    const inFlight = streamTurn(harness.gateway.url, JSON.stringify(claudeCodeMainTurn()));
    await anthropic.waitForRequests(1);
    await harness.gateway.close();
    const finished = await inFlight;
    assert.equal(finished.ended, true);
    assert.match(finished.text, /event: message_stop/);
    await assert.rejects(send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: '{}' }), /ECONNREFUSED/);
  });

  test('a stream longer than the grace period is cut and settled as an error', async () => {
    const harness = await startHarness(dirs, gatewayConfig(fakeTiers({ anthropic: anthropic.baseUrl, ollama: ollama.baseUrl })), { gateway: { shutdownGraceMs: 150 } });
    anthropic.reply({ type: 'answer', text: ['a', 'b', 'c', 'd', 'e'], chunkDelayMs: 200, usage: { input_tokens: 500, output_tokens: 5 } });
    const inFlight = streamTurn(harness.gateway.url, JSON.stringify(claudeCodeMainTurn()));
    await anthropic.waitForRequests(1);
    await harness.gateway.close();
    assert.equal((await inFlight).ended, false);
    const [call] = callRecordsOf(readLedgerRecords(harness.ledgerDir));
    assert.equal(call.outcome, 'error');
    assert.equal(call.errorKind, 'shutdown');
    assert.equal(call.detail, 'the gateway is shutting down');
    assert.equal(call.inputTokens, 500);
    assert.deepEqual(openReservationsOf(readLedgerRecords(harness.ledgerDir)), []);
  });
});
