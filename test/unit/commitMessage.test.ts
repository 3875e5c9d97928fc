import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  COMMIT_SUBJECT_MAX_CHARS,
  commitMessageValidator,
  historyUsesConventionalCommits,
  normalizeCommitMessage,
} from '../../extension/router/validators/commitMessage';

const plain = commitMessageValidator({ conventional: false });
const conventional = commitMessageValidator({ conventional: true });

const passes = (verdict: ReturnType<typeof plain>) => assert.deepEqual(verdict, { ok: true });
const failsWith = (verdict: ReturnType<typeof plain>, reason: string) => assert.deepEqual(verdict, { ok: false, reason });

/** A subject of exactly `length` characters. */
const subjectOf = (length: number, start = 'Fix ') => start + 'x'.repeat(length - start.length);

describe('commitMessageValidator: messages a user can commit as is', () => {
  test('a one-line subject', () => passes(plain('Fix crash when the ledger folder is missing')));

  test('a subject, a blank line and a body', () => {
    passes(plain('Fix crash when the ledger folder is missing\n\nCreate the folder on first write instead of on activation.\nThe CLI hit this on a fresh machine.'));
  });

  test('the subject limit is 72 characters', () => assert.equal(COMMIT_SUBJECT_MAX_CHARS, 72));

  test('a subject of exactly 72 characters passes', () => {
    const subject = subjectOf(72);
    assert.equal(subject.length, 72);
    passes(plain(subject));
    passes(plain(`${subject}\n\nBody.`));
  });

  test('a subject of 73 characters fails and says how long it is', () => {
    failsWith(plain(subjectOf(73)), 'subject is 73 characters (max 72)');
    failsWith(plain(`${subjectOf(73)}\n\nBody.`), 'subject is 73 characters (max 72)');
  });

  test('a subject that mentions code in backticks is not mistaken for a quoted message', () => {
    passes(plain('`decide` no longer mutates `config`'));
    passes(plain('Rename `spendTotals` to `totals`'));
  });

  test('a subject that starts with an issue number is not mistaken for a Markdown heading', () => {
    passes(plain('#142 Keep the daily cap when settings fail to parse'));
  });
});

describe('commitMessageValidator: what real models add around the message', () => {
  test('an empty answer', () => {
    failsWith(plain(''), 'empty message');
    failsWith(plain('  \n\n \r\n'), 'empty message');
  });

  test('a code fence around the message', () => {
    failsWith(plain('```\nFix crash when the ledger folder is missing\n```'), 'contains a code fence');
    failsWith(plain('```text\nFix crash\n```'), 'contains a code fence');
  });

  test('a code fence inside the body', () => {
    failsWith(plain('Fix crash\n\nRepro:\n```\ntierwise spend\n```'), 'contains a code fence');
  });

  test('double, single or back quotes around the whole message', () => {
    failsWith(plain('"Fix crash when the ledger folder is missing"'), 'wrapped in quotes');
    failsWith(plain("'Fix crash when the ledger folder is missing'"), 'wrapped in quotes');
    failsWith(plain('`Fix crash when the ledger folder is missing`'), 'wrapped in quotes');
  });

  test('quotes around a message with a body', () => {
    failsWith(plain('"Fix crash\n\nCreate the folder on first write."'), 'wrapped in quotes');
  });

  test('a "Subject:" or "Commit message:" label', () => {
    failsWith(plain('Subject: Fix crash when the ledger folder is missing'), 'subject is formatted as Markdown or a label');
    failsWith(plain('subject: fix crash'), 'subject is formatted as Markdown or a label');
    failsWith(plain('Commit message: Fix crash\n\nBody.'), 'subject is formatted as Markdown or a label');
  });

  test('a Markdown heading or bold subject', () => {
    failsWith(plain('# Fix crash when the ledger folder is missing'), 'subject is formatted as Markdown or a label');
    failsWith(plain('### Fix crash'), 'subject is formatted as Markdown or a label');
    failsWith(plain('**Fix crash** when the folder is missing'), 'subject is formatted as Markdown or a label');
  });

  test('a body with no blank line after the subject', () => {
    failsWith(plain('Fix crash\nCreate the folder on first write.'), 'no blank line between subject and body');
  });

  test('a blank line that holds only spaces still separates subject and body', () => {
    passes(plain('Fix crash\n   \nCreate the folder on first write.'));
  });

  test('CRLF line endings are accepted like LF', () => {
    passes(plain('Fix crash\r\n\r\nCreate the folder on first write.\r\n'));
    passes(conventional('fix(ledger): create the folder on first write\r\n\r\nThe CLI hit this on a fresh machine.\r\n'));
  });

  test('CRLF does not count toward the subject length', () => {
    passes(plain(`${subjectOf(72)}\r\n\r\nBody.\r\n`));
  });

  test('CRLF with no blank line is still caught', () => {
    failsWith(plain('Fix crash\r\nCreate the folder on first write.'), 'no blank line between subject and body');
  });

  test('trailing blank lines and surrounding whitespace are ignored', () => {
    passes(plain('Fix crash\n\n'));
    passes(plain('\n  Fix crash\n\nCreate the folder on first write.\n\n\n'));
  });
});

describe('commitMessageValidator: Conventional Commits', () => {
  test('subjects that follow it pass', () => {
    for (const subject of [
      'feat: add a spend meter to the status bar',
      'fix(ledger): create the folder on first write',
      'refactor(router)!: return decisions as values',
      'feat!: drop Node 18',
      'chore(deps): bump esbuild',
      'revert: feat: add a spend meter',
    ]) {
      passes(conventional(subject));
    }
  });

  test('subjects that do not follow it fail when the repository uses it', () => {
    for (const subject of ['Add a spend meter', 'feat add a spend meter', 'feat:add a spend meter', 'feature: add a spend meter', 'feat(): add x']) {
      failsWith(conventional(subject), 'subject does not follow Conventional Commits, as this repository does');
    }
  });

  test('plain subjects pass when the repository does not use it', () => passes(plain('Add a spend meter')));

  test('the subject limit applies to conventional subjects too', () => {
    failsWith(conventional(subjectOf(73, 'feat: ')), 'subject is 73 characters (max 72)');
    passes(conventional(subjectOf(72, 'feat: ')));
  });
});

describe('historyUsesConventionalCommits', () => {
  test('too little history says nothing', () => {
    assert.equal(historyUsesConventionalCommits([]), false);
    assert.equal(historyUsesConventionalCommits(['feat: a', 'fix: b']), false);
  });

  test('a history of conventional subjects uses it', () => {
    assert.equal(historyUsesConventionalCommits(['feat: a', 'fix(ui): b', 'chore: c']), true);
  });

  test('three of five (60%) is enough', () => {
    assert.equal(historyUsesConventionalCommits(['feat: a', 'fix: b', 'docs: c', 'Merge branch main', 'WIP']), true);
  });

  test('two of four (50%) is not', () => {
    assert.equal(historyUsesConventionalCommits(['feat: a', 'fix: b', 'Update README', 'Merge pull request #4']), false);
  });

  test('a plain history does not', () => {
    assert.equal(historyUsesConventionalCommits(['Add meter', 'Fix crash', 'Update README', 'Bump version']), false);
  });
});

describe('normalizeCommitMessage', () => {
  test('folds CRLF and trims surrounding blank lines and spaces', () => {
    assert.equal(normalizeCommitMessage('\r\n  fix: a\r\n\r\nbody line\r\n\r\n'), 'fix: a\n\nbody line');
  });

  test('leaves a clean message as it is', () => {
    assert.equal(normalizeCommitMessage('fix: a\n\nbody line'), 'fix: a\n\nbody line');
  });
});
