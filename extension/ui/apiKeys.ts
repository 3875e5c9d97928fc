import * as vscode from 'vscode';
import { DEFAULT_KEY_ENV, isLocalEndpoint, type EndpointConfig, type TierwiseConfig } from '../router/config';
import { TIER_ORDER } from '../router/tiers';
import type { KeyResolver } from '../providers/types';

const SECRET_PREFIX = 'tierwise.apiKey.';
const ENV_OFFER_STATE_PREFIX = 'tierwise.envKeyOffered.';
const OFFERED_ENV_KEYS = ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY'] as const;

export function keyNameFor(endpoint: EndpointConfig): string | undefined {
  return endpoint.apiKeyEnv ?? DEFAULT_KEY_ENV[endpoint.provider];
}

/**
 * API keys live in VS Code's SecretStorage only: never in settings, logs, the ledger or the webview.
 * Keys are stored by name (ANTHROPIC_API_KEY, OPENAI_API_KEY, or an endpoint's apiKeyEnv).
 */
export class ApiKeyStore {
  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly globalState: vscode.Memento,
  ) {}

  readonly resolver: KeyResolver = async (endpoint) => {
    const name = keyNameFor(endpoint);
    return name ? this.secrets.get(SECRET_PREFIX + name) : undefined;
  };

  async has(name: string): Promise<boolean> {
    return (await this.secrets.get(SECRET_PREFIX + name)) !== undefined;
  }

  /** Key names the configured paid endpoints use, plus the two well-known ones. */
  keyNames(config: TierwiseConfig): string[] {
    const names = new Set<string>(OFFERED_ENV_KEYS);
    for (const tier of TIER_ORDER) {
      for (const endpoint of config.tiers[tier].endpoints) {
        const name = keyNameFor(endpoint);
        if (name && !isLocalEndpoint(endpoint)) names.add(name);
      }
    }
    return [...names];
  }

  /** "Tierwise: Set API Key…": pick the key, type it masked. */
  async promptAndStore(config: TierwiseConfig): Promise<string | undefined> {
    const items = await Promise.all(
      this.keyNames(config).map(async (name) => ({ label: name, description: (await this.has(name)) ? 'set — replace' : 'not set' })),
    );
    const picked = await vscode.window.showQuickPick(items, { title: 'Tierwise: Set API Key', placeHolder: 'Which key?' });
    if (!picked) return undefined;
    const value = await vscode.window.showInputBox({
      title: `Tierwise: ${picked.label}`,
      prompt: `Paste the key for ${picked.label}. It is kept in VS Code's secret storage only.`,
      password: true,
      ignoreFocusOut: true,
      validateInput: (text) => (text.trim() === '' ? 'The key cannot be empty' : /\s/.test(text.trim()) ? 'A key has no spaces' : undefined),
    });
    if (value === undefined) return undefined;
    await this.secrets.store(SECRET_PREFIX + picked.label, value.trim());
    return picked.label;
  }

  /** "Tierwise: Clear API Key": pick one of the stored keys and delete it. */
  async promptAndClear(config: TierwiseConfig): Promise<string | undefined> {
    const stored: string[] = [];
    for (const name of this.keyNames(config)) if (await this.has(name)) stored.push(name);
    if (stored.length === 0) {
      void vscode.window.showInformationMessage('Tierwise has no API keys stored.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(stored, { title: 'Tierwise: Clear API Key', placeHolder: 'Which key to delete?' });
    if (!picked) return undefined;
    await this.secrets.delete(SECRET_PREFIX + picked);
    return picked;
  }

  /** Offers, once per key and with consent, to copy a key found in the environment into secret storage. */
  async offerEnvironmentKeys(env: NodeJS.ProcessEnv): Promise<void> {
    for (const name of OFFERED_ENV_KEYS) {
      const value = env[name];
      if (!value || (await this.has(name)) || this.globalState.get<boolean>(ENV_OFFER_STATE_PREFIX + name)) continue;
      await this.globalState.update(ENV_OFFER_STATE_PREFIX + name, true);
      const answer = await vscode.window.showInformationMessage(
        `Tierwise found ${name} in the environment. Use it for ${name.startsWith('ANTHROPIC') ? 'Anthropic' : 'OpenAI'} calls? It will be kept in VS Code's secret storage.`,
        'Use It',
        'No',
      );
      if (answer === 'Use It') await this.secrets.store(SECRET_PREFIX + name, value);
    }
  }
}
