import * as vscode from 'vscode';
import { refactorRequest } from '../router/prompts/refactor';
import type { RunResult } from '../router/router';
import { normalizeReplacement, replacementValidator, type ReplacementContext } from '../router/validators/code';
import { offerProposals, type ProposalDocuments } from './proposalDocuments';
import { describeResult, runRoutedAction, type ActionServices } from './routedAction';

/**
 * "Refactor Selection…": the instruction and the selection (with the file around it) go to the refactor tier; the
 * answer must parse in place or it escalates; the result opens as a diff against the file, to apply or discard.
 */
export function registerRefactorAction(services: ActionServices, proposals: ProposalDocuments): vscode.Disposable {
  return vscode.commands.registerCommand('tierwise.refactorSelection', () => refactorSelection(services, proposals));
}

async function refactorSelection(services: ActionServices, proposals: ProposalDocuments): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('Tierwise: select the code to refactor, then run Refactor Selection again.');
    return;
  }
  const instruction = await vscode.window.showInputBox({
    title: 'Tierwise: Refactor Selection',
    prompt: 'How should the selected code change?',
    placeHolder: 'e.g. extract the loop into a function named totalOf',
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() === '' ? 'Say what to change.' : undefined),
  });
  if (!instruction?.trim()) return;

  // Everything is read now: the proposal is computed against this text, and Apply checks the version is unchanged.
  const document = editor.document;
  const version = document.version;
  const fileText = document.getText();
  const start = document.offsetAt(editor.selection.start);
  const end = document.offsetAt(editor.selection.end);
  const filePath = vscode.workspace.asRelativePath(document.uri);
  const context: ReplacementContext = {
    languageId: document.languageId,
    fileName: document.uri.path,
    before: fileText.slice(0, start),
    original: fileText.slice(start, end),
    after: fileText.slice(end),
  };
  const request = refactorRequest({ instruction, languageId: document.languageId, filePath, fileText, selectionStart: start, selectionEnd: end });
  services.log.prompt('Refactor prompt', request.messages[0].content);

  let result: RunResult | undefined;
  try {
    result = await runRoutedAction(services, { title: `Refactoring ${filePath}…`, request, validator: replacementValidator(context) });
  } finally {
    services.onSpend();
  }
  if (!result) return;

  const replacement = normalizeReplacement(result.text, context);
  if (replacement.trim() === '') return; // runRoutedAction already said the answer failed its check
  const summary = describeResult(result);
  const failedCheck = result.verdict.ok ? '' : ` — failed its check (${result.verdict.reason}); review before applying`;
  const id = await proposals.propose({
    target: document.uri,
    targetVersion: version,
    originalText: fileText,
    start,
    end,
    replacement,
    label: summary,
  });
  services.log.info(`refactor: proposal for ${filePath} from ${summary}`);
  void offerProposals(proposals, [id], `Tierwise: refactor of ${filePath} ready (${summary})${failedCheck}.`);
}
