// Refactor Selection, Plan a Change (with Run step) and Ask, driven as a user would in a real VS Code (code-server)
// against fake Ollama / OpenAI / Anthropic servers. One code-server serves every test in this file.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { RecordedRequest } from '../fakes/server';
import { E2E_MODELS, setApiKeyThroughUi, startFakeProviders, type FakeProviderSet } from './harness/fakeProviders';
import { createSampleWorkspace } from './harness/sampleWorkspace';
import { extensionUiTimeoutMs, installTimeoutMs, uiStepTimeoutMs, workbenchReadyTimeoutMs } from './harness/timeouts';
import { spendStatusBarItemId } from './harness/tierwiseUi';
import { VSCodeSession } from './harness/vscode';
import { waitUntil } from './harness/waitUntil';

const testTimeoutMs = 4 * extensionUiTimeoutMs;

/** Chat calls a fake received (model listings and health checks left out). */
const chatRequests = (fake: { requests: RecordedRequest[] }) =>
  fake.requests.filter((request) => request.method === 'POST' && /\/(api\/chat|chat\/completions|messages)$/.test(request.path.split('?')[0]));

describe('Tierwise refactor, plan and ask in VS Code (code-server)', () => {
  let session: VSCodeSession | undefined;
  let fakes: FakeProviderSet | undefined;
  let workspaceRoot: string | undefined;
  let workspaceFolder = '';

  before(
    async () => {
      fakes = await startFakeProviders();
      workspaceRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tierwise-e2e-workspace-'));
      workspaceFolder = createSampleWorkspace(path.join(workspaceRoot, 'sample-scores'), { git: false });
      session = await VSCodeSession.start({ workspaceFolder, userSettings: fakes.settings(), name: 'refactor-plan-ask' });
      // Tierwise's commands are listed once it has activated; its spend meter shows when it has.
      await session.withScreenshotOnFailure('activation', () => session!.statusBarText(spendStatusBarItemId));
      await session.withScreenshotOnFailure('api-keys', async () => {
        await setApiKeyThroughUi(session!, 'OPENAI_API_KEY', 'sk-test-openai-e2e-0001');
        await setApiKeyThroughUi(session!, 'ANTHROPIC_API_KEY', 'sk-ant-test-e2e-0001');
      });
    },
    { timeout: installTimeoutMs + 3 * workbenchReadyTimeoutMs },
  );

  beforeEach(async () => {
    // A test that failed may leave a picker open; start each from the plain workbench with fresh fakes.
    for (let press = 0; press < 2; press++) await session?.page.keyboard.press('Escape');
    await session?.runCommand('View: Close All Editors');
    fakes?.ollama.reset();
    fakes?.openai.reset();
    fakes?.anthropic.reset();
  });

  after(async () => {
    await session?.close();
    await fakes?.close();
    if (workspaceRoot) fs.rmSync(workspaceRoot, { recursive: true, force: true });
  });

  const vscode = (): VSCodeSession => {
    if (!session) throw new Error('VS Code did not start; see the failure of the before hook.');
    return session;
  };
  const fake = (): FakeProviderSet => {
    if (!fakes) throw new Error('The fake providers did not start.');
    return fakes;
  };
  const workspaceFile = (relative: string) => fs.readFileSync(path.join(workspaceFolder, relative), 'utf8');

  /**
   * Opens a workspace file with Quick Open by clicking its row (not Enter: a recently opened plan document can
   * fuzzy-match "src/math.ts" and come first).
   */
  async function openFile(relativePath: string): Promise<void> {
    await vscode().openQuickInput('Control+P', relativePath);
    const row = vscode().quickPickRow(path.basename(relativePath)).filter({ hasText: path.dirname(relativePath) });
    await row.click({ timeout: uiStepTimeoutMs });
    await vscode()
      .page.locator(`.tabs-container .tab.active[data-resource-name="${path.basename(relativePath)}"]`)
      .first()
      .waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
  }

  /** Goes to a 1-based line and selects `count` whole lines from it; checks the status bar says so. */
  async function selectLines(line: number, count: number): Promise<void> {
    const page = vscode().page;
    await vscode().openQuickInput('Control+G', `:${line}:1`);
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: String(line) }).first().waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
    await page.keyboard.press('Enter');
    await vscode().statusBarItem('status.editor.selection').filter({ hasText: `Ln ${line}, Col 1` }).waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
    for (let index = 0; index < count; index++) await page.keyboard.press('Shift+ArrowDown');
    await vscode().statusBarItem('status.editor.selection').filter({ hasText: `Ln ${line + count}, Col 1 (` }).waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
  }

  /** Runs a command that asks for text in an input box titled `inputTitle`, and answers it. */
  async function runCommandWithInput(commandTitle: string, inputTitle: string, text: string): Promise<void> {
    await vscode().runCommand(commandTitle);
    await vscode().page.locator('.quick-input-widget .quick-input-title', { hasText: inputTitle }).waitFor({ state: 'visible', timeout: uiStepTimeoutMs });
    await vscode().quickInputBox().fill(text);
    await vscode().page.keyboard.press('Enter');
  }

  /** The text of the (first) editor showing a document whose URI starts with `uriPrefix`, top line to bottom. */
  async function editorText(uriPrefix: string, pattern: RegExp): Promise<string> {
    const lines = vscode().page.locator(`[data-uri^="${uriPrefix}"] .view-lines`).first();
    return waitUntil(
      async () => {
        const text = await lines.evaluate((element) =>
          [...(element as unknown as ViewLines).querySelectorAll('.view-line')]
            .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
            .map((line) => line.textContent ?? '')
            .join('\n')
            .replace(/\u00a0/g, ' '),
        );
        return pattern.test(text) ? text : undefined;
      },
      { timeoutMs: extensionUiTimeoutMs, description: `an editor of ${uriPrefix}… showing ${pattern}` },
    );
  }

  /** The plan file under .tierwise/plans/ whose first line is `heading`, once written. */
  const waitForPlanFile = (heading: string) => {
    const plansDir = path.join(workspaceFolder, '.tierwise', 'plans');
    return waitUntil(
      () =>
        fs.existsSync(plansDir) &&
        fs
          .readdirSync(plansDir)
          .map((name) => path.join(plansDir, name))
          .find((file) => fs.readFileSync(file, 'utf8').startsWith(`${heading}\n`)),
      { timeoutMs: extensionUiTimeoutMs, description: `a plan file under .tierwise/plans/ starting "${heading}"` },
    );
  };
  const notification = (text: string | RegExp) => vscode().page.locator('.notification-toast', { hasText: text }).first();
  const editorTitleAction = (label: string) => vscode().page.locator(`.editor-actions [aria-label^="${label}"]`).first();

  it('refactors a selection: the diff shows the mid tier\'s code, Apply puts it in the file', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('refactor-apply', async () => {
      // Flush left on purpose: the proposal is re-indented to the selection's indentation.
      fake().openai.reply({ type: 'answer', text: 'if (values.length === 0) return 0;\nreturn sum(values) / values.length;' });
      await openFile('src/math.ts');
      await selectLines(8, 1); // "  return values.length === 0 ? 0 : sum(values) / values.length;"
      await runCommandWithInput('Tierwise: Refactor Selection…', 'Tierwise: Refactor Selection', 'use an early return for the empty list');

      const proposal = await editorText('tierwise-proposal:', /if \(values\.length === 0\) return 0;/);
      assert.match(proposal, /^ {2}if \(values\.length === 0\) return 0;\n {2}return sum\(values\) \/ values\.length;$/m, 'the proposal is re-indented in place');
      assert.match(proposal, /export function median/, 'the proposal is the whole file');
      await notification(/refactor of src\/math\.ts ready \(mid · gpt-5-mini · \$\d/).waitFor({ state: 'visible', timeout: uiStepTimeoutMs });

      const [request] = chatRequests(fake().openai);
      assert.ok(request, 'the mid tier (fake OpenAI) was asked');
      const body = JSON.stringify(request.body);
      assert.match(body, /use an early return for the empty list/);
      assert.match(body, /<selection> {2}return values\.length === 0 \? 0 : sum\(values\) \/ values\.length;\\n<\/selection>/);
      assert.equal(chatRequests(fake().ollama).length + chatRequests(fake().anthropic).length, 0, 'no other tier was asked');

      await editorTitleAction('Apply Refactor').click();
      await vscode().page.locator('.monaco-diff-editor').first().waitFor({ state: 'hidden', timeout: uiStepTimeoutMs });
      await vscode().page.keyboard.press('Control+S');
      const saved = await waitUntil(() => (workspaceFile('src/math.ts').includes('return 0;\n  return sum(values)') ? workspaceFile('src/math.ts') : undefined), {
        timeoutMs: uiStepTimeoutMs,
        description: 'src/math.ts on disk to contain the refactored code',
      });
      assert.match(saved, /export function average\(values: readonly number\[\]\): number \{\n {2}if \(values\.length === 0\) return 0;\n {2}return sum\(values\) \/ values\.length;\n\}/);
    }),
  );

  it('escalates a proposal that does not parse to the frontier tier, whose code is shown', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('refactor-escalate', async () => {
      fake().openai.reply({ type: 'answer', text: 'console.log(("total", sum(scores));' });
      fake().anthropic.reply({ type: 'answer', text: '```ts\nconsole.log(`sum of scores: ${sum(scores)}`);\n```' });
      const before = workspaceFile('src/index.ts');
      await openFile('src/index.ts');
      await selectLines(7, 1); // console.log(`total ${sum(scores)}`);
      await runCommandWithInput('Tierwise: Refactor Selection…', 'Tierwise: Refactor Selection', 'make the message clearer');

      const proposal = await editorText('tierwise-proposal:', /sum of scores: /);
      assert.match(proposal, /^console\.log\(`sum of scores: \$\{sum\(scores\)\}`\);$/m, 'the fence was stripped and the frontier code shown');
      assert.doesNotMatch(proposal, /"total"/, 'the broken mid answer is not shown');
      assert.equal(chatRequests(fake().openai).length, 1, 'mid answered first');
      assert.equal(chatRequests(fake().anthropic).length, 1, 'the failed check escalated to frontier');
      await notification(/refactor of src\/index\.ts ready \(frontier · claude-sonnet-4-5 · \$[\d.]+ \(1 escalation\)\)/).waitFor({ state: 'visible', timeout: uiStepTimeoutMs });

      // Apply refuses once the file has changed since the proposal was made.
      const page = vscode().page;
      await page.locator('.explorer-folders-view .monaco-list-row', { has: page.locator('.label-name', { hasText: /^index\.ts$/ }) }).click();
      await page.locator('[data-uri$="src/index.ts"] .view-lines').filter({ visible: true }).first().click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type('// edited meanwhile');
      await page.locator('.tabs-container .tab', { hasText: 'Tierwise proposal' }).first().click();
      await editorTitleAction('Apply Refactor').click();
      await notification(/src\/index\.ts changed after the proposal was made .* so it was not applied/).waitFor({ state: 'visible', timeout: uiStepTimeoutMs });

      await editorTitleAction('Discard Refactor').click();
      await page.locator('.monaco-diff-editor').first().waitFor({ state: 'hidden', timeout: uiStepTimeoutMs });
      // The edit typed above is unsaved, so on disk the file is as it was: neither the refused Apply nor Discard wrote it.
      assert.equal(workspaceFile('src/index.ts'), before, 'neither the refused Apply nor Discard changed the file');
      // Leave the editor as the next tests expect it: the typed edit dropped.
      await page.locator('.tabs-container .tab[data-resource-name="index.ts"]').first().click();
      await vscode().runCommand('File: Revert File');
    }),
  );

  it('revises the rest of the plan when a step fails even on the top tier', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('plan-revision', async () => {
      const plan = {
        goal: 'Fix the score summary',
        steps: [
          { id: 1, description: 'Declare scoreCount in describeScores.', files: ['src/broken.ts'], tier: 'frontier', kind: 'refactor' },
          { id: 2, description: 'Summarize the change for the changelog.', files: [], tier: 'mid', kind: 'answer' },
        ],
      };
      const revised = {
        goal: 'Fix the score summary',
        steps: [{ id: 1, description: 'Explain how to declare scoreCount from scores.length.', files: ['src/broken.ts'], tier: 'mid', kind: 'answer' }],
      };
      fake().anthropic.reply(
        { type: 'answer', text: JSON.stringify(plan) },
        // The step's answer does not parse, on the top tier: nothing to escalate to.
        { type: 'answer', text: '<file path="src/broken.ts">\nexport function describeScores(scores: number[]): string {\n  return `${scores.length`;\n}\n</file>' },
        { type: 'answer', text: JSON.stringify(revised) },
      );
      await runCommandWithInput('Tierwise: Plan a Change…', 'Tierwise: Plan a Change', 'fix the score summary');
      const planPath = await waitForPlanFile('# Plan: Fix the score summary');
      await vscode().page.locator('.codelens-decoration a', { hasText: /^Run step 1$/ }).first().click({ timeout: extensionUiTimeoutMs });

      const text = await waitUntil(
        () => {
          const current = fs.readFileSync(planPath, 'utf8');
          return current.includes('**Revision 1**') ? current : undefined;
        },
        { timeoutMs: extensionUiTimeoutMs, description: 'the plan file to show a revision' },
      );
      assert.match(text, /## Step 1 · frontier · refactor[\s\S]*?- Status: ❌ Failed · frontier · claude-sonnet-4-5 · \$[\d.]+ — src\/broken\.ts: does not parse/);
      assert.match(text, /> \*\*Revision 1\*\* after step 1 failed \(src\/broken\.ts: does not parse[^\n]*\) — revised by frontier · claude-sonnet-4-5/);
      assert.match(text, /## Step 2 · mid · answer\n\nExplain how to declare scoreCount from scores\.length\.\n\n- Files: `src\/broken\.ts`\n- Status: ⏳ Pending/);
      assert.doesNotMatch(text, /Summarize the change for the changelog/, 'the pending step was replaced');
      const calls = chatRequests(fake().anthropic);
      assert.equal(calls.length, 3, 'plan, the step on frontier, the revision');
      assert.match(JSON.stringify(calls[2].body), /Step 1 failed on the strongest model: src\/broken\.ts: does not parse/);
      assert.equal(chatRequests(fake().openai).length + chatRequests(fake().ollama).length, 0, 'the frontier step ran on frontier only');
    }),
  );

  it('plans a change: the plan document lists the steps, and "Run step 1" runs the local step on the local tier', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('plan', async () => {
      const plan = {
        goal: 'Document and report the median score',
        steps: [
          { id: 1, description: 'Add a one-line comment above median() in src/math.ts saying it sorts a copy.', files: ['src/math.ts'], tier: 'local', kind: 'refactor' },
          { id: 2, description: 'Explain how src/index.ts should print the median.', files: ['src/index.ts'], tier: 'mid', kind: 'answer' },
        ],
      };
      fake().anthropic.reply({ type: 'answer', text: JSON.stringify(plan, null, 2) });
      await runCommandWithInput('Tierwise: Plan a Change…', 'Tierwise: Plan a Change', 'report the median score too');

      const planPath = await waitForPlanFile('# Plan: Document and report the median score');
      const rendered = fs.readFileSync(planPath, 'utf8');
      assert.match(rendered, /^# Plan: Document and report the median score/);
      assert.match(rendered, /Planned by frontier · claude-sonnet-4-5 · \$/);
      assert.match(rendered, /## Step 1 · local · refactor\n\nAdd a one-line comment above median\(\) in src\/math\.ts saying it sorts a copy\.\n\n- Files: `src\/math\.ts`\n- Status: ⏳ Pending/);
      assert.match(rendered, /## Step 2 · mid · answer\n[\s\S]*- Status: ⏳ Pending/);
      const [planCall] = chatRequests(fake().anthropic);
      assert.match(JSON.stringify(planCall?.body ?? ''), /report the median score too/, 'the frontier tier planned');
      assert.match(JSON.stringify(planCall?.body ?? ''), /src\/math\.ts/, 'the planner saw the workspace files');

      const newMath = `${workspaceFile('src/math.ts').replace('/** Middle value', '// Sorts a copy, so the caller\'s array is untouched.\n/** Middle value')}`;
      fake().ollama.reply({ type: 'answer', text: `<file path="src/math.ts">\n${newMath}</file>` });
      await vscode().page.locator('.codelens-decoration a', { hasText: /^Run step 1$/ }).first().click({ timeout: extensionUiTimeoutMs });

      const done = await waitUntil(
        () => {
          const text = fs.readFileSync(planPath, 'utf8');
          return /## Step 1 · local · refactor[\s\S]*?- Status: ✅ Done/.test(text) ? text : undefined;
        },
        { timeoutMs: extensionUiTimeoutMs, description: 'the plan file to show step 1 done' },
      );
      assert.match(done, /## Step 1 · local · refactor[\s\S]*?- Status: ✅ Done · local · qwen2\.5-coder:7b · \$0\.00 — `src\/math\.ts` proposed/);
      const [stepCall] = chatRequests(fake().ollama);
      assert.ok(stepCall, 'the local step went to the local tier (fake Ollama), although routes.planStep is mid');
      assert.equal((stepCall.body as { model?: string }).model, E2E_MODELS.local);
      assert.match(JSON.stringify(stepCall.body), /Do step 1 now: Add a one-line comment above median\(\)/);
      assert.equal(chatRequests(fake().openai).length, 0, 'the mid tier was not asked for the local step');
      const proposal = await editorText('tierwise-proposal:', /Sorts a copy/);
      assert.match(proposal, /\/\/ Sorts a copy, so the caller's array is untouched\.\n\/\*\* Middle value/);

      // Step 2 is an answer on mid: Markdown beside, and the plan records it.
      fake().openai.reply({ type: 'answer', text: 'Import median from ./math and log it next to the total.' });
      await vscode().page.locator('.codelens-decoration a', { hasText: /^Run step 2$/ }).first().click({ timeout: extensionUiTimeoutMs });
      await editorText('tierwise-answer:/step-2', /Import median from \.\/math and log it next to the total\./);
      await waitUntil(() => /## Step 2 · mid · answer[\s\S]*?- Status: ✅ Done · mid · gpt-5-mini · \$[\d.]+ — answer opened beside/.test(fs.readFileSync(planPath, 'utf8')), {
        timeoutMs: extensionUiTimeoutMs,
        description: 'the plan file to show step 2 done on mid',
      });
    }),
  );

  it('a step cancelled while it runs goes back to pending, and its call is closed', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('plan-cancel', async () => {
      const plan = {
        goal: 'Explain the score report slowly',
        steps: [{ id: 1, description: 'Explain how src/index.ts prints the scores.', files: ['src/index.ts'], tier: 'mid', kind: 'answer' }],
      };
      fake().anthropic.reply({ type: 'answer', text: JSON.stringify(plan, null, 2) });
      await runCommandWithInput('Tierwise: Plan a Change…', 'Tierwise: Plan a Change', 'explain the report slowly');
      const planPath = await waitForPlanFile('# Plan: Explain the score report slowly');

      const callsBefore = chatRequests(fake().openai).length;
      fake().openai.reply({ type: 'answer', text: 'word '.repeat(60), chunkDelayMs: 250 });
      await vscode().page.locator('.codelens-decoration a', { hasText: /^Run step 1$/ }).first().click({ timeout: extensionUiTimeoutMs });
      await waitUntil(() => /## Step 1 · mid · answer[\s\S]*?- Status: 🔄 Running/.test(fs.readFileSync(planPath, 'utf8')), {
        timeoutMs: extensionUiTimeoutMs,
        description: 'the plan file to show step 1 running',
      });
      await waitUntil(() => chatRequests(fake().openai).length > callsBefore, { timeoutMs: extensionUiTimeoutMs, description: 'the step call to reach mid' });
      await notification(/Plan step 1 on mid/).locator('a.monaco-button', { hasText: 'Cancel' }).click({ timeout: extensionUiTimeoutMs });

      const after = await waitUntil(
        () => {
          const text = fs.readFileSync(planPath, 'utf8');
          return /## Step 1 · mid · answer[\s\S]*?- Status: ⏳ Pending/.test(text) ? text : undefined;
        },
        { timeoutMs: extensionUiTimeoutMs, description: 'the plan file to show step 1 pending again' },
      );
      assert.doesNotMatch(after, /## Step 1 · mid · answer[\s\S]*?- Status: ❌/, 'a cancelled step is not a failed one');
      const stepCall = chatRequests(fake().openai).at(-1)!;
      assert.equal(await fake().openai.settled(stepCall), 'clientClosed', 'cancelling closed the provider call');
    }),
  );

  it('asks a question: the answer streams into a Markdown editor beside, with tier, model and cost', { timeout: testTimeoutMs }, () =>
    vscode().withScreenshotOnFailure('ask', async () => {
      fake().openai.reply({ type: 'answer', text: 'The average is **0** for an empty list, because of the length check.', chunkDelayMs: 30 });
      await openFile('src/math.ts');
      await selectLines(7, 3);
      await runCommandWithInput('Tierwise: Ask…', 'Tierwise: Ask', 'what does average return for an empty list?');

      const answer = await editorText('tierwise-answer:/what-does-average', /Answered by mid · gpt-5-mini · \$/);
      assert.match(answer, /^# what does average return for an empty list\?$/m);
      assert.match(answer, /About the selection \(lines 7–9\) of `src\/math\.ts`/);
      // Markdown editors wrap long lines; compare the words.
      assert.match(answer.replace(/\s+/g, ' '), /The average is \*\*0\*\* for an empty list, because of the length check\./);
      const tab = vscode().page.locator('.tabs-container .tab', { hasText: 'what-does-average-return-for-an-empty-li' }).first();
      assert.match((await tab.getAttribute('data-resource-name')) ?? '', /\.md$/, 'the answer is a Markdown document');
      const [request] = chatRequests(fake().openai);
      assert.match(JSON.stringify(request?.body ?? ''), /export function average/, 'the selection went with the question');
      assert.equal(chatRequests(fake().ollama).length + chatRequests(fake().anthropic).length, 0, 'ask ran on its routed tier only');
    }),
  );
});

/** The bits of the DOM read inside the page (the repo's tsconfig has no DOM lib). */
interface ViewLines {
  querySelectorAll(selector: string): Iterable<{ textContent: string | null; style: { top: string } }>;
}
