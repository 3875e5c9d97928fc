import * as vscode from 'vscode';
import { AnswerDocuments } from './actions/answerDocuments';
import { registerAskAction } from './actions/ask';
import { registerCommitMessageAction } from './actions/commitMessage';
import { registerExplainDiagnosticAction } from './actions/explainDiagnostic';
import { registerFindFilesAction } from './actions/findFiles';
import { registerPlanAction } from './actions/planChange';
import { ProposalDocuments } from './actions/proposalDocuments';
import { registerRefactorAction } from './actions/refactorSelection';
import type { ActionServices } from './actions/routedAction';
import { createProviderRegistry } from './providers/registry';
import { Ledger, defaultLedgerDir } from './router/ledger/ledger';
import { Router } from './router/router';
import { ApiKeyStore } from './ui/apiKeys';
import { GatewayController } from './ui/gatewayController';
import { LocalModelCheck } from './ui/localModelCheck';
import { TierwiseLog } from './ui/outputLog';
import { TierwiseSettings } from './ui/settings';
import { SpendPanelSource } from './ui/spendPanelSource';
import { SpendStatusBar } from './ui/spendStatusBar';
import { SpendViewProvider } from './ui/spendViewProvider';

const OPEN_SPEND_VIEW_COMMAND = 'tierwise.openSpendView';

/** The composition root: builds Tierwise's parts once, wires them together and registers them for disposal. */
export function activate(context: vscode.ExtensionContext): void {
  const startedAt = performance.now();
  const version = String(context.extension.packageJSON.version ?? '0.0.0');
  const subscriptions = context.subscriptions;

  let settings: TierwiseSettings | undefined;
  const log = new TierwiseLog(() => settings?.extension.logPrompts ?? false);
  subscriptions.push(log);
  settings = new TierwiseSettings((problems) => {
    for (const problem of problems) log.warn(`Setting ignored: ${problem}`);
    void vscode.window
      .showWarningMessage(`Tierwise: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}. The default is used instead.`, 'Open Settings')
      .then((choice) => choice && vscode.commands.executeCommand('workbench.action.openSettings', problems[0].split(':')[0]));
  });
  subscriptions.push(settings);
  const activeSettings = settings;

  const keys = new ApiKeyStore(context.secrets, context.globalState);
  const providers = createProviderRegistry();
  const ledgerDir = activeSettings.extension.ledgerDirectory ?? defaultLedgerDir();
  const ledger = new Ledger({ dir: ledgerDir });
  subscriptions.push({ dispose: () => ledger.close() });
  const router = new Router({
    config: () => activeSettings.config,
    ledger,
    providers,
    keys: keys.resolver,
    client: 'editor',
    log: (line) => log.info(line),
  });

  const panelSource = new SpendPanelSource({ ledger, settings: activeSettings, providers, keys: keys.resolver, version });
  const statusBar = new SpendStatusBar(OPEN_SPEND_VIEW_COMMAND);
  const spendView = new SpendViewProvider(context.extensionUri, panelSource);
  const refreshSpend = () => {
    statusBar.show(ledger.totals(), activeSettings.config.budgets);
    spendView.refresh();
  };
  subscriptions.push(
    statusBar,
    spendView,
    vscode.window.registerWebviewViewProvider(SpendViewProvider.viewId, spendView),
    vscode.commands.registerCommand(OPEN_SPEND_VIEW_COMMAND, () => vscode.commands.executeCommand(`${SpendViewProvider.viewId}.focus`)),
    ledger.watch(refreshSpend),
    activeSettings.onDidChange((config) => {
      const caps = config.budgets;
      log.info(
        `Settings applied: routes ${Object.entries(config.routes).map(([task, tier]) => `${task}→${tier}`).join(' ')}; ` +
          `caps daily ${caps.dailyUsd ?? 'none'} monthly ${caps.monthlyUsd ?? 'none'} per-request ${caps.perRequestUsd ?? 'none'}, policy ${caps.policy}`,
      );
      refreshSpend();
      // Calls in flight hold reservations in the open ledger, so the folder switches at the next window load.
      const wantedDir = activeSettings.extension.ledgerDirectory ?? defaultLedgerDir();
      if (wantedDir !== ledgerDir) {
        void vscode.window
          .showInformationMessage(`Tierwise: the spend ledger moves to ${wantedDir} when the window reloads.`, 'Reload Window')
          .then((choice) => choice && vscode.commands.executeCommand('workbench.action.reloadWindow'));
      }
    }),
  );

  const services: ActionServices = { router, log, settings: activeSettings, onSpend: refreshSpend };
  // Refactors and plan steps share the proposal diffs; Ask and plan answers share the streamed answer documents.
  const proposals = new ProposalDocuments();
  const answers = new AnswerDocuments();
  subscriptions.push(
    proposals,
    answers,
    registerCommitMessageAction(services),
    registerExplainDiagnosticAction(services),
    registerFindFilesAction(services),
    registerRefactorAction(services, proposals),
    registerPlanAction(services, proposals, answers),
    registerAskAction(services, answers),
    vscode.commands.registerCommand('tierwise.setApiKey', async () => {
      const name = await keys.promptAndStore(activeSettings.config);
      if (name) {
        log.info(`API key ${name} stored in secret storage`);
        void vscode.window.showInformationMessage(`Tierwise: ${name} saved in VS Code's secret storage.`);
      }
    }),
    vscode.commands.registerCommand('tierwise.clearApiKey', async () => {
      const name = await keys.promptAndClear(activeSettings.config);
      if (name) {
        log.info(`API key ${name} removed from secret storage`);
        void vscode.window.showInformationMessage(`Tierwise: ${name} removed.`);
      }
    }),
    vscode.commands.registerCommand('tierwise.showLog', () => log.show()),
  );

  const gateway = new GatewayController({ settings: activeSettings, ledger, ledgerDir, keys: keys.resolver, log, environment: context.environmentVariableCollection });
  subscriptions.push(gateway, vscode.commands.registerCommand('tierwise.configureCodex', () => gateway.configureCodex()));

  const localCheck = new LocalModelCheck({ settings: activeSettings, providers, keys: keys.resolver, log, globalState: context.globalState, extensionUri: context.extensionUri });
  subscriptions.push(localCheck, vscode.commands.registerCommand('tierwise.checkLocalModel', () => localCheck.run({ userAsked: true })));

  refreshSpend();
  log.info(`Tierwise ${version} activated in ${(performance.now() - startedAt).toFixed(1)} ms`);

  // After activation, off the start-up path: the local server check and the offer to use environment keys.
  setTimeout(() => {
    void gateway.sync();
    void localCheck.run({ userAsked: false });
    void keys.offerEnvironmentKeys(process.env);
  }, 0);
}

export function deactivate(): void {
  // Everything is registered in context.subscriptions, which VS Code disposes.
}
