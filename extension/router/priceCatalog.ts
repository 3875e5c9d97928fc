import { findProvider, type ConditionalPrice, type MatchLogic, type ModelInfo, type Provider } from '@pydantic/genai-prices';
import type { ProviderKind } from './config';

/**
 * Adapter over the price data bundled with `@pydantic/genai-prices` (see docs/prices.md). Only the data is used:
 * the package's own lookup matches by prefix and substring, which prices an unknown newer model as its older
 * sibling. Here a model id is priced only when the data names it exactly, or when it is a dated snapshot of a
 * model the data names exactly and that model's own match rule accepts the dated id.
 */

/** Text-token rates a catalog entry lists, US dollars per million tokens; absent means the entry does not say. */
export interface CatalogRates {
  inputPerMTokUsd: number;
  outputPerMTokUsd: number;
  cacheReadPerMTokUsd?: number;
  cacheWrite5mPerMTokUsd?: number;
  cacheWrite1hPerMTokUsd?: number;
}

export interface CatalogTier {
  /** The tier prices the whole call when its prompt tokens (input + cache reads + cache writes) exceed this. */
  abovePromptTokens: number;
  rates: CatalogRates;
}

/** How a model id reached its catalog entry. */
export type CatalogMatchKind = 'exact' | 'snapshot' | 'alias';

export interface CatalogPrice {
  catalogProviderId: string;
  catalogModelId: string;
  matchedBy: CatalogMatchKind;
  rates: CatalogRates;
  /** Ascending by threshold. */
  longContextTiers: CatalogTier[];
}

/**
 * Vendor catalogs searched when the endpoint's base URL names no vendor the data knows (a proxy, or no URL at
 * all). `openai` is the wire protocol, so first-party vendors reachable through it are listed; Anthropic comes
 * before Google so a `claude-*` id gets Anthropic's list price rather than Vertex AI's.
 */
const DEFAULT_CATALOG_IDS: Record<ProviderKind, readonly string[]> = {
  anthropic: ['anthropic'],
  openai: ['openai', 'anthropic', 'google', 'deepseek'],
  ollama: [],
};

/**
 * Dated ids Anthropic publishes for models the data lists only under their `-latest` alias. Each must also be
 * accepted by the target entry's own match rule, so a data change that splits them apart unprices them.
 */
const KNOWN_ALIASES: Readonly<Record<string, string>> = {
  'claude-3-5-haiku-20241022': 'claude-3-5-haiku-latest',
  'claude-3-7-sonnet-20250219': 'claude-3-7-sonnet-latest',
  'claude-3-opus-20240229': 'claude-3-opus-latest',
};

/** `claude-sonnet-4-5-20250929` (Anthropic) or `gpt-4.1-2025-04-14` (OpenAI): a model id plus a snapshot date. */
const DATED_SNAPSHOT = /^(.+)-(\d{8}|\d{4}-\d{2}-\d{2})$/;

const RATE_KEYS = {
  input_mtok: 'inputPerMTokUsd',
  output_mtok: 'outputPerMTokUsd',
  cache_read_mtok: 'cacheReadPerMTokUsd',
  cache_write_mtok: 'cacheWrite5mPerMTokUsd',
  cache_write_1h_mtok: 'cacheWrite1hPerMTokUsd',
} as const satisfies Record<string, keyof CatalogRates>;

type RateKey = keyof typeof RATE_KEYS;

/**
 * Price keys for things a Tierwise call never uses (tools, other modalities). Any other key the data adds — a
 * per-request fee, a separate reasoning price — changes what a text call costs, so an entry carrying one is not
 * used (the call is flagged unpriced) rather than silently undercounted.
 */
const IGNORED_PRICE_KEY = /^(web_searches_kcount|storage_searches_kcount)$|audio|image|video|document/;

type CatalogPrices = Record<string, unknown>;
interface TieredValue {
  base: number;
  tiers: Array<{ start: number; price: number }>;
}

/** Finds the catalog price of `model` at time `at` (some prices change on a date or by time of day). */
export function findCatalogPrice(kind: ProviderKind, model: string, options: { baseUrl?: string; at?: Date } = {}): CatalogPrice | undefined {
  const id = model.trim().toLowerCase();
  for (const provider of catalogsFor(kind, options.baseUrl)) {
    const found = findModel(provider, id);
    if (!found) continue;
    const prices = pricesAt(found.entry, options.at ?? new Date());
    return prices && toCatalogPrice(provider.id, found.entry.id, found.matchedBy, prices);
  }
  return undefined;
}

function catalogsFor(kind: ProviderKind, baseUrl: string | undefined): Provider[] {
  // A base URL the data recognises pins the vendor: its price list, and no other, applies.
  const byUrl = baseUrl ? findProvider({ providerApiUrl: baseUrl }) : undefined;
  if (byUrl) return [byUrl];
  return DEFAULT_CATALOG_IDS[kind].map((id) => findProvider({ providerId: id })).filter((provider) => provider !== undefined);
}

function findModel(provider: Provider, id: string): { entry: ModelInfo; matchedBy: CatalogMatchKind } | undefined {
  const index = exactIndex(provider);
  const exact = index.get(id);
  if (exact) return { entry: exact, matchedBy: 'exact' };

  const aliasTarget = Object.hasOwn(KNOWN_ALIASES, id) ? KNOWN_ALIASES[id] : undefined;
  const aliased = aliasTarget ? index.get(aliasTarget) : undefined;
  if (aliased && matches(aliased.match, id)) return { entry: aliased, matchedBy: 'alias' };

  const dated = DATED_SNAPSHOT.exec(id);
  const base = dated ? index.get(dated[1]!) : undefined;
  if (base && matches(base.match, id)) return { entry: base, matchedBy: 'snapshot' };
  return undefined;
}

const exactIndexes = new WeakMap<Provider, Map<string, ModelInfo>>();

/** Entry id and every `equals` literal, keeping only those the entry's own rule accepts; the first entry wins. */
function exactIndex(provider: Provider): Map<string, ModelInfo> {
  let index = exactIndexes.get(provider);
  if (index) return index;
  index = new Map();
  for (const entry of provider.models) {
    for (const id of [entry.id.toLowerCase(), ...equalsLiterals(entry.match)]) {
      if (!index.has(id) && matches(entry.match, id)) index.set(id, entry);
    }
  }
  exactIndexes.set(provider, index);
  return index;
}

function equalsLiterals(logic: MatchLogic): string[] {
  if ('or' in logic) return logic.or.flatMap(equalsLiterals);
  if ('and' in logic) return logic.and.flatMap(equalsLiterals);
  return 'equals' in logic ? [logic.equals.toLowerCase()] : [];
}

/** The data's match semantics (as the package applies them to a lower-cased id). */
function matches(logic: MatchLogic, id: string): boolean {
  if ('or' in logic) return logic.or.some((part) => matches(part, id));
  if ('and' in logic) return logic.and.every((part) => matches(part, id));
  if ('equals' in logic) return id === logic.equals.toLowerCase();
  if ('starts_with' in logic) return id.startsWith(logic.starts_with.toLowerCase());
  if ('ends_with' in logic) return id.endsWith(logic.ends_with.toLowerCase());
  if ('contains' in logic) return id.includes(logic.contains.toLowerCase());
  if ('regex' in logic) return new RegExp(logic.regex).test(id);
  return false;
}

/** The package's rule: the last listed price whose constraint holds at `at`, else the first. */
function pricesAt(entry: ModelInfo, at: Date): CatalogPrices | undefined {
  if (!Array.isArray(entry.prices)) return entry.prices;
  const conditional: ConditionalPrice[] = entry.prices;
  for (let i = conditional.length - 1; i >= 0; i--) {
    const { constraint, prices } = conditional[i]!;
    if (constraint === undefined) return prices;
    if (constraint.type === 'start_date' && at.getTime() >= Date.parse(constraint.start_date)) return prices;
    if (constraint.type === 'time_of_date' && withinTimeOfDay(at, constraint.start_time, constraint.end_time)) return prices;
  }
  return conditional[0]?.prices;
}

/** `start`/`end` are `HH:MM:SS` with `Z` or an offset; a window whose end precedes its start wraps midnight. */
function withinTimeOfDay(at: Date, start: string, end: string): boolean {
  const now = at.getUTCHours() * 3600 + at.getUTCMinutes() * 60 + at.getUTCSeconds();
  const from = utcSecondsOfDay(start);
  const to = utcSecondsOfDay(end);
  if (from === undefined || to === undefined) return false;
  return to < from ? now >= from || now < to : now >= from && now < to;
}

function utcSecondsOfDay(time: string): number | undefined {
  const parts = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/.exec(time);
  if (!parts) return undefined;
  const [, hours, minutes, seconds, zone, sign, offsetHours, offsetMinutes] = parts;
  const local = Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds);
  const offset = zone === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 3600 + Number(offsetMinutes) * 60);
  return (local - offset + 86400) % 86400;
}

/**
 * Flattens per-key tiers into whole-call tiers. An entry with no prices at all is free (the data lists e.g.
 * moderation that way); one without both an input and an output token price, or with a price key Tierwise
 * cannot honour, is not a chat price Tierwise can use.
 */
function toCatalogPrice(
  catalogProviderId: string,
  catalogModelId: string,
  matchedBy: CatalogMatchKind,
  prices: CatalogPrices,
): CatalogPrice | undefined {
  const keys = Object.keys(prices).filter((key) => prices[key] !== undefined);
  if (keys.length === 0) {
    return { catalogProviderId, catalogModelId, matchedBy, rates: { inputPerMTokUsd: 0, outputPerMTokUsd: 0 }, longContextTiers: [] };
  }
  if (prices.input_mtok === undefined || prices.output_mtok === undefined) return undefined;
  if (keys.some((key) => !Object.hasOwn(RATE_KEYS, key) && !IGNORED_PRICE_KEY.test(key))) return undefined;

  const thresholds = new Set<number>();
  for (const key of Object.keys(RATE_KEYS) as RateKey[]) {
    const value = prices[key];
    if (isTiered(value)) for (const tier of value.tiers) thresholds.add(tier.start);
  }
  const ratesAbove = (promptTokens: number): CatalogRates | undefined => {
    const rates: Partial<CatalogRates> = {};
    for (const key of Object.keys(RATE_KEYS) as RateKey[]) {
      const value = prices[key];
      if (value === undefined) continue;
      const rate = isTiered(value) ? tieredRate(value, promptTokens) : value;
      if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) return undefined;
      rates[RATE_KEYS[key]] = rate;
    }
    return rates as CatalogRates;
  };

  const base = ratesAbove(0);
  if (!base) return undefined;
  const longContextTiers: CatalogTier[] = [];
  for (const threshold of [...thresholds].sort((a, b) => a - b)) {
    const rates = ratesAbove(threshold + 1);
    if (!rates) return undefined;
    longContextTiers.push({ abovePromptTokens: threshold, rates });
  }
  return { catalogProviderId, catalogModelId, matchedBy, rates: base, longContextTiers };
}

function isTiered(value: unknown): value is TieredValue {
  return typeof value === 'object' && value !== null && 'base' in value && 'tiers' in value && Array.isArray((value as TieredValue).tiers);
}

/** A tier's price applies when the count is greater than its start (the data's convention). */
function tieredRate(value: TieredValue, promptTokens: number): number {
  let rate = value.base;
  for (const tier of [...value.tiers].sort((a, b) => a.start - b.start)) if (promptTokens > tier.start) rate = tier.price;
  return rate;
}
