import * as vscode from 'vscode';
import { DisposableOwner } from '../lifecycle';
import type { ProviderKind } from '../router/config';
import { probeEndpoints, type EndpointStatus } from '../router/providerStatus';
import type { KeyResolver, ProviderAdapter } from '../providers/types';
import type { TierwiseLog } from './outputLog';
import type { TierwiseSettings } from './settings';

const FIRST_RUN_STATE = 'tierwise.firstRunWalkthroughShown';
const READY_CONTEXT = 'tierwise.localModelReady';
/** The walkthrough's first step, which says how to install Ollama and pull a model. */
const SETUP_GUIDE = ['media', 'walkthrough', 'installOllama.md'];

export interface LocalModelCheckDeps {
  settings: TierwiseSettings;
  providers: (kind: ProviderKind) => ProviderAdapter;
  keys: KeyResolver;
  log: TierwiseLog;
  globalState: vscode.Memento;
  extensionUri: vscode.Uri;
}

/**
 * First run and "Tierwise: Check Local Model": does the local tier answer, and does it have its model? If not,
 * the walkthrough explains how to install Ollama and pull a model, and what happens to local work meanwhile.
 */
export class LocalModelCheck extends DisposableOwner {
  constructor(private readonly deps: LocalModelCheckDeps) {
    super();
    this.register(
      deps.settings.onDidChange(() => {
        void this.run({ userAsked: false });
      }),
    );
  }

  async run(options: { userAsked: boolean }): Promise<EndpointStatus[]> {
    const { settings, log } = this.deps;
    const statuses = await probeEndpoints(settings.config, this.deps.providers, this.deps.keys, { tiers: ['local'] });
    const ready = statuses.find((status) => status.reachable && status.modelAvailable);
    await vscode.commands.executeCommand('setContext', READY_CONTEXT, ready !== undefined);
    if (ready) {
      log.info(`Local model ${ready.model} ready at ${ready.baseUrl}`);
      if (options.userAsked) void vscode.window.showInformationMessage(`Tierwise: local model ${ready.model} is ready at ${ready.baseUrl}.`);
      return statuses;
    }

    const meanwhile =
      settings.config.localUnavailable === 'nextTier'
        ? 'Meanwhile local-tier work goes to the mid tier, which costs money (tierwise.localUnavailable: nextTier).'
        : 'Meanwhile local-tier work is refused (tierwise.localUnavailable: refuse).';
    const missingModel = statuses.find((status) => status.reachable && !status.modelAvailable);
    const problem = missingModel
      ? `${missingModel.baseUrl} answers, but ${missingModel.model} is not installed there (run "ollama pull ${missingModel.model}").`
      : statuses.length === 0
        ? 'the local tier has no endpoints (tierwise.tiers.local).'
        : `no local model answers (${statuses.map((status) => `${status.baseUrl}: ${status.error ?? 'unreachable'}`).join('; ')}).`;
    log.warn(`Local tier not ready: ${problem} ${meanwhile}`);

    const firstRun = !this.deps.globalState.get<boolean>(FIRST_RUN_STATE);
    if (!firstRun && !options.userAsked) return statuses;
    await this.deps.globalState.update(FIRST_RUN_STATE, true);
    // Offered rather than opened: right after start-up VS Code may not have registered the walkthrough yet (it then
    // opens its own), and opening an editor would take the user's focus.
    const choice = await vscode.window.showWarningMessage(`Tierwise: ${problem} ${meanwhile}`, 'Open Setup Guide', 'Check Again');
    // The guide opens as a Markdown preview: code-server 4.117 opens its own walkthrough for an extension walkthrough
    // id (the full walkthrough stays under Welcome: Open Walkthrough… → "Get started with Tierwise").
    if (choice === 'Open Setup Guide') await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.joinPath(this.deps.extensionUri, ...SETUP_GUIDE));
    if (choice === 'Check Again') return this.run({ userAsked: true });
    return statuses;
  }
}
