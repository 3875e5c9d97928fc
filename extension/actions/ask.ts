import * as vscode from 'vscode';
import { askRequest, type AskContext } from '../router/prompts/ask';
import { streamAnswer, type AnswerDocuments } from './answerDocuments';
import type { ActionServices } from './routedAction';

/**
 * "Ask…": a free-form question with the selection (or what is visible of the editor) as context, on the tier the
 * routes table gives `ask`; the answer streams into a Markdown editor beside.
 */
export function registerAskAction(services: ActionServices, answers: AnswerDocuments): vscode.Disposable {
  return vscode.commands.registerCommand('tierwise.ask', () => ask(services, answers));
}

async function ask(services: ActionServices, answers: AnswerDocuments): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const context = editor && editor.document.uri.scheme !== 'output' ? editorContext(editor) : undefined;
  const question = await vscode.window.showInputBox({
    title: 'Tierwise: Ask',
    prompt: context ? `Ask about ${context.where} of ${context.path}` : 'Ask a question',
    placeHolder: 'e.g. why does this return NaN for an empty list?',
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() === '' ? 'Type a question.' : undefined),
  });
  if (!question?.trim()) return;

  const request = askRequest(question, context);
  services.log.prompt('Ask prompt', request.messages[0].content);
  await streamAnswer(services, answers, {
    title: question,
    header: `# ${question.trim().replace(/\s+/g, ' ')}${context ? `\n\n_About ${context.where} of \`${context.path}\`._` : ''}`,
    progressTitle: 'Answering…',
    request,
  });
}

/** The editor text sent with the question: the selection, or else the lines in view. */
function editorContext(editor: vscode.TextEditor): AskContext {
  const document = editor.document;
  const path = vscode.workspace.asRelativePath(document.uri);
  if (!editor.selection.isEmpty) {
    const { start, end } = editor.selection;
    // A selection of whole lines ends at column 0 of the next line, which is not part of it.
    const lastLine = end.character === 0 && end.line > start.line ? end.line : end.line + 1;
    const lines = lastLine === start.line + 1 ? `line ${lastLine}` : `lines ${start.line + 1}–${lastLine}`;
    return { path, languageId: document.languageId, where: `the selection (${lines})`, text: document.getText(editor.selection) };
  }
  const visible = editor.visibleRanges.length > 0 ? editor.visibleRanges : [new vscode.Range(0, 0, Math.min(document.lineCount, 60) - 1, 0)];
  const first = visible[0].start.line;
  const last = Math.min(visible[visible.length - 1].end.line, document.lineCount - 1);
  const range = new vscode.Range(first, 0, last, document.lineAt(last).text.length);
  return { path, languageId: document.languageId, where: `the visible lines ${first + 1}–${last + 1}`, text: document.getText(range) };
}
