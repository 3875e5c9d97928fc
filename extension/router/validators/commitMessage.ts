import { fail, ok, type Validator } from './verdict';

export const COMMIT_SUBJECT_MAX_CHARS = 72;
const CONVENTIONAL_SUBJECT = /^(feat|fix|docs|style|refactor|perf|test|build|ci|chore|revert)(\([\w$.\-/ ]+\))?!?: \S/;

/** Whether recent history follows Conventional Commits (most of the last subjects do), so new messages should too. */
export function historyUsesConventionalCommits(recentSubjects: string[]): boolean {
  if (recentSubjects.length < 3) return false;
  const conventional = recentSubjects.filter((subject) => CONVENTIONAL_SUBJECT.test(subject)).length;
  return conventional / recentSubjects.length >= 0.6;
}

/**
 * A commit message a user can commit as is: a non-empty subject of at most 72 characters, no code fences or
 * surrounding quotes, a blank line before any body, and a Conventional Commits subject when history uses them.
 */
export function commitMessageValidator(options: { conventional: boolean }): Validator {
  return (output) => {
    const message = output.replace(/\r\n/g, '\n').trim();
    if (message.length === 0) return fail('empty message');
    if (message.includes('```')) return fail('contains a code fence');
    if (/^(["'`])(?:(?!\1)[\s\S])*\1$/.test(message)) return fail('wrapped in quotes');
    const [subject, second, ...rest] = message.split('\n');
    if (subject.trim().length === 0) return fail('empty subject line');
    if (subject.length > COMMIT_SUBJECT_MAX_CHARS) return fail(`subject is ${subject.length} characters (max ${COMMIT_SUBJECT_MAX_CHARS})`);
    if (/^#{1,6}\s|^\*\*|^(subject|commit message):/i.test(subject)) return fail('subject is formatted as Markdown or a label');
    if (second !== undefined && second.trim() !== '') return fail('no blank line between subject and body');
    if (second !== undefined && rest.join('').trim() === '') return fail('blank line with no body after it');
    if (options.conventional && !CONVENTIONAL_SUBJECT.test(subject)) return fail('subject does not follow Conventional Commits, as this repository does');
    return ok;
  };
}

/** The message as it should go in the commit box: trimmed, CRLF folded. */
export function normalizeCommitMessage(output: string): string {
  return output.replace(/\r\n/g, '\n').trim();
}
