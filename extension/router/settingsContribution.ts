import { DEFAULT_CONFIG } from './config';
import { CONFIG_SCHEMA, type JsonSchema } from './configSchema';

export const SETTINGS_SECTION = 'tierwise';

/** Settings of the extension itself that the engine's config file has no use for. */
const EXTENSION_ONLY_SETTINGS: Record<string, JsonSchema> = {
  [`${SETTINGS_SECTION}.ledgerDirectory`]: {
    type: ['string', 'null'],
    default: null,
    order: 50,
    markdownDescription:
      'Folder of the spend ledger shared by every VS Code window, the `tierwise` CLI and the gateway. `null` uses `~/.tierwise/ledger`. A change takes effect when the window reloads.',
  },
  [`${SETTINGS_SECTION}.gateway.enabled`]: {
    type: 'boolean',
    default: false,
    order: 60,
    markdownDescription:
      'Run the loopback gateway so coding agents started in VS Code\'s terminal (`claude`, `codex`) are routed, counted and capped like the editor. New integrated terminals get `ANTHROPIC_BASE_URL` and a gateway token; no provider key ever enters a terminal.',
  },
  [`${SETTINGS_SECTION}.gateway.port`]: {
    type: 'integer',
    minimum: 0,
    maximum: 65535,
    default: 0,
    order: 61,
    markdownDescription: 'Port of the gateway on 127.0.0.1; `0` picks a free port at each start.',
  },
  [`${SETTINGS_SECTION}.debug.logPrompts`]: {
    type: 'boolean',
    default: false,
    order: 51,
    markdownDescription: 'Also log prompt text to the Tierwise output channel (off by default; keys are never logged).',
  },
};

/** Schema keys that are Tierwise's own annotations, not VS Code's. */
function forVsCode(schema: JsonSchema): JsonSchema {
  const { 'x-settings-flatten': _flatten, 'x-settings-exclude': _exclude, ...rest } = schema;
  const cleaned: JsonSchema = { ...rest };
  if (rest.properties) {
    cleaned.properties = Object.fromEntries(Object.entries(rest.properties).map(([key, child]) => [key, forVsCode(child)]));
  }
  if (typeof rest.additionalProperties === 'object') cleaned.additionalProperties = forVsCode(rest.additionalProperties);
  if (rest.items) cleaned.items = forVsCode(rest.items);
  return cleaned;
}

/**
 * package.json's `contributes.configuration.properties`, generated from the config schema: flattened objects
 * become one setting per property (`tierwise.budgets.dailyUsd`) so the Settings UI offers a proper editor for each;
 * VS Code returns them nested again from `getConfiguration('tierwise').get('budgets')`.
 */
export function settingsProperties(): Record<string, JsonSchema> {
  const properties: Record<string, JsonSchema> = {};
  for (const [key, schema] of Object.entries(CONFIG_SCHEMA.properties ?? {})) {
    if (schema['x-settings-exclude']) continue;
    if (schema['x-settings-flatten']) {
      for (const [child, childSchema] of Object.entries(schema.properties ?? {})) {
        properties[`${SETTINGS_SECTION}.${key}.${child}`] = forVsCode(childSchema);
      }
      continue;
    }
    const defaultValue = (DEFAULT_CONFIG as unknown as Record<string, unknown>)[key];
    properties[`${SETTINGS_SECTION}.${key}`] = { ...forVsCode(schema), default: schema.default ?? defaultValue };
  }
  return { ...properties, ...EXTENSION_ONLY_SETTINGS };
}
