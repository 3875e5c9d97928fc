import type { TierName } from './tiers';

/** The wire protocols Tierwise speaks. `openai` covers every OpenAI-compatible server (LM Studio, vLLM, llama.cpp…). */
export const PROVIDER_KINDS = ['ollama', 'openai', 'anthropic'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** Prices in US dollars per million tokens. */
export interface ModelPrice {
  inputPerMTokUsd: number;
  outputPerMTokUsd: number;
  cacheReadPerMTokUsd?: number;
  cacheWrite5mPerMTokUsd?: number;
  cacheWrite1hPerMTokUsd?: number;
}

export interface EndpointConfig {
  provider: ProviderKind;
  model: string;
  /** Defaults per provider: Ollama http://127.0.0.1:11434, OpenAI and Anthropic their public APIs. */
  baseUrl?: string;
  contextWindowTokens?: number;
  maxOutputTokens?: number;
  timeoutMs?: number;
  /** Ollama: context length the server allocates (without it local models silently truncate). */
  numCtx?: number;
  /** Ollama: how long the model stays loaded after a call, e.g. "10m". */
  keepAlive?: string;
  /** Environment variable (or key-file entry) holding this endpoint's key; defaults per provider. */
  apiKeyEnv?: string;
  /** A free endpoint (costs 0 unless priced in `prices`). Defaults to true for Ollama and loopback base URLs. */
  local?: boolean;
}

export interface TierConfig {
  endpoints: EndpointConfig[];
}

export type BudgetPolicy = 'downgrade' | 'block' | 'ask';

export interface BudgetConfig {
  /** Caps in US dollars; null or absent means no cap. */
  dailyUsd?: number | null;
  monthlyUsd?: number | null;
  perRequestUsd?: number | null;
  perTierDailyUsd?: Partial<Record<TierName, number | null>>;
  /** Percentage of a cap at which spend is shown as a warning. */
  softThresholdPercent: number;
  policy: BudgetPolicy;
  /** What a paid model with no known price is counted at, so it is never silently $0. */
  unpricedFallback: ModelPrice;
}

export interface FallbackConfig {
  /** Retries of the same endpoint after a rate limit before moving to the next endpoint. */
  retriesPerEndpoint: number;
  /** A Retry-After longer than this moves to the next endpoint instead of waiting. */
  maxRetryWaitMs: number;
  /** Consecutive failures after which an endpoint cools down. */
  failuresBeforeCooldown: number;
  cooldownMs: number;
}

export type LocalUnavailablePolicy = 'nextTier' | 'refuse';

export interface TierwiseConfig {
  tiers: Record<TierName, TierConfig>;
  /** Task kind → tier. Open-ended: unknown kinds fall back to `ask`'s tier. */
  routes: Record<string, TierName>;
  budgets: BudgetConfig;
  escalation: { maxEscalations: number };
  fallback: FallbackConfig;
  /** Per-model price overrides, keyed by exact model id. */
  prices: Record<string, ModelPrice>;
  /** The model savings are measured against; defaults to the frontier tier's first endpoint. */
  savingsReference?: { provider: ProviderKind; model: string } | null;
  /** When the local server does not answer: send local-tier work to the next tier, or refuse it. */
  localUnavailable: LocalUnavailablePolicy;
  /** CLI and gateway: a JSON file of keys by name; the extension uses SecretStorage instead. */
  keyFile?: string;
  /** Default timeout for one call when the endpoint sets none. */
  requestTimeoutMs: number;
}

export const DEFAULT_CONFIG: TierwiseConfig = {
  tiers: {
    local: {
      endpoints: [
        {
          provider: 'ollama',
          model: 'qwen2.5-coder:7b',
          baseUrl: 'http://127.0.0.1:11434',
          contextWindowTokens: 32768,
          numCtx: 16384,
          keepAlive: '10m',
          maxOutputTokens: 1024,
        },
      ],
    },
    mid: {
      endpoints: [
        { provider: 'anthropic', model: 'claude-haiku-4-5', contextWindowTokens: 200000, maxOutputTokens: 4096 },
        { provider: 'openai', model: 'gpt-5-mini', contextWindowTokens: 400000, maxOutputTokens: 4096 },
      ],
    },
    frontier: {
      endpoints: [
        { provider: 'anthropic', model: 'claude-sonnet-4-5', contextWindowTokens: 200000, maxOutputTokens: 8192 },
        { provider: 'openai', model: 'gpt-5', contextWindowTokens: 400000, maxOutputTokens: 8192 },
      ],
    },
  },
  routes: {
    commitMessage: 'local',
    explainDiagnostic: 'local',
    findFiles: 'local',
    refactor: 'mid',
    plan: 'frontier',
    planStep: 'mid',
    ask: 'mid',
  },
  budgets: {
    dailyUsd: null,
    monthlyUsd: null,
    perRequestUsd: null,
    perTierDailyUsd: {},
    softThresholdPercent: 80,
    policy: 'downgrade',
    unpricedFallback: { inputPerMTokUsd: 15, outputPerMTokUsd: 75 },
  },
  escalation: { maxEscalations: 2 },
  fallback: { retriesPerEndpoint: 1, maxRetryWaitMs: 10000, failuresBeforeCooldown: 3, cooldownMs: 60000 },
  prices: {},
  savingsReference: null,
  localUnavailable: 'nextTier',
  requestTimeoutMs: 120000,
};

export const DEFAULT_BASE_URLS: Record<ProviderKind, string> = {
  ollama: 'http://127.0.0.1:11434',
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
};

export const DEFAULT_KEY_ENV: Record<ProviderKind, string | undefined> = {
  ollama: undefined,
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
};

export function endpointBaseUrl(endpoint: EndpointConfig): string {
  return endpoint.baseUrl ?? DEFAULT_BASE_URLS[endpoint.provider];
}

/** Stable identity of an endpoint, used for cooldowns, stickiness and the ledger. */
export function endpointId(endpoint: EndpointConfig): string {
  return `${endpoint.provider}:${endpoint.model}@${endpointBaseUrl(endpoint)}`;
}

export function isLocalEndpoint(endpoint: EndpointConfig): boolean {
  if (endpoint.local !== undefined) return endpoint.local;
  if (endpoint.provider === 'ollama') return true;
  try {
    const host = new URL(endpointBaseUrl(endpoint)).hostname;
    return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}
