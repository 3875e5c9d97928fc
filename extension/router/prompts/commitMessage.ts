import type { RouteRequest } from '../decide';
import { condenseDiff, type CondensedDiff } from '../diffCondense';
import { estimateRequestTokens } from '../tokens';
import { COMMIT_SUBJECT_MAX_CHARS } from '../validators/commitMessage';

/** A subject and a short body, with room for a model that rambles before it stops. */
export const COMMIT_MESSAGE_MAX_OUTPUT_TOKENS = 400;
/** Recent subjects shown to the model as examples of the repository's style. */
export const COMMIT_STYLE_EXAMPLES = 8;

export type DiffSource = 'staged' | 'unstaged';

export interface CommitMessagePromptInput {
  diff: string;
  source: DiffSource;
  /** Subjects of recent commits, newest first. */
  recentSubjects: string[];
  conventional: boolean;
  branch?: string;
  /** Tokens the whole prompt may take (promptBudgetTokens); the diff is condensed to what is left. */
  promptBudgetTokens: number;
}

export interface CommitMessagePrompt {
  request: RouteRequest;
  diff: CondensedDiff;
}

/** Subjects git or a forge wrote (merges, reverts, fixups) say nothing about the team's style. */
export function styleExampleSubjects(subjects: string[]): string[] {
  return subjects
    .map((subject) => subject.trim())
    .filter((subject) => subject !== '' && !/^(Merge (branch|pull request|remote-tracking branch|tag)|Revert "|fixup!|squash!|amend!)/.test(subject));
}

function systemPrompt(conventional: boolean): string {
  return [
    'You write git commit messages from a diff.',
    'Reply with the commit message only: no preamble, no explanation, no quotes, no code fences, no Markdown.',
    `First line: the subject, at most ${COMMIT_SUBJECT_MAX_CHARS} characters (aim for 50), imperative mood ("Add", "Fix", not "Added" or "Adds"), no trailing period.`,
    ...(conventional
      ? ['This repository uses Conventional Commits: the subject is "type(scope): summary", type one of feat, fix, docs, style, refactor, perf, test, build, ci, chore, revert; the scope is optional.']
      : []),
    'Follow the style of the recent subjects you are shown (capitalisation, prefixes, ticket references), if any.',
    'If the change needs explaining, add a blank line and a short body (wrapped at 72 columns) that says what changed and why. Do not list files one by one, and do not describe the diff format.',
    'Describe the change as a whole. If the diff was condensed, infer from what is shown; never mention that it was condensed.',
  ].join('\n');
}

function userMessage(input: CommitMessagePromptInput, diffText: string): string {
  const examples = styleExampleSubjects(input.recentSubjects).slice(0, COMMIT_STYLE_EXAMPLES);
  const parts: string[] = [];
  if (examples.length > 0) parts.push(`Recent commit subjects in this repository, newest first:\n${examples.map((subject) => `- ${subject}`).join('\n')}`);
  if (input.branch) parts.push(`Current branch: ${input.branch}`);
  parts.push(
    input.source === 'staged'
      ? `The staged changes to commit (git diff --cached):\n${diffText}`
      : `Nothing is staged; the changes in the working tree (git diff):\n${diffText}`,
  );
  parts.push('Write the commit message.');
  return parts.join('\n\n');
}

/** The request for a commit message, with the diff condensed to fit what the prompt budget leaves for it. */
export function buildCommitMessagePrompt(input: CommitMessagePromptInput): CommitMessagePrompt {
  const system = systemPrompt(input.conventional);
  const request = (diffText: string): RouteRequest => ({
    task: 'commitMessage',
    system,
    messages: [{ role: 'user', content: userMessage(input, diffText) }],
    maxOutputTokens: COMMIT_MESSAGE_MAX_OUTPUT_TOKENS,
  });
  const overhead = estimateRequestTokens(request(''));
  const diff = condenseDiff(input.diff, { budgetTokens: input.promptBudgetTokens - overhead });
  return { request: request(diff.text), diff };
}
