/**
 * How the tests run Codex against the gateway: `codex exec PROMPT` with CODEX_HOME a throw-away folder whose
 * config.toml points a custom provider at the gateway's Responses endpoint (`<gateway>/v1`, wire_api "responses")
 * and reads the key — the gateway token — from TIERWISE_GATEWAY_TOKEN.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from './scenario';

/** The model Codex asks for; the gateway routes by task kind, so this only names the request. */
export const CODEX_CLIENT_MODEL = 'gpt-5.1-codex';
const TOKEN_ENV = 'TIERWISE_GATEWAY_TOKEN';

/** Writes CODEX_HOME/config.toml for the scenario's gateway and returns CODEX_HOME. */
export function writeCodexHome(scenario: Scenario): string {
  const codexHome = join(scenario.home, '.codex');
  mkdirSync(codexHome, { recursive: true });
  const toml = [
    `model = "${CODEX_CLIENT_MODEL}"`,
    'model_provider = "tierwise"',
    '',
    '[model_providers.tierwise]',
    'name = "Tierwise"',
    `base_url = "${scenario.gatewayUrl}/v1"`,
    `env_key = "${TOKEN_ENV}"`,
    'wire_api = "responses"',
    '',
    // Usage analytics would only fail (there is no network), but each attempt costs time at exit.
    '[analytics]',
    'enabled = false',
    '',
  ].join('\n');
  writeFileSync(join(codexHome, 'config.toml'), toml);
  return codexHome;
}

export function codexEnv(scenario: Scenario, codexHome: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: scenario.home, CODEX_HOME: codexHome, [TOKEN_ENV]: scenario.gatewayToken, NO_COLOR: '1' };
}

/**
 * `codex exec` runs with approval "never" already; workspace-write lets the shell tool write in the working
 * directory (Codex sandboxes commands with its bundled bubblewrap when the system has none).
 */
export function codexExecArgs(prompt: string): string[] {
  return ['exec', '--skip-git-repo-check', '--strict-config', '--color', 'never', '--sandbox', 'workspace-write', prompt];
}
