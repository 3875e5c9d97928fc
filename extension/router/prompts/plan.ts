import type { RouteRequest } from '../decide';
import { planProgressForPrompt, type PlanState } from '../plan';

/** How much of the workspace the planner sees: file paths, and the active file's text. */
export const PLAN_MAX_LISTED_FILES = 300;
export const PLAN_ACTIVE_FILE_MAX_CHARS = 12_000;
/** What a step's prompt may carry of each listed file, and in total. */
export const PLAN_STEP_FILE_MAX_CHARS = 40_000;
export const PLAN_STEP_TOTAL_FILE_MAX_CHARS = 120_000;
const PLAN_MAX_OUTPUT_TOKENS = 2048;
const ANSWER_STEP_MAX_OUTPUT_TOKENS = 2048;
const REFACTOR_STEP_MIN_OUTPUT_TOKENS = 2048;
const REFACTOR_STEP_MAX_OUTPUT_TOKENS = 16_384;
const CHARS_PER_TOKEN_ROUGHLY = 3;

export const PLAN_SYSTEM_PROMPT = [
  'You plan code changes for a developer, as a short list of steps that other, cheaper models will carry out one at a time.',
  'Reply with ONLY a JSON object, no prose and no Markdown fence, of this shape:',
  '{"goal": string, "steps": [{"id": number, "description": string, "files": string[], "tier": "local" | "mid" | "frontier", "kind": "refactor" | "answer"}]}',
  'Rules:',
  '- steps are listed in the order they must run; ids are 1, 2, 3, …; at most 8 steps; at least 1;',
  '- "description" says exactly what to do in that step, so that a model seeing only that step and its files can do it;',
  '- "files" are paths relative to the workspace root, taken from the listed workspace files (or new files the step creates);',
  '- kind "refactor" rewrites the listed files (at least one, and few: the step model sees and rewrites each one whole);',
  '  kind "answer" produces an explanation or decision in Markdown and changes nothing;',
  '- "tier" is the cheapest model able to do the step well: "local" (a small local model: mechanical edits in one small file, renames,',
  '  comments), "mid" (a capable hosted model: ordinary refactors and features over one or two files), "frontier" (the strongest',
  '  model: subtle logic, design decisions, changes across several files).',
].join('\n');

export interface WorkspaceSummary {
  name: string;
  /** Workspace-relative file paths. */
  files: string[];
  activeFile?: { path: string; languageId: string; text: string };
}

function workspaceSection(workspace: WorkspaceSummary): string {
  const files = workspace.files.slice(0, PLAN_MAX_LISTED_FILES);
  const more = workspace.files.length > files.length ? `\n(and ${workspace.files.length - files.length} more files)` : '';
  const lines = [`Workspace "${workspace.name}" files:`, files.join('\n') + more];
  if (workspace.activeFile) {
    const { path, languageId, text } = workspace.activeFile;
    const shown = text.length > PLAN_ACTIVE_FILE_MAX_CHARS ? `${text.slice(0, PLAN_ACTIVE_FILE_MAX_CHARS)}\n… (truncated)` : text;
    lines.push('', `The file open in the editor, ${path} (${languageId}):`, '<file>', shown, '</file>');
  }
  return lines.join('\n');
}

/** "Plan a Change": the goal and what the planner should know of the workspace. */
export function planRequest(goal: string, workspace: WorkspaceSummary): RouteRequest {
  return {
    task: 'plan',
    system: PLAN_SYSTEM_PROMPT,
    messages: [{ role: 'user', content: `${workspaceSection(workspace)}\n\nGoal: ${goal.trim()}\n\nReply with the plan as JSON.` }],
    maxOutputTokens: PLAN_MAX_OUTPUT_TOKENS,
  };
}

/** A step failed even on the top tier: ask the planner for new steps to replace the failed one and those after it. */
export function planRevisionRequest(state: PlanState, failedIndex: number, failure: string, workspace: WorkspaceSummary): RouteRequest {
  const content = [
    workspaceSection(workspace),
    '',
    `Goal: ${state.goal}`,
    '',
    'The plan so far, with the outcome of each step:',
    planProgressForPrompt(state),
    '',
    `Step ${failedIndex + 1} failed on the strongest model: ${failure}`,
    'Reply with a revised plan as JSON: same goal, and only the steps that remain to be done, starting with a replacement for the',
    'failed step (split it into smaller steps, name different files, or turn it into an "answer" step if it cannot be done as an edit).',
  ].join('\n');
  return { task: 'plan', system: PLAN_SYSTEM_PROMPT, messages: [{ role: 'user', content }], maxOutputTokens: PLAN_MAX_OUTPUT_TOKENS };
}

export const PLAN_STEP_REFACTOR_SYSTEM_PROMPT = [
  'You carry out one step of a plan by rewriting files.',
  'Reply with the complete new content of each file you change, each in its own block, and nothing else:',
  '<file path="relative/path.ext">',
  '…the whole file, exactly as it should be saved…',
  '</file>',
  'Only use the paths listed for the step. Leave out files that need no change. No Markdown fences, no explanation.',
  'Keep everything the step does not ask to change exactly as it is. Every file must still parse.',
].join('\n');

export const PLAN_STEP_ANSWER_SYSTEM_PROMPT = [
  'You carry out one step of a plan by answering it in Markdown: concise, specific to the files shown, with code where it helps.',
  'Change nothing; say what to do and why.',
].join('\n');

export interface StepFile {
  path: string;
  /** Current content; '' when the file does not exist yet. */
  text: string;
  exists: boolean;
}

/**
 * One plan step, pinned to the step's tier (whatever `routes.planStep` says), with the plan for orientation and
 * the step's files in full.
 */
export function planStepRequest(state: PlanState, index: number, files: StepFile[]): RouteRequest {
  const step = state.steps[index];
  const shownChars = stepFileShownChars(files);
  const fileSections = files.map((file, at) => {
    if (!file.exists) return `<file path="${file.path}">\n</file>\n(${file.path} does not exist yet; the step may create it)`;
    const limit = shownChars[at];
    const shown = file.text.length > limit ? `${file.text.slice(0, limit)}\n… (truncated: do not rewrite this file)` : file.text;
    return `<file path="${file.path}">\n${shown}\n</file>`;
  });
  const content = [
    `Goal of the plan: ${state.goal}`,
    '',
    'The plan:',
    planProgressForPrompt(state),
    '',
    `Do step ${index + 1} now: ${step.description}`,
    '',
    files.length ? `The step's files:\n${fileSections.join('\n\n')}` : 'The step lists no files.',
  ].join('\n');
  const fileTokens = Math.ceil(files.reduce((sum, file) => sum + file.text.length, 0) / CHARS_PER_TOKEN_ROUGHLY);
  return {
    task: 'planStep',
    tier: step.tier,
    tierReason: `plan step ${index + 1}`,
    system: step.kind === 'refactor' ? PLAN_STEP_REFACTOR_SYSTEM_PROMPT : PLAN_STEP_ANSWER_SYSTEM_PROMPT,
    messages: [{ role: 'user', content }],
    maxOutputTokens:
      step.kind === 'refactor'
        ? Math.min(REFACTOR_STEP_MAX_OUTPUT_TOKENS, Math.max(REFACTOR_STEP_MIN_OUTPUT_TOKENS, Math.ceil(fileTokens * 1.5) + 512))
        : ANSWER_STEP_MAX_OUTPUT_TOKENS,
  };
}

/** How many characters of each file a step's prompt shows: each file up to its cap, within the total. */
function stepFileShownChars(files: StepFile[]): number[] {
  let budget = PLAN_STEP_TOTAL_FILE_MAX_CHARS;
  return files.map((file) => {
    const limit = Math.max(0, Math.min(PLAN_STEP_FILE_MAX_CHARS, budget));
    budget -= Math.min(file.text.length, limit);
    return limit;
  });
}

/** Files the step's prompt shows only in part: a model must not rewrite them whole, or their tail would be lost. */
export function truncatedStepFiles(files: StepFile[]): Set<string> {
  const shownChars = stepFileShownChars(files);
  return new Set(files.filter((file, at) => file.exists && file.text.length > shownChars[at]).map((file) => file.path));
}
