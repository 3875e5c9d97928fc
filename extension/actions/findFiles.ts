import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseRipgrepOutput, queryTerms, rankCandidates, ripgrepArgs, type LineMatch } from '../router/findFilesCandidates';
import { promptBudgetTokens } from '../router/prompts/budget';
import { buildFindFilesPrompt, FIND_FILES_MAX_OUTPUT_TOKENS } from '../router/prompts/findFiles';
import { findFilesValidator, parseRankedPaths } from '../router/validators/findFiles';
import { announceResult, describeResult, runRoutedAction, type ActionServices } from './routedAction';

const COMMAND = 'tierwise.findFiles';
/** Workspace files considered per folder; beyond this the listing is cut (and the log says so). */
const MAX_WORKSPACE_FILES = 20_000;
/** Each ripgrep run (listing, content search) is stopped after this long or this much output; what came so far is used. */
const RIPGREP_TIMEOUT_MS = 5_000;
const RIPGREP_MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
/** Without ripgrep, VS Code's own file search lists names; these never hold what anyone is looking for. */
const FALLBACK_EXCLUDES = ['**/node_modules/**', '**/.git/**'];

interface WorkspaceFile {
  uri: vscode.Uri;
  matches: LineMatch[];
}

interface Candidates {
  /** Workspace-relative path (as asRelativePath gives it) → the file. */
  files: Map<string, WorkspaceFile>;
  /** What was searched and how, for the log. */
  notes: string[];
}

interface FileItem extends vscode.QuickPickItem {
  file: WorkspaceFile;
}

export function registerFindFilesAction(services: ActionServices): vscode.Disposable {
  return vscode.commands.registerCommand(COMMAND, async (query?: unknown) => {
    try {
      await findFiles(services, typeof query === 'string' ? query : undefined);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      services.log.error(`Find files: ${message}`);
      void vscode.window.showErrorMessage(`Tierwise: Find Files failed: ${message}`);
    }
  });
}

async function findFiles(services: ActionServices, presetQuery: string | undefined): Promise<void> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    void vscode.window.showInformationMessage('Tierwise: open a folder to find files in it.');
    return;
  }
  const query =
    presetQuery ??
    (await vscode.window.showInputBox({
      title: 'Tierwise: Find Files',
      prompt: 'Describe the files you are looking for, in your own words.',
      placeHolder: 'e.g. where the daily spend cap is checked before a call',
      ignoreFocusOut: true,
    }));
  if (!query?.trim()) return;

  const terms = queryTerms(query);
  const candidates = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Tierwise: searching the workspace' }, () =>
    collectCandidates(folders, terms),
  );
  if (candidates.files.size === 0) {
    void vscode.window.showInformationMessage('Tierwise: the workspace has no files to search.');
    return;
  }
  const hits = new Map([...candidates.files].filter(([, file]) => file.matches.length > 0).map(([relative, file]) => [relative, file.matches]));
  const ranked = rankCandidates(candidates.files.keys(), hits, terms);
  const prompt = buildFindFilesPrompt({
    query,
    ranked,
    promptBudgetTokens: promptBudgetTokens(services.settings.config, 'findFiles', FIND_FILES_MAX_OUTPUT_TOKENS),
  });
  services.log.info(
    `Find files: ${candidates.files.size} workspace files, ${hits.size} with matches for ${terms.length} search term${terms.length === 1 ? '' : 's'}; ` +
      `${prompt.shown.length} sent for ranking (${candidates.notes.join('; ')})`,
  );
  services.log.prompt('Find files prompt', prompt.request.messages[0].content);

  let result;
  try {
    result = await runRoutedAction(services, {
      title: 'Finding files…',
      request: prompt.request,
      validator: findFilesValidator(new Set(candidates.files.keys())),
      json: true,
    });
  } finally {
    services.onSpend();
  }
  if (!result) return;

  // After a failed check at every tier, what the model named that does exist is still worth showing.
  const parsed = parseRankedPaths(result.text);
  const found = (parsed.ok ? parsed.paths : []).flatMap((relative) => {
    const file = candidates.files.get(relative);
    return file ? [{ relative, file }] : [];
  });
  announceResult('search', 'find files', result);
  if (found.length === 0) {
    void vscode.window.showWarningMessage(`Tierwise: no workspace file matched "${query.trim()}" (${describeResult(result)}).`);
    return;
  }
  await showResults(query.trim(), found, describeResult(result));
}

async function showResults(query: string, found: { relative: string; file: WorkspaceFile }[], answeredBy: string): Promise<void> {
  const pick = vscode.window.createQuickPick<FileItem>();
  pick.title = `Tierwise: files for "${query}"`;
  pick.placeholder = `${found.length} file${found.length === 1 ? '' : 's'}, most likely first · ${answeredBy}`;
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  pick.items = found.map(({ relative, file }) => ({
    label: path.posix.basename(relative),
    description: relative,
    detail: file.matches[0] ? `${file.matches[0].line}: ${file.matches[0].text}` : undefined,
    iconPath: vscode.ThemeIcon.File,
    file,
  }));
  const chosen = await new Promise<FileItem | undefined>((resolve) => {
    pick.onDidAccept(() => resolve(pick.selectedItems[0]));
    pick.onDidHide(() => resolve(undefined));
    pick.show();
  });
  pick.dispose();
  if (!chosen) return;
  const line = chosen.file.matches[0]?.line;
  const selection = line ? new vscode.Range(line - 1, 0, line - 1, 0) : undefined;
  await vscode.window.showTextDocument(chosen.file.uri, { selection, preview: true });
}

/**
 * Every workspace file, with the lines that match the query's terms. With ripgrep (VS Code ships one) the listing
 * honours .gitignore, so build output and caches stay out; without it, VS Code's file search lists the names.
 */
async function collectCandidates(folders: readonly vscode.WorkspaceFolder[], terms: string[]): Promise<Candidates> {
  const files = new Map<string, WorkspaceFile>();
  const notes: string[] = [];
  const ripgrep = findRipgrep();
  const localFolders = folders.filter((folder) => folder.uri.scheme === 'file');
  if (!ripgrep || localFolders.length < folders.length) {
    notes.push(ripgrep ? 'remote folders: names only' : 'ripgrep not found: names only');
    const uris = await vscode.workspace.findFiles('**/*', `{${FALLBACK_EXCLUDES.join(',')}}`, MAX_WORKSPACE_FILES);
    for (const uri of uris) files.set(vscode.workspace.asRelativePath(uri, folders.length > 1), { uri, matches: [] });
    if (uris.length >= MAX_WORKSPACE_FILES) notes.push(`listing cut at ${MAX_WORKSPACE_FILES} files`);
    if (!ripgrep) {
      void vscode.window.showWarningMessage(
        `Tierwise: ripgrep was not found (not in VS Code's installation under ${vscode.env.appRoot}, not on PATH), so Find Files matches file names only, not contents.`,
      );
      return { files, notes };
    }
  }

  for (const folder of localFolders) {
    const root = folder.uri.fsPath;
    const add = (relative: string) => {
      const uri = vscode.Uri.joinPath(folder.uri, ...relative.split('/'));
      const key = vscode.workspace.asRelativePath(uri, folders.length > 1);
      const existing = files.get(key) ?? { uri, matches: [] };
      files.set(key, existing);
      return existing;
    };
    const listing = await runRipgrep(ripgrep, ['--no-config', '--files', '--hidden', '--glob', '!**/.git/**', '--glob', '!**/node_modules/**', '.'], root);
    let listed = 0;
    for (const line of listing.stdout.split('\n')) {
      const relative = line.replace(/\r$/, '').replace(/\\/g, '/').replace(/^\.\//, '');
      if (!relative) continue;
      if (++listed > MAX_WORKSPACE_FILES) {
        notes.push(`${folder.name}: listing cut at ${MAX_WORKSPACE_FILES} files`);
        break;
      }
      add(relative);
    }
    if (listing.stopped) notes.push(`${folder.name}: file listing ${listing.stopped}`);
    if (terms.length === 0) continue;
    const search = await runRipgrep(ripgrep, ripgrepArgs(terms), root);
    for (const [relative, matches] of parseRipgrepOutput(search.stdout)) add(relative).matches = matches;
    if (search.stopped) notes.push(`${folder.name}: content search ${search.stopped}`);
  }
  notes.push(terms.length > 0 ? `searched for ${terms.length} terms with ripgrep` : 'no search terms in the query');
  return { files, notes };
}

let ripgrepPath: string | null | undefined;

/** VS Code's bundled ripgrep (its location varies by version and packaging), else `rg` on PATH. */
function findRipgrep(): string | undefined {
  if (ripgrepPath !== undefined) return ripgrepPath ?? undefined;
  const executable = process.platform === 'win32' ? 'rg.exe' : 'rg';
  const appRoot = vscode.env.appRoot;
  const candidates = [
    path.join(appRoot, 'node_modules', '@vscode', 'ripgrep', 'bin', executable),
    path.join(appRoot, 'node_modules.asar.unpacked', '@vscode', 'ripgrep', 'bin', executable),
    path.join(appRoot, 'node_modules', 'vscode-ripgrep', 'bin', executable),
    path.join(appRoot, 'node_modules.asar.unpacked', 'vscode-ripgrep', 'bin', executable),
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, executable)),
  ];
  ripgrepPath = candidates.find((candidate) => {
    try {
      return fs.statSync(candidate).isFile();
    } catch {
      return false;
    }
  }) ?? null;
  return ripgrepPath ?? undefined;
}

/** Runs ripgrep; output beyond the cap, or past the timeout, is cut off rather than waited for. */
function runRipgrep(executable: string, args: string[], cwd: string): Promise<{ stdout: string; stopped?: string }> {
  return new Promise((resolve) => {
    const child = spawn(executable, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stopped: string | undefined;
    let errorText = '';
    const stop = (why: string) => {
      stopped ??= why;
      child.kill();
    };
    const timer = setTimeout(() => stop(`stopped after ${RIPGREP_TIMEOUT_MS} ms`), RIPGREP_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      if (bytes >= RIPGREP_MAX_OUTPUT_BYTES) return;
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes >= RIPGREP_MAX_OUTPUT_BYTES) stop(`cut at ${RIPGREP_MAX_OUTPUT_BYTES} bytes`);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errorText.length < 2000) errorText += chunk.toString('utf8');
    });
    const finish = (failure?: string) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(chunks).toString('utf8');
      // A cut-off last line is incomplete; drop it.
      const complete = stopped ? stdout.slice(0, stdout.lastIndexOf('\n') + 1) : stdout;
      resolve({ stdout: complete, stopped: stopped ?? failure });
    };
    child.on('error', (error) => finish(`failed: ${error.message}`));
    // Exit 1 means "no matches"; 2 means an error, often a single unreadable file, with results still valid.
    child.on('close', (code) => finish(code !== null && code > 1 && !stopped ? `exited ${code}: ${errorText.split('\n')[0]}` : undefined));
  });
}
