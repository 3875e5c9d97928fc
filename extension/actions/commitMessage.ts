import * as vscode from 'vscode';
import { promptBudgetTokens } from '../router/prompts/budget';
import { buildCommitMessagePrompt, COMMIT_MESSAGE_MAX_OUTPUT_TOKENS, styleExampleSubjects, type DiffSource } from '../router/prompts/commitMessage';
import { commitMessageValidator, historyUsesConventionalCommits, normalizeCommitMessage } from '../router/validators/commitMessage';
import { announceResult, runRoutedAction, type ActionServices } from './routedAction';

const COMMAND = 'tierwise.generateCommitMessage';
/** Recent commits read for the repository's style: Conventional Commits or not, and a few examples. */
const HISTORY_ENTRIES = 20;
/** The Git extension scans for repositories after start-up; a command run just then waits this long for it. */
const GIT_READY_TIMEOUT_MS = 10_000;

// The slice of the built-in Git extension's API (extensions/git/src/api/git.d.ts, version 1) this action uses.
interface GitExtension {
  readonly enabled: boolean;
  getAPI(version: 1): GitApi;
}
type GitApiState = 'uninitialized' | 'initialized';
interface GitApi {
  readonly state: GitApiState;
  readonly onDidChangeState: vscode.Event<GitApiState>;
  readonly repositories: GitRepository[];
  getRepository(uri: vscode.Uri): GitRepository | null;
}
interface GitRepository {
  readonly rootUri: vscode.Uri;
  readonly inputBox: { value: string };
  readonly state: { readonly HEAD: { readonly name?: string } | undefined };
  /** `git diff --cached` when `cached`, else `git diff`: the full patch text. */
  diff(cached?: boolean): Promise<string>;
  log(options?: { maxEntries?: number }): Promise<{ readonly message: string }[]>;
}

/** A user-facing reason the action cannot run, shown as is. */
class CommitMessageUnavailable extends Error {}

export function registerCommitMessageAction(services: ActionServices): vscode.Disposable {
  // From the Source Control title bar VS Code passes the SourceControl; from the palette, nothing.
  return vscode.commands.registerCommand(COMMAND, async (invokedFrom?: unknown) => {
    try {
      await generateCommitMessage(services, invokedFrom);
    } catch (error) {
      if (error instanceof CommitMessageUnavailable) {
        void vscode.window.showWarningMessage(`Tierwise: ${error.message}`);
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      services.log.error(`Generate commit message: ${message}`);
      void vscode.window.showErrorMessage(`Tierwise: could not read the changes to describe: ${message}`);
    }
  });
}

async function generateCommitMessage(services: ActionServices, invokedFrom: unknown): Promise<void> {
  const fromScmView = rootUriOf(invokedFrom) !== undefined;
  const repository = await pickRepository(await gitApi(), invokedFrom);
  if (!repository) return;

  let source: DiffSource = 'staged';
  let diff = await repository.diff(true);
  if (diff.trim() === '') {
    source = 'unstaged';
    diff = await repository.diff(false);
  }
  if (diff.trim() === '') {
    throw new CommitMessageUnavailable('there are no changes to describe: nothing is staged and tracked files are unchanged (stage new files first).');
  }

  const recentSubjects = await recentCommitSubjects(repository);
  const conventional = historyUsesConventionalCommits(styleExampleSubjects(recentSubjects));
  const prompt = buildCommitMessagePrompt({
    diff,
    source,
    recentSubjects,
    conventional,
    branch: repository.state.HEAD?.name,
    promptBudgetTokens: promptBudgetTokens(services.settings.config, 'commitMessage', COMMIT_MESSAGE_MAX_OUTPUT_TOKENS),
  });
  services.log.info(
    `Commit message: ${source} diff of ${prompt.diff.fileCount} file${prompt.diff.fileCount === 1 ? '' : 's'}, ~${prompt.diff.estTokens} tokens` +
      `${prompt.diff.condensed ? ` after condensing (${prompt.diff.notes.length} omission${prompt.diff.notes.length === 1 ? '' : 's'})` : ''}; ` +
      `Conventional Commits ${conventional ? 'on' : 'off'}`,
  );
  services.log.prompt('Commit message prompt', prompt.request.messages[0].content);

  let result;
  try {
    result = await runRoutedAction(services, {
      title: source === 'staged' ? 'Writing a commit message for the staged changes…' : 'Nothing staged: writing a commit message for all changes…',
      request: prompt.request,
      validator: commitMessageValidator({ conventional }),
    });
  } finally {
    services.onSpend();
  }
  if (!result) return;

  // Only trimming and line endings are fixed here; fences, quotes and labels fail the validator and escalate.
  repository.inputBox.value = normalizeCommitMessage(result.text);
  if (!fromScmView) void vscode.commands.executeCommand('workbench.view.scm');
  announceResult('git-commit', 'commit message', result);
  if (source === 'unstaged') {
    void vscode.window.showInformationMessage(
      'Tierwise: nothing was staged, so the message describes every unstaged change. Stage what you mean to commit, or commit all.',
    );
  }
}

async function gitApi(): Promise<GitApi> {
  const extension = vscode.extensions.getExtension<GitExtension>('vscode.git');
  if (!extension) throw new CommitMessageUnavailable('the built-in Git extension (vscode.git) is not installed or is disabled.');
  const exports = extension.isActive ? extension.exports : await extension.activate();
  if (!exports.enabled) throw new CommitMessageUnavailable('Git is turned off in this window (the "git.enabled" setting).');
  const api = exports.getAPI(1);
  if (api.state === 'uninitialized') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, GIT_READY_TIMEOUT_MS);
      const listener = api.onDidChangeState((state) => state === 'initialized' && done());
      function done(): void {
        clearTimeout(timer);
        listener.dispose();
        resolve();
      }
    });
  }
  return api;
}

function rootUriOf(invokedFrom: unknown): vscode.Uri | undefined {
  const rootUri = (invokedFrom as { rootUri?: unknown } | undefined)?.rootUri;
  if (rootUri instanceof vscode.Uri) return rootUri;
  // An argument that crossed a process boundary arrives as the Uri's plain fields.
  const fields = rootUri as { scheme?: unknown; authority?: unknown; path?: unknown } | undefined;
  if (typeof fields?.scheme === 'string' && typeof fields.path === 'string') {
    return vscode.Uri.from({ scheme: fields.scheme, authority: typeof fields.authority === 'string' ? fields.authority : '', path: fields.path });
  }
  return undefined;
}

/** The repository of the Source Control view the command came from, else the active editor's, else the only one. */
async function pickRepository(api: GitApi, invokedFrom: unknown): Promise<GitRepository | undefined> {
  const rootUri = rootUriOf(invokedFrom);
  if (rootUri) {
    const repository = api.getRepository(rootUri) ?? api.repositories.find((candidate) => candidate.rootUri.toString() === rootUri.toString());
    if (repository) return repository;
  }
  const activeUri = vscode.window.activeTextEditor?.document.uri;
  if (activeUri?.scheme === 'file') {
    const repository = api.getRepository(activeUri);
    if (repository) return repository;
  }
  if (api.repositories.length === 1) return api.repositories[0];
  if (api.repositories.length === 0) throw new CommitMessageUnavailable('no Git repository is open in this window.');
  const picked = await vscode.window.showQuickPick(
    api.repositories.map((repository) => ({
      label: repository.rootUri.path.split('/').pop() || repository.rootUri.fsPath,
      description: vscode.workspace.asRelativePath(repository.rootUri, true),
      repository,
    })),
    { title: 'Tierwise: Generate Commit Message', placeHolder: 'Which repository?' },
  );
  return picked?.repository;
}

/** Subjects of the last commits, newest first; none in a repository without commits. */
async function recentCommitSubjects(repository: GitRepository): Promise<string[]> {
  try {
    const commits = await repository.log({ maxEntries: HISTORY_ENTRIES });
    return commits.map((commit) => commit.message.split('\n')[0].trim()).filter(Boolean);
  } catch {
    return [];
  }
}
