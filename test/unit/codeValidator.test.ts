import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bracketResidue,
  codeLanguageOf,
  fileEditsValidator,
  normalizeReplacement,
  parseFileBlocks,
  replacementValidator,
  stripJsonComments,
  stripSurroundingFence,
  type ReplacementContext,
} from '../../extension/router/validators/code';
import { typeScriptSyntaxProblems } from '../../extension/router/validators/typescriptSyntax';

/** A context for replacing the part of `file` between the two `§` marks. */
function contextOf(file: string, languageId: string, fileName: string): ReplacementContext {
  const [before, original, after] = file.split('§');
  assert.ok(after !== undefined, 'the file marks its selection with two §');
  return { languageId, fileName, before, original, after };
}

const passes = (verdict: { ok: boolean }) => assert.deepEqual(verdict, { ok: true });
function failsMatching(verdict: { ok: boolean; reason?: string }, pattern: RegExp): void {
  assert.equal(verdict.ok, false, 'the check fails');
  assert.match(verdict.reason ?? '', pattern);
}

const tsFile = `import { sum } from './math';

export function average(values: number[]): number {
§  return values.length === 0 ? 0 : sum(values) / values.length;
§}
`;

describe('replacementValidator: TypeScript and JavaScript parse with the replacement in place', () => {
  const context = contextOf(tsFile, 'typescript', 'src/stats.ts');
  const check = replacementValidator(context);

  test('valid replacement code passes', () => passes(check('  if (values.length === 0) return 0;\n  return sum(values) / values.length;\n')));

  test('code that does not parse fails with the line and the parser message', () => {
    failsMatching(check('  if (values.length === 0 { return 0;\n'), /^does not parse: line 4: '\)' expected/);
  });

  test('an empty answer fails', () => failsMatching(check('   \n'), /^empty code$/));

  test('one fence around the whole answer is stripped, not failed', () => passes(check('```ts\n  return 0;\n```')));

  test('prose around a fence fails: it is not code', () => {
    failsMatching(check('Here is the refactored code:\n```ts\n  return 0;\n```\nIt is shorter.'), /Markdown fence inside the replacement/);
  });

  test('a partial selection (inside a function) is judged in the whole file', () => {
    // Closing the function here would leave the file's own closing brace unmatched.
    failsMatching(check('  return 0;\n}\n'), /does not parse/);
  });

  test('problems the file already had are not held against the proposal', () => {
    const broken = contextOf('const a = (;\n§let b = 1;§\nconst c = 2;\n', 'typescript', 'a.ts');
    passes(replacementValidator(broken)('let b = 2;'));
    failsMatching(replacementValidator(broken)('let b = ;'), /line 2: Expression expected/);
  });

  test('every JS/TS extension is parsed, by language id or by file name', () => {
    for (const name of ['a.ts', 'a.tsx', 'a.js', 'a.jsx', 'a.mjs', 'a.cjs']) assert.equal(codeLanguageOf('', name), 'typescript', name);
    assert.equal(codeLanguageOf('javascriptreact', 'x'), 'typescript');
  });

  test('TypeScript-only syntax in a JavaScript file fails', () => {
    const js = contextOf('§const x = 1;§\n', 'javascript', 'a.js');
    failsMatching(replacementValidator(js)('const x: number = 1;'), /Type annotations can only be used in TypeScript files/);
  });

  test('JSX parses in .tsx files', () => {
    const tsx = contextOf('export const A = () => §<div />§;\n', 'typescriptreact', 'a.tsx');
    passes(replacementValidator(tsx)('<div className="x">{1}</div>'));
    failsMatching(replacementValidator(tsx)('<div className="x">{1}</span>'), /does not parse/);
  });

  test('typeScriptSyntaxProblems reports nothing for valid code', () => assert.deepEqual(typeScriptSyntaxProblems('a.ts', 'let a: number = 1;'), []));
});

describe('normalizeReplacement: what goes into the file', () => {
  test('re-indents code the model returned flush left to the selection\'s indentation', () => {
    const context = contextOf('function f() {\n§    a();\n    b();\n§}\n', 'typescript', 'a.ts');
    assert.equal(normalizeReplacement('c();\nif (x) {\n  d();\n}', context), '    c();\n    if (x) {\n      d();\n    }\n');
  });

  test('keeps the selection\'s trailing newline and leading blank lines', () => {
    const context = contextOf('x\n§\n  a();\n§y', 'typescript', 'a.ts');
    assert.equal(normalizeReplacement('\n\nb();\n\n', context), '\n  b();\n');
  });

  test('a selection that starts mid-line keeps its first line unindented', () => {
    const context = contextOf('const total = §values.reduce(\n  (a, b) => a + b,\n  0)§;\n', 'typescript', 'a.ts');
    assert.equal(normalizeReplacement('  sum(values)', context), 'sum(values)');
    assert.equal(normalizeReplacement('values.reduce(\n(a, b) => a + b, 0)', context), 'values.reduce(\n  (a, b) => a + b, 0)');
  });

  test('CRLF answers become LF (VS Code converts to the document\'s line ending on apply)', () => {
    const context = contextOf('§a§', 'plaintext', 'a.txt');
    assert.equal(normalizeReplacement('b\r\nc', context), 'b\nc');
  });

  test('stripSurroundingFence strips exactly one wrapping fence', () => {
    assert.equal(stripSurroundingFence('```typescript\nlet a = 1;\n```\n'), 'let a = 1;');
    assert.equal(stripSurroundingFence('~~~\nx\n~~~'), 'x');
    const two = '```ts\na\n```\n\n```ts\nb\n```';
    assert.equal(stripSurroundingFence(two), two, 'two blocks are not one fence');
    assert.equal(stripSurroundingFence('let a = 1;'), 'let a = 1;');
  });
});

describe('replacementValidator: JSON and JSONC', () => {
  test('JSON must parse with the replacement', () => {
    const context = contextOf('{\n  "a": §1§,\n  "b": 2\n}\n', 'json', 'package.json');
    passes(replacementValidator(context)('[1, 2]'));
    failsMatching(replacementValidator(context)('[1, 2'), /^not valid JSON: /);
  });

  test('JSONC allows comments and trailing commas; JSON does not', () => {
    const file = '{\n  §"a": 1§\n}\n';
    const answer = '// the answer\n  "a": 1, /* b */ "b": 2,';
    passes(replacementValidator(contextOf(file, 'jsonc', 'tsconfig.json'))(answer));
    failsMatching(replacementValidator(contextOf(file, 'json', 'data.json'))(answer), /not valid JSON/);
  });

  test('stripJsonComments keeps strings that look like comments and keeps offsets', () => {
    const text = '{"url": "http://x//y", /* c */ "a": [1,],}';
    const stripped = stripJsonComments(text);
    assert.equal(stripped.length, text.length);
    assert.deepEqual(JSON.parse(stripped), { url: 'http://x//y', a: [1] });
  });
});

describe('replacementValidator: other languages balance brackets and strings', () => {
  const python = 'def f(values):\n§    return sum(values)§\n';

  test('balanced Python passes; an unclosed bracket fails with its line', () => {
    passes(replacementValidator(contextOf(python, 'python', 'a.py'))('    total = sum(values)  # a (comment\n    return total'));
    failsMatching(replacementValidator(contextOf(python, 'python', 'a.py'))('    return sum(values'), /unbalanced: line 2: '\(' opened on line 2 is never closed/);
  });

  test('an unterminated one-line string fails', () => {
    failsMatching(replacementValidator(contextOf(python, 'python', 'a.py'))('    return "abc'), /string "…" is not closed on its line/);
  });

  test('brackets in strings and comments do not count', () => {
    const go = 'func f() {\n§\treturn 1§\n}\n';
    passes(replacementValidator(contextOf(go, 'go', 'a.go'))('\t// }\n\ts := "}"\n\tr := `\n}`\n\treturn len(s) + len(r)'));
  });

  test('Rust lifetimes are not quotes', () => {
    const rust = 'fn f() {\n§    1§\n}\n';
    passes(replacementValidator(contextOf(rust, 'rust', 'a.rs'))("    fn g<'a>(x: &'a str) -> &'a str { x }\n    1"));
  });

  test('in a file that is unbalanced already, the replacement must open and close what the selection did', () => {
    // The file is cut off (no closing brace), so the whole-file check cannot be used.
    const fragment = 'fn main() {\n§    if x {\n        y();§\n';
    passes(replacementValidator(contextOf(fragment, 'rust', 'a.rs'))('    if x && z {\n        y();'));
    failsMatching(
      replacementValidator(contextOf(fragment, 'rust', 'a.rs'))('    if x {\n        y();\n    }'),
      /the selection leaves \{ open but the replacement is balanced/,
    );
  });

  test('bracketResidue names mismatched pairs', () => {
    assert.deepEqual(bracketResidue('(]').problem, { line: 1, message: "']' closes '(' opened on line 1" });
    assert.equal(bracketResidue('a) {').unmatchedClosers, ')');
    assert.equal(bracketResidue('a) {').unclosedOpeners, '{');
  });

  test('Markdown and plain text are only checked for being non-empty', () => {
    passes(replacementValidator(contextOf('§x§', 'markdown', 'a.md'))("It's (really) fine :)\n```js\nx\n```"));
    passes(replacementValidator(contextOf('§x§', 'plaintext', 'a.txt'))("don't ("));
  });
});

describe('fileEditsValidator: whole-file rewrites for plan steps', () => {
  const files = [
    { path: 'src/math.ts', languageId: 'typescript', original: 'export const a = 1;\n' },
    { path: 'src/new.ts', languageId: '', original: '' },
  ];
  const check = fileEditsValidator(files);

  test('valid blocks for listed files pass', () => {
    passes(check('<file path="src/math.ts">\nexport const a = 2;\n</file>\n<file path="src/new.ts">\nexport const b = 3;\n</file>'));
  });

  test('a file the step does not list fails', () => {
    failsMatching(check('<file path="src/other.ts">\nx\n</file>'), /changes "src\/other.ts", which the step does not list/);
  });

  test('a block that does not parse fails with its path', () => {
    failsMatching(check('<file path="src/math.ts">\nexport const a = ;\n</file>'), /^src\/math\.ts: does not parse: line 1/);
  });

  test('no blocks at all fails', () => failsMatching(check('export const a = 2;'), /no <file path="…">…<\/file> block/));

  test('a file the model saw truncated may not be rewritten whole (its tail would be lost)', () => {
    const large = fileEditsValidator([{ path: 'src/big.ts', languageId: 'typescript', original: 'let a = 1;\n', shownTruncated: true }]);
    failsMatching(large('<file path="src/big.ts">\nlet a = 2;\n</file>'), /too large to rewrite whole/);
  });

  test('parseFileBlocks strips a fence inside a block only when normalizing, and ./ from paths', () => {
    const parsed = parseFileBlocks('<file path="./src/math.ts">\n```ts\nlet a;\n```\n</file>');
    assert.ok(parsed.ok);
    assert.equal(parsed.edits[0].path, 'src/math.ts');
    passes(check('<file path="./src/math.ts">\n```ts\nlet a;\n```\n</file>'));
  });
});
