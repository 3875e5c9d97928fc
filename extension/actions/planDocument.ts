import * as vscode from 'vscode';
import { changedMiddle, planFileName, readPlanState, renderPlanMarkdown, type PlanState } from '../router/plan';

/** Where plans are saved, relative to the workspace folder. */
export const PLANS_FOLDER = '.tierwise/plans';

/**
 * Plan documents: Markdown files under `.tierwise/plans/` (an untitled Markdown document when no folder is open).
 * The plan's state lives in the document, so a plan can be reopened and continued after a reload; every change
 * goes through update(), one at a time per document, and is saved at once.
 */
export class PlanDocuments {
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Writes a new plan and opens it. */
  async create(state: PlanState, folder: vscode.WorkspaceFolder | undefined): Promise<vscode.TextDocument> {
    const markdown = renderPlanMarkdown(state);
    let document: vscode.TextDocument;
    if (folder) {
      const directory = vscode.Uri.joinPath(folder.uri, ...PLANS_FOLDER.split('/'));
      await vscode.workspace.fs.createDirectory(directory);
      const uri = vscode.Uri.joinPath(directory, planFileName(state.goal, new Date(state.createdAt)));
      await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(markdown));
      document = await vscode.workspace.openTextDocument(uri);
    } else {
      document = await vscode.workspace.openTextDocument({ language: 'markdown', content: markdown });
    }
    await vscode.window.showTextDocument(document, { preview: false });
    return document;
  }

  /** The plan in a document, or undefined when it holds none. */
  async read(uri: vscode.Uri): Promise<PlanState | undefined> {
    const document = await vscode.workspace.openTextDocument(uri);
    return readPlanState(document.getText());
  }

  /**
   * Applies `change` to the document's current plan and writes the result: only the changed middle of the text is
   * replaced, so the cursor and scroll position stay put. Returns the new state (undefined if the plan is gone).
   */
  update(uri: vscode.Uri, change: (state: PlanState) => PlanState): Promise<PlanState | undefined> {
    const key = uri.toString();
    const run = (this.queues.get(key) ?? Promise.resolve()).then(() => this.write(uri, change));
    this.queues.set(key, run.catch(() => undefined));
    return run;
  }

  private async write(uri: vscode.Uri, change: (state: PlanState) => PlanState): Promise<PlanState | undefined> {
    const document = await vscode.workspace.openTextDocument(uri);
    const current = readPlanState(document.getText());
    if (!current) return undefined;
    const next = change(current);
    const oldText = document.getText();
    const newText = renderPlanMarkdown(next);
    if (newText !== oldText) {
      const { start, oldEnd, newEnd } = changedMiddle(oldText, newText);
      const edit = new vscode.WorkspaceEdit();
      edit.replace(uri, new vscode.Range(document.positionAt(start), document.positionAt(oldEnd)), newText.slice(start, newEnd));
      if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`VS Code refused to update the plan ${vscode.workspace.asRelativePath(uri)}`);
    }
    if (!document.isUntitled && document.isDirty) await document.save();
    return next;
  }
}
