import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DEFAULT_CONFIG, type EndpointConfig, type ModelPrice } from '../../extension/router/config';
import { ZERO_USAGE, type Usage } from '../../extension/providers/types';
import { costOfUsage, lookupPrice, priceCall, referenceCostUsd, worstCaseCostUsd, type PriceConfig } from '../../extension/router/prices';

// Published list prices, US dollars per million tokens. The expected figures below are computed from these by
// hand, never by the code under test. If a catalog update changes a price, these tests fail on purpose: check
// the vendor's pricing page, then update the constant.
const SONNET_4_5 = { input: 3, output: 15, cacheRead: 0.3, write5m: 3.75, write1h: 6 };
const SONNET_4_5_ABOVE_200K = { input: 6, output: 22.5, cacheRead: 0.6, write5m: 7.5, write1h: 12 };
const GEMINI_2_5_PRO = { input: 1.25, output: 10, cacheRead: 0.125 };
const GEMINI_2_5_PRO_ABOVE_200K = { input: 2.5, output: 15, cacheRead: 0.25 };
const GPT_5 = { input: 1.25, output: 10, cacheRead: 0.125 };
const DEEPSEEK_V4_PRO_OFF_PEAK = { input: 0.66, output: 1.98, cacheRead: 0.022 };
const DEEPSEEK_V4_PRO_PEAK = { input: 1.32, output: 3.96, cacheRead: 0.044 };
const UNPRICED_FALLBACK = { input: 15, output: 75 }; // DEFAULT_CONFIG.budgets.unpricedFallback
const MTOK = 1_000_000;
const AT = new Date('2026-11-24T12:00:00Z');
const GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta/openai/';

const config = (prices: Record<string, ModelPrice> = {}): PriceConfig => ({ prices, budgets: DEFAULT_CONFIG.budgets });
const usage = (parts: Partial<Usage>): Usage => ({ ...ZERO_USAGE, ...parts });
const sonnet: EndpointConfig = { provider: 'anthropic', model: 'claude-sonnet-4-5' };
/** Money compared to a millionth of a cent. */
const assertUsd = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-8, `${actual} ≠ ${expected}`);

describe('prices: Anthropic prompt caching', () => {
  it('bills cache reads, 5-minute writes and 1-hour writes at their own rates', () => {
    const call = usage({ inputTokens: 2_000, cacheReadTokens: 50_000, cacheWrite5mTokens: 10_000, cacheWrite1hTokens: 20_000, outputTokens: 1_500 });
    const expected =
      (2_000 * SONNET_4_5.input +
        50_000 * SONNET_4_5.cacheRead +
        10_000 * SONNET_4_5.write5m +
        20_000 * SONNET_4_5.write1h +
        1_500 * SONNET_4_5.output) /
      MTOK; // = 0.201
    const price = priceCall(sonnet, call, config(), { at: AT });
    assertUsd(price.costUsd, expected);
    assertUsd(price.costUsd, 0.201);
    assert.deepEqual({ unpriced: price.unpriced, source: price.source }, { unpriced: false, source: 'catalog' });
  });

  it('reads 1-hour write prices from the catalog (2× input, as Anthropic publishes)', () => {
    const price = lookupPrice('anthropic', 'claude-sonnet-4-5', {});
    assert.equal(price?.cacheWrite1hPerMTokUsd, 2 * SONNET_4_5.input);
    assert.equal(price?.cacheWrite5mPerMTokUsd, 1.25 * SONNET_4_5.input);
    assert.deepEqual(price?.derivedRates, []);
  });
});

describe('prices: long-context tiers', () => {
  it('prices a Sonnet 4.5 call whose whole prompt exceeds 200k at the long-context rates', () => {
    // 150k uncached input alone is under the threshold; with 60k cache reads the prompt is 210k.
    const call = usage({ inputTokens: 150_000, cacheReadTokens: 60_000, outputTokens: 2_000 });
    const expected =
      (150_000 * SONNET_4_5_ABOVE_200K.input + 60_000 * SONNET_4_5_ABOVE_200K.cacheRead + 2_000 * SONNET_4_5_ABOVE_200K.output) / MTOK; // = 0.981
    assertUsd(priceCall(sonnet, call, config(), { at: AT }).costUsd, expected);
    assertUsd(expected, 0.981);
  });

  it('keeps a prompt of exactly 200k tokens at the base rates (the tier starts above it)', () => {
    const call = usage({ inputTokens: 190_000, cacheWrite5mTokens: 10_000, outputTokens: 1_000 });
    const expected = (190_000 * SONNET_4_5.input + 10_000 * SONNET_4_5.write5m + 1_000 * SONNET_4_5.output) / MTOK; // = 0.6225
    assertUsd(priceCall(sonnet, call, config(), { at: AT }).costUsd, expected);
  });

  it('prices Gemini 2.5 Pro through its OpenAI-compatible URL, with and without the >200k tier', () => {
    const gemini: EndpointConfig = { provider: 'openai', model: 'gemini-2.5-pro', baseUrl: GEMINI_BASE_URL };
    const long = usage({ inputTokens: 250_000, outputTokens: 4_000, reasoningTokens: 3_000 });
    const longExpected = (250_000 * GEMINI_2_5_PRO_ABOVE_200K.input + 4_000 * GEMINI_2_5_PRO_ABOVE_200K.output) / MTOK; // = 0.685
    assertUsd(priceCall(gemini, long, config(), { at: AT }).costUsd, longExpected);

    const short = usage({ inputTokens: 100_000, cacheReadTokens: 20_000, outputTokens: 1_000 });
    const shortExpected = (100_000 * GEMINI_2_5_PRO.input + 20_000 * GEMINI_2_5_PRO.cacheRead + 1_000 * GEMINI_2_5_PRO.output) / MTOK; // = 0.1375
    assertUsd(priceCall(gemini, short, config(), { at: AT }).costUsd, shortExpected);
  });
});

describe('prices: OpenAI', () => {
  it('bills cached input at the cached rate and reasoning tokens once, as output', () => {
    const gpt5: EndpointConfig = { provider: 'openai', model: 'gpt-5' };
    // 2,200 of the 3,000 output tokens were reasoning; they are inside outputTokens already.
    const call = usage({ inputTokens: 8_000, cacheReadTokens: 24_000, outputTokens: 3_000, reasoningTokens: 2_200 });
    const expected = (8_000 * GPT_5.input + 24_000 * GPT_5.cacheRead + 3_000 * GPT_5.output) / MTOK; // = 0.043
    const price = priceCall(gpt5, call, config(), { at: AT });
    assertUsd(price.costUsd, expected);
    assertUsd(price.costUsd, 0.043);
    assert.equal(price.source, 'catalog');
  });
});

describe('prices: unpriced, local and overrides', () => {
  it('flags a paid model with no known price and counts it at the fallback price, never $0', () => {
    const unknown: EndpointConfig = { provider: 'anthropic', model: 'claude-sonnet-4-7' };
    const price = priceCall(unknown, usage({ inputTokens: 1_000, outputTokens: 1_000 }), config(), { at: AT });
    const expected = (1_000 * UNPRICED_FALLBACK.input + 1_000 * UNPRICED_FALLBACK.output) / MTOK; // = 0.09
    assert.deepEqual({ unpriced: price.unpriced, source: price.source }, { unpriced: true, source: 'fallback' });
    assertUsd(price.costUsd, expected);
    assert.ok(price.costUsd > 0);
  });

  it('costs a local Ollama model and a loopback OpenAI-compatible server nothing', () => {
    const call = usage({ inputTokens: 50_000, outputTokens: 5_000 });
    const ollama: EndpointConfig = { provider: 'ollama', model: 'qwen2.5-coder:7b' };
    const lmStudio: EndpointConfig = { provider: 'openai', model: 'gpt-oss-20b', baseUrl: 'http://127.0.0.1:1234/v1' };
    assert.deepEqual(priceCall(ollama, call, config()), { costUsd: 0, unpriced: false, source: 'local' });
    assert.deepEqual(priceCall(lmStudio, call, config()), { costUsd: 0, unpriced: false, source: 'local' });
  });

  it('prices a local model when the user gives it a price', () => {
    const ollama: EndpointConfig = { provider: 'ollama', model: 'qwen2.5-coder:7b' };
    const prices = { 'qwen2.5-coder:7b': { inputPerMTokUsd: 0.02, outputPerMTokUsd: 0.04 } };
    const price = priceCall(ollama, usage({ inputTokens: 50_000, outputTokens: 5_000 }), config(prices));
    assert.equal(price.source, 'override');
    assertUsd(price.costUsd, (50_000 * 0.02 + 5_000 * 0.04) / MTOK); // = 0.0012
  });

  it('uses an override before the catalog, deriving missing Anthropic cache rates from its input price', () => {
    const override = { inputPerMTokUsd: 2, outputPerMTokUsd: 10 };
    const call = usage({ inputTokens: 1_000, cacheReadTokens: 10_000, cacheWrite5mTokens: 4_000, cacheWrite1hTokens: 2_000, outputTokens: 500 });
    // Anthropic's multipliers: reads 0.1×, 5-minute writes 1.25×, 1-hour writes 2× input.
    const expected = (1_000 * 2 + 10_000 * 0.2 + 4_000 * 2.5 + 2_000 * 4 + 500 * 10) / MTOK; // = 0.027
    const price = priceCall(sonnet, call, config({ 'claude-sonnet-4-5': override }), { at: AT });
    assert.equal(price.source, 'override');
    assertUsd(price.costUsd, expected);
    assert.deepEqual(lookupPrice('anthropic', 'claude-sonnet-4-5', { 'claude-sonnet-4-5': override })?.derivedRates, [
      'cacheReadPerMTokUsd',
      'cacheWrite5mPerMTokUsd',
      'cacheWrite1hPerMTokUsd',
    ]);
  });

  it('bills cache reads at the input price when a non-Anthropic override lists no cached rate', () => {
    const price = lookupPrice('openai', 'my-finetune', { 'my-finetune': { inputPerMTokUsd: 4, outputPerMTokUsd: 16 } });
    assert.equal(price?.cacheReadPerMTokUsd, 4);
  });

  it('rounds to nano-dollars so float noise does not leak into totals', () => {
    const price = lookupPrice('openai', 'noise', { noise: { inputPerMTokUsd: 0.1, outputPerMTokUsd: 0.2 } });
    assert.ok(price);
    assert.equal(costOfUsage(price, usage({ inputTokens: MTOK, outputTokens: MTOK })), 0.3); // 0.1 + 0.2 ≠ 0.3 in floats
  });
});

describe('prices: exact model matching', () => {
  it('never prices an unknown newer id as an older sibling', () => {
    assert.equal(lookupPrice('anthropic', 'claude-sonnet-4-7', {}), undefined);
    // The catalog's own rule `starts_with: claude-sonnet-5` would price this as Sonnet 5.
    assert.equal(lookupPrice('anthropic', 'claude-sonnet-5-5', {}), undefined);
    assert.equal(lookupPrice('anthropic', 'claude-opus-4-50', {}), undefined);
    assert.equal(lookupPrice('openai', 'gemini-2.5-pro-preview-06-05', {}, { baseUrl: GEMINI_BASE_URL }), undefined);
    assert.equal(lookupPrice('openai', 'deepseek-v4-pro-max', {}, { baseUrl: 'https://api.deepseek.com' }), undefined);
  });

  it('prices a dated snapshot as its model when the catalog rule for that model covers it', () => {
    const snapshot = lookupPrice('anthropic', 'claude-sonnet-4-5-20250929', {});
    assert.deepEqual(
      { id: snapshot?.catalogModelId, by: snapshot?.matchedBy, input: snapshot?.inputPerMTokUsd, output: snapshot?.outputPerMTokUsd },
      { id: 'claude-sonnet-4-5', by: 'snapshot', input: SONNET_4_5.input, output: SONNET_4_5.output },
    );
    assert.equal(lookupPrice('anthropic', 'claude-sonnet-4-20250514', {})?.catalogModelId, 'claude-sonnet-4-0');
    assert.equal(lookupPrice('anthropic', 'claude-opus-4-20250514', {})?.matchedBy, 'exact'); // listed explicitly
    assert.equal(lookupPrice('openai', 'gpt-4.1-2025-04-14', {})?.matchedBy, 'exact');
    assert.equal(lookupPrice('anthropic', 'claude-3-5-haiku-20241022', {})?.catalogModelId, 'claude-3-5-haiku-latest');
  });

  it('does not invent snapshots: an unknown date on an exactly-listed model, or a snapshot of an unknown model', () => {
    assert.equal(lookupPrice('openai', 'gpt-4o-2099-01-01', {}), undefined); // gpt-4o lists its snapshots one by one
    assert.equal(lookupPrice('anthropic', 'claude-sonnet-4-7-20260101', {}), undefined);
  });

  it('matches an override only by the exact id', () => {
    const overrides = { 'claude-sonnet-4-5': { inputPerMTokUsd: 1, outputPerMTokUsd: 1 } };
    assert.equal(lookupPrice('anthropic', 'claude-sonnet-4-5-20250929', overrides)?.source, 'catalog');
  });

  it('does not use a catalog price it cannot honour (a separate reasoning price, a per-request fee)', () => {
    // Perplexity lists output_reasoning_mtok and requests_kcount: billing reasoning as plain output would undercount.
    assert.equal(lookupPrice('openai', 'sonar-deep-research', {}, { baseUrl: 'https://api.perplexity.ai' }), undefined);
  });

  it('keeps to the vendor a known base URL names', () => {
    // gpt-5 is an OpenAI model; through Google's endpoint it is not a known price.
    assert.equal(lookupPrice('openai', 'gpt-5', {}, { baseUrl: GEMINI_BASE_URL }), undefined);
    assert.equal(lookupPrice('openai', 'gpt-5', {}, { baseUrl: 'https://api.openai.com/v1' })?.catalogProviderId, 'openai');
    // Through an unknown proxy the first-party list prices apply.
    assert.equal(lookupPrice('openai', 'claude-sonnet-4-5', {}, { baseUrl: 'https://llm.corp.example/v1' })?.catalogProviderId, 'anthropic');
  });
});

describe('prices: prices that change with time', () => {
  it('applies DeepSeek peak and off-peak rates by the time of the call', () => {
    const deepseek: EndpointConfig = { provider: 'openai', model: 'deepseek-v4-pro', baseUrl: 'https://api.deepseek.com' };
    const call = usage({ inputTokens: 100_000, cacheReadTokens: 400_000, outputTokens: 10_000 });
    const cost = (rates: typeof DEEPSEEK_V4_PRO_PEAK) => (100_000 * rates.input + 400_000 * rates.cacheRead + 10_000 * rates.output) / MTOK;
    const offPeak = cost(DEEPSEEK_V4_PRO_OFF_PEAK);
    const peak = cost(DEEPSEEK_V4_PRO_PEAK);
    assertUsd(priceCall(deepseek, call, config(), { at: new Date('2026-11-24T12:00:00Z') }).costUsd, offPeak); // = 0.0947
    assertUsd(priceCall(deepseek, call, config(), { at: new Date('2026-11-24T02:00:00Z') }).costUsd, peak); // = 0.1894
  });

  it('applies a dated price change (Sonnet 4.6 dropped its long-context tier on 2026-03-13)', () => {
    const sonnet46: EndpointConfig = { provider: 'anthropic', model: 'claude-sonnet-4-6' };
    const call = usage({ inputTokens: 250_000, outputTokens: 1_000 });
    const before = (250_000 * 6 + 1_000 * 22.5) / MTOK;
    const after = (250_000 * 3 + 1_000 * 15) / MTOK;
    assertUsd(priceCall(sonnet46, call, config(), { at: new Date('2026-01-01T00:00:00Z') }).costUsd, before);
    assertUsd(priceCall(sonnet46, call, config(), { at: new Date('2026-06-01T00:00:00Z') }).costUsd, after);
  });
});

describe('prices: reservations', () => {
  it('reserves all input at the 5-minute cache-write rate (the prefix may be written) plus the full output budget', () => {
    const expected = (150_000 * SONNET_4_5.write5m + 8_192 * SONNET_4_5.output) / MTOK; // = 0.68538
    assertUsd(worstCaseCostUsd(sonnet, 150_000, 8_192, config(), { at: AT }), expected);
  });

  it('reserves at the long-context rates when the estimate crosses the threshold', () => {
    const expected = (210_000 * SONNET_4_5_ABOVE_200K.write5m + 8_192 * SONNET_4_5_ABOVE_200K.output) / MTOK; // = 1.75932
    assertUsd(worstCaseCostUsd(sonnet, 210_000, 8_192, config(), { at: AT }), expected);
  });

  it('reserves an unpriced model at the fallback price and a local one at nothing', () => {
    const unknown: EndpointConfig = { provider: 'openai', model: 'gpt-7-preview' };
    assertUsd(worstCaseCostUsd(unknown, 10_000, 1_000, config()), (10_000 * UNPRICED_FALLBACK.input + 1_000 * UNPRICED_FALLBACK.output) / MTOK);
    assert.equal(worstCaseCostUsd({ provider: 'ollama', model: 'llama3.2' }, 10_000, 1_000, config()), 0);
    const priced = config({ 'llama3.2': { inputPerMTokUsd: 1, outputPerMTokUsd: 2 } });
    assertUsd(worstCaseCostUsd({ provider: 'ollama', model: 'llama3.2' }, 10_000, 1_000, priced), (10_000 * 1 + 1_000 * 2) / MTOK);
  });
});

describe('prices: savings reference', () => {
  const call = usage({ inputTokens: 10_000, cacheReadTokens: 5_000, outputTokens: 1_000 });

  it('prices the same tokens on the reference model', () => {
    const expected = (10_000 * SONNET_4_5.input + 5_000 * SONNET_4_5.cacheRead + 1_000 * SONNET_4_5.output) / MTOK; // = 0.0465
    assertUsd(referenceCostUsd({ provider: 'anthropic', model: 'claude-sonnet-4-5' }, call, config(), { at: AT }) ?? NaN, expected);
  });

  it('has no reference cost for an unpriced reference or none at all, and 0 for a local one', () => {
    assert.equal(referenceCostUsd({ provider: 'anthropic', model: 'claude-sonnet-4-7' }, call, config()), undefined);
    assert.equal(referenceCostUsd(null, call, config()), undefined);
    assert.equal(referenceCostUsd({ provider: 'ollama', model: 'llama3.2' }, call, config()), 0);
  });
});
