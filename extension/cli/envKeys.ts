import { readFileSync } from 'node:fs';
import { DEFAULT_KEY_ENV, type EndpointConfig } from '../router/config';
import type { KeyResolver } from '../providers/types';

/**
 * Keys for the CLI and the gateway: the endpoint's key name (apiKeyEnv, else OPENAI_API_KEY / ANTHROPIC_API_KEY)
 * looked up in the environment, then in the config's key file. Never from the command line, where shells keep history.
 */
export function environmentKeyResolver(env: NodeJS.ProcessEnv, keyFile?: string): KeyResolver {
  let fileKeys: Record<string, string> | undefined;
  const fromFile = (name: string): string | undefined => {
    if (!keyFile) return undefined;
    if (!fileKeys) {
      try {
        const parsed: unknown = JSON.parse(readFileSync(keyFile, 'utf8'));
        fileKeys = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, string>) : {};
      } catch (error) {
        throw new Error(`cannot read key file ${keyFile} (named by "keyFile" in the config): ${(error as Error).message}`);
      }
    }
    const value = fileKeys[name];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };
  return async (endpoint: EndpointConfig) => {
    const name = endpoint.apiKeyEnv ?? DEFAULT_KEY_ENV[endpoint.provider];
    if (!name) return undefined;
    const value = env[name];
    return value && value.length > 0 ? value : fromFile(name);
  };
}
