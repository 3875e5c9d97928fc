import * as vscode from 'vscode';
import { DisposableOwner } from '../lifecycle';

export interface SpendMeterState {
  todayUsd: number;
}

/** The `tierwise.spend` status-bar meter: today's spend at a glance; a click opens the Spend & Routing view. */
export class SpendStatusBar extends DisposableOwner {
  static readonly itemId = 'tierwise.spend';
  private readonly item: vscode.StatusBarItem;

  constructor(openViewCommand: string) {
    super();
    this.item = this.register(
      vscode.window.createStatusBarItem(SpendStatusBar.itemId, vscode.StatusBarAlignment.Right, 100),
    );
    this.item.name = 'Tierwise Spend';
    this.item.command = openViewCommand;
  }

  show(state: SpendMeterState): void {
    this.item.text = `$(pulse) Tierwise $${state.todayUsd.toFixed(2)}`;
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**Tierwise** — spent today: $${state.todayUsd.toFixed(2)}\n\n`);
    tooltip.appendMarkdown('Click to open Spend & Routing.');
    this.item.tooltip = tooltip;
    this.item.show();
  }
}
