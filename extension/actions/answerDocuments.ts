import * as vscode from 'vscode';
import { DisposableOwner } from '../lifecycle';
import type { RouteRequest } from '../router/decide';
import { nonEmpty } from '../router/validators/verdict';
import { describeResult, runRoutedActionOutcome, type ActionServices, type RoutedOutcome } from './routedAction';

export const ANSWER_SCHEME = 'tierwise-answer';
/** How often a streaming answer's editor is refreshed; each refresh re-reads the whole text. */
const REFRESH_INTERVAL_MS = 80;
/** Answers kept for reopening; older ones are dropped (their tabs show empty text if reopened). */
const MAX_KEPT_ANSWERS = 30;

interface Answer {
  header: string;
  body: string;
  footer: string;
}

/**
 * Model answers as read-only Markdown documents (`tierwise-answer:/….md`) that fill in while the answer streams.
 * Read-only virtual documents never ask "save changes?" when closed; the user can copy or preview them.
 */
export class AnswerDocuments extends DisposableOwner implements vscode.TextDocumentContentProvider {
  private readonly changed = this.register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;
  private readonly answers = new Map<string, Answer>();
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();
  private nextId = 1;

  constructor() {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(ANSWER_SCHEME, this));
    this.register({ dispose: () => this.pending.forEach((timer) => clearTimeout(timer)) });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const answer = this.answers.get(uri.toString());
    return answer ? [answer.header, answer.body, answer.footer].filter((part) => part !== '').join('\n\n') + '\n' : '';
  }

  /** Creates an answer document named after `title` and opens it beside the active editor. */
  async open(title: string, header: string): Promise<vscode.Uri> {
    const slug = title.replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-|-$/g, '').slice(0, 40) || 'answer';
    const uri = vscode.Uri.from({ scheme: ANSWER_SCHEME, path: `/${slug}.md`, query: String(this.nextId++) });
    this.answers.set(uri.toString(), { header, body: '', footer: '' });
    this.forgetOldest();
    let document = await vscode.workspace.openTextDocument(uri);
    if (document.languageId !== 'markdown') document = await vscode.languages.setTextDocumentLanguage(document, 'markdown');
    await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: false });
    return uri;
  }

  append(uri: vscode.Uri, text: string): void {
    this.update(uri, (answer) => ({ ...answer, body: answer.body + text }));
  }

  /** Replaces the body (an escalation starts the answer over). */
  setBody(uri: vscode.Uri, body: string): void {
    this.update(uri, (answer) => ({ ...answer, body }));
  }

  setFooter(uri: vscode.Uri, footer: string): void {
    this.update(uri, (answer) => ({ ...answer, footer }), true);
  }

  private update(uri: vscode.Uri, change: (answer: Answer) => Answer, now = false): void {
    const key = uri.toString();
    const answer = this.answers.get(key);
    if (!answer) return;
    this.answers.set(key, change(answer));
    if (now) {
      clearTimeout(this.pending.get(key));
      this.pending.delete(key);
      this.changed.fire(uri);
      return;
    }
    if (this.pending.has(key)) return;
    this.pending.set(
      key,
      setTimeout(() => {
        this.pending.delete(key);
        this.changed.fire(uri);
      }, REFRESH_INTERVAL_MS),
    );
  }

  private forgetOldest(): void {
    while (this.answers.size > MAX_KEPT_ANSWERS) this.answers.delete(this.answers.keys().next().value!);
  }
}

/** "Routing to mid · gpt-5-mini…": where the question is about to go, before the first word arrives. */
function routePreview(services: ActionServices, request: RouteRequest): string {
  try {
    const decision = services.router.decide(request);
    return decision.kind === 'route' ? `Asking ${decision.tier} · ${decision.endpoint.model}…` : `Asking (${decision.reason})…`;
  } catch {
    return 'Asking…';
  }
}

export interface StreamedAnswerOptions {
  /** Names the document. */
  title: string;
  header: string;
  progressTitle: string;
  request: RouteRequest;
}

/**
 * Opens an answer document beside, streams the routed answer into it (starting over when an escalation starts a new
 * attempt) and ends it with which tier and model answered and what it cost. Returns the run, or undefined.
 */
export async function streamAnswer(services: ActionServices, answers: AnswerDocuments, options: StreamedAnswerOptions): Promise<RoutedOutcome> {
  const uri = await answers.open(options.title, options.header);
  answers.setFooter(uri, `---\n\n_${routePreview(services, options.request)}_`);
  let attempt = 0;
  let outcome: RoutedOutcome;
  try {
    outcome = await runRoutedActionOutcome(services, {
      title: options.progressTitle,
      request: options.request,
      validator: nonEmpty,
      onText: (delta, attemptNumber) => {
        if (attemptNumber !== attempt) {
          attempt = attemptNumber;
          answers.setBody(uri, '');
        }
        answers.append(uri, delta);
      },
    });
  } finally {
    services.onSpend();
  }
  if (outcome.kind !== 'answered') {
    answers.setFooter(uri, outcome.kind === 'cancelled' ? '---\n\n_No answer: cancelled._' : '---\n\n_No answer: the request failed (see the notification and the Tierwise log)._');
    return outcome;
  }
  const { result } = outcome;
  // The streamed text is the final attempt's; the result's text is authoritative (e.g. a provider that did not stream).
  answers.setBody(uri, result.text.trim());
  const check = result.verdict.ok ? '' : ` · ⚠ failed its check: ${result.verdict.reason}`;
  answers.setFooter(uri, `---\n\n_Answered by ${describeResult(result)}${check}._`);
  return outcome;
}
