import * as vscode from 'vscode';
import { SpendStatusBar } from './ui/spendStatusBar';
import { SpendViewProvider } from './ui/spendViewProvider';

const OPEN_SPEND_VIEW_COMMAND = 'tierwise.openSpendView';

/** The composition root: builds Tierwise's parts, wires them together and registers them for disposal. */
export function activate(context: vscode.ExtensionContext): void {
  const startedAt = performance.now();
  const version = String(context.extension.packageJSON.version ?? '0.0.0');
  const output = vscode.window.createOutputChannel('Tierwise');
  context.subscriptions.push(output);

  const spendState = () => ({ extensionVersion: version, todayUsd: 0, monthUsd: 0, callsThisMonth: 0 });

  const statusBar = new SpendStatusBar(OPEN_SPEND_VIEW_COMMAND);
  context.subscriptions.push(statusBar);
  statusBar.show(spendState());

  const spendView = new SpendViewProvider(context.extensionUri, spendState);
  context.subscriptions.push(
    spendView,
    vscode.window.registerWebviewViewProvider(SpendViewProvider.viewId, spendView),
    vscode.commands.registerCommand(OPEN_SPEND_VIEW_COMMAND, () =>
      vscode.commands.executeCommand(`${SpendViewProvider.viewId}.focus`),
    ),
  );

  output.appendLine(`Tierwise ${version} activated in ${(performance.now() - startedAt).toFixed(1)} ms`);
}

export function deactivate(): void {
  // Everything is registered in context.subscriptions, which VS Code disposes.
}
