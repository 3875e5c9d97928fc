import * as path from 'node:path';
import * as vscode from 'vscode';
import { buildExplainDiagnosticRequest, describeDiagnosticKind, type DiagnosticFacts, type DiagnosticSeverityName } from '../router/prompts/explainDiagnostic';
import { explanationValidator } from '../router/validators/explanation';
import { announceResult, describeResult, runRoutedAction, type ActionServices } from './routedAction';

const COMMAND = 'tierwise.explainProblem';
const ACTION_TITLE = 'Tierwise: Explain this problem';
/** Explanations are read-only Markdown documents under this scheme: no "save changes?" when closed. */
const EXPLANATION_SCHEME = 'tierwise-explanation';
/** How often a streaming explanation is redrawn. */
const STREAM_REDRAW_MS = 120;
/** Related-information lines (e.g. "'x' is declared here") sent with the problem. */
const MAX_RELATED = 5;

const SEVERITY_NAMES: Record<vscode.DiagnosticSeverity, DiagnosticSeverityName> = {
  [vscode.DiagnosticSeverity.Error]: 'error',
  [vscode.DiagnosticSeverity.Warning]: 'warning',
  [vscode.DiagnosticSeverity.Information]: 'information',
  [vscode.DiagnosticSeverity.Hint]: 'hint',
};

export function registerExplainDiagnosticAction(services: ActionServices): vscode.Disposable {
  const explanations = new ExplanationDocuments();
  return vscode.Disposable.from(
    explanations,
    vscode.workspace.registerTextDocumentContentProvider(EXPLANATION_SCHEME, explanations),
    vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, new ExplainProblemActions(), {
      providedCodeActionKinds: ExplainProblemActions.providedCodeActionKinds,
    }),
    vscode.commands.registerCommand(COMMAND, async (uri?: unknown, diagnostic?: unknown) => {
      const target = uri instanceof vscode.Uri && diagnostic instanceof vscode.Diagnostic ? { uri, diagnostic } : problemAtCursor();
      if (target) await explain(services, explanations, target.uri, target.diagnostic);
    }),
  );
}

/** "Tierwise: Explain this problem" in the light bulb / Ctrl+. menu of every diagnostic. */
class ExplainProblemActions implements vscode.CodeActionProvider {
  static readonly providedCodeActionKinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    if (context.only && !context.only.contains(vscode.CodeActionKind.QuickFix)) return [];
    const diagnostics = context.diagnostics.filter((diagnostic) => diagnostic.message.trim() !== '');
    return diagnostics.map((diagnostic) => {
      // Several problems under the cursor each get their own entry, told apart by their message.
      const title = diagnostics.length === 1 ? ACTION_TITLE : `${ACTION_TITLE}: ${shorten(firstLine(diagnostic.message), 60)}`;
      const action = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
      action.diagnostics = [diagnostic];
      action.command = { command: COMMAND, title, arguments: [document.uri, diagnostic] };
      return action;
    });
  }
}

/** From the palette: the problem under the cursor, else the nearest one on the cursor's line, errors first. */
function problemAtCursor(): { uri: vscode.Uri; diagnostic: vscode.Diagnostic } | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('Tierwise: open a file and put the cursor on a problem to explain it.');
    return undefined;
  }
  const position = editor.selection.active;
  const onLine = vscode.languages
    .getDiagnostics(editor.document.uri)
    .filter((diagnostic) => diagnostic.range.start.line <= position.line && diagnostic.range.end.line >= position.line);
  const distance = (range: vscode.Range) =>
    range.contains(position) ? 0 : range.start.isAfter(position) ? range.start.character - position.character : position.character - range.end.character;
  const nearest = onLine.sort((a, b) => distance(a.range) - distance(b.range) || a.severity - b.severity)[0];
  if (!nearest) {
    void vscode.window.showInformationMessage(`Tierwise: there is no problem on line ${position.line + 1} to explain. Put the cursor on a squiggle first.`);
    return undefined;
  }
  return { uri: editor.document.uri, diagnostic: nearest };
}

async function explain(services: ActionServices, explanations: ExplanationDocuments, uri: vscode.Uri, diagnostic: vscode.Diagnostic): Promise<void> {
  const document = await vscode.workspace.openTextDocument(uri);
  const relativePath = vscode.workspace.asRelativePath(uri);
  const facts = diagnosticFacts(diagnostic);
  const request = buildExplainDiagnosticRequest({
    diagnostic: facts,
    languageId: document.languageId,
    relativePath,
    documentLines: document.getText().split('\n'),
  });
  services.log.info(`Explain problem: ${describeDiagnosticKind(facts)} in a ${document.languageId} file`);
  services.log.prompt('Explain problem prompt', request.messages[0].content);

  const location = `${relativePath}:${facts.range.startLine + 1} · ${describeDiagnosticKind(facts)}`;
  const page = (status: string, body: string) => `# ${firstLine(diagnostic.message)}\n\n${status}\n\n${body.trim()}\n`;
  const explanationUri = explanations.create(`${path.basename(uri.path)}-${facts.range.startLine + 1}`);

  // The answer streams into the document as it arrives; an escalation starts the text over.
  let streamed = '';
  let streamingAttempt = -1;
  let opened: Promise<unknown> | undefined;
  let redraw: NodeJS.Timeout | undefined;
  const onText = (delta: string, attempt: number) => {
    if (attempt !== streamingAttempt) {
      streamingAttempt = attempt;
      streamed = '';
    }
    streamed += delta;
    redraw ??= setTimeout(() => {
      redraw = undefined;
      explanations.set(explanationUri, page(`_${location} · Tierwise is answering…_`, streamed));
      opened ??= showBeside(explanationUri);
    }, STREAM_REDRAW_MS);
  };

  let result;
  try {
    result = await runRoutedAction(services, { title: 'Explaining the problem…', request, validator: explanationValidator, onText });
  } finally {
    if (redraw) clearTimeout(redraw);
    services.onSpend();
  }
  if (!result) {
    if (opened) explanations.set(explanationUri, page(`_${location} · no answer: the request was cancelled or failed (see Tierwise: Show Log)._`, streamed));
    return;
  }
  explanations.set(explanationUri, page(`_${location} · answered by ${describeResult(result)}_`, result.text));
  await (opened ?? showBeside(explanationUri));
  announceResult('lightbulb', 'explanation', result);
}

async function showBeside(uri: vscode.Uri): Promise<void> {
  const document = await vscode.workspace.openTextDocument(uri);
  if (document.languageId !== 'markdown') await vscode.languages.setTextDocumentLanguage(document, 'markdown');
  await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
}

function diagnosticFacts(diagnostic: vscode.Diagnostic): DiagnosticFacts {
  const { start, end } = diagnostic.range;
  const code = typeof diagnostic.code === 'object' ? diagnostic.code.value : diagnostic.code;
  return {
    message: diagnostic.message,
    severity: SEVERITY_NAMES[diagnostic.severity] ?? 'error',
    source: diagnostic.source,
    code: code === undefined ? undefined : String(code),
    range: { startLine: start.line, startCharacter: start.character, endLine: end.line, endCharacter: end.character },
    related: diagnostic.relatedInformation
      ?.slice(0, MAX_RELATED)
      .map((info) => `${vscode.workspace.asRelativePath(info.location.uri)}:${info.location.range.start.line + 1}: ${firstLine(info.message)}`),
  };
}

/** Read-only Markdown documents holding explanations, kept until their editor is closed. */
class ExplanationDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly closeListener = vscode.workspace.onDidCloseTextDocument((document) => {
    if (document.uri.scheme === EXPLANATION_SCHEME) this.contents.delete(document.uri.toString());
  });
  private created = 0;

  /** A new document's address; the name shows on its tab. */
  create(name: string): vscode.Uri {
    return vscode.Uri.from({ scheme: EXPLANATION_SCHEME, path: `/Explain ${name.replace(/[\\/?#]/g, '_')}.md`, query: String(++this.created) });
  }

  set(uri: vscode.Uri, text: string): void {
    this.contents.set(uri.toString(), text);
    this.changed.fire(uri);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  dispose(): void {
    this.closeListener.dispose();
    this.changed.dispose();
    this.contents.clear();
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

function shorten(text: string, maxChars: number): string {
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}
