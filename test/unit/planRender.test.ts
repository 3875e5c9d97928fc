import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PLAN_STEP_FILE_MAX_CHARS, planStepRequest, truncatedStepFiles } from '../../extension/router/prompts/plan';
import {
  changedMiddle,
  describeStatus,
  newPlanState,
  planFileName,
  readPlanState,
  renderPlanMarkdown,
  reviseRemainingSteps,
  stepHeadingLines,
  summarizeRun,
  withStepStatus,
  type Plan,
  type RunSummary,
} from '../../extension/router/plan';

const plan: Plan = {
  goal: 'Add a median to the score summary',
  steps: [
    { id: 1, description: 'Add `median()` to src/math.ts', files: ['src/math.ts'], tier: 'local', kind: 'refactor' },
    { id: 2, description: 'Use it in the summary line\n# not a heading', files: ['src/broken.ts', 'src/index.ts'], tier: 'mid', kind: 'refactor' },
    { id: 3, description: 'Explain how to test it', files: [], tier: 'frontier', kind: 'answer' },
  ],
};
const planner: RunSummary = { tier: 'frontier', model: 'claude-sonnet-4-5', costUsd: 0.0123, escalations: 0 };
const now = new Date(2026, 10, 24, 13, 57, 9);

describe('renderPlanMarkdown: the plan document', () => {
  const markdown = renderPlanMarkdown(newPlanState(plan, planner, now));

  test('shows the goal, who planned it and what it cost', () => {
    assert.match(markdown, /^# Plan: Add a median to the score summary\n/);
    assert.match(markdown, /Planned by frontier · claude-sonnet-4-5 · \$0\.01 on 2026-11-24 13:57\./);
  });

  test('one heading per step with its tier and kind, its files and its status', () => {
    assert.match(markdown, /## Step 1 · local · refactor\n\nAdd `median\(\)` to src\/math\.ts\n\n- Files: `src\/math\.ts`\n- Status: ⏳ Pending/);
    assert.match(markdown, /## Step 2 · mid · refactor\n[\s\S]*- Files: `src\/broken\.ts`, `src\/index\.ts`/);
    assert.match(markdown, /## Step 3 · frontier · answer\n[\s\S]*- Files: none/);
  });

  test('a description cannot add headings of its own', () => {
    assert.match(markdown, /\\# not a heading/);
    assert.deepEqual([...stepHeadingLines(markdown).keys()], [0, 1, 2]);
  });

  test('stepHeadingLines gives the line of each step heading (where the CodeLens goes)', () => {
    const lines = markdown.split('\n');
    for (const [index, line] of stepHeadingLines(markdown)) assert.ok(lines[line].startsWith(`## Step ${index + 1} · `));
  });

  test('the state round-trips through the document, even with "-->" in a description', () => {
    const tricky = newPlanState({ goal: 'g', steps: [{ ...plan.steps[0], description: 'a --> b <!-- c' }] }, planner, now);
    const rendered = renderPlanMarkdown(tricky);
    assert.equal(rendered.match(/-->/g)?.length, 1 + 1, 'only the description line and the comment end contain "-->"');
    assert.deepEqual(readPlanState(rendered), tricky);
  });

  test('readPlanState ignores Markdown that is not a plan', () => {
    assert.equal(readPlanState('# Notes\n\nnothing here'), undefined);
    assert.equal(readPlanState('<!-- tierwise-plan v1\n{broken\n-->'), undefined);
  });
});

describe('step status in the document', () => {
  const done: RunSummary = { tier: 'local', model: 'qwen2.5-coder:7b', costUsd: 0, escalations: 0 };

  test('pending, running, done with tier · model · cost, failed with the reason', () => {
    assert.equal(describeStatus({ state: 'pending' }), '⏳ Pending');
    assert.equal(describeStatus({ state: 'running', since: now.toISOString() }), '🔄 Running…');
    assert.equal(
      describeStatus({ state: 'done', run: done, outcome: 'proposed changes to `src/math.ts`', at: '' }),
      '✅ Done · local · qwen2.5-coder:7b · $0.00 — proposed changes to `src/math.ts`',
    );
    assert.equal(
      describeStatus({ state: 'failed', run: { tier: 'frontier', model: 'm', costUsd: 0.004, escalations: 2 }, reason: 'does not parse', at: '' }),
      '❌ Failed · frontier · m · $0.004 (2 escalations) — does not parse',
    );
  });

  test('withStepStatus changes one step and the rendered document shows it', () => {
    const state = withStepStatus(newPlanState(plan, planner, now), 0, { state: 'done', run: done, outcome: 'applied', at: now.toISOString() });
    assert.equal(state.steps[1].status.state, 'pending');
    assert.match(renderPlanMarkdown(state), /## Step 1 · local · refactor[\s\S]*- Status: ✅ Done · local · qwen2\.5-coder:7b · \$0\.00 — applied/);
  });

  test('the spend line adds the planner, revisions and steps', () => {
    const state = withStepStatus(newPlanState(plan, planner, now), 1, { state: 'failed', run: { ...done, tier: 'mid', costUsd: 0.01 }, reason: 'x', at: '' });
    assert.match(renderPlanMarkdown(state), /Spent on this plan so far: \$0\.02\./);
  });

  test('summarizeRun counts escalations as distinct tiers tried, minus one', () => {
    const attempts = [{ tier: 'mid' }, { tier: 'frontier' }] as Parameters<typeof summarizeRun>[0]['attempts'];
    assert.deepEqual(summarizeRun({ tier: 'frontier', model: 'm', costUsd: 0.5, attempts }), { tier: 'frontier', model: 'm', costUsd: 0.5, escalations: 1 });
  });
});

describe('reviseRemainingSteps: after a step fails at the top tier', () => {
  const failedRun: RunSummary = { tier: 'frontier', model: 'claude-sonnet-4-5', costUsd: 0.02, escalations: 1 };
  const started = withStepStatus(newPlanState(plan, planner, now), 0, { state: 'done', run: planner, outcome: 'applied', at: '' });
  const failed = withStepStatus(started, 1, { state: 'failed', run: failedRun, reason: 'src/broken.ts: does not parse', at: '' });
  const revised: Plan = {
    goal: plan.goal,
    steps: [
      { id: 1, description: 'Fix the summary line only', files: ['src/broken.ts'], tier: 'mid', kind: 'refactor' },
      { id: 2, description: 'Explain the remaining work', files: [], tier: 'frontier', kind: 'answer' },
    ],
  };
  const state = reviseRemainingSteps(failed, 1, revised, planner, 'src/broken.ts: does not parse', now);

  test('keeps the steps run so far and the failed one, replaces the pending rest', () => {
    assert.deepEqual(
      state.steps.map((step) => [step.description, step.status.state, step.revision]),
      [
        ['Add `median()` to src/math.ts', 'done', 0],
        ['Use it in the summary line\n# not a heading', 'failed', 0],
        ['Fix the summary line only', 'pending', 1],
        ['Explain the remaining work', 'pending', 1],
      ],
    );
  });

  test('numeric ids of revised steps continue after the kept steps', () => {
    assert.deepEqual(state.steps.map((step) => step.id), [1, 2, 3, 4]);
  });

  test('the document marks the revision before its first step and numbers steps on', () => {
    const markdown = renderPlanMarkdown(state);
    assert.match(markdown, /> \*\*Revision 1\*\* after step 2 failed \(src\/broken\.ts: does not parse\) — revised by frontier · claude-sonnet-4-5 · \$0\.01\.\n\n## Step 3 · mid · refactor/);
    assert.match(markdown, /## Step 4 · frontier · answer/);
    assert.equal(stepHeadingLines(markdown).size, 4);
  });
});

test('planFileName: dated and readable', () => {
  assert.equal(planFileName('Split the parser into modules!', now), '2026-11-24-135709-split-the-parser-into-modules.md');
  assert.equal(planFileName('???', now), '2026-11-24-135709-plan.md');
});

describe('changedMiddle: the part of the plan document an update replaces', () => {
  const apply = (oldText: string, newText: string) => {
    const { start, oldEnd, newEnd } = changedMiddle(oldText, newText);
    return oldText.slice(0, start) + newText.slice(start, newEnd) + oldText.slice(oldEnd);
  };

  test('only the changed status line is replaced', () => {
    const oldText = '## Step 1\n- Status: ⏳ Pending\n## Step 2\n';
    const newText = '## Step 1\n- Status: ✅ Done\n## Step 2\n';
    const span = changedMiddle(oldText, newText);
    assert.equal(oldText.slice(0, span.start), '## Step 1\n- Status: ');
    assert.equal(apply(oldText, newText), newText);
  });

  test('never splits a surrogate pair (emoji statuses)', () => {
    const oldText = 'Status: 🔄 Running';
    const newText = 'Status: 🔁 Running';
    const span = changedMiddle(oldText, newText);
    assert.equal(span.start, 'Status: '.length, 'starts before the high surrogate they share');
    assert.equal(apply(oldText, newText), newText);
  });

  test('insertions, deletions and identical texts', () => {
    assert.equal(apply('abc', 'abXc'), 'abXc');
    assert.equal(apply('abXc', 'abc'), 'abc');
    assert.deepEqual(changedMiddle('same', 'same'), { start: 4, oldEnd: 4, newEnd: 4 });
    assert.equal(apply('aaa', 'aaaa'), 'aaaa');
  });
});

describe('planStepRequest: a step runs on its own tier', () => {
  const state = newPlanState(plan, planner, now);

  test('pinned to the step\'s tier, even below routes.planStep, with the step\'s reason', () => {
    const request = planStepRequest(state, 0, [{ path: 'src/math.ts', text: 'export const a = 1;\n', exists: true }]);
    assert.equal(request.task, 'planStep');
    assert.equal(request.tier, 'local');
    assert.equal(request.tierReason, 'plan step 1');
    assert.match(request.messages[0].content, /Do step 1 now: Add `median\(\)` to src\/math\.ts/);
    assert.match(request.messages[0].content, /<file path="src\/math\.ts">\nexport const a = 1;\n\n<\/file>/);
  });

  test('answer steps get the answer prompt', () => {
    assert.match(planStepRequest(state, 2, []).system ?? '', /answering it in Markdown/);
  });

  test('files too large to show whole are marked, so they are not rewritten', () => {
    const big = { path: 'src/big.ts', text: 'x'.repeat(PLAN_STEP_FILE_MAX_CHARS + 1), exists: true };
    const small = { path: 'src/small.ts', text: 'y', exists: true };
    assert.deepEqual([...truncatedStepFiles([big, small])], ['src/big.ts']);
    assert.match(planStepRequest(state, 1, [big, small]).messages[0].content, /truncated: do not rewrite this file/);
  });
});
