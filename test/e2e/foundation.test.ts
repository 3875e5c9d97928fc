// The installed VSIX comes up in a real VS Code: status bar meter, palette command, sidebar webview and
// the activation line in its output channel. One code-server serves every test in this file.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSampleWorkspace } from './harness/sampleWorkspace';
import { extensionUiTimeoutMs, installTimeoutMs, workbenchReadyTimeoutMs } from './harness/timeouts';
import {
  activationFailurePattern,
  activationLinePattern,
  openSpendViewCommandTitle,
  outputChannelName,
  spendMeterLabelPattern,
  spendMeterNothingSpentPattern,
  spendStatusBarItemId,
  spendViewTestId,
} from './harness/tierwiseUi';
import { VSCodeSession } from './harness/vscode';

const testTimeoutMs = 2 * extensionUiTimeoutMs;

describe('Tierwise foundation in VS Code (code-server)', () => {
  let session: VSCodeSession | undefined;
  let workspaceRoot: string | undefined;

  before(
    async () => {
      workspaceRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tierwise-e2e-workspace-'));
      const workspaceFolder = createSampleWorkspace(path.join(workspaceRoot, 'sample-scores'));
      session = await VSCodeSession.start({ workspaceFolder, name: 'foundation' });
    },
    { timeout: installTimeoutMs + 2 * workbenchReadyTimeoutMs },
  );

  after(async () => {
    await session?.close();
    if (workspaceRoot) fs.rmSync(workspaceRoot, { recursive: true, force: true });
  });

  /** The running session; throws (failing the test) if before() could not start one. */
  const vscode = (): VSCodeSession => {
    if (!session) throw new Error('VS Code did not start; see the failure of the before hook.');
    return session;
  };

  it('shows the spend meter in the status bar', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('status-bar', async () => {
      assert.match(await vscode().statusBarText(spendStatusBarItemId), spendMeterNothingSpentPattern);
      assert.match(await vscode().statusBarLabel(spendStatusBarItemId), spendMeterLabelPattern);
      const pulseIcons = vscode().statusBarItem(spendStatusBarItemId).locator('.codicon-pulse');
      assert.equal(await pulseIcons.count(), 1, 'the meter shows the pulse codicon');
    }),
  );

  it('lists "Tierwise: Open Spend & Routing" in the command palette', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('palette', async () => {
      assert.equal(await vscode().paletteHas(openSpendViewCommandTitle), true, `palette lists "${openSpendViewCommandTitle}"`);
    }),
  );

  it('opens the Spend & Routing view with its webview', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('spend-view', async () => {
      await vscode().runCommand(openSpendViewCommandTitle);
      const text = await vscode().webviewFrameText(spendViewTestId);
      assert.match(text, /No spend recorded yet/);
    }),
  );

  it('logs its activation time to the Tierwise output channel', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('output-channel', async () => {
      const match = await vscode().waitForOutputChannelText(outputChannelName, activationLinePattern);
      const activationMs = Number(match[1]);
      assert.ok(Number.isFinite(activationMs) && activationMs >= 0, `activation time ${match[1]} is a number of ms`);
      const activationFailure = vscode().extensionHostLog().match(activationFailurePattern);
      assert.equal(activationFailure, null, `the extension host logged:\n${activationFailure?.[0]}`);
    }),
  );

  it('on first run without a local model, says so and opens the setup guide', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('first-run', async () => {
      // Nothing listens on the default Ollama port here, so the local tier does not answer.
      const toast = vscode().page.locator('.notification-toast', { hasText: /no local model answers/ }).first();
      await toast.waitFor({ state: 'visible', timeout: extensionUiTimeoutMs });
      assert.match(await toast.innerText(), /local-tier work goes to the mid tier/);
      await toast.locator('a.monaco-button', { hasText: 'Open Setup Guide' }).click();
      await vscode().page.locator('.tabs-container .tab', { hasText: /Preview installOllama\.md/ }).first().waitFor({ state: 'visible', timeout: extensionUiTimeoutMs });
    }),
  );
});
