import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG, type EndpointConfig, type TierwiseConfig } from '../../extension/router/config';
import { decide } from '../../extension/router/decide';
import { parseRipgrepOutput, queryTerms, rankCandidates, ripgrepArgs } from '../../extension/router/findFilesCandidates';
import { PROMPT_CONTEXT_SHARE, promptBudgetTokens, UNKNOWN_CONTEXT_TOKENS } from '../../extension/router/prompts/budget';
import { buildCommitMessagePrompt, COMMIT_MESSAGE_MAX_OUTPUT_TOKENS, styleExampleSubjects } from '../../extension/router/prompts/commitMessage';
import { buildExplainDiagnosticRequest, describeDiagnosticKind, numberedExcerpt, type DiagnosticFacts } from '../../extension/router/prompts/explainDiagnostic';
import { buildFindFilesPrompt, FIND_FILES_MAX_CANDIDATES } from '../../extension/router/prompts/findFiles';
import { estimateRequestTokens } from '../../extension/router/tokens';
import { explanationValidator } from '../../extension/router/validators/explanation';
import { emptyTotals } from './helpers/totals';

function configWithLocal(endpoint: Partial<EndpointConfig>): TierwiseConfig {
  const config = structuredClone(DEFAULT_CONFIG);
  config.tiers.local.endpoints = [{ provider: 'ollama', model: 'qwen2.5-coder:7b', ...endpoint }];
  return config;
}

const userText = (request: { messages: { content: string }[] }) => request.messages.map((message) => message.content).join('\n');

function sourceDiff(files: number, hunksPerFile: number): string {
  const out: string[] = [];
  for (let file = 0; file < files; file++) {
    out.push(`diff --git a/src/file${file}.ts b/src/file${file}.ts`, 'index 1111111..2222222 100644', `--- a/src/file${file}.ts`, `+++ b/src/file${file}.ts`);
    for (let hunk = 0; hunk < hunksPerFile; hunk++) {
      out.push(`@@ -${hunk * 20 + 1},7 +${hunk * 20 + 1},7 @@`, ' const a = 1;', ' const b = 2;', ' const c = 3;', `-export const value${file}_${hunk} = 'old';`, `+export const value${file}_${hunk} = 'new';`, ' const d = 4;', ' const e = 5;', ' const f = 6;');
    }
  }
  return `${out.join('\n')}\n`;
}

describe('promptBudgetTokens: what a prompt may take on the endpoint it is routed to', () => {
  test('the smaller of numCtx and contextWindowTokens, minus the output, times the margin', () => {
    const config = configWithLocal({ contextWindowTokens: 32768, numCtx: 8192, maxOutputTokens: 512 });
    assert.equal(promptBudgetTokens(config, 'commitMessage', 400), Math.floor((8192 - 400) * PROMPT_CONTEXT_SHARE));
  });

  test("the endpoint's output cap bounds the reserved output", () => {
    const config = configWithLocal({ contextWindowTokens: 16384, maxOutputTokens: 256 });
    assert.equal(promptBudgetTokens(config, 'commitMessage', 400), Math.floor((16384 - 256) * PROMPT_CONTEXT_SHARE));
  });

  test('numCtx only counts for Ollama; an endpoint with no size gets the conservative default', () => {
    const openaiLocal = configWithLocal({ provider: 'openai', numCtx: 2048, contextWindowTokens: 65536 });
    assert.equal(promptBudgetTokens(openaiLocal, 'findFiles', 400), Math.floor((65536 - 400) * PROMPT_CONTEXT_SHARE));
    assert.equal(promptBudgetTokens(configWithLocal({}), 'findFiles', 400), Math.floor((UNKNOWN_CONTEXT_TOKENS - 400) * PROMPT_CONTEXT_SHARE));
  });

  test("a task routed to another tier is sized for that tier's first endpoint", () => {
    const config = configWithLocal({ numCtx: 4096 });
    config.routes = { ...config.routes, commitMessage: 'mid' };
    assert.equal(promptBudgetTokens(config, 'commitMessage', 400), Math.floor((200000 - 400) * PROMPT_CONTEXT_SHARE));
  });
});

describe('commit message prompt', () => {
  const base = { source: 'staged' as const, recentSubjects: ['Add median', 'Merge branch \'main\' into feature', 'Fix the cap check'], conventional: false, promptBudgetTokens: 6000 };

  test('asks for the message only, shows the style examples (without merges), the branch and the diff', () => {
    const { request, diff } = buildCommitMessagePrompt({ ...base, diff: sourceDiff(1, 1), branch: 'feature/median' });
    assert.equal(request.task, 'commitMessage');
    assert.equal(request.maxOutputTokens, COMMIT_MESSAGE_MAX_OUTPUT_TOKENS);
    assert.match(request.system!, /Reply with the commit message only/);
    assert.match(request.system!, /at most 72 characters/);
    assert.doesNotMatch(request.system!, /Conventional Commits/);
    const text = userText(request);
    assert.match(text, /- Add median\n- Fix the cap check/);
    assert.doesNotMatch(text, /Merge branch/);
    assert.match(text, /Current branch: feature\/median/);
    assert.match(text, /The staged changes to commit \(git diff --cached\):\ndiff --git a\/src\/file0\.ts/);
    assert.equal(diff.condensed, false);
  });

  test('Conventional Commits history puts the rule in the system prompt', () => {
    const { request } = buildCommitMessagePrompt({ ...base, conventional: true, diff: sourceDiff(1, 1) });
    assert.match(request.system!, /uses Conventional Commits: the subject is "type\(scope\): summary"/);
  });

  test('an unstaged diff says so', () => {
    const { request } = buildCommitMessagePrompt({ ...base, source: 'unstaged', diff: sourceDiff(1, 1) });
    assert.match(userText(request), /Nothing is staged; the changes in the working tree \(git diff\):/);
  });

  test('a diff too big for the budget is condensed so the whole prompt fits', () => {
    const input = { ...base, diff: sourceDiff(40, 12), promptBudgetTokens: 3000 };
    const { request, diff } = buildCommitMessagePrompt(input);
    assert.equal(diff.condensed, true);
    assert.equal(diff.fileCount, 40);
    assert.ok(estimateRequestTokens(request) <= 3000, `${estimateRequestTokens(request)} <= 3000`);
    assert.match(userText(request), /40 files changed/);
  });

  test('the condensed prompt stays on the local endpoint it was sized for', () => {
    const config = configWithLocal({ contextWindowTokens: 8192, numCtx: 8192, maxOutputTokens: 512 });
    const { request } = buildCommitMessagePrompt({ ...base, diff: sourceDiff(60, 20), promptBudgetTokens: promptBudgetTokens(config, 'commitMessage', COMMIT_MESSAGE_MAX_OUTPUT_TOKENS) });
    const decision = decide(request, config, { totals: emptyTotals(), estInputTokens: estimateRequestTokens(request) });
    assert.equal(decision.kind, 'route');
    assert.equal(decision.tier, 'local');
  });

  test('style examples skip what git or a forge wrote', () => {
    assert.deepEqual(
      styleExampleSubjects(['Merge pull request #4 from x/y', 'fixup! Add cap', 'Revert "Add cap"', ' feat: add cap ', '', 'Merge remote-tracking branch \'origin/main\'']),
      ['feat: add cap'],
    );
  });
});

describe('explain-a-problem prompt', () => {
  const lines = Array.from({ length: 60 }, (_, index) => `const line${index + 1} = ${index + 1};`);
  const diagnostic: DiagnosticFacts = {
    message: "Cannot find name 'scoreCount'.",
    severity: 'error',
    source: 'ts',
    code: '2304',
    range: { startLine: 29, startCharacter: 6, endLine: 29, endCharacter: 12 },
    related: ["src/math.ts:3: 'scores' is declared here."],
  };

  test('the excerpt is ±20 numbered lines with the problem marked and underlined', () => {
    const excerpt = numberedExcerpt(lines, diagnostic.range).split('\n');
    assert.equal(excerpt[0], '   10 | const line10 = 10;');
    assert.equal(excerpt.at(-1), '   50 | const line50 = 50;');
    assert.ok(excerpt.includes('>> 30 | const line30 = 30;'));
    const caret = excerpt[excerpt.indexOf('>> 30 | const line30 = 30;') + 1];
    assert.equal(caret, '      |       ^^^^^^');
    assert.equal(excerpt.length, 42);
  });

  test('the excerpt stops at the ends of the file and keeps tabs under the caret', () => {
    const excerpt = numberedExcerpt(['\tfoo(bar);', 'baz();'], { startLine: 0, startCharacter: 5, endLine: 0, endCharacter: 8 });
    assert.equal(excerpt, '>> 1 | \tfoo(bar);\n     | \t    ^^^\n   2 | baz();');
  });

  test('a problem over several lines marks each of them, without a caret', () => {
    const excerpt = numberedExcerpt(lines, { startLine: 4, startCharacter: 0, endLine: 6, endCharacter: 3 }, 1);
    assert.equal(excerpt, '   4 | const line4 = 4;\n>> 5 | const line5 = 5;\n>> 6 | const line6 = 6;\n>> 7 | const line7 = 7;\n   8 | const line8 = 8;');
  });

  test('very long lines are cut', () => {
    const excerpt = numberedExcerpt([`x = "${'a'.repeat(2000)}"`], { startLine: 0, startCharacter: 0, endLine: 0, endCharacter: 1 });
    assert.ok(excerpt.length < 600);
  });

  test('the request names the file, language, problem, related information and code', () => {
    const request = buildExplainDiagnosticRequest({ diagnostic, languageId: 'typescript', relativePath: 'src/broken.ts', documentLines: lines });
    assert.equal(request.task, 'explainDiagnostic');
    const text = userText(request);
    assert.match(text, /^File: src\/broken\.ts \(typescript\)/);
    assert.match(text, /Problem: error TS2304 \(ts\) at line 30, columns 7–12:\nCannot find name 'scoreCount'\./);
    assert.match(text, /Related information:\n- src\/math\.ts:3: 'scores' is declared here\./);
    assert.match(text, />> 30 \| const line30 = 30;/);
    assert.match(request.system!, /How to fix it/);
  });

  test('the kind of problem reads naturally for other tools', () => {
    assert.equal(describeDiagnosticKind({ ...diagnostic, source: 'eslint', code: 'no-unused-vars', severity: 'warning' }), 'warning no-unused-vars (eslint)');
    assert.equal(describeDiagnosticKind({ ...diagnostic, source: undefined, code: undefined }), 'error');
  });

  test('explanationValidator: long enough and not cut off inside a code block', () => {
    assert.deepEqual(explanationValidator('`scoreCount` is not declared anywhere; use `scores.length` instead.'), { ok: true });
    assert.deepEqual(explanationValidator('Declare it.'), { ok: false, reason: 'explanation is only 11 characters' });
    assert.deepEqual(explanationValidator('  '), { ok: false, reason: 'empty answer' });
    assert.deepEqual(explanationValidator('Use the length of the array instead:\n```ts\nreturn `over ${scores.length}'), {
      ok: false,
      reason: 'unclosed code fence (the answer was cut off)',
    });
    assert.deepEqual(explanationValidator('Use the length of the array instead:\n```ts\nscores.length\n```\nThat is all.'), { ok: true });
  });
});

describe('find-files candidates', () => {
  test('query terms: significant words, stemmed, without filler', () => {
    assert.deepEqual(queryTerms('Where is the file that handles locking the ledger across processes?'), ['lock', 'ledger', 'across', 'process']);
    assert.deepEqual(queryTerms('find the parseConfig code'), ['parseconfig']);
    assert.deepEqual(queryTerms('retries entries'), ['retry', 'entry']);
    assert.deepEqual(queryTerms('where is it?'), []);
  });

  test('ripgrep arguments: literal, case-insensitive, NUL-separated, dependencies skipped, one -e per term', () => {
    const args = ripgrepArgs(['lock', 'ledger']);
    for (const flag of ['--null', '--fixed-strings', '--ignore-case', '--line-number', '--no-heading', '--no-config']) assert.ok(args.includes(flag), flag);
    assert.deepEqual(args.slice(-6), ['-e', 'lock', '-e', 'ledger', '--', '.']);
    assert.ok(args.includes('!**/node_modules/**'));
  });

  test('ripgrep output: paths (even with colons) and lines, a few per file', () => {
    const output = [
      './src/ledger/lock.ts\u000012:export function acquireLock(dir: string) {',
      './src/ledger/lock.ts\u000040:  // the ledger lock is held across processes',
      'docs/a:b.md\u00003:Lock files: see below',
      'garbage line without a separator',
      '',
    ].join('\n');
    const hits = parseRipgrepOutput(output);
    assert.deepEqual([...hits.keys()], ['src/ledger/lock.ts', 'docs/a:b.md']);
    assert.deepEqual(hits.get('src/ledger/lock.ts'), [
      { line: 12, text: 'export function acquireLock(dir: string) {' },
      { line: 40, text: '  // the ledger lock is held across processes' },
    ]);
  });

  test('ranking: names beat folders, more terms beat fewer, then shallower paths', () => {
    const terms = queryTerms('ledger lock');
    const hits = parseRipgrepOutput(
      ['extension/ui/statusBar.ts\u00005:// shows the ledger total', 'extension/router/ledger/lock.ts\u00009:// ledger lock across processes'].join('\n'),
    );
    const ranked = rankCandidates(['README.md', 'extension/router/ledger/lock.ts', 'extension/router/ledger/ledger.ts', 'extension/ui/statusBar.ts', 'src/deep/a/b/c/readme.md'], hits, terms);
    assert.deepEqual(
      ranked.map((candidate) => candidate.path),
      ['extension/router/ledger/lock.ts', 'extension/router/ledger/ledger.ts', 'extension/ui/statusBar.ts', 'README.md', 'src/deep/a/b/c/readme.md'],
    );
    assert.deepEqual(ranked[0].matches, [{ line: 9, text: '// ledger lock across processes' }]);
    assert.equal(ranked.at(-1)!.score, 0);
  });

  test('the prompt lists the best candidates with their matching lines, within the budget and the cap', () => {
    const paths = Array.from({ length: 400 }, (_, index) => `src/module${index}/file${index}.ts`);
    const hits = parseRipgrepOutput('src/module7/file7.ts\u00003:export const median = 1;\n');
    const ranked = rankCandidates(paths, hits, queryTerms('median'));
    const roomy = buildFindFilesPrompt({ query: 'median', ranked, promptBudgetTokens: 100_000 });
    assert.equal(roomy.shown.length, FIND_FILES_MAX_CANDIDATES);
    assert.equal(roomy.shown[0].path, 'src/module7/file7.ts');
    assert.match(userText(roomy.request), /^Request: median\n\nCandidates:\nsrc\/module7\/file7\.ts\n {4}3: export const median = 1;\n/);
    assert.match(roomy.request.system!, /\{"files": \[/);
    const tight = buildFindFilesPrompt({ query: 'median', ranked, promptBudgetTokens: 800 });
    assert.ok(tight.shown.length > 5 && tight.shown.length < FIND_FILES_MAX_CANDIDATES, `${tight.shown.length} candidates`);
    assert.ok(estimateRequestTokens(tight.request) <= 800, `${estimateRequestTokens(tight.request)} <= 800`);
  });
});
