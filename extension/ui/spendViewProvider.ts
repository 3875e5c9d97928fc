import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { DisposableOwner } from '../lifecycle';
import type { FromWebviewMessage, ToWebviewMessage } from '../../webview/protocol';
import type { SpendPanelSource } from './spendPanelSource';

/** The "Spend & Routing" sidebar view: a webview app under a strict CSP that talks over the typed protocol. */
export class SpendViewProvider extends DisposableOwner implements vscode.WebviewViewProvider {
  static readonly viewId = 'tierwise.spendView';
  private view: vscode.WebviewView | undefined;
  /** Messages are held until the webview says it is ready, so none is lost while its script loads. */
  private webviewReady = false;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly source: SpendPanelSource,
  ) {
    super();
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.webviewReady = false;
    const mediaRoot = vscode.Uri.joinPath(this.extensionUri, 'media');
    const distRoot = vscode.Uri.joinPath(this.extensionUri, 'dist');
    view.webview.options = { enableScripts: true, localResourceRoots: [mediaRoot, distRoot] };
    view.webview.html = this.html(view.webview, distRoot, mediaRoot);
    this.register(view.webview.onDidReceiveMessage((message: FromWebviewMessage) => this.receive(message)));
    this.register(
      view.onDidDispose(() => {
        this.view = undefined;
        this.webviewReady = false;
      }),
    );
  }

  /** Sends the current state if the view is open and listening. */
  refresh(): void {
    this.post({ type: 'state', payload: this.source.state() });
  }

  private receive(message: FromWebviewMessage): void {
    switch (message.type) {
      case 'ready':
        this.webviewReady = true;
        this.refresh();
        break;
    }
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
<main id="app" aria-live="polite"></main>
<script nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>`;
  }
}
