import * as path from 'node:path';
import * as vscode from 'vscode';
import { DisposableOwner } from '../lifecycle';

/** The scheme of proposed file contents; package.json shows Apply/Discard in the editor title for it. */
export const PROPOSAL_SCHEME = 'tierwise-proposal';
const APPLY_COMMAND = 'tierwise.applyRefactor';
const DISCARD_COMMAND = 'tierwise.discardRefactor';

/** `closed`: the diff was closed without Apply or Discard. */
export type ProposalOutcome = 'applied' | 'discarded' | 'closed';

/** One proposed change to one file: a range of it replaced, or a new file created. */
export interface ProposalInput {
  target: vscode.Uri;
  /** The document's version when its text was read; apply refuses if it changed since. Undefined: a new file. */
  targetVersion: number | undefined;
  /** The text the proposal was computed from (the whole file; '' for a new file). */
  originalText: string;
  /** Offsets of the replaced range in originalText. */
  start: number;
  end: number;
  replacement: string;
  /** Shown in the diff title: "mid · gpt-5-mini · $0.0012". */
  label: string;
  onSettled?: (outcome: ProposalOutcome) => void;
}

interface Proposal extends ProposalInput {
  id: string;
  uri: vscode.Uri;
  /** For a new file, the empty document shown on the left of the diff. */
  emptyOriginalUri?: vscode.Uri;
  proposedText: string;
  /** Set once the diff has opened; only then does closing its tab forget the proposal. */
  shown: boolean;
}

/**
 * Proposed edits as virtual read-only documents (the whole file with the change made), shown in a diff against the
 * current file; Apply replaces the range through a WorkspaceEdit (so it is one undo step), Discard closes the diff.
 */
export class ProposalDocuments extends DisposableOwner implements vscode.TextDocumentContentProvider {
  private readonly proposals = new Map<string, Proposal>();
  private nextId = 1;

  constructor() {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(PROPOSAL_SCHEME, this));
    this.register(vscode.commands.registerCommand(APPLY_COMMAND, (uri?: vscode.Uri) => this.apply(this.find(uri))));
    this.register(vscode.commands.registerCommand(DISCARD_COMMAND, (uri?: vscode.Uri) => this.discard(this.find(uri))));
    // A proposal whose diff the user closed is forgotten (as closed), so memory does not grow with every refactor.
    this.register(vscode.window.tabGroups.onDidChangeTabs((event) => event.closed.length > 0 && this.forgetUnshown()));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const proposal = this.proposals.get(uri.query.replace(/&original$/, ''));
    if (!proposal) return '';
    return uri.query.endsWith('&original') ? '' : proposal.proposedText;
  }

  /** Registers a proposal and opens it as a diff; returns its id. */
  async propose(input: ProposalInput, options: { preserveFocus?: boolean; viewColumn?: vscode.ViewColumn } = {}): Promise<string> {
    const id = String(this.nextId++);
    // The proposal's path is the file's, so the diff gets the file's language (highlighting) and name.
    const uri = vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path: input.target.path, query: id });
    const emptyOriginalUri = input.targetVersion === undefined ? uri.with({ query: `${id}&original` }) : undefined;
    const proposedText = input.originalText.slice(0, input.start) + input.replacement + input.originalText.slice(input.end);
    const proposal: Proposal = { ...input, id, uri, emptyOriginalUri, proposedText, shown: false };
    this.proposals.set(id, proposal);
    const name = path.basename(input.target.path);
    await vscode.commands.executeCommand(
      'vscode.diff',
      emptyOriginalUri ?? input.target,
      uri,
      `${name} ↔ Tierwise proposal (${input.label})${emptyOriginalUri ? ' · new file' : ''}`,
      { preview: false, preserveFocus: options.preserveFocus ?? false, viewColumn: options.viewColumn },
    );
    proposal.shown = true;
    return id;
  }

  has(id: string): boolean {
    return this.proposals.has(id);
  }

  /** Applies a proposal by id (for the notification's button). */
  applyById(id: string): Promise<boolean> {
    return this.apply(this.proposals.get(id));
  }

  discardById(id: string): Promise<void> {
    return this.discard(this.proposals.get(id));
  }

  private find(uri: vscode.Uri | undefined): Proposal | undefined {
    const candidate = uri?.scheme === PROPOSAL_SCHEME ? uri : vscode.window.activeTextEditor?.document.uri;
    if (candidate?.scheme === PROPOSAL_SCHEME) return this.proposals.get(candidate.query.replace(/&original$/, ''));
    // From the palette with the diff's left side or something else focused: the diff in the active tab.
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if (input instanceof vscode.TabInputTextDiff && input.modified.scheme === PROPOSAL_SCHEME) return this.proposals.get(input.modified.query);
    return undefined;
  }

  private async apply(proposal: Proposal | undefined): Promise<boolean> {
    if (!proposal) {
      void vscode.window.showInformationMessage('Tierwise: this proposal is no longer open (it was applied, discarded or closed).');
      return false;
    }
    const name = vscode.workspace.asRelativePath(proposal.target);
    const edit = new vscode.WorkspaceEdit();
    let document: vscode.TextDocument | undefined;
    if (proposal.targetVersion === undefined) {
      if (await exists(proposal.target)) {
        void vscode.window.showErrorMessage(`Tierwise: ${name} was created after the proposal was made, so the proposal was not applied. Run the step again.`);
        return false;
      }
      edit.createFile(proposal.target, { ignoreIfExists: false });
      edit.insert(proposal.target, new vscode.Position(0, 0), proposal.replacement);
    } else {
      document = await vscode.workspace.openTextDocument(proposal.target);
      if (document.version !== proposal.targetVersion) {
        void vscode.window.showErrorMessage(
          `Tierwise: ${name} changed after the proposal was made (version ${proposal.targetVersion} → ${document.version}), so it was not applied. ` +
            'Run the refactor again on the current text.',
        );
        return false;
      }
      const range = new vscode.Range(document.positionAt(proposal.start), document.positionAt(proposal.end));
      edit.replace(proposal.target, range, proposal.replacement);
    }
    if (!(await vscode.workspace.applyEdit(edit))) {
      void vscode.window.showErrorMessage(`Tierwise: VS Code refused the edit to ${name} (is the file read-only?).`);
      return false;
    }
    this.settle(proposal, 'applied');
    await this.closeDiff(proposal);
    document ??= await vscode.workspace.openTextDocument(proposal.target);
    // Select what was inserted; counted in lines, since VS Code converted its line ends to the document's.
    const start = document.positionAt(proposal.start);
    const lines = proposal.replacement.split('\n');
    const end = lines.length === 1 ? start.translate(0, lines[0].length) : new vscode.Position(start.line + lines.length - 1, lines[lines.length - 1].length);
    await vscode.window.showTextDocument(document, { selection: new vscode.Range(start, end), preview: false });
    return true;
  }

  private async discard(proposal: Proposal | undefined): Promise<void> {
    if (!proposal) return;
    this.settle(proposal, 'discarded');
    await this.closeDiff(proposal);
  }

  private settle(proposal: Proposal, outcome: ProposalOutcome): void {
    this.proposals.delete(proposal.id);
    proposal.onSettled?.(outcome);
  }

  private async closeDiff(proposal: Proposal): Promise<void> {
    const tabs = this.tabsShowing(proposal);
    if (tabs.length > 0) await vscode.window.tabGroups.close(tabs);
  }

  private tabsShowing(proposal: Proposal): vscode.Tab[] {
    const key = proposal.uri.toString();
    return vscode.window.tabGroups.all.flatMap((group) =>
      group.tabs.filter((tab) => {
        const input = tab.input;
        if (input instanceof vscode.TabInputTextDiff) return input.modified.toString() === key;
        return input instanceof vscode.TabInputText && input.uri.toString() === key;
      }),
    );
  }

  private forgetUnshown(): void {
    for (const proposal of [...this.proposals.values()]) {
      if (proposal.shown && this.tabsShowing(proposal).length === 0) this.settle(proposal, 'closed');
    }
  }
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

/**
 * The notification that goes with opened proposals: Apply or Discard all of them (the diff's title bar has the same
 * buttons for one file). Resolves once the user chose or dismissed it.
 */
export async function offerProposals(proposals: ProposalDocuments, ids: string[], message: string): Promise<void> {
  const apply = ids.length > 1 ? 'Apply All' : 'Apply';
  const discard = ids.length > 1 ? 'Discard All' : 'Discard';
  const choice = await vscode.window.showInformationMessage(message, apply, discard);
  const open = ids.filter((id) => proposals.has(id));
  if (choice === apply) {
    if (open.length === 0) void vscode.window.showInformationMessage('Tierwise: this proposal is no longer open (it was applied, discarded or closed).');
    for (const id of open) if (!(await proposals.applyById(id))) break;
  } else if (choice === discard) {
    for (const id of open) await proposals.discardById(id);
  }
}
