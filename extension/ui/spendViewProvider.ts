import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { DisposableOwner, disposeAll, type Disposable } from '../lifecycle';
import type {
  FromWebviewMessage,
  PanelCommand,
  RequestMessage,
  RequestName,
  ResponseMessage,
  ResponseOf,
  ToWebviewMessage,
} from '../../webview/protocol';
import type { SpendPanelSource } from './spendPanelSource';

/** The fixed commands the panel's buttons may run; the webview names one, it cannot run anything else. */
const PANEL_COMMANDS: Record<PanelCommand, readonly [string, ...unknown[]]> = {
  setApiKey: ['tierwise.setApiKey'],
  openBudgetSettings: ['workbench.action.openSettings', 'tierwise.budgets'],
  openRoutingSettings: ['workbench.action.openSettings', 'tierwise.routes'],
  showLog: ['tierwise.showLog'],
};

type RequestHandlers = { [Name in RequestName]: (payload: Extract<RequestMessage, { name: Name }>['payload']) => Promise<ResponseOf<Name>> };

/** The "Spend & Routing" sidebar view: a webview app under a strict CSP that talks over the typed protocol. */
export class SpendViewProvider extends DisposableOwner implements vscode.WebviewViewProvider {
  static readonly viewId = 'tierwise.spendView';
  private view: vscode.WebviewView | undefined;
  /** Listeners of the current view, dropped when VS Code disposes it (it may resolve the view again later). */
  private viewListeners: Disposable[] = [];
  /** Messages are held until the webview says it is ready, so none is lost while its script loads. */
  private webviewReady = false;

  /** Each handler answers every request, failures included, so the webview never waits for nothing. */
  private readonly requestHandlers: RequestHandlers = {
    updateSetting: (edit) =>
      this.source.applyEdit(edit).catch((error: unknown) => ({ ok: false as const, error: `Tierwise could not save the setting: ${(error as Error).message}` })),
    refreshProviders: () => this.source.providerStatus({ force: true }).catch(() => this.source.currentProviderStatus()),
  };

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly source: SpendPanelSource,
  ) {
    super();
    this.register({ dispose: () => disposeAll(this.viewListeners.splice(0)) });
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    disposeAll(this.viewListeners.splice(0));
    this.view = view;
    this.webviewReady = false;
    const mediaRoot = vscode.Uri.joinPath(this.extensionUri, 'media');
    const distRoot = vscode.Uri.joinPath(this.extensionUri, 'dist');
    view.webview.options = { enableScripts: true, localResourceRoots: [mediaRoot, distRoot] };
    view.webview.html = this.html(view.webview, distRoot, mediaRoot);
    this.viewListeners.push(
      view.webview.onDidReceiveMessage((message: FromWebviewMessage) => this.receive(message)),
      view.onDidDispose(() => {
        if (this.view !== view) return;
        this.view = undefined;
        this.webviewReady = false;
        disposeAll(this.viewListeners.splice(0));
      }),
    );
  }

  /** Sends the current state if the view is open and listening; checks the endpoints again if they changed. */
  refresh(): void {
    if (!this.view || !this.webviewReady) return;
    this.postState();
    if (this.source.endpointsChangedSinceCheck()) this.checkProviders(false);
  }

  private postState(): void {
    let state;
    try {
      state = this.source.state();
    } catch (error) {
      // A ledger read failure must not take the panel down; the next change tries again.
      console.error('Tierwise: could not read the spend panel state', error);
      return;
    }
    this.post({ type: 'state', payload: state });
  }

  /** Posts the cached status now and, when it is stale (or `force`), the fresh one when the check finishes. */
  private checkProviders(force: boolean): void {
    if (!force && !this.source.providerStatusIsStale()) {
      this.post({ type: 'providerStatus', payload: this.source.currentProviderStatus() });
      return;
    }
    const result = this.source.providerStatus({ force });
    this.post({ type: 'providerStatus', payload: this.source.currentProviderStatus() });
    // The status as kept, not this check's own answer: a newer check may have started meanwhile.
    void result.then(() => this.post({ type: 'providerStatus', payload: this.source.currentProviderStatus() }));
  }

  private receive(message: FromWebviewMessage): void {
    switch (message.type) {
      case 'ready':
        // Also after the view was hidden and shown again: VS Code reloads its content.
        this.webviewReady = true;
        this.postState();
        this.checkProviders(false);
        break;
      case 'runCommand':
        void this.runPanelCommand(message.payload.command);
        break;
      case 'request':
        void this.answer(message);
        break;
    }
  }

  private async runPanelCommand(command: PanelCommand): Promise<void> {
    const target = Object.hasOwn(PANEL_COMMANDS, command) ? PANEL_COMMANDS[command] : undefined;
    if (!target) return;
    const [id, ...args] = target;
    await vscode.commands.executeCommand(id, ...args);
    // A key stored or removed changes what the status shows.
    if (command === 'setApiKey') this.checkProviders(true);
  }

  private async answer(request: RequestMessage): Promise<void> {
    const handler = Object.hasOwn(this.requestHandlers, request.name) ? this.requestHandlers[request.name] : undefined;
    if (!handler) return;
    // The request's name picks the handler; TypeScript cannot correlate the two through the union.
    const payload = await (handler as (payload: unknown) => Promise<ResponseOf<RequestName>>)(request.payload);
    this.post({ type: 'response', name: request.name, seq: request.seq, payload } as ResponseMessage);
  }

  private post(message: ToWebviewMessage): void {
    if (this.view && this.webviewReady) void this.view.webview.postMessage(message);
  }

  private html(webview: vscode.Webview, distRoot: vscode.Uri, mediaRoot: vscode.Uri): string {
    const nonce = randomBytes(16).toString('base64');
    const scriptUri = webview.asWebviewUri(vscode.Uri.joinPath(distRoot, 'webview.js'));
    const styleUri = webview.asWebviewUri(vscode.Uri.joinPath(mediaRoot, 'spendView.css'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${styleUri}" rel="stylesheet">
<title>Spend &amp; Routing</title>
</head>
<body>
<main id="app"></main>
<div id="announcer" class="visually-hidden" role="status" aria-live="polite"></div>
<script nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>`;
  }
}
