import { fail, ok, type Validator } from './verdict';

export type RankedPaths = { ok: true; paths: string[] } | { ok: false; reason: string };

/** "./src\\a.ts" → "src/a.ts": spellings of the same relative path a model may use. */
export function normalizeRelativePath(path: string): string {
  return path.trim().replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

/**
 * The outermost JSON value in `text`. The text is never shown to the user, so a code fence or a sentence around
 * the JSON (models without a JSON mode add them) is not a reason to pay for another tier.
 */
function extractJson(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    const start = trimmed.search(/[[{]/);
    const end = Math.max(trimmed.lastIndexOf(']'), trimmed.lastIndexOf('}'));
    if (start < 0 || end <= start) throw new Error('no JSON in the answer');
    return JSON.parse(trimmed.slice(start, end + 1));
  }
}

/**
 * The paths a find-files answer lists, best first, de-duplicated: `{"files": [...]}` (what the prompt asks for,
 * and the only shape JSON modes allow), another object with one list of paths, or a bare array.
 */
export function parseRankedPaths(output: string): RankedPaths {
  let value: unknown;
  try {
    value = extractJson(output);
  } catch (error) {
    return { ok: false, reason: `not JSON (${(error as Error).message})` };
  }
  let list: unknown = value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    list = Array.isArray(record.files) ? record.files : Object.values(record).find(Array.isArray);
  }
  if (!Array.isArray(list)) return { ok: false, reason: 'no list of paths in the JSON' };
  const paths: string[] = [];
  for (const [index, item] of list.entries()) {
    const path = typeof item === 'string' ? item : item && typeof item === 'object' && typeof (item as { path?: unknown }).path === 'string' ? (item as { path: string }).path : undefined;
    if (path === undefined) return { ok: false, reason: `item ${index + 1} is not a path` };
    const normalized = normalizeRelativePath(path);
    if (normalized && !paths.includes(normalized)) paths.push(normalized);
  }
  return { ok: true, paths };
}

/** A ranking the user can open: a non-empty list of paths, every one of them a file of the workspace. */
export function findFilesValidator(workspacePaths: ReadonlySet<string>): Validator {
  return (output) => {
    const parsed = parseRankedPaths(output);
    if (!parsed.ok) return fail(parsed.reason);
    if (parsed.paths.length === 0) return fail('empty list of files');
    const unknown = parsed.paths.filter((path) => !workspacePaths.has(path));
    if (unknown.length > 0) {
      const named = unknown.slice(0, 3).join(', ') + (unknown.length > 3 ? `, … (${unknown.length - 3} more)` : '');
      return fail(`${unknown.length} of ${parsed.paths.length} paths are not workspace files: ${named}`);
    }
    return ok;
  };
}
