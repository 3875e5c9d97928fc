import * as vscode from 'vscode';
import { DisposableOwner } from '../lifecycle';
import type { TierwiseConfig } from '../router/config';
import { CONFIG_SCHEMA } from '../router/configSchema';
import { formatProblem, parseConfig, type ConfigProblem } from '../router/configValidation';
import { SETTINGS_SECTION } from '../router/settingsContribution';

/** Extension-only settings (the engine's config has no use for them). */
export interface ExtensionSettings {
  ledgerDirectory: string | null;
  logPrompts: boolean;
  gatewayEnabled: boolean;
  gatewayPort: number;
}

const validPort = (value: unknown): number => (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535 ? (value as number) : 0);

/**
 * The one place Tierwise reads VS Code settings: validated against the engine's schema, merged over the defaults,
 * re-read on change. A bad value is reported once with the setting's name and what was expected, and keeps its
 * default so the rest still applies.
 */
export class TierwiseSettings extends DisposableOwner {
  private current: TierwiseConfig;
  private extensionSettings: ExtensionSettings;
  private reportedProblems = '';
  private readonly changed = this.register(new vscode.EventEmitter<TierwiseConfig>());
  /** Fires after settings changed and were re-validated. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly report: (problems: string[]) => void) {
    super();
    this.current = this.read();
    this.extensionSettings = this.readExtensionSettings();
    this.register(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (!event.affectsConfiguration(SETTINGS_SECTION)) return;
        this.current = this.read();
        this.extensionSettings = this.readExtensionSettings();
        this.changed.fire(this.current);
      }),
    );
  }

  get config(): TierwiseConfig {
    return this.current;
  }

  get extension(): ExtensionSettings {
    return this.extensionSettings;
  }

  /** Writes one engine setting (e.g. `routes`, `budgets.dailyUsd`) to the user's settings, as the Settings UI would. */
  async update(key: string, value: unknown): Promise<void> {
    await vscode.workspace.getConfiguration(SETTINGS_SECTION).update(key, value, vscode.ConfigurationTarget.Global);
  }

  private read(): TierwiseConfig {
    const section = vscode.workspace.getConfiguration(SETTINGS_SECTION);
    const raw: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(CONFIG_SCHEMA.properties ?? {})) {
      if (schema['x-settings-exclude']) continue;
      const value = section.get(key);
      if (value !== undefined) raw[key] = value;
    }
    const { config, problems } = parseConfig(raw);
    this.reportOnce(problems);
    return config;
  }

  private readExtensionSettings(): ExtensionSettings {
    const section = vscode.workspace.getConfiguration(SETTINGS_SECTION);
    const ledgerDirectory = section.get<string | null>('ledgerDirectory', null);
    return {
      ledgerDirectory: typeof ledgerDirectory === 'string' && ledgerDirectory.trim() !== '' ? ledgerDirectory : null,
      logPrompts: section.get<boolean>('debug.logPrompts', false) === true,
      gatewayEnabled: section.get<boolean>('gateway.enabled', false) === true,
      gatewayPort: validPort(section.get<number>('gateway.port', 0)),
    };
  }

  private reportOnce(problems: ConfigProblem[]): void {
    const lines = problems.map((problem) => formatProblem(problem, `${SETTINGS_SECTION}.`));
    const key = lines.join('\n');
    if (key === this.reportedProblems) return;
    this.reportedProblems = key;
    if (lines.length > 0) this.report(lines);
  }
}
