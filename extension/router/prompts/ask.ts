import type { RouteRequest } from '../decide';

/** The most editor text sent with a question. */
export const ASK_CONTEXT_MAX_CHARS = 16_000;
const ASK_MAX_OUTPUT_TOKENS = 2048;

export const ASK_SYSTEM_PROMPT = [
  'You answer a developer\'s question inside their code editor, in Markdown.',
  'Be direct and specific to the code shown; use fenced code blocks with a language for code; no preamble.',
  'If the code shown is not enough to answer, say what is missing.',
].join('\n');

export interface AskContext {
  /** Workspace-relative path of the file the text comes from. */
  path: string;
  languageId: string;
  /** "the selection (lines 12–30)" or "the visible lines 1–48". */
  where: string;
  text: string;
}

/** "Ask…": the question, with the selection or the visible part of the editor as context. */
export function askRequest(question: string, context?: AskContext): RouteRequest {
  const parts: string[] = [];
  if (context && context.text.trim() !== '') {
    const text = context.text.length > ASK_CONTEXT_MAX_CHARS ? `${context.text.slice(0, ASK_CONTEXT_MAX_CHARS)}\n… (truncated)` : context.text;
    parts.push(`From ${context.path} (${context.languageId}), ${context.where}:`, '<code>', text, '</code>', '');
  }
  parts.push(`Question: ${question.trim()}`);
  return { task: 'ask', system: ASK_SYSTEM_PROMPT, messages: [{ role: 'user', content: parts.join('\n') }], maxOutputTokens: ASK_MAX_OUTPUT_TOKENS };
}
