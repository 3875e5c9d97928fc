// The three editor chores in a real VS Code (code-server) against loopback fake providers: a commit message
// written into the Source Control input box (escalated when the local answer fails its check; from the unstaged
// changes when nothing is staged), a diagnostic explained from the quick-fix menu, and a natural-language file
// search. One code-server serves every test here; tests run in order and share its state.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import type { RecordedRequest } from '../fakes/server';
import { E2E_MODELS, readLedgerRecords, setApiKeyThroughUi, startFakeProviders, type FakeProviderSet } from './harness/fakeProviders';
import { createSampleWorkspace } from './harness/sampleWorkspace';
import { spendStatusBarItemId } from './harness/tierwiseUi';
import { extensionUiTimeoutMs, installTimeoutMs, uiStepTimeoutMs, workbenchReadyTimeoutMs } from './harness/timeouts';
import { VSCodeSession } from './harness/vscode';
import { waitUntil } from './harness/waitUntil';

const testTimeoutMs = 3 * extensionUiTimeoutMs;
/** The TypeScript server starts cold in a fresh code-server on a busy machine. */
const diagnosticsTimeoutMs = 2 * extensionUiTimeoutMs;

/** The chat requests a fake received (not model listings), as JSON bodies. */
function chatBodies(requests: RecordedRequest[]): Record<string, unknown>[] {
  return requests.filter((request) => request.method === 'POST').map((request) => request.body as Record<string, unknown>);
}

/** All prompt text of one chat request body (Ollama and OpenAI put the system prompt among the messages). */
function promptText(body: Record<string, unknown>): string {
  const messages = (body.messages ?? []) as Array<{ content: unknown }>;
  return messages.map((message) => (typeof message.content === 'string' ? message.content : JSON.stringify(message.content))).join('\n');
}

/** Whitespace-insensitive: editors wrap long lines into several view lines. */
const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The text of a Monaco editor's rendered lines, top to bottom (lines are absolutely positioned). */
async function editorLines(viewLines: Locator): Promise<string> {
  return viewLines.evaluate((element) =>
    [...(element as unknown as { querySelectorAll(selector: string): Iterable<{ textContent: string | null; style: { top: string } }> }).querySelectorAll('.view-line')]
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
      .map((line) => (line.textContent ?? '').replace(/\u00a0/g, ' '))
      .join('\n'),
  );
}

function callRecords(ledgerDir: string, task: string): Record<string, unknown>[] {
  return readLedgerRecords(ledgerDir).filter((record) => record.type === 'call' && record.task === task);
}

/** The call records of the most recent request for `task`, in order. */
function lastRequestCalls(ledgerDir: string, task: string): Record<string, unknown>[] {
  const calls = callRecords(ledgerDir, task);
  const requestId = calls.at(-1)?.requestId;
  return calls.filter((record) => record.requestId === requestId);
}

describe('Tierwise editor chores in VS Code (code-server)', () => {
  let session: VSCodeSession | undefined;
  let fake: FakeProviderSet | undefined;
  let workspaceRoot: string | undefined;
  let workspaceFolder = '';

  before(
    async () => {
      fake = await startFakeProviders();
      workspaceRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tierwise-e2e-chores-'));
      workspaceFolder = createSampleWorkspace(path.join(workspaceRoot, 'sample-scores'));
      session = await VSCodeSession.start({ workspaceFolder, name: 'chores', userSettings: fake.settings() });
      // Tierwise's commands are listed once it has activated; its spend meter shows when it has.
      await session.withScreenshotOnFailure('activation', () => session!.statusBarText(spendStatusBarItemId));
      // The mid tier (fake OpenAI) stands in for a paid API: escalations need its key.
      await session.withScreenshotOnFailure('set-api-key', () => setApiKeyThroughUi(session!, 'OPENAI_API_KEY', 'sk-test-chores-0123456789'));
    },
    { timeout: installTimeoutMs + 3 * workbenchReadyTimeoutMs },
  );

  beforeEach(async () => {
    // A test that failed may leave a menu or picker open; start each from the plain workbench.
    for (let press = 0; press < 2; press++) await session?.page.keyboard.press('Escape');
    fake?.ollama.reset();
    fake?.openai.reset();
    fake?.anthropic.reset();
  });

  after(async () => {
    await session?.close();
    await fake?.close();
    if (workspaceRoot) fs.rmSync(workspaceRoot, { recursive: true, force: true });
  });

  const vscode = (): VSCodeSession => {
    if (!session) throw new Error('VS Code did not start; see the failure of the before hook.');
    return session;
  };
  const fakes = (): FakeProviderSet => {
    if (!fake) throw new Error('The fake providers did not start.');
    return fake;
  };

  /** The Source Control view's commit message box, once it shows `expected` (compared without regard to wrapping). */
  async function waitForCommitBox(expected: string): Promise<string> {
    const box = vscode().page.locator('.scm-view .scm-editor .monaco-editor .view-lines').first();
    let last = '';
    try {
      return await waitUntil(
        async () => {
          last = await editorLines(box);
          return squash(last) === squash(expected) ? last : undefined;
        },
        { timeoutMs: extensionUiTimeoutMs, description: 'the commit message box to hold the generated message' },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\nThe box holds: ${JSON.stringify(last)}`);
    }
  }

  it('writes the local model\'s message for the staged change into the Source Control input box', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('commit-message', async () => {
      const message = 'Add median to the score helpers\n\nReturn the middle value of a sorted copy; 0 for an empty list.';
      fakes().ollama.reply({ type: 'answer', text: message });

      await vscode().runCommand('Tierwise: Generate Commit Message');
      await waitForCommitBox(message);

      const [body] = chatBodies(fakes().ollama.requests);
      assert.ok(body, 'the local model was asked');
      const prompt = promptText(body);
      assert.match(prompt, /The staged changes to commit \(git diff --cached\):/);
      assert.match(prompt, /diff --git a\/src\/math\.ts b\/src\/math\.ts/);
      assert.match(prompt, /\+export function median/, 'the staged hunk is in the prompt');
      assert.match(prompt, /- Add score summary sample/, "the repository's last subject is a style example");
      assert.equal(chatBodies(fakes().openai.requests).length, 0, 'no escalation for a valid message');

      const [call] = lastRequestCalls(fakes().ledgerDir, 'commitMessage');
      assert.equal(call.tier, 'local');
      assert.equal(call.outcome, 'ok');
      await vscode()
        .page.locator('#workbench\\.parts\\.statusbar', { hasText: `Tierwise commit message: local · ${E2E_MODELS.local} · $0.00` })
        .waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
    }),
  );

  it('escalates a local message whose subject is too long to the mid tier, and the ledger shows both attempts', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('commit-escalation', async () => {
      const longSubject = 'Add a median helper to the score statistics module so that every summary can report the middle score';
      assert.equal(longSubject.length, 100);
      const midMessage = 'Add a median helper for score lists';
      fakes().ollama.reply({ type: 'answer', text: longSubject });
      fakes().openai.reply({ type: 'answer', text: midMessage });

      await vscode().runCommand('Tierwise: Generate Commit Message');
      await waitForCommitBox(midMessage);

      const calls = lastRequestCalls(fakes().ledgerDir, 'commitMessage');
      assert.deepEqual(
        calls.map((call) => ({ tier: call.tier, model: call.model, outcome: call.outcome, detail: call.detail })),
        [
          { tier: 'local', model: E2E_MODELS.local, outcome: 'validationFailed', detail: 'subject is 100 characters (max 72)' },
          { tier: 'mid', model: E2E_MODELS.mid, outcome: 'ok', detail: undefined },
        ],
      );
      assert.ok((calls[1].costUsd as number) > 0, 'the mid answer is priced');
      assert.match(promptText(chatBodies(fakes().openai.requests)[0]), /\+export function median/, 'mid got the same diff');
    }),
  );

  it('explains a TypeScript error from the quick-fix menu in a Markdown editor beside the code', { timeout: testTimeoutMs + diagnosticsTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('explain-problem', async () => {
      const explanation =
        "`scoreCount` is not declared anywhere in `broken.ts`, so TypeScript cannot resolve it.\n\nUse the length of the list you were given:\n\n```ts\nreturn `average ${average(scores).toFixed(1)} over ${scores.length} scores`;\n```";
      fakes().ollama.reply({ type: 'answer', text: explanation });
      const page = vscode().page;

      await vscode().openFile('src/broken.ts');
      await page.locator('.editor-group-container.active .monaco-editor .squiggly-error').first().waitFor({ state: 'attached', timeout: diagnosticsTimeoutMs });
      const errorLine = fs.readFileSync(path.join(workspaceFolder, 'src', 'broken.ts'), 'utf8').split('\n').findIndex((line) => line.includes('scoreCount'));
      const column = fs.readFileSync(path.join(workspaceFolder, 'src', 'broken.ts'), 'utf8').split('\n')[errorLine].indexOf('scoreCount') + 3;
      await vscode().openQuickInput('Control+G', `:${errorLine + 1}:${column}`);
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: uiStepTimeoutMs });

      await page.keyboard.press('Control+.');
      await page.locator('.action-widget .monaco-list-row', { hasText: 'Tierwise: Explain this problem' }).first().waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
      // The menu blocks the pointer while it opens; choose with the keyboard, as a user of Ctrl+. does.
      const focusedAction = page.locator('.action-widget .monaco-list-row.focused');
      await waitUntil(
        async () => {
          if (((await focusedAction.getAttribute('aria-label').catch(() => null)) ?? '') === 'Tierwise: Explain this problem') return true;
          await page.keyboard.press('ArrowDown');
          return false;
        },
        { timeoutMs: uiStepTimeoutMs, description: 'the "Tierwise: Explain this problem" quick fix to be focused' },
      );
      await page.keyboard.press('Enter');

      const tabName = `Explain broken.ts-${errorLine + 1}.md`;
      const explanationEditor = page.locator(`.editor-group-container:has(.tab.active[data-resource-name="${tabName}"]) .monaco-editor .view-lines`).first();
      await explanationEditor.waitFor({ state: 'visible', timeout: extensionUiTimeoutMs });
      const text = await waitUntil(
        async () => {
          const shown = await editorLines(explanationEditor);
          return squash(shown).includes('answered by') ? shown : undefined;
        },
        { timeoutMs: extensionUiTimeoutMs, description: 'the explanation to finish' },
      );
      assert.match(squash(text), /^# Cannot find name 'scoreCount'\./);
      assert.match(squash(text), /src\/broken\.ts:5 · error TS2304 \(ts\) · answered by local · qwen2\.5-coder:7b · \$0\.00/);
      // Word wrap may split a line anywhere, even inside `${`: compare without any whitespace.
      assert.ok(text.replace(/\s+/g, '').includes(explanation.replace(/\s+/g, '')), `the fake's explanation is shown: ${text}`);

      const prompt = promptText(chatBodies(fakes().ollama.requests)[0]);
      assert.match(prompt, /File: src\/broken\.ts \(typescript\)/);
      assert.match(prompt, /Problem: error TS2304 \(ts\) at line 5/);
      assert.match(prompt, />> 5 \| {3}return `average \$\{average\(scores\)\.toFixed\(1\)\} over \$\{scoreCount\} scores`;/);
    }),
  );

  it('finds files from a description, escalating past a local answer that names a file that does not exist', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('find-files', async () => {
      fakes().ollama.reply({ type: 'answer', text: '{"files": ["src/math.ts", "src/statistics.ts"]}' });
      fakes().openai.reply({ type: 'answer', text: '{"files": ["src/math.ts", "src/index.ts"]}' });
      const page = vscode().page;

      await vscode().runCommand('Tierwise: Find Files…');
      const input = vscode().quickInputBox();
      await input.waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
      await input.fill('where is the median of the scores computed');
      await page.keyboard.press('Enter');

      const rows = page.locator('.quick-input-widget .monaco-list-row');
      await vscode().quickPickRow('math.ts').waitFor({ state: 'visible', timeout: extensionUiTimeoutMs });
      // Each row's first label is the file name and its description the path; the detail line has a label of its own.
      const labels = await Promise.all((await rows.all()).map((row) => row.locator('.label-name').first().innerText()));
      const descriptions = await Promise.all((await rows.all()).map((row) => row.locator('.label-description').first().innerText()));
      assert.deepEqual(labels.map((label) => label.trim()), ['math.ts', 'index.ts']);
      assert.deepEqual(descriptions.map((description) => description.trim()), ['src/math.ts', 'src/index.ts']);
      assert.match(await rows.first().innerText(), /export function median/, 'the matching line is the detail');
      for (const label of labels) assert.ok(fs.existsSync(path.join(workspaceFolder, 'src', label.trim())), `${label} exists`);

      const calls = lastRequestCalls(fakes().ledgerDir, 'findFiles');
      assert.deepEqual(
        calls.map((call) => [call.tier, call.outcome, call.detail]),
        [
          ['local', 'validationFailed', '1 of 2 paths are not workspace files: src/statistics.ts'],
          ['mid', 'ok', undefined],
        ],
      );
      const localBody = chatBodies(fakes().ollama.requests)[0];
      assert.equal(localBody.format, 'json', 'the local model is asked for JSON');
      const prompt = promptText(localBody);
      assert.match(prompt, /Request: where is the median of the scores computed/);
      assert.match(prompt, /src\/math\.ts\n {4}\d+: export function median/, 'ripgrep found the matching line');
      assert.match(prompt, /README\.md/, 'file names are candidates too');

      await vscode().quickPickRow('math.ts').click();
      await page.locator('.tabs-container .tab.active[data-resource-name="math.ts"]').waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
    }),
  );

  it('describes the unstaged changes when nothing is staged, and says so', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('commit-unstaged', async () => {
      execFileSync('git', ['reset', '--quiet'], { cwd: workspaceFolder });
      fs.appendFileSync(path.join(workspaceFolder, 'README.md'), '- `median` in `src/math.ts` gives the middle score.\n');
      const message = 'Document median and add it to the math helpers';
      fakes().ollama.reply({ type: 'answer', text: message });

      await vscode().runCommand('Tierwise: Generate Commit Message');
      await waitForCommitBox(message);
      await vscode().page.locator('.notification-toast', { hasText: 'nothing was staged' }).first().waitFor({ state: 'visible', timeout: uiStepTimeoutMs });

      const prompt = promptText(chatBodies(fakes().ollama.requests)[0]);
      assert.match(prompt, /Nothing is staged; the changes in the working tree \(git diff\):/);
      assert.match(prompt, /\+- `median` in `src\/math\.ts` gives the middle score\./, 'the unstaged README change');
      assert.match(prompt, /\+export function median/, 'the unstaged math.ts change');
    }),
  );
});
