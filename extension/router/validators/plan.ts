import type { Plan, PlanStep, PlanStepKind } from '../plan';
import { isTierName } from '../tiers';
import { stripSurroundingFence } from './code';
import { fail, ok, type Validator } from './verdict';

/** More steps than this is a plan nobody will run step by step; the planner should group the work. */
export const MAX_PLAN_STEPS = 20;
const STEP_KINDS: readonly PlanStepKind[] = ['refactor', 'answer'];
/** How many problems one verdict lists; the rest are counted. */
const MAX_REASONS = 3;

export type PlanParse = { ok: true; plan: Plan } | { ok: false; reason: string };

/**
 * Reads a planner's answer as a plan: `{goal, steps: [{id, description, files, tier, kind}]}`, steps in the order
 * they run, at least one, ids unique (and increasing when numbers), tiers and kinds from their sets, file paths
 * relative to the workspace. One fence around the JSON, or prose around one JSON object, is tolerated (providers
 * without a JSON mode add them); everything else fails with the path of each problem, e.g. `steps[1].tier`.
 */
export function parsePlan(output: string): PlanParse {
  const json = extractJsonObject(output);
  if (json.ok === false) return json;
  const value = json.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: `the answer must be a JSON object, got ${describe(value)}` };

  const problems: string[] = [];
  const record = value as Record<string, unknown>;
  if (typeof record.goal !== 'string' || record.goal.trim() === '') problems.push(`"goal" must be a non-empty string, got ${describe(record.goal)}`);
  const steps: PlanStep[] = [];
  if (!Array.isArray(record.steps)) {
    problems.push(`"steps" must be an array, got ${describe(record.steps)}`);
  } else if (record.steps.length === 0) {
    problems.push('"steps" is empty; a plan needs at least one step');
  } else if (record.steps.length > MAX_PLAN_STEPS) {
    problems.push(`"steps" has ${record.steps.length} steps; at most ${MAX_PLAN_STEPS}`);
  } else {
    const seenIds = new Map<string, number>();
    record.steps.forEach((raw, index) => {
      const step = parseStep(raw, `steps[${index}]`, problems);
      if (!step) return;
      const key = `${typeof step.id}:${step.id}`;
      const earlier = seenIds.get(key);
      if (earlier !== undefined) problems.push(`steps[${index}].id ${JSON.stringify(step.id)} repeats steps[${earlier}].id`);
      seenIds.set(key, index);
      const previous = steps.at(-1);
      if (previous && typeof previous.id === 'number' && typeof step.id === 'number' && step.id <= previous.id) {
        problems.push(`steps[${index}].id ${step.id} comes after ${previous.id}: list the steps in the order they run`);
      }
      steps.push(step);
    });
  }
  if (problems.length > 0) {
    const more = problems.length > MAX_REASONS ? ` (and ${problems.length - MAX_REASONS} more)` : '';
    return { ok: false, reason: problems.slice(0, MAX_REASONS).join('; ') + more };
  }
  return { ok: true, plan: { goal: (record.goal as string).trim(), steps } };
}

function parseStep(raw: unknown, at: string, problems: string[]): PlanStep | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${at} must be an object, got ${describe(raw)}`);
    return undefined;
  }
  const step = raw as Record<string, unknown>;
  const before = problems.length;
  const { id, description, files, tier, kind } = step;
  if (!((typeof id === 'number' && Number.isFinite(id)) || (typeof id === 'string' && id.trim() !== ''))) {
    problems.push(`${at}.id must be a number or a non-empty string, got ${describe(id)}`);
  }
  if (typeof description !== 'string' || description.trim() === '') problems.push(`${at}.description must be a non-empty string, got ${describe(description)}`);
  if (!isTierName(tier)) problems.push(`${at}.tier must be "local", "mid" or "frontier", got ${describe(tier)}`);
  if (typeof kind !== 'string' || !STEP_KINDS.includes(kind as PlanStepKind)) problems.push(`${at}.kind must be "refactor" or "answer", got ${describe(kind)}`);
  if (!Array.isArray(files)) {
    problems.push(`${at}.files must be an array of file paths, got ${describe(files)}`);
  } else {
    files.forEach((file, index) => {
      if (typeof file !== 'string' || file.trim() === '') problems.push(`${at}.files[${index}] must be a non-empty string, got ${describe(file)}`);
      else if (!isWorkspaceRelativePath(file)) problems.push(`${at}.files[${index}] "${file}" must be a path relative to the workspace, without ".."`);
    });
    if (kind === 'refactor' && files.length === 0) problems.push(`${at}.files is empty; a refactor step must name the files it changes`);
  }
  if (problems.length > before) return undefined;
  return {
    id: typeof id === 'string' ? id.trim() : (id as number),
    description: (description as string).trim(),
    files: (files as string[]).map((file) => normalizeWorkspacePath(file)),
    tier: tier as PlanStep['tier'],
    kind: kind as PlanStepKind,
  };
}

/** The router's check for a planner's answer. */
export const planValidator: Validator = (output) => {
  const parsed = parsePlan(output);
  return parsed.ok ? ok : fail(parsed.reason);
};

function extractJsonObject(output: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  const text = stripSurroundingFence(output).trim();
  if (text === '') return { ok: false, reason: 'empty answer' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    // Prose around one object ("Here is the plan: {…}"): take the outermost braces if that parses.
    const start = text.indexOf('{');
    const end = text.lastIndexOf('}');
    if (start > 0 || (start === 0 && end < text.length - 1)) {
      try {
        return { ok: true, value: JSON.parse(text.slice(start, end + 1)) };
      } catch {
        // fall through to the original error, which points at the real problem
      }
    }
    return { ok: false, reason: `not valid JSON: ${(error as Error).message}` };
  }
}

export function isWorkspaceRelativePath(file: string): boolean {
  const normalized = file.trim().replace(/\\/g, '/');
  if (normalized.startsWith('/') || /^[a-zA-Z]:/.test(normalized) || normalized.startsWith('~')) return false;
  return !normalized.split('/').includes('..');
}

const normalizeWorkspacePath = (file: string) => file.trim().replace(/\\/g, '/').replace(/^\.\//, '');

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 37)}…"` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
