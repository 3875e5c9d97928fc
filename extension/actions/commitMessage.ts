import * as vscode from 'vscode';
import type { ActionServices } from './routedAction';

// PLACEHOLDER while the action is being written; replaced before this lands.
export function registerCommitMessageAction(_services: ActionServices): vscode.Disposable {
  return vscode.commands.registerCommand('tierwise.generateCommitMessage', () => vscode.window.showWarningMessage('Tierwise: not implemented yet'));
}
