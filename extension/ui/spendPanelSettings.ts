// Turns an edit from the panel's routing editor into the write of one `tierwise.*` setting, the same key and
// shape the Settings UI writes, checked against the engine's schema first. No `vscode` import (unit-tested).
import { PROVIDER_KINDS, endpointId, type EndpointConfig, type TierwiseConfig } from '../router/config';
import { CONFIG_SCHEMA, type JsonSchema } from '../router/configSchema';
import { formatProblem, validateAgainstSchema } from '../router/configValidation';
import { SETTINGS_SECTION } from '../router/settingsContribution';
import { isTierName, type TierName } from '../router/tiers';
import type { SettingEdit } from '../../webview/protocol';

/** A setting to write: `key` is relative to `tierwise.` (`routes`, `budgets.dailyUsd`). */
export interface SettingWrite {
  key: string;
  value: unknown;
}

export type SettingWritePlan = { ok: true; write: SettingWrite } | { ok: false; error: string; problems?: string[] };

const refuse = (error: string, problems?: string[]): SettingWritePlan => ({ ok: false, error, ...(problems ? { problems } : {}) });

/** The full setting name, e.g. `tierwise.budgets.dailyUsd`. */
export const settingName = (key: string): string => `${SETTINGS_SECTION}.${key}`;

/** The schema of one setting key (`routes`, `budgets.dailyUsd`), walking the engine's config schema. */
export function schemaForKey(key: string): JsonSchema | undefined {
  let schema: JsonSchema | undefined = CONFIG_SCHEMA;
  for (const part of key.split('.')) schema = schema?.properties?.[part];
  return schema;
}

/** The engine's validation of a value for `key`, as messages naming the setting; empty when it is valid. */
export function validateSetting(key: string, value: unknown): string[] {
  const schema = schemaForKey(key);
  if (!schema) return [`${settingName(key)} is not a Tierwise setting`];
  return validateAgainstSchema(value, schema, key.split('.')).map((problem) => formatProblem(problem, `${SETTINGS_SECTION}.`));
}

/**
 * Why a base URL cannot be saved, or undefined. Only http(s), and no `user:password@`: keys belong in VS Code's
 * secret storage ("Tierwise: Set API Key…"), never in settings.
 */
export function baseUrlProblem(baseUrl: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    return `"${baseUrl}" is not a URL; expected e.g. http://127.0.0.1:1234/v1`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `the base URL must start with http:// or https://`;
  if (parsed.username || parsed.password) return 'the base URL must not hold credentials; store keys with "Tierwise: Set API Key…"';
  return undefined;
}

/** The endpoints of `tier` after checking the panel still shows the list the edit was made on. */
function currentEndpoint(config: TierwiseConfig, tier: TierName, index: number, id: string): EndpointConfig[] | string {
  const endpoints = config.tiers[tier].endpoints;
  const endpoint = Number.isInteger(index) ? endpoints[index] : undefined;
  if (!endpoint || endpointId(endpoint) !== id) return `The ${tier} tier's endpoints changed meanwhile; nothing was changed. Try again on the updated list.`;
  return endpoints;
}

function withTierEndpoints(config: TierwiseConfig, tier: TierName, endpoints: EndpointConfig[]): SettingWrite {
  return { key: 'tiers', value: { ...config.tiers, [tier]: { ...config.tiers[tier], endpoints } } };
}

function planWrite(edit: SettingEdit, config: TierwiseConfig): SettingWrite | string {
  switch (edit.kind) {
    case 'route':
      if (typeof edit.task !== 'string' || edit.task.trim() === '') return 'A route needs a task kind.';
      return { key: 'routes', value: { ...config.routes, [edit.task]: edit.tier } };
    case 'moveEndpoint': {
      if (!isTierName(edit.tier)) return `"${String(edit.tier)}" is not a tier.`;
      const endpoints = currentEndpoint(config, edit.tier, edit.index, edit.endpointId);
      if (typeof endpoints === 'string') return endpoints;
      const target = edit.direction === 'up' ? edit.index - 1 : edit.index + 1;
      if (target < 0 || target >= endpoints.length) return `That endpoint is already ${edit.direction === 'up' ? 'first' : 'last'} in the ${edit.tier} tier.`;
      const reordered = [...endpoints];
      [reordered[edit.index], reordered[target]] = [reordered[target], reordered[edit.index]];
      return withTierEndpoints(config, edit.tier, reordered);
    }
    case 'removeEndpoint': {
      if (!isTierName(edit.tier)) return `"${String(edit.tier)}" is not a tier.`;
      const endpoints = currentEndpoint(config, edit.tier, edit.index, edit.endpointId);
      if (typeof endpoints === 'string') return endpoints;
      return withTierEndpoints(config, edit.tier, endpoints.filter((_, index) => index !== edit.index));
    }
    case 'addEndpoint': {
      if (!isTierName(edit.tier)) return `"${String(edit.tier)}" is not a tier.`;
      if (!(PROVIDER_KINDS as readonly string[]).includes(edit.provider)) return `"${String(edit.provider)}" is not a provider; expected ${PROVIDER_KINDS.join(', ')}.`;
      const model = typeof edit.model === 'string' ? edit.model.trim() : '';
      if (!model) return 'The model must not be empty.';
      const baseUrl = typeof edit.baseUrl === 'string' && edit.baseUrl.trim() !== '' ? edit.baseUrl.trim() : undefined;
      const urlProblem = baseUrl === undefined ? undefined : baseUrlProblem(baseUrl);
      if (urlProblem) return `Endpoint not added: ${urlProblem}.`;
      const endpoint: EndpointConfig = { provider: edit.provider, model, ...(baseUrl ? { baseUrl } : {}) };
      const endpoints = config.tiers[edit.tier].endpoints;
      if (endpoints.some((existing) => endpointId(existing) === endpointId(endpoint))) return `${edit.provider} ${model} is already in the ${edit.tier} tier.`;
      return withTierEndpoints(config, edit.tier, [...endpoints, endpoint]);
    }
    case 'budgetAmount':
      if (!['dailyUsd', 'monthlyUsd', 'perRequestUsd'].includes(edit.key)) return `"${String(edit.key)}" is not a cap.`;
      return { key: `budgets.${edit.key}`, value: edit.value };
    case 'tierDailyCap':
      if (!isTierName(edit.tier)) return `"${String(edit.tier)}" is not a tier.`;
      return { key: 'budgets.perTierDailyUsd', value: { ...config.budgets.perTierDailyUsd, [edit.tier]: edit.value } };
    case 'softThreshold':
      return { key: 'budgets.softThresholdPercent', value: edit.value };
    case 'policy':
      return { key: 'budgets.policy', value: edit.value };
    default:
      return `Unknown edit "${String((edit as { kind?: unknown }).kind)}".`;
  }
}

/**
 * The setting write an edit amounts to, based on the settings in effect: the whole object for `routes`, `tiers`
 * and `budgets.perTierDailyUsd` (as the Settings UI writes object settings), the number or string otherwise.
 * Refused with the engine's messages when the value would not pass its schema.
 */
export function planSettingWrite(edit: SettingEdit, config: TierwiseConfig): SettingWritePlan {
  const write = planWrite(edit, config);
  if (typeof write === 'string') return refuse(write);
  const problems = validateSetting(write.key, write.value);
  if (problems.length > 0) return refuse(`${settingName(write.key)} was not changed: ${problems[0]}`, problems);
  return { ok: true, write };
}

/** The value of `key` in a config (`budgets.dailyUsd` → config.budgets.dailyUsd). */
export function configValueAt(config: TierwiseConfig, key: string): unknown {
  let value: unknown = config;
  for (const part of key.split('.')) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

/** Structural equality of JSON values, ignoring key order (settings come back re-ordered). */
export function sameJsonValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => sameJsonValue(item, b[index]));
  const keysA = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined);
  const keysB = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined);
  return keysA.length === keysB.length && keysA.every((key) => sameJsonValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}
