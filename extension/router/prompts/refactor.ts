import type { RouteRequest } from '../decide';

/** Lines of the file shown on each side of the selection, and a cap in characters for long lines. */
export const REFACTOR_CONTEXT_LINES_EACH_SIDE = 80;
export const REFACTOR_CONTEXT_MAX_CHARS_EACH_SIDE = 12_000;
/** Output budget: room for the selection to grow, within what a refactor should need. */
const REFACTOR_MIN_OUTPUT_TOKENS = 1024;
const REFACTOR_MAX_OUTPUT_TOKENS = 8192;
const CHARS_PER_TOKEN_ROUGHLY = 3;

export const REFACTOR_SYSTEM_PROMPT = [
  'You are a precise refactoring tool inside a code editor.',
  'You receive part of a file with one region marked <selection>…</selection>, and an instruction.',
  'Reply with ONLY the code that replaces the selected region, exactly as it should appear in the file:',
  '- no explanation, no Markdown code fence, no <selection> tags;',
  '- nothing from outside the selection (the code before and after stays as it is);',
  '- keep the language, the indentation and the style of the surrounding code;',
  '- the file must still parse once your code replaces the selection (close what you open; do not close what the selection left open).',
].join('\n');

export interface RefactorPromptInput {
  instruction: string;
  /** VS Code language id, e.g. `typescript`. */
  languageId: string;
  /** Path shown to the model, relative to the workspace when possible. */
  filePath: string;
  /** The whole file and the selection's offsets in it. */
  fileText: string;
  selectionStart: number;
  selectionEnd: number;
}

/** The routed request for "Refactor Selection": the selection with the file around it, and the instruction. */
export function refactorRequest(input: RefactorPromptInput): RouteRequest {
  const { fileText, selectionStart, selectionEnd } = input;
  const before = lastLines(fileText.slice(0, selectionStart), REFACTOR_CONTEXT_LINES_EACH_SIDE, REFACTOR_CONTEXT_MAX_CHARS_EACH_SIDE);
  const after = firstLines(fileText.slice(selectionEnd), REFACTOR_CONTEXT_LINES_EACH_SIDE, REFACTOR_CONTEXT_MAX_CHARS_EACH_SIDE);
  const selection = fileText.slice(selectionStart, selectionEnd);
  const firstLine = fileText.slice(0, selectionStart).split('\n').length;
  const lastLine = firstLine + selection.split('\n').length - 1;
  const content = [
    `File: ${input.filePath} (language: ${input.languageId || 'unknown'}); the selection is lines ${firstLine}–${lastLine}.`,
    before.truncated ? '(earlier lines of the file are not shown)' : '(the file starts here)',
    '<file>',
    `${before.text}<selection>${selection}</selection>${after.text}`,
    '</file>',
    after.truncated ? '(later lines of the file are not shown)' : '(the file ends here)',
    '',
    `Instruction: ${input.instruction.trim()}`,
    '',
    'Reply with only the replacement for the selected code.',
  ].join('\n');
  const selectionTokens = Math.ceil(selection.length / CHARS_PER_TOKEN_ROUGHLY);
  return {
    task: 'refactor',
    system: REFACTOR_SYSTEM_PROMPT,
    messages: [{ role: 'user', content }],
    maxOutputTokens: Math.min(REFACTOR_MAX_OUTPUT_TOKENS, Math.max(REFACTOR_MIN_OUTPUT_TOKENS, 2 * selectionTokens + 256)),
  };
}

function lastLines(text: string, lines: number, maxChars: number): { text: string; truncated: boolean } {
  const all = text.split('\n');
  let kept = all.slice(-lines).join('\n');
  if (kept.length > maxChars) kept = kept.slice(kept.length - maxChars).replace(/^[^\n]*\n/, '');
  return { text: kept, truncated: kept.length < text.length };
}

function firstLines(text: string, lines: number, maxChars: number): { text: string; truncated: boolean } {
  const all = text.split('\n');
  let kept = all.slice(0, lines).join('\n');
  if (kept.length > maxChars) kept = kept.slice(0, maxChars).replace(/\n[^\n]*$/, '');
  return { text: kept, truncated: kept.length < text.length };
}
