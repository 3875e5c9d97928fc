import { typeScriptSyntaxProblems, type SyntaxProblem } from './typescriptSyntax';
import { fail, ok, type Validator, type Verdict } from './verdict';

/**
 * Checks for code a model proposes as the replacement of part of a file. The model's answer is first normalized
 * (see normalizeReplacement), then the whole file with the replacement in place must still parse: TypeScript and
 * JavaScript through the TypeScript parser, JSON and JSONC through a JSON parser, other languages by balanced
 * brackets and closed strings. Problems the file already had are not held against the proposal.
 */
export interface ReplacementContext {
  /** VS Code's language id of the file (`typescript`, `jsonc`, …); empty when unknown (the file name decides). */
  languageId: string;
  /** The file's name or path; its extension picks the parser when the language id does not. */
  fileName: string;
  /** The file's text before the replaced range. */
  before: string;
  /** The text being replaced (the selection, or the whole file). */
  original: string;
  /** The file's text after the replaced range. */
  after: string;
}

const FENCE_LINE = /^\s*(`{3,}|~{3,})/;

/**
 * The replacement as it goes into the file. A single code fence around the whole answer is stripped rather than
 * failed: models add one despite being told not to, and paying for an escalation to remove three backticks would be
 * waste. Prose around a fence, or several fences, is not normalized; the validator fails it. The code is re-indented
 * to the selection's indentation, and the selection's leading blank lines and trailing whitespace are kept, so a
 * whole-line selection stays whole lines.
 */
export function normalizeReplacement(output: string, context: ReplacementContext): string {
  let code = stripSurroundingFence(output.replace(/\r\n?/g, '\n'));
  if (code.trim() === '') return '';
  code = code.replace(/^(?:[ \t]*\n)+/, '').trimEnd();

  const original = context.original.replace(/\r\n?/g, '\n');
  const leadingBlankLines = /^(?:[ \t]*\n)*/.exec(original)![0];
  const trailingWhitespace = /\s*$/.exec(original.slice(leadingBlankLines.length))![0];
  const originalCore = original.slice(leadingBlankLines.length, original.length - trailingWhitespace.length);
  const startsMidLine = leadingBlankLines === '' && context.before !== '' && !context.before.endsWith('\n');
  return leadingBlankLines + reindent(code, originalCore, startsMidLine) + trailingWhitespace;
}

/** Strips one fence that wraps the whole answer; anything else is left for the validator to judge. */
export function stripSurroundingFence(output: string): string {
  const lines = output.trim().split('\n');
  if (lines.length < 2) return output;
  const opener = FENCE_LINE.exec(lines[0]);
  const closer = lines[lines.length - 1].trim();
  if (!opener || !closer.startsWith(opener[1]) || closer.replace(/[`~]/g, '') !== '') return output;
  const inner = lines.slice(1, -1);
  if (inner.some((line) => FENCE_LINE.test(line) && line.trim().startsWith(opener[1]))) return output;
  return inner.join('\n');
}

/** Shifts the code so its common indentation is the original's (only lines that start a line in the file). */
function reindent(code: string, originalCore: string, startsMidLine: boolean): string {
  const codeLines = code.split('\n');
  const originalLines = originalCore.split('\n');
  if (startsMidLine) codeLines[0] = codeLines[0].trimStart();
  const targetIndent = commonIndent(startsMidLine ? originalLines.slice(1) : originalLines);
  const shiftable = startsMidLine ? codeLines.slice(1) : codeLines;
  const currentIndent = commonIndent(shiftable);
  if (targetIndent === undefined || currentIndent === undefined || targetIndent === currentIndent) return codeLines.join('\n');
  const shifted = shiftable.map((line) => (line.trim() === '' ? '' : targetIndent + line.slice(currentIndent.length)));
  return (startsMidLine ? [codeLines[0], ...shifted] : shifted).join('\n');
}

/** The longest whitespace prefix shared by every non-blank line, or undefined when there are none. */
function commonIndent(lines: string[]): string | undefined {
  let common: string | undefined;
  for (const line of lines) {
    if (line.trim() === '') continue;
    const indent = /^[ \t]*/.exec(line)![0];
    if (common === undefined) {
      common = indent;
      continue;
    }
    let shared = 0;
    while (shared < common.length && shared < indent.length && common[shared] === indent[shared]) shared++;
    common = common.slice(0, shared);
  }
  return common;
}

/** The validator for one proposed replacement; pure, so the router can run it on every tier's answer. */
export function replacementValidator(context: ReplacementContext): Validator {
  return (output) => {
    const code = normalizeReplacement(output, context);
    if (code.trim() === '') return fail('empty code');
    const language = codeLanguageOf(context.languageId, context.fileName);
    if (language !== 'markdown' && code.split('\n').some((line) => FENCE_LINE.test(line))) {
      return fail('the answer has text or several code blocks around the code (a Markdown fence inside the replacement)');
    }
    const before = context.before.replace(/\r\n?/g, '\n');
    const original = context.original.replace(/\r\n?/g, '\n');
    const after = context.after.replace(/\r\n?/g, '\n');
    return checkReplacedFile(language, context.fileName, { before, original, after, replacement: code });
  };
}

/** How a file's syntax is checked. */
export type CodeLanguage = 'typescript' | 'json' | 'jsonc' | 'markdown' | 'prose' | 'balanced';

const TS_LANGUAGE_IDS = new Set(['typescript', 'typescriptreact', 'javascript', 'javascriptreact']);
const TS_EXTENSIONS = new Set(['ts', 'tsx', 'mts', 'cts', 'js', 'jsx', 'mjs', 'cjs']);
const PROSE_LANGUAGE_IDS = new Set(['plaintext', 'html', 'xml', 'xsl', 'svg', 'latex', 'tex', 'restructuredtext', 'asciidoc', 'log', 'csv', 'tsv', 'diff', 'git-commit', 'ignore']);
const PROSE_EXTENSIONS = new Set(['txt', 'html', 'htm', 'xml', 'svg', 'tex', 'rst', 'adoc', 'log', 'csv', 'tsv', 'diff', 'patch']);

export function codeLanguageOf(languageId: string, fileName: string): CodeLanguage {
  const extension = /\.([^./\\]+)$/.exec(fileName)?.[1]?.toLowerCase() ?? '';
  if (TS_LANGUAGE_IDS.has(languageId) || (!languageId && TS_EXTENSIONS.has(extension))) return 'typescript';
  if (languageId === 'jsonc' || languageId === 'json5' || (!languageId && (extension === 'jsonc' || extension === 'json5'))) return 'jsonc';
  if (languageId === 'json' || (!languageId && extension === 'json')) return 'json';
  if (languageId === 'markdown' || (!languageId && (extension === 'md' || extension === 'markdown'))) return 'markdown';
  if (PROSE_LANGUAGE_IDS.has(languageId) || (!languageId && PROSE_EXTENSIONS.has(extension))) return 'prose';
  return 'balanced';
}

/** The language id VS Code would give a new file, for the few languages the checks tell apart. */
export function languageIdForFileName(fileName: string): string {
  const extension = /\.([^./\\]+)$/.exec(fileName)?.[1]?.toLowerCase() ?? '';
  const byExtension: Record<string, string> = {
    ts: 'typescript', mts: 'typescript', cts: 'typescript', tsx: 'typescriptreact',
    js: 'javascript', mjs: 'javascript', cjs: 'javascript', jsx: 'javascriptreact',
    json: 'json', jsonc: 'jsonc', md: 'markdown', markdown: 'markdown', py: 'python', rs: 'rust', go: 'go',
    rb: 'ruby', sh: 'shellscript', bash: 'shellscript', yml: 'yaml', yaml: 'yaml', toml: 'toml', lua: 'lua', sql: 'sql',
    css: 'css', scss: 'scss', less: 'less', html: 'html', xml: 'xml', txt: 'plaintext', java: 'java', kt: 'kotlin',
    c: 'c', h: 'c', cpp: 'cpp', hpp: 'cpp', cs: 'csharp', php: 'php', swift: 'swift', hs: 'haskell', clj: 'clojure',
  };
  return byExtension[extension] ?? '';
}

interface ReplacedFile {
  before: string;
  original: string;
  after: string;
  replacement: string;
}

function checkReplacedFile(language: CodeLanguage, fileName: string, file: ReplacedFile): Verdict {
  switch (language) {
    case 'typescript':
      return checkTypeScriptSyntax(fileName, file);
    case 'json':
    case 'jsonc':
      return checkJson(language, file);
    case 'markdown':
    case 'prose':
      return ok;
    case 'balanced':
      return checkBalanced(profileFor(fileName), file);
  }
}

// ---- TypeScript and JavaScript ----

function checkTypeScriptSyntax(fileName: string, file: ReplacedFile): Verdict {
  const proposed = file.before + file.replacement + file.after;
  const problems = typeScriptSyntaxProblems(fileName, proposed);
  if (problems.length === 0) return ok;
  const existing = typeScriptSyntaxProblems(fileName, file.before + file.original + file.after);
  const introduced = newProblems(problems, existing, file);
  if (introduced.length === 0) return ok;
  const first = introduced[0];
  const more = introduced.length > 1 ? ` (and ${introduced.length - 1} more)` : '';
  return fail(`does not parse: line ${lineOf(proposed, first.start)}: ${first.message}${more}`);
}

/**
 * Problems of the proposed file that the original did not have. A problem before the replaced range keeps its
 * offset; one after it is shifted by the change in length; one inside it is always new.
 */
function newProblems(proposed: SyntaxProblem[], existing: SyntaxProblem[], file: ReplacedFile): SyntaxProblem[] {
  const replacedEnd = file.before.length + file.replacement.length;
  const delta = file.replacement.length - file.original.length;
  const known = new Set(existing.map((problem) => `${problem.code}@${problem.start}`));
  return proposed.filter((problem) => {
    if (problem.start >= file.before.length && problem.start < replacedEnd) return true;
    const originalStart = problem.start >= replacedEnd ? problem.start - delta : problem.start;
    return !known.has(`${problem.code}@${originalStart}`);
  });
}

const lineOf = (text: string, offset: number) => text.slice(0, offset).split('\n').length;

// ---- JSON and JSONC ----

function checkJson(language: 'json' | 'jsonc', file: ReplacedFile): Verdict {
  const parse = (text: string) => jsonProblem(language === 'jsonc' ? stripJsonComments(text) : text);
  const proposed = file.before + file.replacement + file.after;
  const problem = parse(proposed);
  if (!problem) return ok;
  // A file that did not parse before either (a fragment, JSON Lines): judge the replaced part by its brackets.
  if (parse(file.before + file.original + file.after)) return checkBalanced(JSON_PROFILE, file);
  return fail(`not valid ${language === 'jsonc' ? 'JSON with comments' : 'JSON'}: ${problem}`);
}

function jsonProblem(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * JSONC to JSON of the same length: comments and trailing commas become spaces, so JSON.parse positions still
 * point into the original text.
 */
export function stripJsonComments(text: string): string {
  const out = text.split('');
  let index = 0;
  let lastSignificant = -1; // index of the last non-space character kept outside strings and comments
  while (index < text.length) {
    const char = text[index];
    if (char === '"') {
      index++;
      while (index < text.length && text[index] !== '"' && text[index] !== '\n') index += text[index] === '\\' ? 2 : 1;
      index++;
      lastSignificant = Math.min(index, text.length) - 1;
      continue;
    }
    if (char === '/' && text[index + 1] === '/') {
      while (index < text.length && text[index] !== '\n') out[index++] = ' ';
      continue;
    }
    if (char === '/' && text[index + 1] === '*') {
      const end = text.indexOf('*/', index + 2);
      const stop = end < 0 ? text.length : end + 2;
      for (; index < stop; index++) if (text[index] !== '\n') out[index] = ' ';
      continue;
    }
    if ((char === '}' || char === ']') && lastSignificant >= 0 && out[lastSignificant] === ',') out[lastSignificant] = ' ';
    if (!/\s/.test(char)) lastSignificant = index;
    index++;
  }
  return out.join('');
}

// ---- Other languages: brackets and strings ----

interface SyntaxProfile {
  lineComments: string[];
  blockComments: Array<[open: string, close: string]>;
  /** Strings that end at their quote or at the end of the line. */
  quotes: string[];
  /** Strings that may span lines (template literals, Python's triple quotes, Go's raw strings). */
  multilineQuotes: string[];
}

const C_LIKE: SyntaxProfile = { lineComments: ['//'], blockComments: [['/*', '*/']], quotes: ['"', "'"], multilineQuotes: ['`'] };
const HASH_COMMENTS: SyntaxProfile = { lineComments: ['#'], blockComments: [], quotes: ['"', "'"], multilineQuotes: [] };
const JSON_PROFILE: SyntaxProfile = { lineComments: ['//'], blockComments: [['/*', '*/']], quotes: ['"'], multilineQuotes: [] };

const PROFILES_BY_EXTENSION: Record<string, SyntaxProfile> = {
  py: { lineComments: ['#'], blockComments: [], quotes: ['"', "'"], multilineQuotes: ['"""', "'''"] },
  // Rust lifetimes ('a) and Lisp quotes are not strings.
  rs: { lineComments: ['//'], blockComments: [['/*', '*/']], quotes: ['"'], multilineQuotes: [] },
  clj: { lineComments: [';'], blockComments: [], quotes: ['"'], multilineQuotes: [] },
  lisp: { lineComments: [';'], blockComments: [], quotes: ['"'], multilineQuotes: [] },
  el: { lineComments: [';'], blockComments: [], quotes: ['"'], multilineQuotes: [] },
  scm: { lineComments: [';'], blockComments: [], quotes: ['"'], multilineQuotes: [] },
  lua: { lineComments: ['--'], blockComments: [['--[[', ']]']], quotes: ['"', "'"], multilineQuotes: [] },
  sql: { lineComments: ['--'], blockComments: [['/*', '*/']], quotes: ['"', "'"], multilineQuotes: [] },
  hs: { lineComments: ['--'], blockComments: [['{-', '-}']], quotes: ['"'], multilineQuotes: [] },
  kt: { ...C_LIKE, multilineQuotes: ['"""'] },
  java: { ...C_LIKE, multilineQuotes: ['"""'] },
  scala: { ...C_LIKE, multilineQuotes: ['"""'] },
  swift: { ...C_LIKE, multilineQuotes: ['"""'] },
  css: { lineComments: [], blockComments: [['/*', '*/']], quotes: ['"', "'"], multilineQuotes: [] },
  scss: { lineComments: ['//'], blockComments: [['/*', '*/']], quotes: ['"', "'"], multilineQuotes: [] },
  less: { lineComments: ['//'], blockComments: [['/*', '*/']], quotes: ['"', "'"], multilineQuotes: [] },
  sh: HASH_COMMENTS, bash: HASH_COMMENTS, zsh: HASH_COMMENTS, yml: HASH_COMMENTS, yaml: HASH_COMMENTS, toml: HASH_COMMENTS,
  rb: HASH_COMMENTS, pl: HASH_COMMENTS, r: HASH_COMMENTS, ps1: { ...HASH_COMMENTS, blockComments: [['<#', '#>']] },
  dockerfile: HASH_COMMENTS, mk: HASH_COMMENTS, cmake: HASH_COMMENTS, nix: { ...HASH_COMMENTS, blockComments: [['/*', '*/']] },
  go: { ...C_LIKE, multilineQuotes: ['`'] },
  json: JSON_PROFILE,
};

function profileFor(fileName: string): SyntaxProfile {
  const base = fileName.split(/[/\\]/).pop()!.toLowerCase();
  if (base === 'dockerfile' || base === 'makefile') return HASH_COMMENTS;
  const extension = /\.([^./\\]+)$/.exec(base)?.[1] ?? '';
  return PROFILES_BY_EXTENSION[extension] ?? C_LIKE;
}

const PAIRS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/** What a stretch of code leaves open or closes that it did not open; '' when it is balanced. */
interface BalanceResidue {
  /** Closers without an opener, then openers without a closer, e.g. ")}" + "{(" → "){(" */
  unmatchedClosers: string;
  unclosedOpeners: string;
  /** A string or block comment still open at the end, by its opening delimiter. */
  openDelimiter?: string;
  /** The first problem a whole file can have, with its line (1-based). */
  problem?: { line: number; message: string };
}

/** Scans code roughly: skips strings and comments, matches brackets, notes a one-line string left unterminated. */
export function bracketResidue(code: string, profile: SyntaxProfile = C_LIKE): BalanceResidue {
  const stack: Array<{ char: string; line: number }> = [];
  let unmatchedClosers = '';
  let problem: BalanceResidue['problem'];
  let line = 1;
  let index = 0;
  const startsWithAt = (token: string) => code.startsWith(token, index);
  const advanceTo = (end: number) => {
    for (; index < end && index < code.length; index++) if (code[index] === '\n') line++;
  };

  scan: while (index < code.length) {
    const char = code[index];
    if (char === '\n') {
      line++;
      index++;
      continue;
    }
    for (const token of profile.lineComments) {
      if (startsWithAt(token)) {
        const end = code.indexOf('\n', index);
        advanceTo(end < 0 ? code.length : end);
        continue scan;
      }
    }
    for (const [open, close] of profile.blockComments) {
      if (startsWithAt(open)) {
        const end = code.indexOf(close, index + open.length);
        if (end < 0) return { unmatchedClosers, unclosedOpeners: openers(stack), openDelimiter: open, problem: problem ?? { line, message: `comment ${open} is never closed` } };
        advanceTo(end + close.length);
        continue scan;
      }
    }
    for (const quote of profile.multilineQuotes) {
      if (startsWithAt(quote)) {
        const startLine = line;
        index += quote.length;
        while (index < code.length && !startsWithAt(quote)) {
          if (code[index] === '\\') index++;
          else if (code[index] === '\n') line++;
          index++;
        }
        if (index >= code.length) {
          return { unmatchedClosers, unclosedOpeners: openers(stack), openDelimiter: quote, problem: problem ?? { line: startLine, message: `string ${quote} is never closed` } };
        }
        index += quote.length;
        continue scan;
      }
    }
    if (profile.quotes.includes(char)) {
      const startLine = line;
      index++;
      while (index < code.length && code[index] !== char && code[index] !== '\n') index += code[index] === '\\' ? 2 : 1;
      if (code[index] !== char) problem ??= { line: startLine, message: `string ${char}…${char} is not closed on its line` };
      else index++;
      continue;
    }
    if (char === '(' || char === '[' || char === '{') {
      stack.push({ char, line });
    } else if (char in PAIRS) {
      const top = stack.at(-1);
      if (top?.char === PAIRS[char]) {
        stack.pop();
      } else if (top) {
        problem ??= { line, message: `'${char}' closes '${top.char}' opened on line ${top.line}` };
        stack.pop();
      } else {
        problem ??= { line, message: `'${char}' has no opening '${PAIRS[char]}'` };
        unmatchedClosers += char;
      }
    }
    index++;
  }
  if (stack.length > 0) problem ??= { line: stack.at(-1)!.line, message: `'${stack.at(-1)!.char}' opened on line ${stack.at(-1)!.line} is never closed` };
  return { unmatchedClosers, unclosedOpeners: openers(stack), problem };
}

const openers = (stack: Array<{ char: string }>) => stack.map((entry) => entry.char).join('');

/**
 * A balanced file must stay balanced. When the file was not balanced to begin with (or the selection is a fragment
 * of a larger construct), the replacement must leave open and close exactly what the selection did.
 */
function checkBalanced(profile: SyntaxProfile, file: ReplacedFile): Verdict {
  const originalFile = bracketResidue(file.before + file.original + file.after, profile);
  if (!originalFile.problem) {
    const proposed = bracketResidue(file.before + file.replacement + file.after, profile);
    return proposed.problem ? fail(`unbalanced: line ${proposed.problem.line}: ${proposed.problem.message}`) : ok;
  }
  const selection = bracketResidue(file.original, profile);
  const replacement = bracketResidue(file.replacement, profile);
  const shape = (residue: BalanceResidue) => `${residue.unmatchedClosers}|${residue.unclosedOpeners}|${residue.openDelimiter ?? ''}`;
  if (shape(selection) === shape(replacement)) return ok;
  const describe = (residue: BalanceResidue) =>
    [
      residue.unmatchedClosers && `closes ${residue.unmatchedClosers.split('').join(' ')}`,
      residue.unclosedOpeners && `leaves ${residue.unclosedOpeners.split('').join(' ')} open`,
      residue.openDelimiter && `leaves a ${residue.openDelimiter} string or comment open`,
    ]
      .filter(Boolean)
      .join(', ') || 'is balanced';
  return fail(`unbalanced: the selection ${describe(selection)} but the replacement ${describe(replacement)}`);
}

// ---- Whole-file edits (plan steps) ----

/** One file's new content in a multi-file answer: `<file path="src/a.ts">…</file>`. */
export interface FileEdit {
  path: string;
  content: string;
}

const FILE_BLOCK = /<file path="([^"\n]+)">\n?([\s\S]*?)<\/file>/g;

/** The `<file path="…">` blocks of an answer; text outside them is ignored. */
export function parseFileBlocks(output: string): { ok: true; edits: FileEdit[] } | { ok: false; reason: string } {
  const text = stripSurroundingFence(output.replace(/\r\n?/g, '\n'));
  const edits: FileEdit[] = [];
  for (const match of text.matchAll(FILE_BLOCK)) {
    const path = match[1].trim().replace(/\\/g, '/').replace(/^\.\//, '');
    if (edits.some((edit) => edit.path === path)) return { ok: false, reason: `"${path}" appears in two <file> blocks` };
    edits.push({ path, content: match[2] });
  }
  if (edits.length === 0) return { ok: false, reason: 'no <file path="…">…</file> block in the answer' };
  return { ok: true, edits };
}

export interface EditableFile {
  path: string;
  /** VS Code's language id when the file is open or known; '' lets the extension decide. */
  languageId: string;
  /** The current content; '' for a file the step creates. */
  original: string;
  /** The model saw only part of the file, so a whole-file rewrite of it would lose the rest. */
  shownTruncated?: boolean;
}

/**
 * Every block names one of the step's files and holds that file's complete new content, which passes the same
 * checks as a refactor of the whole file.
 */
export function fileEditsValidator(files: EditableFile[]): Validator {
  return (output) => {
    const parsed = parseFileBlocks(output);
    if (parsed.ok === false) return fail(parsed.reason);
    for (const edit of parsed.edits) {
      const file = files.find((candidate) => candidate.path === edit.path);
      if (!file) return fail(`changes "${edit.path}", which the step does not list (it lists ${files.map((candidate) => `"${candidate.path}"`).join(', ')})`);
      if (file.shownTruncated) return fail(`rewrites "${edit.path}", which is too large to rewrite whole (it was shown truncated)`);
      const verdict = replacementValidator(wholeFileContext(file))(edit.content);
      if (!verdict.ok) return fail(`${edit.path}: ${verdict.reason}`);
    }
    return ok;
  };
}

/** The replacement context for rewriting a whole file. */
export function wholeFileContext(file: EditableFile): ReplacementContext {
  return { languageId: file.languageId, fileName: file.path, before: '', original: file.original, after: '' };
}
