import { promptTokens, type Usage } from '../providers/types';
import { endpointBaseUrl, isLocalEndpoint, type EndpointConfig, type ModelPrice, type ProviderKind, type TierwiseConfig } from './config';
import { findCatalogPrice, type CatalogMatchKind, type CatalogRates } from './priceCatalog';

/** Every rate a call can be billed at, US dollars per million tokens. */
export interface PriceRates {
  inputPerMTokUsd: number;
  outputPerMTokUsd: number;
  cacheReadPerMTokUsd: number;
  cacheWrite5mPerMTokUsd: number;
  cacheWrite1hPerMTokUsd: number;
}

/** Rates that replace the base rates for the whole call once its prompt is long enough. */
export interface LongContextTier extends PriceRates {
  /** Applies when the call's prompt tokens (input + cache reads + cache writes) exceed this. */
  abovePromptTokens: number;
}

export type CacheRateName = 'cacheReadPerMTokUsd' | 'cacheWrite5mPerMTokUsd' | 'cacheWrite1hPerMTokUsd';

export interface ResolvedPrice extends PriceRates {
  provider: ProviderKind;
  model: string;
  source: 'override' | 'catalog';
  /** Catalog entry the model resolved to (`claude-sonnet-4-5` for `claude-sonnet-4-5-20250929`). */
  catalogModelId?: string;
  catalogProviderId?: string;
  matchedBy?: CatalogMatchKind;
  /** Ascending by threshold; empty when the price is flat. */
  longContextTiers: LongContextTier[];
  /** Cache rates the source did not list and that were derived by rule (see `completeRates`). */
  derivedRates: CacheRateName[];
}

export type PriceSource = 'override' | 'catalog' | 'local' | 'fallback';

export interface CallPrice {
  costUsd: number;
  /** A paid model with no known price: `costUsd` is counted at `budgets.unpricedFallback`. */
  unpriced: boolean;
  source: PriceSource;
}

export type PriceConfig = Pick<TierwiseConfig, 'prices' | 'budgets'>;

export interface PriceLookupOptions {
  /** Picks the vendor's price list when the URL is one the catalog knows (Gemini's or DeepSeek's OpenAI-compatible API). */
  baseUrl?: string;
  /** When the call is billed; some prices change on a date or by time of day. Defaults to now. */
  at?: Date;
}

/** A model that can be priced without a base URL: the savings reference, or a full endpoint. */
export type PricedModel = Pick<EndpointConfig, 'provider' | 'model'> & Partial<Pick<EndpointConfig, 'baseUrl' | 'local'>>;

const TOKENS_PER_MTOK = 1_000_000;
const NANO_USD_PER_USD = 1e9;

/**
 * Anthropic's published prompt-caching multipliers of the base input price: reads 0.1×, 5-minute writes 1.25×,
 * 1-hour writes 2×. Used only for Anthropic rates the source does not list.
 */
const ANTHROPIC_CACHE_READ_MULTIPLIER = 0.1;
const ANTHROPIC_CACHE_WRITE_5M_MULTIPLIER = 1.25;
const ANTHROPIC_CACHE_WRITE_1H_MULTIPLIER = 2;

/** Rounds dollars to nano-dollars, so sums of per-token products carry no float noise. */
export function roundUsd(amountUsd: number): number {
  return Math.round(amountUsd * NANO_USD_PER_USD) / NANO_USD_PER_USD;
}

/**
 * The price of `model`: an override keyed by the exact model id first, then the catalog by exact id or explicit
 * alias only. Undefined means unknown — never a guess from a similar id.
 */
export function lookupPrice(
  provider: ProviderKind,
  model: string,
  overrides: Record<string, ModelPrice>,
  options: PriceLookupOptions = {},
): ResolvedPrice | undefined {
  const override = overrideFor(overrides, model);
  if (override) return fromModelPrice(provider, model, override, 'override');

  const catalog = findCatalogPrice(provider, model, options);
  if (!catalog) return undefined;
  // The vendor bills, not the wire protocol: DeepSeek's Anthropic-format API has no cache-write premium, while
  // Claude keeps Anthropic's cache pricing wherever it is hosted.
  const anthropicCaching = catalog.catalogProviderId === 'anthropic' || catalog.catalogModelId.startsWith('claude-');
  const base = completeRates(anthropicCaching, catalog.rates);
  return {
    provider,
    model,
    source: 'catalog',
    catalogModelId: catalog.catalogModelId,
    catalogProviderId: catalog.catalogProviderId,
    matchedBy: catalog.matchedBy,
    ...base.rates,
    longContextTiers: catalog.longContextTiers.map((tier) => ({
      abovePromptTokens: tier.abovePromptTokens,
      ...completeRates(anthropicCaching, tier.rates).rates,
    })),
    derivedRates: base.derived,
  };
}

/**
 * US dollars for one call. Reasoning tokens are already part of `outputTokens`, so they are not added again.
 * The long-context tier, if any, is chosen by the whole prompt (input + cache reads + cache writes) — the rule
 * Anthropic, Google and OpenAI publish — and then prices every token of the call.
 */
export function costOfUsage(price: ResolvedPrice, usage: Usage): number {
  const rates = ratesForPrompt(price, promptTokens(usage));
  const microUsd =
    usage.inputTokens * rates.inputPerMTokUsd +
    usage.outputTokens * rates.outputPerMTokUsd +
    usage.cacheReadTokens * rates.cacheReadPerMTokUsd +
    usage.cacheWrite5mTokens * rates.cacheWrite5mPerMTokUsd +
    usage.cacheWrite1hTokens * rates.cacheWrite1hPerMTokUsd;
  return roundUsd(microUsd / TOKENS_PER_MTOK);
}

/**
 * What one call to `endpoint` cost. An override wins, even for a local endpoint; a local endpoint is otherwise
 * free; a paid model with no known price is flagged `unpriced` and counted at `budgets.unpricedFallback`.
 */
export function priceCall(endpoint: EndpointConfig, usage: Usage, config: PriceConfig, options: { at?: Date } = {}): CallPrice {
  const resolved = resolveForEndpoint(endpoint, config, options.at);
  if (resolved.source === 'local') return { costUsd: 0, unpriced: false, source: 'local' };
  return { costUsd: costOfUsage(resolved.price, usage), unpriced: resolved.source === 'fallback', source: resolved.source };
}

/**
 * The most a call can cost, for reservations: every estimated input token at the higher of the input and the
 * 5-minute cache-write price (the router marks the stable prefix for 5-minute caching), using the long-context
 * tier's rates when the estimate crosses its threshold, plus `maxOutputTokens` at the output price.
 */
export function worstCaseCostUsd(
  endpoint: EndpointConfig,
  estInputTokens: number,
  maxOutputTokens: number,
  config: PriceConfig,
  options: { at?: Date } = {},
): number {
  const resolved = resolveForEndpoint(endpoint, config, options.at);
  if (resolved.source === 'local') return 0;
  const rates = ratesForPrompt(resolved.price, estInputTokens);
  // Tierwise marks the stable prefix for 5-minute caching, so the prompt may bill as a cache write: reserve at that rate.
  const inputRate = Math.max(rates.inputPerMTokUsd, rates.cacheWrite5mPerMTokUsd);
  return roundUsd((estInputTokens * inputRate + maxOutputTokens * rates.outputPerMTokUsd) / TOKENS_PER_MTOK);
}

/**
 * What the savings reference model would have cost for the same tokens. Undefined when the reference is a paid
 * model with no known price: a savings figure built on the unpriced fallback would be invented, so the caller
 * should show none (or count the call as saving nothing). A local reference without an override costs 0.
 */
export function referenceCostUsd(
  reference: PricedModel | null | undefined,
  usage: Usage,
  config: PriceConfig,
  options: { at?: Date } = {},
): number | undefined {
  if (!reference) return undefined;
  const override = overrideFor(config.prices, reference.model);
  if (override) return costOfUsage(fromModelPrice(reference.provider, reference.model, override, 'override'), usage);
  if (isLocalEndpoint(reference)) return 0;
  const price = lookupPrice(reference.provider, reference.model, {}, { baseUrl: reference.baseUrl, at: options.at });
  return price ? costOfUsage(price, usage) : undefined;
}

/** The rates a call with this many prompt tokens is billed at. */
export function ratesForPrompt(price: ResolvedPrice, promptTokenCount: number): PriceRates {
  let rates: PriceRates = price;
  for (const tier of price.longContextTiers) if (promptTokenCount > tier.abovePromptTokens) rates = tier;
  return rates;
}

type EndpointPricing = { source: 'local' } | { source: 'override' | 'catalog' | 'fallback'; price: ResolvedPrice };

/**
 * Resolved prices for "now", per config object: every routed request prices its endpoint (for the reservation) and
 * every settlement prices it again, and resolving builds the rates afresh. Entries last a minute, so a dated price
 * change in the catalog takes effect within one; a new config object (a settings change) starts a new cache.
 */
const NOW_PRICING_TTL_MS = 60_000;
/** Model names can come from clients (the gateway's "client's model"): the cache starts over rather than grow. */
const NOW_PRICING_MAX_ENTRIES = 512;
const nowPricing = new WeakMap<PriceConfig, Map<string, { pricing: EndpointPricing; until: number }>>();

function resolveForEndpoint(endpoint: EndpointConfig, config: PriceConfig, at: Date | undefined): EndpointPricing {
  if (at !== undefined) return resolveUncached(endpoint, config, at);
  let cache = nowPricing.get(config);
  if (!cache) nowPricing.set(config, (cache = new Map()));
  const key = `${endpoint.provider}\n${endpoint.model}\n${endpoint.baseUrl ?? ''}\n${endpoint.local ?? ''}`;
  const now = Date.now();
  const cached = cache.get(key);
  if (cached && cached.until > now) return cached.pricing;
  const pricing = resolveUncached(endpoint, config, undefined);
  if (cache.size >= NOW_PRICING_MAX_ENTRIES) cache.clear();
  cache.set(key, { pricing, until: now + NOW_PRICING_TTL_MS });
  return pricing;
}

function resolveUncached(endpoint: EndpointConfig, config: PriceConfig, at: Date | undefined): EndpointPricing {
  const override = overrideFor(config.prices, endpoint.model);
  if (override) return { source: 'override', price: fromModelPrice(endpoint.provider, endpoint.model, override, 'override') };
  if (isLocalEndpoint(endpoint)) return { source: 'local' };
  const price = lookupPrice(endpoint.provider, endpoint.model, {}, { baseUrl: endpointBaseUrl(endpoint), at });
  if (price) return { source: 'catalog', price };
  // A stand-in built like a settings price; `EndpointPricing.source` is what tells callers it is the fallback.
  return { source: 'fallback', price: fromModelPrice(endpoint.provider, endpoint.model, config.budgets.unpricedFallback, 'override') };
}

function overrideFor(overrides: Record<string, ModelPrice>, model: string): ModelPrice | undefined {
  return Object.hasOwn(overrides, model) ? overrides[model] : undefined;
}

/** A flat price from settings (overrides and the unpriced fallback have no long-context tiers). */
function fromModelPrice(provider: ProviderKind, model: string, price: ModelPrice, source: ResolvedPrice['source']): ResolvedPrice {
  const { rates, derived } = completeRates(provider === 'anthropic', price);
  return { provider, model, source, ...rates, longContextTiers: [], derivedRates: derived };
}

/**
 * Fills cache rates the source does not list. Anthropic: its published multipliers of the input price. Others
 * (OpenAI, Gemini, DeepSeek): a cache read with no listed discount bills as ordinary input, and writes are
 * ordinary input, which is how those vendors bill them; a 1-hour write costs what a 5-minute one does.
 */
function completeRates(anthropic: boolean, listed: CatalogRates | ModelPrice): { rates: PriceRates; derived: CacheRateName[] } {
  const input = listed.inputPerMTokUsd;
  const derived: CacheRateName[] = [];
  const pick = (name: CacheRateName, fallback: number): number => {
    const value = listed[name];
    if (value !== undefined) return value;
    derived.push(name);
    return fallback;
  };
  const cacheReadPerMTokUsd = pick('cacheReadPerMTokUsd', anthropic ? input * ANTHROPIC_CACHE_READ_MULTIPLIER : input);
  const cacheWrite5mPerMTokUsd = pick('cacheWrite5mPerMTokUsd', anthropic ? input * ANTHROPIC_CACHE_WRITE_5M_MULTIPLIER : input);
  const cacheWrite1hPerMTokUsd = pick('cacheWrite1hPerMTokUsd', anthropic ? input * ANTHROPIC_CACHE_WRITE_1H_MULTIPLIER : cacheWrite5mPerMTokUsd);
  return {
    rates: { inputPerMTokUsd: input, outputPerMTokUsd: listed.outputPerMTokUsd, cacheReadPerMTokUsd, cacheWrite5mPerMTokUsd, cacheWrite1hPerMTokUsd },
    derived,
  };
}
