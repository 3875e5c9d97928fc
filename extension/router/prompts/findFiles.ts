import type { RouteRequest } from '../decide';
import { MATCH_LINES_SHOWN, type RankedCandidate } from '../findFilesCandidates';
import { estimateRequestTokens, estimateTokens } from '../tokens';

/** A JSON list of up to FIND_FILES_MAX_RESULTS paths. */
export const FIND_FILES_MAX_OUTPUT_TOKENS = 400;
export const FIND_FILES_MAX_RESULTS = 10;
/** More candidates than this confuse a small model more than they help, whatever its context. */
export const FIND_FILES_MAX_CANDIDATES = 150;

export interface FindFilesPromptInput {
  query: string;
  /** Candidates best first (rankCandidates). */
  ranked: RankedCandidate[];
  /** Tokens the whole prompt may take (promptBudgetTokens). */
  promptBudgetTokens: number;
}

export interface FindFilesPrompt {
  request: RouteRequest;
  /** The candidates the prompt lists. */
  shown: RankedCandidate[];
}

const SYSTEM_PROMPT = [
  'You find files in a code repository for a developer.',
  'You get their request and candidate files (paths relative to the workspace), some followed by lines that matched words of the request ("line: text").',
  `Reply with JSON only, in this shape: {"files": ["path/one.ts", "path/two.ts"]} — up to ${FIND_FILES_MAX_RESULTS} candidate paths, the most likely first.`,
  'Copy paths exactly as listed; never invent or shorten a path. Judge by what the request means, not by a shared word: a file that only mentions a word in passing ranks below the file that does the thing.',
].join('\n');

function renderCandidate(candidate: RankedCandidate): string {
  const lines = candidate.matches.slice(0, MATCH_LINES_SHOWN).map((match) => `    ${match.line}: ${match.text}`);
  return [candidate.path, ...lines].join('\n');
}

/** The request for ranking files, listing as many of the best candidates as the prompt budget holds. */
export function buildFindFilesPrompt(input: FindFilesPromptInput): FindFilesPrompt {
  const request = (listing: string): RouteRequest => ({
    task: 'findFiles',
    system: SYSTEM_PROMPT,
    messages: [{ role: 'user', content: `Request: ${input.query.trim()}\n\nCandidates:\n${listing}\n\nReply with the JSON object.` }],
    maxOutputTokens: FIND_FILES_MAX_OUTPUT_TOKENS,
  });
  let left = input.promptBudgetTokens - estimateRequestTokens(request(''));
  const shown: RankedCandidate[] = [];
  const rendered: string[] = [];
  for (const candidate of input.ranked) {
    if (shown.length >= FIND_FILES_MAX_CANDIDATES) break;
    const text = renderCandidate(candidate);
    const cost = estimateTokens(text) + 1;
    if (cost > left) break;
    left -= cost;
    shown.push(candidate);
    rendered.push(text);
  }
  return { request: request(rendered.join('\n')), shown };
}
