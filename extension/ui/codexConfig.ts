/**
 * The Codex provider stanza that points `codex` at the Tierwise gateway. Pure text handling (no `vscode`), so the
 * command that writes it and its tests share one definition.
 */
export const CODEX_PROVIDER_ID = 'tierwise';
export const GATEWAY_TOKEN_ENV = 'TIERWISE_GATEWAY_TOKEN';
export const GATEWAY_URL_ENV = 'TIERWISE_GATEWAY_URL';

/** The stanza: a provider reading its key from the terminal's TIERWISE_GATEWAY_TOKEN, and a profile that uses it. */
export function codexStanza(gatewayUrl: string): string {
  return [
    `[model_providers.${CODEX_PROVIDER_ID}]`,
    'name = "Tierwise"',
    `base_url = "${gatewayUrl}/v1"`,
    `env_key = "${GATEWAY_TOKEN_ENV}"`,
    'wire_api = "responses"',
    '',
    `[profiles.${CODEX_PROVIDER_ID}]`,
    `model_provider = "${CODEX_PROVIDER_ID}"`,
    '',
  ].join('\n');
}

const OWN_TABLES = new Set([`model_providers.${CODEX_PROVIDER_ID}`, `profiles.${CODEX_PROVIDER_ID}`]);

/**
 * `config.toml` with Tierwise's two tables replaced (or appended), everything else kept byte for byte.
 * A table runs from its `[header]` to the next header.
 */
export function withCodexStanza(existing: string, gatewayUrl: string): string {
  const kept: string[] = [];
  let skipping = false;
  for (const line of existing.split('\n')) {
    const header = /^\s*\[([^\]]+)\]\s*(#.*)?$/.exec(line);
    if (header) skipping = OWN_TABLES.has(header[1].trim());
    if (!skipping) kept.push(line);
  }
  const body = kept.join('\n').replace(/\n*$/, '');
  return `${body}${body ? '\n\n' : ''}${codexStanza(gatewayUrl)}`;
}
