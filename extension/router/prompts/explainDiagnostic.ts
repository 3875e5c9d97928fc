import type { RouteRequest } from '../decide';

/** A short explanation with a fix in a code block. */
export const EXPLAIN_MAX_OUTPUT_TOKENS = 700;
/** Lines of code shown above and below the problem. */
export const EXPLAIN_CONTEXT_LINES = 20;
/** Longer lines (minified code, data) are cut in the excerpt. */
export const EXPLAIN_LINE_MAX_CHARS = 240;

export type DiagnosticSeverityName = 'error' | 'warning' | 'information' | 'hint';

/** A diagnostic as the editor reports it, with 0-based positions. */
export interface DiagnosticFacts {
  message: string;
  severity: DiagnosticSeverityName;
  source?: string;
  code?: string;
  range: { startLine: number; startCharacter: number; endLine: number; endCharacter: number };
  /** "src/x.ts:3: 'x' is declared here." */
  related?: string[];
}

export interface ExplainPromptInput {
  diagnostic: DiagnosticFacts;
  languageId: string;
  /** Path relative to the workspace, as shown to the user. */
  relativePath: string;
  /** Every line of the document (only the excerpt around the problem is sent). */
  documentLines: readonly string[];
}

/**
 * The code around the problem with 1-based line numbers: the problem's lines marked `>>`, and a caret line under
 * the problem's columns when it sits on one line.
 */
export function numberedExcerpt(lines: readonly string[], range: DiagnosticFacts['range'], contextLines = EXPLAIN_CONTEXT_LINES): string {
  if (lines.length === 0) return '';
  const first = Math.max(0, Math.min(range.startLine, lines.length - 1) - contextLines);
  const last = Math.min(lines.length - 1, Math.max(range.endLine, range.startLine) + contextLines);
  const width = String(last + 1).length;
  const out: string[] = [];
  for (let index = first; index <= last; index++) {
    const marked = index >= range.startLine && index <= range.endLine;
    const text = lines[index].replace(/\r$/, '');
    const clipped = text.length > EXPLAIN_LINE_MAX_CHARS ? `${text.slice(0, EXPLAIN_LINE_MAX_CHARS)}…` : text;
    out.push(`${marked ? '>>' : '  '} ${String(index + 1).padStart(width)} | ${clipped}`);
    if (marked && range.startLine === range.endLine && range.startCharacter < EXPLAIN_LINE_MAX_CHARS) {
      // Tabs keep their width under the caret so it lines up in the model's (and the reader's) view.
      const lead = text.slice(0, range.startCharacter).replace(/[^\t]/g, ' ');
      const span = Math.max(1, Math.min(range.endCharacter, EXPLAIN_LINE_MAX_CHARS) - range.startCharacter);
      out.push(`   ${' '.repeat(width)} | ${lead}${'^'.repeat(span)}`);
    }
  }
  return out.join('\n');
}

/** "error TS2304 (ts)" — what kind of problem, from which tool. */
export function describeDiagnosticKind(diagnostic: DiagnosticFacts): string {
  const code = diagnostic.code ? ` ${diagnostic.source === 'ts' && /^\d+$/.test(diagnostic.code) ? `TS${diagnostic.code}` : diagnostic.code}` : '';
  return `${diagnostic.severity}${code}${diagnostic.source ? ` (${diagnostic.source})` : ''}`;
}

const SYSTEM_PROMPT = [
  'You explain compiler, linter and runtime diagnostics to a developer, next to their code. Answer in Markdown, in this order:',
  '1. What the problem means, in plain words, for this code (one or two sentences).',
  '2. Why it happens here: name the exact identifier, expression or type involved.',
  "3. How to fix it: the smallest correct change, as a short code block in the file's language; if several fixes are plausible, the most likely first, then one line on the alternative.",
  'Do not repeat the diagnostic verbatim, do not restate the whole file, and do not invent APIs that the code does not show. No headings. Keep it under 200 words.',
].join('\n');

export function buildExplainDiagnosticRequest(input: ExplainPromptInput): RouteRequest {
  const { diagnostic } = input;
  const { startLine, startCharacter, endLine, endCharacter } = diagnostic.range;
  const where =
    startLine === endLine
      ? `line ${startLine + 1}, columns ${startCharacter + 1}–${Math.max(endCharacter, startCharacter + 1)}`
      : `lines ${startLine + 1}–${endLine + 1}`;
  const parts = [
    `File: ${input.relativePath} (${input.languageId})`,
    `Problem: ${describeDiagnosticKind(diagnostic)} at ${where}:\n${diagnostic.message}`,
    ...(diagnostic.related?.length ? [`Related information:\n${diagnostic.related.map((line) => `- ${line}`).join('\n')}`] : []),
    `Code (the problem's lines are marked >>):\n${numberedExcerpt(input.documentLines, diagnostic.range)}`,
    'Explain this problem and how to fix it.',
  ];
  return {
    task: 'explainDiagnostic',
    system: SYSTEM_PROMPT,
    messages: [{ role: 'user', content: parts.join('\n\n') }],
    maxOutputTokens: EXPLAIN_MAX_OUTPUT_TOKENS,
  };
}
