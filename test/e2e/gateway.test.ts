// The gateway inside the real VS Code: with tierwise.gateway.enabled, a new integrated terminal carries the gateway's
// address and token (and no provider key), and an Anthropic-style request made from that terminal is routed with the
// key from secret storage, counted in the ledger under its client, and answered.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { E2E_MODELS, readLedgerRecords, setApiKeyThroughUi, startFakeProviders, type FakeProviderSet } from './harness/fakeProviders';
import { createSampleWorkspace } from './harness/sampleWorkspace';
import { extensionUiTimeoutMs, installTimeoutMs, workbenchReadyTimeoutMs } from './harness/timeouts';
import { outputChannelName, spendStatusBarItemId } from './harness/tierwiseUi';
import { VSCodeSession } from './harness/vscode';
import { waitUntil } from './harness/waitUntil';

const testTimeoutMs = 4 * extensionUiTimeoutMs;
const ANTHROPIC_KEY = `sk-ant-e2e-${randomBytes(12).toString('hex')}`;

describe('Tierwise gateway for terminal agents in VS Code', () => {
  let session: VSCodeSession | undefined;
  let fakes: FakeProviderSet | undefined;
  let workspaceRoot: string | undefined;
  let workspaceFolder = '';

  before(
    async () => {
      fakes = await startFakeProviders();
      workspaceRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tierwise-e2e-gateway-'));
      workspaceFolder = createSampleWorkspace(path.join(workspaceRoot, 'sample'));
      session = await VSCodeSession.start({
        workspaceFolder,
        name: 'gateway',
        userSettings: fakes.settings({ 'tierwise.gateway.enabled': true }),
      });
    },
    { timeout: installTimeoutMs + 2 * workbenchReadyTimeoutMs },
  );

  after(async () => {
    await session?.close();
    await fakes?.close();
    if (workspaceRoot) fs.rmSync(workspaceRoot, { recursive: true, force: true });
  });

  const vscode = (): VSCodeSession => {
    if (!session) throw new Error('VS Code did not start; see the failure of the before hook.');
    return session;
  };

  async function inNewTerminal(command: string): Promise<void> {
    await vscode().runCommand('Terminal: Create New Terminal');
    await vscode().page.locator('.terminal-wrapper.active .xterm').waitFor({ state: 'visible', timeout: 20_000 });
    await vscode().page.locator('.terminal-wrapper.active .xterm-helper-textarea').focus();
    await vscode().page.keyboard.type(command);
    await vscode().page.keyboard.press('Enter');
  }

  const waitForFile = (file: string, pattern: RegExp) =>
    waitUntil(() => fs.existsSync(file) && pattern.test(fs.readFileSync(file, 'utf8')), { timeoutMs: 30_000, description: `${file} to match ${pattern}` });

  it('routes a request made in a new terminal with the stored key, and records it under its client', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('terminal-request', async () => {
      await vscode().statusBarText(spendStatusBarItemId);
      await setApiKeyThroughUi(vscode(), 'ANTHROPIC_API_KEY', ANTHROPIC_KEY);
      await waitUntil(() => /Gateway listening at http:\/\/127\.0\.0\.1:\d+/.test(vscode().outputChannelLog(outputChannelName) ?? ''), {
        timeoutMs: 20_000,
        description: 'the gateway to start',
      });

      fakes!.anthropic.reply({ type: 'answer', text: 'Routed through Tierwise.', usage: { input_tokens: 12, output_tokens: 5 } });
      const body = JSON.stringify({ model: E2E_MODELS.frontier, max_tokens: 64, messages: [{ role: 'user', content: 'hi from the terminal' }] });
      await inNewTerminal(
        `env > terminal-env.txt; curl -s -H "x-api-key: $ANTHROPIC_AUTH_TOKEN" -H 'content-type: application/json' ` +
          `-H 'anthropic-version: 2023-06-01' -d '${body}' "$ANTHROPIC_BASE_URL/v1/messages" > gateway-answer.json`,
      );

      await waitForFile(path.join(workspaceFolder, 'gateway-answer.json'), /Routed through Tierwise\./);
      const terminalEnv = fs.readFileSync(path.join(workspaceFolder, 'terminal-env.txt'), 'utf8');
      assert.match(terminalEnv, /^ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:\d+$/m, 'the terminal points Claude Code at the gateway');
      assert.match(terminalEnv, /^ANTHROPIC_AUTH_TOKEN=tw-gw-/m);
      assert.match(terminalEnv, /^TIERWISE_GATEWAY_TOKEN=/m);
      assert.equal(terminalEnv.includes(ANTHROPIC_KEY), false, 'no provider key enters a terminal');

      const upstream = fakes!.anthropic.requests.filter((request) => request.method === 'POST');
      assert.equal(upstream.length, 1);
      assert.equal(upstream[0].headers['x-api-key'], ANTHROPIC_KEY, 'the gateway calls upstream with the stored key');
      assert.equal(upstream[0].headers.authorization, undefined, 'the gateway token does not travel upstream');
      assert.equal((upstream[0].body as { model: string }).model, E2E_MODELS.frontier);

      const calls = readLedgerRecords(fakes!.ledgerDir).filter((record) => record.type === 'call');
      assert.equal(calls.length, 1);
      assert.deepEqual([calls[0].client, calls[0].model, calls[0].outcome], ['other', E2E_MODELS.frontier, 'ok']);
      // 12 × $3 + 5 × $15 per million tokens.
      assert.equal(calls[0].costUsd, (12 * 3 + 5 * 15) / 1e6);
    }),
  );
});
