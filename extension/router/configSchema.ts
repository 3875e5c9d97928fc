import { PROVIDER_KINDS } from './config';
import { TIER_ORDER } from './tiers';

/**
 * The one schema of Tierwise's configuration. The CLI's and gateway's config file is validated against it, and
 * package.json's `contributes.configuration` is generated from it (`npm run sync-settings`; a unit test fails
 * when the two drift), so the Settings UI, settings.json and the config file all accept the same shape.
 */
export interface JsonSchema {
  type?: JsonType | JsonType[];
  description?: string;
  markdownDescription?: string;
  enum?: readonly (string | number | null)[];
  enumDescriptions?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  /** Tierwise-only: contribute each property as its own setting (`tierwise.budgets.dailyUsd`), for the Settings UI. */
  'x-settings-flatten'?: boolean;
  /** Tierwise-only: a config-file key with no VS Code setting (the extension has a better place for it). */
  'x-settings-exclude'?: boolean;
  order?: number;
}
type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

const dollarsOrNull = (description: string): JsonSchema => ({
  type: ['number', 'null'],
  minimum: 0,
  default: null,
  markdownDescription: `${description} In US dollars; \`null\` means no cap.`,
});

const modelPrice: JsonSchema = {
  type: 'object',
  description: 'Prices in US dollars per million tokens.',
  properties: {
    inputPerMTokUsd: { type: 'number', minimum: 0, description: 'Uncached input, per million tokens.' },
    outputPerMTokUsd: { type: 'number', minimum: 0, description: 'Output (reasoning included), per million tokens.' },
    cacheReadPerMTokUsd: { type: 'number', minimum: 0, description: 'Prompt-cache reads, per million tokens.' },
    cacheWrite5mPerMTokUsd: { type: 'number', minimum: 0, description: '5-minute cache writes, per million tokens.' },
    cacheWrite1hPerMTokUsd: { type: 'number', minimum: 0, description: '1-hour cache writes, per million tokens.' },
  },
  required: ['inputPerMTokUsd', 'outputPerMTokUsd'],
  additionalProperties: false,
};

const endpoint: JsonSchema = {
  type: 'object',
  properties: {
    provider: {
      type: 'string',
      enum: PROVIDER_KINDS,
      enumDescriptions: [
        'Ollama native API',
        'OpenAI or any OpenAI-compatible server (LM Studio, vLLM, llama.cpp, OpenRouter, DeepSeek, LiteLLM)',
        'Anthropic Messages API',
      ],
    },
    model: { type: 'string', minLength: 1, description: 'Model id exactly as the provider names it.' },
    baseUrl: { type: 'string', minLength: 1, description: 'Server URL; defaults to the provider\'s public API or local port.' },
    contextWindowTokens: { type: 'integer', minimum: 1, description: 'Largest prompt + output the model accepts.' },
    maxOutputTokens: { type: 'integer', minimum: 1, description: 'Output cap for one call (also bounds the reservation).' },
    timeoutMs: { type: 'integer', minimum: 1000, description: 'Whole-call timeout in milliseconds.' },
    numCtx: { type: 'integer', minimum: 256, description: 'Ollama `num_ctx`: context the server allocates.' },
    keepAlive: { type: 'string', description: 'Ollama `keep_alive`, e.g. "10m".' },
    apiKeyEnv: { type: 'string', minLength: 1, description: 'Environment variable / secret name holding the key.' },
    local: { type: 'boolean', description: 'Free endpoint (costs 0 unless priced in tierwise.prices).' },
  },
  required: ['provider', 'model'],
  additionalProperties: false,
};

const tier = (description: string): JsonSchema => ({
  type: 'object',
  description,
  properties: { endpoints: { type: 'array', items: endpoint, minItems: 1 } },
  required: ['endpoints'],
  additionalProperties: false,
});

export const CONFIG_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    tiers: {
      type: 'object',
      order: 1,
      markdownDescription:
        'The three tiers, each an ordered list of endpoints tried in turn (the next one on rate limit, server error, network error or timeout).',
      properties: {
        local: tier('Free local models for editor chores.'),
        mid: tier('Affordable hosted models for refactors and questions.'),
        frontier: tier('The strongest models, for plans and hard reasoning.'),
      },
      additionalProperties: false,
    },
    routes: {
      type: 'object',
      order: 2,
      markdownDescription:
        'Task kind → tier. Kinds: `commitMessage`, `explainDiagnostic`, `findFiles`, `refactor`, `plan`, `planStep`, `ask` (and `agent.*` for the gateway). Unlisted kinds use the tier of `ask`.',
      additionalProperties: { type: 'string', enum: TIER_ORDER },
    },
    budgets: {
      type: 'object',
      'x-settings-flatten': true,
      properties: {
        dailyUsd: { ...dollarsOrNull('Cap on spend per calendar day (local time).'), order: 10 },
        monthlyUsd: { ...dollarsOrNull('Cap on spend per calendar month (local time).'), order: 11 },
        perRequestUsd: { ...dollarsOrNull('Cap on the worst-case cost of one call.'), order: 12 },
        perTierDailyUsd: {
          type: 'object',
          order: 13,
          markdownDescription: 'Optional daily cap per tier, in US dollars.',
          properties: Object.fromEntries(TIER_ORDER.map((name) => [name, { type: ['number', 'null'], minimum: 0 }])),
          additionalProperties: false,
          default: {},
        },
        softThresholdPercent: {
          type: 'number',
          minimum: 1,
          maximum: 100,
          default: 80,
          order: 14,
          markdownDescription: 'Spend shows as a warning once it reaches this percentage of a cap.',
        },
        policy: {
          type: 'string',
          enum: ['downgrade', 'block', 'ask'],
          enumDescriptions: [
            'Route to the next cheaper tier whose worst case fits, down to local.',
            'Refuse the call with an error naming the cap.',
            'Ask before spending past the cap.',
          ],
          default: 'downgrade',
          order: 15,
          markdownDescription: 'What happens when a call would cross a cap.',
        },
        unpricedFallback: {
          ...modelPrice,
          order: 16,
          default: { inputPerMTokUsd: 15, outputPerMTokUsd: 75 },
          markdownDescription:
            'Price used for a paid model with no known price, so it is never counted as free (US dollars per million tokens).',
        },
      },
      additionalProperties: false,
    },
    escalation: {
      type: 'object',
      'x-settings-flatten': true,
      properties: {
        maxEscalations: {
          type: 'integer',
          minimum: 0,
          maximum: 2,
          default: 2,
          order: 20,
          markdownDescription: 'How many tiers up an answer that fails its check may climb (local → mid → frontier).',
        },
      },
      additionalProperties: false,
    },
    fallback: {
      type: 'object',
      'x-settings-flatten': true,
      properties: {
        retriesPerEndpoint: { type: 'integer', minimum: 0, maximum: 5, default: 1, order: 30, description: 'Retries of a rate-limited endpoint before trying the next one.' },
        maxRetryWaitMs: { type: 'integer', minimum: 0, default: 10000, order: 31, description: 'A Retry-After longer than this moves on to the next endpoint instead of waiting (milliseconds).' },
        failuresBeforeCooldown: { type: 'integer', minimum: 1, default: 3, order: 32, description: 'Consecutive failures after which an endpoint is skipped for a while.' },
        cooldownMs: { type: 'integer', minimum: 0, default: 60000, order: 33, description: 'How long a failing endpoint is skipped (milliseconds).' },
      },
      additionalProperties: false,
    },
    prices: {
      type: 'object',
      order: 40,
      markdownDescription: 'Per-model price overrides, keyed by the exact model id (US dollars per million tokens).',
      additionalProperties: modelPrice,
      default: {},
    },
    savingsReference: {
      type: ['object', 'null'],
      order: 41,
      markdownDescription: 'The model savings are measured against; `null` uses the frontier tier\'s first endpoint.',
      properties: { provider: { type: 'string', enum: PROVIDER_KINDS }, model: { type: 'string', minLength: 1 } },
      required: ['provider', 'model'],
      additionalProperties: false,
      default: null,
    },
    localUnavailable: {
      type: 'string',
      enum: ['nextTier', 'refuse'],
      enumDescriptions: ['Send local-tier work to the next tier, with a warning.', 'Refuse local-tier work until the local server answers.'],
      default: 'nextTier',
      order: 42,
      markdownDescription: 'What happens to local-tier work when the local server does not answer.',
    },
    keyFile: {
      type: 'string',
      minLength: 1,
      'x-settings-exclude': true,
      description:
        'CLI and gateway only: a JSON file mapping key names (OPENAI_API_KEY, ANTHROPIC_API_KEY, an endpoint\'s apiKeyEnv) to keys. The extension keeps keys in VS Code\'s secret storage.',
    },
    requestTimeoutMs: {
      type: 'integer',
      minimum: 1000,
      default: 120000,
      order: 43,
      markdownDescription: 'Timeout for one call when its endpoint sets none (milliseconds).',
    },
  },
  additionalProperties: false,
};
