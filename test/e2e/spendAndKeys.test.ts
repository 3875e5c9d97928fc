// Money and secrets in the real VS Code: a key set through "Tierwise: Set API Key…" reaches the provider and
// nowhere else; the status-bar meter moves by exactly the settled cost; a nearly spent daily cap downgrades a
// frontier request (policy downgrade) or blocks it (policy block), and the UI says so.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeRecord } from '../../extension/router/ledger/codec';
import type { CallRecord } from '../../extension/router/ledger/records';
import { E2E_PRICES, E2E_MODELS, readLedgerRecords, setApiKeyThroughUi, startFakeProviders, type FakeProviderSet } from './harness/fakeProviders';
import { createSampleWorkspace } from './harness/sampleWorkspace';
import { extensionUiTimeoutMs, installTimeoutMs, workbenchReadyTimeoutMs } from './harness/timeouts';
import { outputChannelName, spendStatusBarItemId } from './harness/tierwiseUi';
import { VSCodeSession } from './harness/vscode';
import { waitUntil } from './harness/waitUntil';

const testTimeoutMs = 4 * extensionUiTimeoutMs;
const OPENAI_KEY = `sk-e2e-${randomBytes(12).toString('hex')}`;
const ANTHROPIC_KEY = `sk-ant-e2e-${randomBytes(12).toString('hex')}`;

// One paid answer on the mid tier (fake OpenAI) with usage chosen so its cost shows at cent precision:
// 400,000 input tokens × $0.25/M + 10,000 output tokens × $2/M = $0.10 + $0.02 = $0.12.
const PAID_USAGE = { prompt_tokens: 400_000, completion_tokens: 10_000 };
const PAID_COST_USD = (400_000 * E2E_PRICES[E2E_MODELS.mid].inputPerMTokUsd + 10_000 * E2E_PRICES[E2E_MODELS.mid].outputPerMTokUsd) / 1e6;

describe('Tierwise spend meter, caps and keys in VS Code', () => {
  let session: VSCodeSession | undefined;
  let fakes: FakeProviderSet | undefined;
  let workspaceRoot: string | undefined;

  before(
    async () => {
      fakes = await startFakeProviders();
      workspaceRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tierwise-e2e-spend-'));
      const workspaceFolder = createSampleWorkspace(path.join(workspaceRoot, 'sample'));
      session = await VSCodeSession.start({ workspaceFolder, name: 'spend-and-keys', userSettings: fakes.settings() });
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
  const providers = (): FakeProviderSet => fakes!;
  /** Model calls only: the panel's provider status also asks each server for its model list. */
  const chatCalls = <R extends { method: string }>(fake: { requests: R[] }): R[] => fake.requests.filter((request) => request.method === 'POST');
  async function waitForChatCalls(fake: { requests: { method: string }[] }, count: number): Promise<void> {
    await waitUntil(() => chatCalls(fake).length >= count, { timeoutMs: 20_000, description: `${count} model calls` });
  }

  async function ask(question: string): Promise<void> {
    await vscode().runCommand('Tierwise: Ask…');
    const input = vscode().quickInputBox();
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(question);
    await vscode().page.keyboard.press('Enter');
  }

  async function waitForMeter(pattern: RegExp): Promise<string> {
    let text = '';
    await waitUntil(
      async () => {
        text = await vscode().statusBarText(spendStatusBarItemId);
        return pattern.test(text);
      },
      { timeoutMs: 15_000, description: `the spend meter to match ${pattern} (last: "${text}")` },
    );
    return text;
  }

  function notification(pattern: RegExp) {
    return vscode().page.locator('.notification-toast', { hasText: pattern }).first();
  }

  it('uses a key set through the command for the provider call, and moves the meter by the exact cost', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('key-and-meter', async () => {
      assert.equal(await waitForMeter(/\$0\.00 today/), '$0.00 today');
      await setApiKeyThroughUi(vscode(), 'OPENAI_API_KEY', OPENAI_KEY);
      await setApiKeyThroughUi(vscode(), 'ANTHROPIC_API_KEY', ANTHROPIC_KEY);

      providers().openai.reply({ type: 'answer', text: 'The answer is 42.', usage: PAID_USAGE });
      await ask('What is the answer?');
      await waitForChatCalls(providers().openai, 1);
      const request = chatCalls(providers().openai)[0];
      assert.equal(request.headers.authorization, `Bearer ${OPENAI_KEY}`, 'the stored key reaches the provider');

      assert.equal(PAID_COST_USD, 0.12);
      assert.equal(await waitForMeter(/\$0\.12 today/), '$0.12 today');
      const calls = readLedgerRecords(providers().ledgerDir).filter((record) => record.type === 'call');
      assert.equal(calls.length, 1);
      assert.equal(calls[0].costUsd, PAID_COST_USD, 'the ledger settles the exact cost');
      assert.equal(calls[0].model, E2E_MODELS.mid);
    }),
  );

  it('updates the meter within a second when another process (another window, the CLI) settles a call', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('other-window', async () => {
      await waitForMeter(/\$0\.12 today/);
      const now = new Date();
      const month = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`;
      const record: CallRecord = {
        v: 1, type: 'call', ts: Date.now(), requestId: 'other-window-1', task: 'ask', tier: 'mid', provider: 'openai',
        model: E2E_MODELS.mid, endpointId: 'openai:gpt-5-mini@elsewhere', client: 'cli', inputTokens: 1000, outputTokens: 100,
        cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, costUsd: 0.05, unpriced: false,
        frontierCostUsd: 0.2, latencyMs: 800, outcome: 'ok',
      };
      const appendedAt = Date.now();
      fs.appendFileSync(path.join(providers().ledgerDir, `${month}.jsonl`), encodeRecord(record));
      await waitForMeter(/\$0\.17 today/);
      const elapsedMs = Date.now() - appendedAt;
      assert.ok(elapsedMs < 1500, `the meter took ${elapsedMs} ms to show another process's call (status-bar polling adds up to ~250 ms)`);
    }),
  );

  it('keeps the keys out of settings, the output channel and the ledger', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('keys-nowhere', async () => {
      const settingsText = fs.readFileSync(path.join(vscode().dirs.userDataDir, 'User', 'settings.json'), 'utf8');
      const outputText = await vscode().outputChannelText(outputChannelName);
      assert.match(outputText, /OPENAI_API_KEY stored in secret storage/, 'the output channel was read');
      const ledgerText = fs
        .readdirSync(providers().ledgerDir)
        .map((file) => fs.readFileSync(path.join(providers().ledgerDir, file), 'utf8'))
        .join('\n');
      assert.ok(ledgerText.length > 0, 'the ledger has records');
      for (const key of [OPENAI_KEY, ANTHROPIC_KEY]) {
        for (const [where, text] of [['settings.json', settingsText], ['the output channel', outputText], ['the ledger', ledgerText]]) {
          assert.equal(text.includes(key), false, `a key appears in ${where}`);
          assert.equal(text.includes(key.slice(8)), false, `part of a key appears in ${where}`);
        }
      }
    }),
  );

  /** Changes routing and caps the way a user would: in the Spend & Routing panel (it writes the user settings). */
  async function configureInPanel(changes: { askTier?: string; dailyUsd?: string; policy?: string }): Promise<void> {
    await vscode().runCommand('Tierwise: Open Spend & Routing');
    const panel = await vscode().webviewFrame('spend-view');
    if (changes.askTier) await panel.locator('[data-testid="route-select-ask"]').selectOption(changes.askTier);
    if (changes.dailyUsd) {
      const daily = panel.locator('[data-testid="cap-input-budgets.dailyUsd"]');
      await daily.fill(changes.dailyUsd);
      await daily.press('Enter');
    }
    if (changes.policy) await panel.locator('[data-testid="cap-policy"]').selectOption(changes.policy);
    const expected = new RegExp(
      `Settings applied: .*${changes.askTier ? `ask→${changes.askTier}` : ''}.*caps daily ${changes.dailyUsd ?? '.*'} .*policy ${changes.policy ?? '.*'}$`,
      'm',
    );
    // Read the channel's log file: the Output view wraps long lines, which would split the pattern.
    await waitUntil(() => expected.test(vscode().outputChannelLog(outputChannelName) ?? ''), {
      timeoutMs: 15_000,
      description: `the Tierwise log to show ${expected}`,
    });
  }

  it('downgrades a frontier request when the daily cap is nearly spent, and says so', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('downgrade', async () => {
      // $0.17 spent of a $0.18 cap: a frontier answer's worst case (4,096 output tokens at $15/M alone is $0.06) does
      // not fit, a mid answer's (2,048 × $2/M ≈ $0.004) does.
      await configureInPanel({ askTier: 'frontier', dailyUsd: '0.18', policy: 'downgrade' });
      const settings = JSON.parse(fs.readFileSync(path.join(vscode().dirs.userDataDir, 'User', 'settings.json'), 'utf8'));
      assert.equal(settings['tierwise.routes'].ask, 'frontier');
      assert.equal(settings['tierwise.budgets.dailyUsd'], 0.18);
      await waitForMeter(/\$0\.17 \/ \$0\.18/);
      const meterClass = await vscode().statusBarItem(spendStatusBarItemId).getAttribute('class');
      assert.match(meterClass ?? '', /warning-kind/, 'the meter shows the warning colour past the soft threshold');

      providers().openai.reply({ type: 'answer', text: 'Downgraded answer.', usage: { prompt_tokens: 100, completion_tokens: 10 } });
      await ask('Plan something big');
      await notification(/downgraded from frontier to mid/).waitFor({ state: 'visible', timeout: 20_000 });
      await waitForChatCalls(providers().openai, 2);
      assert.equal(chatCalls(providers().anthropic).length, 0, 'the frontier provider was not called');
      const decisions = readLedgerRecords(providers().ledgerDir).filter((record) => record.type === 'decision');
      assert.match(String(decisions.at(-1)?.reason), /daily cap 9\d% → downgraded frontier → mid/);
    }),
  );

  it('blocks the request under policy block, naming the cap and the setting', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('block', async () => {
      await configureInPanel({ policy: 'block' });
      const openaiBefore = chatCalls(providers().openai).length;
      await ask('Plan something else');
      await notification(/daily cap \$0\.18.*tierwise\.budgets\.dailyUsd/).waitFor({ state: 'visible', timeout: 20_000 });
      assert.equal(chatCalls(providers().anthropic).length, 0, 'the frontier provider was not called');
      assert.equal(chatCalls(providers().openai).length, openaiBefore, 'no cheaper tier was called either');
    }),
  );
});
