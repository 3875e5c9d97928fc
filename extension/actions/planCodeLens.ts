import * as vscode from 'vscode';
import { readPlanState, stepHeadingLines } from '../router/plan';

export const RUN_PLAN_STEP_COMMAND = 'tierwise.runPlanStep';
const PLAN_MARKER = '<!-- tierwise-plan v1';

/** "Run step N" above each step heading of a plan document; "Running step N…" while it runs. */
export class PlanCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly isRunning: (uri: vscode.Uri, stepIndex: number) => boolean) {}

  /** Re-asks VS Code for the lenses (a step started or finished). */
  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const text = document.getText();
    if (!text.includes(PLAN_MARKER)) return [];
    const state = readPlanState(text);
    if (!state) return [];
    const lenses: vscode.CodeLens[] = [];
    for (const [index, line] of stepHeadingLines(text)) {
      const step = state.steps[index];
      if (!step) continue;
      const range = new vscode.Range(line, 0, line, 0);
      const number = index + 1;
      if (this.isRunning(document.uri, index)) {
        lenses.push(new vscode.CodeLens(range, { title: `$(sync~spin) Running step ${number}…`, command: '' }));
        continue;
      }
      const again = step.status.state === 'done' || step.status.state === 'failed';
      lenses.push(
        new vscode.CodeLens(range, {
          title: again ? `Run step ${number} again` : `Run step ${number}`,
          tooltip: `Run step ${number} on the ${step.tier} tier (${step.kind === 'refactor' ? 'proposes edits to its files' : 'answers in Markdown beside'})`,
          command: RUN_PLAN_STEP_COMMAND,
          arguments: [document.uri, index],
        }),
      );
    }
    return lenses;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
