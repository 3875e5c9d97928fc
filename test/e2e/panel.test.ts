// The Spend & Routing panel in a real VS Code: it lists the requests in a seeded ledger, writes the user's
// settings from its routing editor, follows ledger appends live, and shows each endpoint's status.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import { encodeRecord } from '../../extension/router/ledger/codec';
import { monthFileName } from '../../extension/router/ledger/ledger';
import type { TierwiseConfig } from '../../extension/router/config';
import type { CallRecord, DecisionRecord, LedgerRecord } from '../../extension/router/ledger/records';
import { E2E_MODELS, setApiKeyThroughUi, startFakeProviders, type FakeProviderSet } from './harness/fakeProviders';
import { createSampleWorkspace } from './harness/sampleWorkspace';
import { extensionUiTimeoutMs, installTimeoutMs, uiStepTimeoutMs, workbenchReadyTimeoutMs } from './harness/timeouts';
import { openSpendViewCommandTitle, spendStatusBarItemId, spendViewTestId } from './harness/tierwiseUi';
import { VSCodeSession } from './harness/vscode';
import { waitUntil } from './harness/waitUntil';

const testTimeoutMs = 2 * extensionUiTimeoutMs;
/** How soon an append by another process must show in the open panel. */
const liveUpdateBudgetMs = 2_500;

const pad = (value: number) => String(value).padStart(2, '0');
/** Local calendar day and month, as the ledger files are named. */
const localDay = (epochMs: number) => {
  const date = new Date(epochMs);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
};

function decision(requestId: string, ts: number, fields: Pick<DecisionRecord, 'task' | 'tier' | 'provider' | 'model' | 'reason'> & Partial<DecisionRecord>): DecisionRecord {
  return { v: 1, ts, type: 'decision', requestId, estInputTokens: 1000, reservedUsd: 0.01, client: 'editor', ...fields };
}

function call(requestId: string, ts: number, fields: Pick<CallRecord, 'task' | 'tier' | 'provider' | 'model' | 'costUsd'> & Partial<CallRecord>): CallRecord {
  return {
    v: 1,
    ts,
    type: 'call',
    requestId,
    endpointId: `${fields.provider}:${fields.model}@test`,
    client: 'editor',
    inputTokens: 1200,
    outputTokens: 300,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    reasoningTokens: 0,
    unpriced: false,
    frontierCostUsd: fields.costUsd * 4,
    latencyMs: 900,
    outcome: 'ok',
    ...fields,
  };
}

/** Appends records to their month files exactly as the ledger writes them (one JSON line each, local months). */
function appendToLedger(ledgerDir: string, records: LedgerRecord[]): void {
  for (const record of records) {
    fs.appendFileSync(path.join(ledgerDir, monthFileName(localDay(record.ts).slice(0, 7))), encodeRecord(record));
  }
}

describe('Spend & Routing panel in VS Code (code-server)', () => {
  let session: VSCodeSession | undefined;
  let fakes: FakeProviderSet | undefined;
  let workspaceRoot: string | undefined;
  const now = Date.now();
  // A few seconds ago, so every seeded call counts today (unless the test starts within seconds of midnight).
  const recent = (secondsAgo: number) => Math.max(now - secondsAgo * 1000, new Date(new Date(now).setHours(0, 0, 0, 0)).getTime());
  const fiveDaysAgo = now - 5 * 86_400_000;

  before(
    async () => {
      fakes = await startFakeProviders();
      appendToLedger(fakes.ledgerDir, [
        // Five days ago: in this month's file or the previous month's; the chart shows it either way.
        decision('older', fiveDaysAgo, { task: 'ask', tier: 'mid', provider: 'openai', model: E2E_MODELS.mid, reason: 'routes.ask → mid' }),
        call('older', fiveDaysAgo + 500, { task: 'ask', tier: 'mid', provider: 'openai', model: E2E_MODELS.mid, costUsd: 0.5 }),
        decision('commit', recent(30), { task: 'commitMessage', tier: 'local', provider: 'ollama', model: E2E_MODELS.local, reason: 'routes.commitMessage → local' }),
        call('commit', recent(29), { task: 'commitMessage', tier: 'local', provider: 'ollama', model: E2E_MODELS.local, costUsd: 0, frontierCostUsd: 0.02 }),
        decision('refactor', recent(20), { task: 'refactor', tier: 'mid', provider: 'openai', model: E2E_MODELS.mid, reason: 'routes.refactor → mid' }),
        call('refactor', recent(19), { task: 'refactor', tier: 'mid', provider: 'openai', model: E2E_MODELS.mid, costUsd: 0.0021, outcome: 'validationFailed', detail: 'no code block' }),
        call('refactor', recent(18), { task: 'refactor', tier: 'frontier', provider: 'anthropic', model: E2E_MODELS.frontier, costUsd: 0.0456 }),
        decision('plan', recent(10), { task: 'plan', tier: 'frontier', provider: 'anthropic', model: E2E_MODELS.frontier, reason: 'routes.plan → frontier', client: 'cli' }),
        call('plan', recent(9), { task: 'plan', tier: 'frontier', provider: 'anthropic', model: E2E_MODELS.frontier, costUsd: 0.1234, client: 'cli' }),
      ]);
      workspaceRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tierwise-e2e-workspace-'));
      const workspaceFolder = createSampleWorkspace(path.join(workspaceRoot, 'sample-scores'), { git: false });
      session = await VSCodeSession.start({ workspaceFolder, name: 'panel', userSettings: fakes.settings() });
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
  const ledgerDir = () => fakes!.ledgerDir;
  const userSettings = (): Record<string, unknown> =>
    JSON.parse(fs.readFileSync(path.join(vscode().dirs.userDataDir, 'User', 'settings.json'), 'utf8')) as Record<string, unknown>;

  let panel: Frame | undefined;
  /** The panel's frame, opened through the command palette the first time. */
  async function openPanel(): Promise<Frame> {
    if (panel && !panel.isDetached()) return panel;
    // The meter shows once the extension is active; the palette is slow to list commands before that.
    await vscode().statusBarText(spendStatusBarItemId);
    await vscode().runCommand(openSpendViewCommandTitle);
    panel = await vscode().webviewFrame(spendViewTestId);
    return panel;
  }
  const rows = (frame: Frame) => frame.locator('[data-testid="decision-row"]');
  const rowFor = (frame: Frame, requestId: string) => frame.locator(`[data-testid="decision-row"][data-request-id="${requestId}"]`);
  const text = async (frame: Frame, selector: string) => (await frame.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim();

  it('lists the ledger requests, one row each, with today against the chart', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('panel-rows', async () => {
      const frame = await openPanel();
      await waitUntil(async () => (await rows(frame).count()) >= 3, { timeoutMs: extensionUiTimeoutMs, description: 'the seeded requests in the panel' });

      /** A row's fields, by the data-testid each cell carries. */
      const fields = async (requestId: string) => {
        const row = rowFor(frame, requestId);
        const cell = async (name: string) => (await row.locator(`[data-testid="decision-${name}"]`).innerText()).trim();
        return { task: await cell('task'), tier: await cell('tier'), model: await cell('model'), cost: await cell('cost'), text: (await row.innerText()).replace(/\s+/g, ' ') };
      };
      const refactor = await fields('refactor');
      assert.deepEqual([refactor.task, refactor.tier, refactor.model, refactor.cost], ['refactor', 'frontier', E2E_MODELS.frontier, '$0.0477'], 'final tier and model, cost of both attempts');
      assert.match(refactor.text, /1 escalation/);
      assert.match(refactor.text, /mid gpt-5-mini failed its check: no code block/);
      assert.match(refactor.text, /2,400 → 600 tok/);

      const plan = await fields('plan');
      assert.deepEqual([plan.task, plan.tier, plan.model, plan.cost], ['plan', 'frontier', E2E_MODELS.frontier, '$0.1234']);
      assert.match(plan.text, /· cli ·/, 'the client');
      const commit = await fields('commit');
      assert.deepEqual([commit.task, commit.tier, commit.model, commit.cost], ['commitMessage', 'local', E2E_MODELS.local, '$0.00']);

      const order = await rows(frame).evaluateAll((items) => items.map((item) => item.getAttribute('data-request-id')));
      assert.deepEqual(order.slice(0, 3), ['plan', 'refactor', 'commit'], 'newest first');

      assert.equal(await text(frame, '[data-testid="today-spend"]'), '$0.1711');
      assert.equal(await frame.locator('[data-testid="day-bar"]').count(), 30, 'one bar per day, empty days included');
      const olderBar = frame.locator(`[data-testid="day-bar"][data-day="${localDay(fiveDaysAgo)}"]`);
      assert.match((await olderBar.getAttribute('aria-label')) ?? '', /\$0\.50, 1 call/);
      assert.match((await frame.locator('[data-testid="day-bar"].empty').first().getAttribute('aria-label')) ?? '', /no calls/);
    }),
  );

  it('filters the requests by text and by tier', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('panel-filter', async () => {
      const frame = await openPanel();
      await frame.locator('[data-testid="decision-filter"]').fill('sonnet');
      await waitUntil(async () => (await rows(frame).count()) === 2, { timeoutMs: uiStepTimeoutMs, description: 'two sonnet rows' });
      await frame.locator('[data-testid="decision-filter"]').fill('');
      await frame.locator('[data-testid="decision-tier-filter"]').selectOption('local');
      await waitUntil(async () => (await rows(frame).count()) === 1, { timeoutMs: uiStepTimeoutMs, description: 'one local row' });
      assert.match(await rows(frame).first().innerText(), /commitMessage/);
      await frame.locator('[data-testid="decision-tier-filter"]').selectOption('all');
      await waitUntil(async () => (await rows(frame).count()) >= 3, { timeoutMs: uiStepTimeoutMs, description: 'every row again' });
    }),
  );

  it('writes a route change to the user settings, as the Settings UI does', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('panel-route', async () => {
      const frame = await openPanel();
      const refactorRoute = frame.locator('[data-testid="route-select-refactor"]');
      assert.equal(await refactorRoute.inputValue(), 'mid');
      await refactorRoute.selectOption('frontier');
      const routes = await waitUntil(
        () => {
          const value = userSettings()['tierwise.routes'] as Record<string, string> | undefined;
          return value?.refactor === 'frontier' ? value : undefined;
        },
        { timeoutMs: uiStepTimeoutMs, description: 'tierwise.routes.refactor = frontier in settings.json' },
      );
      assert.equal(routes.commitMessage, 'local', 'the other routes are kept');
      // The panel draws the new state from the settings, and shows no error.
      await waitUntil(async () => (await frame.locator('[data-testid="route-select-refactor"]').inputValue()) === 'frontier', {
        timeoutMs: uiStepTimeoutMs,
        description: 'the route select to show frontier',
      });
      assert.equal(await frame.locator('[data-testid="routes"] .field-error').count(), 0);
    }),
  );

  it('adds, reorders and removes a tier’s endpoints through tierwise.tiers', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('panel-endpoints', async () => {
      const frame = await openPanel();
      const localEndpoints = () => ((userSettings()['tierwise.tiers'] as TierwiseConfig['tiers'] | undefined)?.local.endpoints ?? []).map((endpoint) => endpoint.model);
      const form = frame.locator('[data-testid="add-endpoint"]');
      // The webview checks the form before sending anything.
      await form.locator('[data-testid="add-endpoint-submit"]').click();
      await form.locator('.field-error', { hasText: 'model id' }).waitFor({ state: 'visible', timeout: uiStepTimeoutMs });

      await form.locator('[data-testid="add-endpoint-tier"]').selectOption('local');
      await form.locator('[data-testid="add-endpoint-provider"]').selectOption('openai');
      await form.locator('[data-testid="add-endpoint-model"]').fill('qwen3-coder');
      await form.locator('[data-testid="add-endpoint-url"]').fill('http://127.0.0.1:9/v1');
      await form.locator('[data-testid="add-endpoint-submit"]').click();
      await waitUntil(() => localEndpoints().join() === `${E2E_MODELS.local},qwen3-coder`, { timeoutMs: uiStepTimeoutMs, description: 'the new endpoint last in tierwise.tiers.local' });
      const added = (userSettings()['tierwise.tiers'] as TierwiseConfig['tiers']).local.endpoints[1];
      assert.deepEqual(added, { provider: 'openai', model: 'qwen3-coder', baseUrl: 'http://127.0.0.1:9/v1' });

      const localTier = frame.locator('[data-testid="tier-local"]');
      await waitUntil(async () => (await localTier.locator('[data-testid="endpoint-row"]').count()) === 2, { timeoutMs: uiStepTimeoutMs, description: 'two local endpoints in the panel' });
      await localTier.locator('[data-testid="endpoint-row"]').nth(1).locator('[data-testid="endpoint-up"]').click();
      await waitUntil(() => localEndpoints().join() === `qwen3-coder,${E2E_MODELS.local}`, { timeoutMs: uiStepTimeoutMs, description: 'qwen3-coder moved first' });
      await waitUntil(async () => /qwen3-coder/.test(await localTier.locator('[data-testid="endpoint-row"]').first().innerText()), { timeoutMs: uiStepTimeoutMs, description: 'the panel to show the new order' });
      await localTier.locator('[data-testid="endpoint-row"]').first().locator('[data-testid="endpoint-remove"]').click();
      await waitUntil(() => localEndpoints().join() === E2E_MODELS.local, { timeoutMs: uiStepTimeoutMs, description: 'qwen3-coder removed' });
      await waitUntil(async () => (await localTier.locator('[data-testid="endpoint-row"]').count()) === 1, { timeoutMs: uiStepTimeoutMs, description: 'one local endpoint in the panel' });
      assert.equal(await localTier.locator('[data-testid="endpoint-remove"]').isDisabled(), true, 'the last endpoint of a tier cannot be removed');
    }),
  );

  it('checks caps before writing them and shows today against the new cap', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('panel-caps', async () => {
      const frame = await openPanel();
      const daily = frame.locator('[data-testid="cap-input-budgets.dailyUsd"]');
      await daily.fill('-2');
      await daily.press('Enter');
      await frame.locator('[data-testid="caps-section"] .field-error', { hasText: 'negative' }).waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
      assert.equal(userSettings()['tierwise.budgets.dailyUsd'], undefined, 'nothing written');

      await frame.locator('[data-testid="cap-input-budgets.dailyUsd"]').fill('0.2');
      await frame.locator('[data-testid="cap-input-budgets.dailyUsd"]').press('Enter');
      await waitUntil(() => userSettings()['tierwise.budgets.dailyUsd'] === 0.2, { timeoutMs: uiStepTimeoutMs, description: 'tierwise.budgets.dailyUsd = 0.2' });
      // $0.1711 of $0.20 is 85%: past the 80% soft threshold.
      const meter = frame.locator('[data-testid="cap-daily"]');
      await meter.waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
      await waitUntil(async () => /nearing the cap/.test(await meter.innerText()), { timeoutMs: uiStepTimeoutMs, description: 'the warning state' });
      assert.match((await meter.innerText()).replace(/\s+/g, ' '), /of \$0\.20 · 85%/);
      assert.equal(await meter.locator('[role="progressbar"]').getAttribute('aria-valuenow'), '85');
    }),
  );

  it('shows each endpoint’s status, installed local models and whether a key is set, never the key', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('panel-providers', async () => {
      const frame = await openPanel();
      const statuses = frame.locator('[data-testid="provider-status"]');
      const states = () => statuses.evaluateAll((items) => items.map((item) => item.getAttribute('data-state')));
      await waitUntil(async () => (await statuses.count()) === 3, { timeoutMs: uiStepTimeoutMs, description: 'three endpoint statuses' });
      // Paid endpoints without a key are not asked at all.
      assert.deepEqual(await states(), ['reachable', 'needsKey', 'needsKey']);
      const local = (await statuses.nth(0).innerText()).replace(/\s+/g, ' ');
      assert.match(local, new RegExp(`Installed: ${E2E_MODELS.local.replace(/[.:]/g, '\\$&')}`));
      assert.match(local, /no key needed/);
      assert.match(await statuses.nth(1).innerText(), /No key OPENAI_API_KEY stored/);

      const key = 'sk-e2e-panel-secret-4242';
      await setApiKeyThroughUi(vscode(), 'OPENAI_API_KEY', key);
      await frame.locator('[data-testid="refresh-providers"]').click();
      await waitUntil(async () => (await states())[1] === 'reachable', { timeoutMs: uiStepTimeoutMs, description: 'the mid endpoint reachable with its key' });
      assert.match(await statuses.nth(1).innerText(), /Key OPENAI_API_KEY is set/);
      const html = await frame.locator(`[data-testid="${spendViewTestId}"]`).innerHTML();
      assert.ok(!html.includes(key), 'the key never reaches the panel');
    }),
  );

  it('follows an append to the ledger by another process within two seconds', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('panel-live', async () => {
      const frame = await openPanel();
      const before = await rows(frame).count();
      const ts = Date.now();
      appendToLedger(ledgerDir(), [
        decision('live', ts, { task: 'explainDiagnostic', tier: 'local', provider: 'ollama', model: E2E_MODELS.local, reason: 'routes.explainDiagnostic → local' }),
        call('live', ts + 1, { task: 'explainDiagnostic', tier: 'local', provider: 'ollama', model: E2E_MODELS.local, costUsd: 0 }),
      ]);
      const startedAt = Date.now();
      await waitUntil(async () => (await rowFor(frame, 'live').count()) === 1, { timeoutMs: liveUpdateBudgetMs, intervalMs: 50, description: 'the appended request in the panel' });
      const tookMs = Date.now() - startedAt;
      assert.equal(await rows(frame).count(), before + 1);
      assert.match(await rows(frame).first().innerText(), /explainDiagnostic/);
      console.log(`panel showed the appended request after ${tookMs} ms`);
      if (process.env.TIERWISE_E2E_SCREENSHOTS) console.log(`screenshot: ${await vscode().screenshot('panel-overview')}`);
    }),
  );
});
