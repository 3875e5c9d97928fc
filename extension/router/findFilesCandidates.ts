// Turns a natural-language file search into candidates a small model can rank: the query's significant words,
// a ripgrep search for them, and a score per file from its path and its matching lines.

/** Words that say what the user wants done, not what to look for. */
const STOPWORDS = new Set(
  (
    'a an and any are as at be been but by can could did do does doing for from get gets had has have how i in into is it its ' +
    'just let me my need needs not of on one or our please show shows some that the their them then there these they this ' +
    'those to use used uses using want was we were what when where which who why will with would you your ' +
    'file files find code source located locate look looking lives live defined define implemented implementation ' +
    'handled handles happen happens thing things stuff part parts place'
  ).split(' '),
);

/** Terms searched for; more make ripgrep slower and scores noisier. */
export const MAX_QUERY_TERMS = 8;
/** Lines kept per file from ripgrep, and shown per candidate in the prompt. */
export const MATCH_LINES_PER_FILE = 5;
export const MATCH_LINES_SHOWN = 2;
export const MATCH_LINE_MAX_CHARS = 160;

export interface LineMatch {
  /** 1-based. */
  line: number;
  text: string;
}

export interface RankedCandidate {
  path: string;
  score: number;
  /** The most telling matching lines, best first. */
  matches: LineMatch[];
}

/** Crude stemming so "locked", "locking" and "locks" all find "lock". */
function stem(word: string): string {
  if (word.length <= 4) return word;
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  for (const suffix of ['ing', 'ed', 'es', 's']) {
    if (word.endsWith(suffix) && !word.endsWith('ss') && word.length - suffix.length >= 4) return word.slice(0, -suffix.length);
  }
  return word;
}

/** The query's significant words, lower-cased and stemmed, in order, without duplicates. */
export function queryTerms(query: string): string[] {
  const terms: string[] = [];
  for (const word of query.match(/[\p{L}\p{N}_$]+/gu) ?? []) {
    const lower = word.toLowerCase();
    if (lower.length < 3 || STOPWORDS.has(lower) || /^\d+$/.test(lower)) continue;
    const term = stem(lower);
    if (!terms.includes(term)) terms.push(term);
  }
  return terms.slice(0, MAX_QUERY_TERMS);
}

/**
 * ripgrep arguments for a case-insensitive literal search of `terms` under the working directory: one line per
 * match as `path NUL line:text`, a few lines per file, long lines previewed, big files and dependencies skipped.
 */
export function ripgrepArgs(terms: string[]): string[] {
  return [
    '--no-config',
    '--null',
    '--line-number',
    '--no-heading',
    '--color',
    'never',
    '--ignore-case',
    '--fixed-strings',
    '--max-count',
    String(MATCH_LINES_PER_FILE),
    '--max-columns',
    String(MATCH_LINE_MAX_CHARS * 2),
    '--max-columns-preview',
    '--max-filesize',
    '1M',
    '--glob',
    '!**/node_modules/**',
    '--glob',
    '!**/.git/**',
    ...terms.flatMap((term) => ['-e', term]),
    '--',
    '.',
  ];
}

/** Parses `ripgrepArgs` output into the matching lines per path (relative, `/`-separated). */
export function parseRipgrepOutput(output: string): Map<string, LineMatch[]> {
  const hits = new Map<string, LineMatch[]>();
  for (const record of output.split('\n')) {
    const separator = record.indexOf('\0');
    if (separator < 0) continue;
    const path = record.slice(0, separator).replace(/\\/g, '/').replace(/^\.\//, '');
    const match = /^(\d+):(.*)$/s.exec(record.slice(separator + 1));
    if (!path || !match) continue;
    const lines = hits.get(path) ?? [];
    if (lines.length < MATCH_LINES_PER_FILE) lines.push({ line: Number(match[1]), text: match[2].replace(/\r$/, '') });
    hits.set(path, lines);
  }
  return hits;
}

/** "src/router/ledgerLock.ts" → ["src", "router", "ledger", "lock", "ts"]. */
function pathWords(path: string): string[] {
  return path
    .replace(/([a-z\d])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

const wordMatches = (word: string, term: string) => word.startsWith(term) || (word.length >= 4 && term.startsWith(word));

/**
 * Scores every candidate path: a term in the file name counts most, in a folder name less; matching lines count
 * by how many different terms they hold. Best first; ties go to shallower, shorter paths.
 */
export function rankCandidates(paths: Iterable<string>, hits: ReadonlyMap<string, LineMatch[]>, terms: string[]): RankedCandidate[] {
  const ranked: RankedCandidate[] = [];
  const seen = new Set<string>();
  for (const path of [...paths, ...hits.keys()]) {
    if (seen.has(path)) continue;
    seen.add(path);
    const segments = path.split('/');
    const nameWords = pathWords(segments.at(-1)!);
    const folderWords = pathWords(segments.slice(0, -1).join('/'));
    let score = 0;
    for (const term of terms) {
      if (nameWords.some((word) => wordMatches(word, term))) score += 3;
      else if (folderWords.some((word) => wordMatches(word, term))) score += 1.5;
    }
    const lines = (hits.get(path) ?? []).map((match) => ({ match, terms: terms.filter((term) => match.text.toLowerCase().includes(term)).length }));
    const termsInContent = terms.filter((term) => lines.some(({ match }) => match.text.toLowerCase().includes(term))).length;
    score += 2 * termsInContent + 0.25 * Math.min(lines.length, 4) + lines.filter((line) => line.terms >= 2).length * 0.5;
    const matches = lines
      .sort((a, b) => b.terms - a.terms || a.match.line - b.match.line)
      .map(({ match }) => ({ line: match.line, text: clipMatch(match.text) }));
    ranked.push({ path, score, matches });
  }
  return ranked.sort(
    (a, b) => b.score - a.score || a.path.split('/').length - b.path.split('/').length || a.path.length - b.path.length || a.path.localeCompare(b.path),
  );
}

function clipMatch(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > MATCH_LINE_MAX_CHARS ? `${trimmed.slice(0, MATCH_LINE_MAX_CHARS)}…` : trimmed;
}
