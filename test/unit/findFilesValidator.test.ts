import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findFilesValidator, normalizeRelativePath, parseRankedPaths } from '../../extension/router/validators/findFiles';

const workspace = new Set(['src/math.ts', 'src/index.ts', 'README.md', 'extension/router/ledger/lock.ts']);
const validate = findFilesValidator(workspace);

describe('parseRankedPaths: the shapes models answer in', () => {
  test('the object the prompt asks for', () => {
    assert.deepEqual(parseRankedPaths('{"files": ["src/math.ts", "README.md"]}'), { ok: true, paths: ['src/math.ts', 'README.md'] });
  });

  test('a bare array (models without a JSON mode)', () => {
    assert.deepEqual(parseRankedPaths('["src/index.ts"]'), { ok: true, paths: ['src/index.ts'] });
  });

  test('another key holding the one list', () => {
    assert.deepEqual(parseRankedPaths('{"paths": ["src/math.ts"], "reason": "median lives there"}'), { ok: true, paths: ['src/math.ts'] });
  });

  test('objects with a path field', () => {
    assert.deepEqual(parseRankedPaths('{"files": [{"path": "src/math.ts", "why": "defines median"}]}'), { ok: true, paths: ['src/math.ts'] });
  });

  test('a code fence or a sentence around the JSON is tolerated: the raw text is never shown', () => {
    assert.deepEqual(parseRankedPaths('```json\n{"files": ["src/math.ts"]}\n```'), { ok: true, paths: ['src/math.ts'] });
    assert.deepEqual(parseRankedPaths('Here are the files:\n["README.md", "src/index.ts"]'), { ok: true, paths: ['README.md', 'src/index.ts'] });
  });

  test('"./" prefixes and backslashes are the same path; duplicates collapse, order is kept', () => {
    assert.deepEqual(parseRankedPaths('{"files": ["./src/math.ts", "src\\\\index.ts", "src/math.ts"]}'), { ok: true, paths: ['src/math.ts', 'src/index.ts'] });
    assert.equal(normalizeRelativePath(' ././src/a.ts '), 'src/a.ts');
  });

  test('what is not a list of paths', () => {
    assert.equal(parseRankedPaths('src/math.ts, README.md').ok, false);
    assert.deepEqual(parseRankedPaths('{"answer": "src/math.ts"}'), { ok: false, reason: 'no list of paths in the JSON' });
    assert.deepEqual(parseRankedPaths('{"files": ["src/math.ts", 3]}'), { ok: false, reason: 'item 2 is not a path' });
    assert.match((parseRankedPaths('{"files": ["src/math.ts"') as { reason: string }).reason, /^not JSON/);
  });
});

describe('findFilesValidator: a ranking the user can open', () => {
  test('workspace paths pass', () => {
    assert.deepEqual(validate('{"files": ["src/math.ts", "extension/router/ledger/lock.ts"]}'), { ok: true });
  });

  test('one invented path fails the whole answer, naming it', () => {
    assert.deepEqual(validate('{"files": ["src/math.ts", "src/statistics.ts"]}'), {
      ok: false,
      reason: '1 of 2 paths are not workspace files: src/statistics.ts',
    });
  });

  test('many invented paths are counted, three named', () => {
    const verdict = validate('["a.ts", "b.ts", "c.ts", "d.ts", "e.ts", "src/math.ts"]');
    assert.deepEqual(verdict, { ok: false, reason: '5 of 6 paths are not workspace files: a.ts, b.ts, c.ts, … (2 more)' });
  });

  test('a path is matched exactly: no guessing at a shortened or absolute one', () => {
    assert.equal(validate('["math.ts"]').ok, false);
    assert.equal(validate('["/src/math.ts"]').ok, false);
    assert.equal(validate('["SRC/MATH.TS"]').ok, false);
  });

  test('an empty list, prose and broken JSON fail', () => {
    assert.deepEqual(validate('{"files": []}'), { ok: false, reason: 'empty list of files' });
    assert.equal(validate('I could not find such a file.').ok, false);
    assert.equal(validate('').ok, false);
  });

  test('the validator is pure: the same answer gets the same verdict', () => {
    const answer = '{"files": ["README.md"]}';
    assert.deepEqual(validate(answer), validate(answer));
  });
});
