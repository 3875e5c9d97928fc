import { formatUsd } from './money';
import type { RunResult } from './router';
import { isTierName, type TierName } from './tiers';

/** A plan as the planner writes it (validated by validators/plan.ts). */
export type PlanStepKind = 'refactor' | 'answer';

export interface PlanStep {
  id: string | number;
  description: string;
  /** Workspace-relative paths the step reads (and, for a refactor, changes). */
  files: string[];
  /** The tier the step runs on: the planner's judgement of how hard it is. */
  tier: TierName;
  kind: PlanStepKind;
}

export interface Plan {
  goal: string;
  steps: PlanStep[];
}

/** Which tier and model produced something, and what it cost in total. */
export interface RunSummary {
  tier: TierName;
  model: string;
  costUsd: number;
  /** Tiers climbed after failed checks. */
  escalations: number;
}

export type StepStatus =
  | { state: 'pending' }
  | { state: 'running'; since: string }
  | { state: 'done'; run: RunSummary; outcome: string; at: string }
  | { state: 'failed'; run?: RunSummary; reason: string; at: string };

export interface PlanStepState extends PlanStep {
  status: StepStatus;
  /** 0 for the planner's first plan, n for steps added by the n-th revision. */
  revision: number;
}

export interface PlanRevision {
  number: number;
  /** 1-based position of the step whose failure caused the revision. */
  afterStep: number;
  reason: string;
  run: RunSummary;
  at: string;
}

/** Everything a plan document holds; stored in the document itself so a plan survives a reload. */
export interface PlanState {
  format: 1;
  goal: string;
  createdAt: string;
  planner: RunSummary;
  steps: PlanStepState[];
  revisions: PlanRevision[];
}

export function summarizeRun(result: Pick<RunResult, 'tier' | 'model' | 'costUsd' | 'attempts'>): RunSummary {
  return {
    tier: result.tier,
    model: result.model,
    costUsd: result.costUsd,
    escalations: new Set(result.attempts.map((attempt) => attempt.tier)).size - 1,
  };
}

export function newPlanState(plan: Plan, planner: RunSummary, now: Date): PlanState {
  return {
    format: 1,
    goal: plan.goal,
    createdAt: now.toISOString(),
    planner,
    steps: plan.steps.map((step) => ({ ...step, status: { state: 'pending' }, revision: 0 })),
    revisions: [],
  };
}

export function withStepStatus(state: PlanState, index: number, status: StepStatus): PlanState {
  return { ...state, steps: state.steps.map((step, at) => (at === index ? { ...step, status } : step)) };
}

/**
 * After step `failedIndex` failed at the top tier, the planner's revised plan replaces the steps not yet run after
 * it. Steps already run (and the failed one) stay, so the document keeps its history.
 */
export function reviseRemainingSteps(state: PlanState, failedIndex: number, revised: Plan, planner: RunSummary, reason: string, now: Date): PlanState {
  const number = state.revisions.length + 1;
  const kept = state.steps.filter((step, index) => index <= failedIndex || step.status.state !== 'pending');
  // The planner numbers its revised steps from 1 again; numeric ids continue after the kept steps instead.
  const added = revised.steps.map((step, at) => ({
    ...step,
    id: typeof step.id === 'number' ? kept.length + at + 1 : step.id,
    status: { state: 'pending' } as const,
    revision: number,
  }));
  return {
    ...state,
    steps: [...kept, ...added],
    revisions: [...state.revisions, { number, afterStep: failedIndex + 1, reason, run: planner, at: now.toISOString() }],
  };
}

/** The plan as it is sent back to the planner: the steps with their outcome so far. */
export function planProgressForPrompt(state: PlanState): string {
  return state.steps
    .map((step, index) => {
      const status = step.status;
      const outcome =
        status.state === 'done' ? `done on ${status.run.tier}: ${status.outcome}` : status.state === 'failed' ? `FAILED: ${status.reason}` : status.state;
      return `${index + 1}. [${step.kind}, ${step.tier}] ${step.description} (files: ${step.files.join(', ') || 'none'}) — ${outcome}`;
    })
    .join('\n');
}

// ---- Markdown ----

export const STEP_HEADING = /^## Step (\d+) · /;
const STATE_COMMENT = /<!-- tierwise-plan v1\n([\s\S]*?)\n-->/;

const usd = formatUsd;

/** "mid · gpt-5-mini · $0.0012 (1 escalation)" */
export function describeRun(run: RunSummary): string {
  const escalated = run.escalations > 0 ? ` (${run.escalations} escalation${run.escalations > 1 ? 's' : ''})` : '';
  return `${run.tier} · ${run.model} · ${usd(run.costUsd)}${escalated}`;
}

export function describeStatus(status: StepStatus): string {
  switch (status.state) {
    case 'pending':
      return '⏳ Pending';
    case 'running':
      return '🔄 Running…';
    case 'done':
      return `✅ Done · ${describeRun(status.run)} — ${status.outcome}`;
    case 'failed':
      return `❌ Failed${status.run ? ` · ${describeRun(status.run)}` : ''} — ${status.reason}`;
  }
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
/** Keeps a description from adding headings (which would confuse the step headings the CodeLens finds). */
const quoteBlock = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => (/^\s*#/.test(line) ? `\\${line.trimStart()}` : line))
    .join('\n');
const localTime = (iso: string) => {
  const date = new Date(iso);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
};

/** The plan document: a readable Markdown page, with the state in a trailing HTML comment the preview hides. */
export function renderPlanMarkdown(state: PlanState): string {
  const lines = [
    `# Plan: ${oneLine(state.goal)}`,
    '',
    `Planned by ${describeRun(state.planner)} on ${localTime(state.createdAt)}. ` +
      'Use **Run step N** above a step to run it on its tier: a refactor step opens a diff to apply or discard, an answer step opens beside.',
  ];
  const spentUsd = state.planner.costUsd + state.revisions.reduce((sum, revision) => sum + revision.run.costUsd, 0) + stepCostsUsd(state);
  lines.push('', `Spent on this plan so far: ${usd(spentUsd)}.`);
  state.steps.forEach((step, index) => {
    const revision = state.revisions.find((candidate) => candidate.number === step.revision);
    if (revision && state.steps.findIndex((other) => other.revision === step.revision) === index) {
      lines.push('', `> **Revision ${revision.number}** after step ${revision.afterStep} failed (${oneLine(revision.reason)}) — revised by ${describeRun(revision.run)}.`);
    }
    lines.push(
      '',
      `## Step ${index + 1} · ${step.tier} · ${step.kind}`,
      '',
      quoteBlock(step.description),
      '',
      `- Files: ${step.files.length ? step.files.map((file) => `\`${file}\``).join(', ') : 'none'}`,
      `- Status: ${describeStatus(step.status)}`,
    );
  });
  const json = JSON.stringify(state).replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
  lines.push('', `<!-- tierwise-plan v1\n${json}\n-->`, '');
  return lines.join('\n');
}

function stepCostsUsd(state: PlanState): number {
  return state.steps.reduce((sum, step) => sum + (step.status.state === 'done' || step.status.state === 'failed' ? (step.status.run?.costUsd ?? 0) : 0), 0);
}

/** The state stored in a plan document, or undefined when the text is not a Tierwise plan. */
export function readPlanState(markdown: string): PlanState | undefined {
  const match = STATE_COMMENT.exec(markdown);
  if (!match) return undefined;
  try {
    const state = JSON.parse(match[1]) as PlanState;
    if (state?.format !== 1 || !Array.isArray(state.steps) || !state.steps.every((step) => isTierName(step.tier) && step.status)) return undefined;
    return state;
  } catch {
    return undefined;
  }
}

/** 0-based line of each step's heading, by step index, as rendered. */
export function stepHeadingLines(markdown: string): Map<number, number> {
  const headings = new Map<number, number>();
  markdown.split('\n').forEach((line, lineIndex) => {
    const match = STEP_HEADING.exec(line);
    if (match) headings.set(Number(match[1]) - 1, lineIndex);
  });
  return headings;
}

/** A file name for a plan: "2026-11-24-1357-split-the-parser.md". */
export function planFileName(goal: string, now: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const slug = goal
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return `${stamp}-${slug || 'plan'}.md`;
}

/** Where a re-rendered plan differs from the document: common prefix and suffix excluded, so an edit leaves the rest (and the cursor) alone. */
export function changedMiddle(oldText: string, newText: string): { start: number; oldEnd: number; newEnd: number } {
  let start = 0;
  const shorter = Math.min(oldText.length, newText.length);
  while (start < shorter && oldText[start] === newText[start]) start++;
  if (start > 0 && isHighSurrogate(oldText.charCodeAt(start - 1))) start--; // never split a surrogate pair
  let suffix = 0;
  while (suffix < shorter - start && oldText[oldText.length - 1 - suffix] === newText[newText.length - 1 - suffix]) suffix++;
  if (suffix > 0 && isHighSurrogate(oldText.charCodeAt(oldText.length - 1 - suffix))) suffix--;
  return { start, oldEnd: oldText.length - suffix, newEnd: newText.length - suffix };
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
