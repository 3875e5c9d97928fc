import * as vscode from 'vscode';
import { mkdirSync, readFileSync, writeFileSync, existsSync, copyFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DisposableOwner } from '../lifecycle';
import { gatewayTokenPath, loadOrCreateGatewayToken, startGateway, type RunningGateway } from '../gateway';
import type { RouterLedger } from '../router/router';
import type { KeyResolver } from '../providers/types';
import { GATEWAY_TOKEN_ENV, GATEWAY_URL_ENV, withCodexStanza } from './codexConfig';
import type { TierwiseLog } from './outputLog';
import type { TierwiseSettings } from './settings';

export interface GatewayControllerDeps {
  settings: TierwiseSettings;
  ledger: RouterLedger;
  ledgerDir: string;
  keys: KeyResolver;
  log: TierwiseLog;
  /** New integrated terminals get the gateway's address and token from here (never a provider key). */
  environment: vscode.GlobalEnvironmentVariableCollection;
}

/**
 * Runs the loopback gateway while `tierwise.gateway.enabled` is on, and points new integrated terminals at it:
 * `ANTHROPIC_BASE_URL` and `ANTHROPIC_AUTH_TOKEN` for Claude Code, `TIERWISE_GATEWAY_URL` and
 * `TIERWISE_GATEWAY_TOKEN` for Codex's provider stanza. The token only opens the local gateway.
 */
export class GatewayController extends DisposableOwner {
  private running: RunningGateway | undefined;
  private starting: Promise<void> | undefined;
  private runningPort: number | undefined;

  constructor(private readonly deps: GatewayControllerDeps) {
    super();
    deps.environment.persistent = false;
    this.register(deps.settings.onDidChange(() => void this.sync()));
    this.register({ dispose: () => void this.stop() });
  }

  get url(): string | undefined {
    return this.running?.url;
  }

  /** Starts, stops or restarts the gateway to match the settings. */
  async sync(): Promise<void> {
    await this.starting;
    const { gatewayEnabled, gatewayPort } = this.deps.settings.extension;
    if (!gatewayEnabled) return this.stop();
    if (this.running && this.runningPort === gatewayPort) return;
    await this.stop();
    this.starting = this.start(gatewayPort);
    await this.starting;
  }

  private async start(port: number): Promise<void> {
    const { settings, log } = this.deps;
    try {
      const running = await startGateway({
        config: () => settings.config,
        ledger: this.deps.ledger,
        keys: this.deps.keys,
        tokenValue: loadOrCreateGatewayToken(gatewayTokenPath(this.deps.ledgerDir)),
        port,
        log: (line) => log.info(`gateway: ${line}`),
        debugLogPrompts: () => settings.extension.logPrompts,
      });
      this.running = running;
      this.runningPort = port;
      const environment = this.deps.environment;
      environment.replace('ANTHROPIC_BASE_URL', running.url);
      environment.replace('ANTHROPIC_AUTH_TOKEN', running.token);
      environment.replace(GATEWAY_URL_ENV, running.url);
      environment.replace(GATEWAY_TOKEN_ENV, running.token);
      environment.description = new vscode.MarkdownString(
        `Tierwise routes \`claude\` and \`codex\` started here through its gateway at ${running.url}, under your caps.`,
      );
      log.info(`Gateway listening at ${running.url}; new terminals route claude (and codex with the Tierwise profile) through it`);
    } catch (error) {
      const message = `Tierwise: the gateway could not start on port ${port || '(any)'}: ${(error as Error).message}. Check tierwise.gateway.port.`;
      log.error(message);
      void vscode.window.showErrorMessage(message, 'Open Settings').then((choice) => choice && vscode.commands.executeCommand('workbench.action.openSettings', 'tierwise.gateway'));
    } finally {
      this.starting = undefined;
    }
  }

  private async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    this.runningPort = undefined;
    this.deps.environment.clear();
    if (running) {
      await running.close();
      this.deps.log.info('Gateway stopped');
    }
  }

  /** "Tierwise: Configure Codex for the Gateway": writes the provider stanza into Codex's config.toml, on request. */
  async configureCodex(): Promise<void> {
    const url = this.running?.url;
    if (!url) {
      const choice = await vscode.window.showWarningMessage('Tierwise: the gateway is off. Turn on tierwise.gateway.enabled first.', 'Turn It On');
      if (choice) await this.deps.settings.update('gateway.enabled', true);
      return;
    }
    if (this.deps.settings.extension.gatewayPort === 0 && this.runningPort === 0) {
      // config.toml holds a fixed URL, so the port must stay the same across VS Code restarts.
      const port = Number(new URL(url).port);
      const pin = await vscode.window.showInformationMessage(
        `Codex's config holds the gateway's URL, but the gateway picks a new port at each start. Keep it on port ${port} (tierwise.gateway.port)?`,
        { modal: true },
        'Keep This Port',
      );
      if (pin !== 'Keep This Port') return;
      this.runningPort = port;
      await this.deps.settings.update('gateway.port', port);
    }
    const file = join(process.env.CODEX_HOME || join(homedir(), '.codex'), 'config.toml');
    const answer = await vscode.window.showInformationMessage(
      `Add a "tierwise" provider and profile to ${file}? Codex then runs through the gateway with "codex --profile tierwise" in a VS Code terminal. The file keeps everything else; a backup is saved next to it.`,
      { modal: true },
      'Write Config',
    );
    if (answer !== 'Write Config') return;
    const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
    mkdirSync(dirname(file), { recursive: true });
    if (existing) copyFileSync(file, `${file}.tierwise-backup`);
    writeFileSync(file, withCodexStanza(existing, url));
    this.deps.log.info(`Codex provider stanza written to ${file}`);
    void vscode.window.showInformationMessage(`Tierwise: Codex is set up. In a new VS Code terminal run: codex --profile tierwise`);
  }
}
