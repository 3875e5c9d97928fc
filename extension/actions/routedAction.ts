import * as vscode from 'vscode';
import { BudgetBlockedError, describeViolation } from '../router/budget';
import { formatUsd } from '../router/money';
import type { RouteRequest } from '../router/decide';
import { NoEndpointError, OverCapDeclinedError, TierExhaustedError } from '../router/errors';
import type { Router, RunOptions, RunResult } from '../router/router';
import type { Validator } from '../router/validators/verdict';
import { ProviderError } from '../providers/types';
import type { TierwiseLog } from '../ui/outputLog';
import type { TierwiseSettings } from '../ui/settings';

/** What every action needs from the rest of the extension; built once in extension.ts. */
export interface ActionServices {
  router: Router;
  log: TierwiseLog;
  settings: TierwiseSettings;
  /** Called after every settled action so the meter and panel refresh at once (they also watch the ledger). */
  onSpend: () => void;
}

export interface RoutedActionOptions {
  /** Shown in the progress notification: "Tierwise: Generating commit message…". */
  title: string;
  request: RouteRequest;
  validator?: Validator;
  json?: boolean;
  onText?: RunOptions['onText'];
}

const usd = formatUsd;

/** How long the status bar says who answered and what it cost. */
const RESULT_STATUS_MS = 10_000;

/** "$(git-commit) Tierwise commit message: local · qwen2.5-coder:7b · $0" in the status bar for a few seconds. */
export function announceResult(icon: string, label: string, result: RunResult): void {
  vscode.window.setStatusBarMessage(`$(${icon}) Tierwise ${label}: ${describeResult(result)}`, RESULT_STATUS_MS);
}

/** "local · qwen2.5-coder:7b · $0.0000 (1 escalation)": which tier and model answered and what it cost. */
export function describeResult(result: RunResult): string {
  const escalations = new Set(result.attempts.map((attempt) => attempt.tier)).size - 1;
  return `${result.tier} · ${result.model} · ${usd(result.costUsd)}${escalations > 0 ? ` (${escalations} escalation${escalations > 1 ? 's' : ''})` : ''}`;
}

/** How a routed action ended: an answer (which may have failed its check), a cancellation, or a shown error. */
export type RoutedOutcome = { kind: 'answered'; result: RunResult } | { kind: 'cancelled' } | { kind: 'failed' };

/** runRoutedActionOutcome for callers that only need the answer: undefined when cancelled or failed. */
export async function runRoutedAction(services: ActionServices, options: RoutedActionOptions): Promise<RunResult | undefined> {
  const outcome = await runRoutedActionOutcome(services, options);
  return outcome.kind === 'answered' ? outcome.result : undefined;
}

/**
 * Runs one routed request under a cancellable progress notification. Failures are shown with an action that fixes
 * them (a setting, a key, the log); a cancellation is not an error.
 */
export async function runRoutedActionOutcome(services: ActionServices, options: RoutedActionOptions): Promise<RoutedOutcome> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Tierwise: ${options.title}`, cancellable: true },
    async (_progress, token): Promise<RoutedOutcome> => {
      const abort = new AbortController();
      const cancellation = token.onCancellationRequested(() => abort.abort(new Error('cancelled by the user')));
      try {
        const result = await services.router.run(options.request, {
          validator: options.validator,
          json: options.json,
          signal: abort.signal,
          onText: options.onText,
          confirmOverCap: async (decision) => {
            const answer = await vscode.window.showWarningMessage(
              `Tierwise: ${describeViolation(decision.violation)}. Spend past the cap?`,
              { modal: true },
              'Spend Anyway',
            );
            return answer === 'Spend Anyway';
          },
        });
        for (const notice of result.notices) {
          services.log.warn(notice);
          void vscode.window.showWarningMessage(`Tierwise: ${notice}`);
        }
        if (!result.verdict.ok) {
          void vscode.window.showWarningMessage(`Tierwise: the answer failed its check at every allowed tier (${result.verdict.reason}). ${describeResult(result)}`);
        }
        return { kind: 'answered', result };
      } catch (error) {
        if (abort.signal.aborted) return { kind: 'cancelled' };
        // Not awaited: the progress notification ends now, and the error stays until the user acts on it.
        void showActionError(services.log, options.title, error);
        return { kind: 'failed' };
      } finally {
        cancellation.dispose();
      }
    },
  );
}

async function showActionError(log: TierwiseLog, title: string, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  log.error(`${title}: ${message}`);
  if (error instanceof BudgetBlockedError) {
    const choice = await vscode.window.showErrorMessage(message, 'Open Budget Settings');
    if (choice) await vscode.commands.executeCommand('workbench.action.openSettings', error.violation.setting);
    return;
  }
  if (error instanceof ProviderError && error.kind === 'auth') {
    const choice = await vscode.window.showErrorMessage(`Tierwise: ${message}`, 'Set API Key…');
    if (choice) await vscode.commands.executeCommand('tierwise.setApiKey');
    return;
  }
  if (error instanceof OverCapDeclinedError) return;
  const known = error instanceof TierExhaustedError || error instanceof NoEndpointError || error instanceof ProviderError;
  const choice = await vscode.window.showErrorMessage(`Tierwise: ${known ? message : `${title} failed: ${message}`}`, 'Show Log');
  if (choice) log.show();
}
