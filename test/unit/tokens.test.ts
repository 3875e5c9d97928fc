import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  CALIBRATION_RATIO_MAX,
  estimateRequestTokens,
  estimateTokens,
  MESSAGE_OVERHEAD_TOKENS,
  REPLY_PRIMING_TOKENS,
  TokenCalibration,
} from '../../extension/router/tokens';

// Exact o200k_base counts of the samples below, measured once with gpt-tokenizer 3.4.0 (not a dependency).
const EXACT_O200K = { code: 120, prose: 83, diff: 240 };

const CODE_SAMPLE = `export function endpointId(endpoint: EndpointConfig): string {
  return \`\${endpoint.provider}:\${endpoint.model}@\${endpointBaseUrl(endpoint)}\`;
}

export function isLocalEndpoint(endpoint: EndpointConfig): boolean {
  if (endpoint.local !== undefined) return endpoint.local;
  if (endpoint.provider === 'ollama') return true;
  try {
    const host = new URL(endpointBaseUrl(endpoint)).hostname;
    return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
  } catch {
    return false;
  }
}
`;

const PROSE_SAMPLE = `Tierwise routes every request to the cheapest model tier that does it well. Commit messages and
diagnostic explanations go to a local model; refactors go to a mid-priced hosted model; plans go to a frontier
model. A daily and monthly cap in US dollars keeps spending predictable, and the status bar shows what was spent
today next to what the same work would have cost on the frontier model alone.`;

const DIFF_SAMPLE = `commit 3f2a9c1e8b7d6054a1b2c3d4e5f60718293a4b5c
Author: Ada Lovelace <ada@example.com>

diff --git a/extension/router/prices.ts b/extension/router/prices.ts
index 9e1c2b7..4d8f0a3 100644
--- a/extension/router/prices.ts
+++ b/extension/router/prices.ts
@@ -12,7 +12,7 @@ export function roundUsd(amountUsd: number): number {
-  return Math.round(amountUsd * 1e6) / 1e6;
+  return Math.round(amountUsd * NANO_USD_PER_USD) / NANO_USD_PER_USD;
 }
integrity sha512-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=
`;

describe('tokens: estimates', () => {
  it('is at least the exact o200k count on code, prose and a diff full of hashes', () => {
    assert.ok(estimateTokens(CODE_SAMPLE) >= EXACT_O200K.code, `code: ${estimateTokens(CODE_SAMPLE)}`);
    assert.ok(estimateTokens(PROSE_SAMPLE) >= EXACT_O200K.prose, `prose: ${estimateTokens(PROSE_SAMPLE)}`);
    assert.ok(estimateTokens(DIFF_SAMPLE) >= EXACT_O200K.diff, `diff: ${estimateTokens(DIFF_SAMPLE)}`);
  });

  it('stays within 35% above the exact count (a margin, not a multiple)', () => {
    assert.ok(estimateTokens(CODE_SAMPLE) <= EXACT_O200K.code * 1.35);
    assert.ok(estimateTokens(PROSE_SAMPLE) <= EXACT_O200K.prose * 1.35);
    assert.ok(estimateTokens(DIFF_SAMPLE) <= EXACT_O200K.diff * 1.35);
  });

  it('counts at least one token per word', () => {
    const words = PROSE_SAMPLE.split(/\s+/).filter(Boolean).length;
    assert.ok(estimateTokens(PROSE_SAMPLE) >= words);
  });

  it('counts nothing for empty text', () => {
    assert.equal(estimateTokens(''), 0);
  });

  it('adds per-message overhead and the reply priming to a request', () => {
    const request = { system: PROSE_SAMPLE, stableContext: CODE_SAMPLE, messages: [{ role: 'user' as const, content: DIFF_SAMPLE }] };
    const parts = estimateTokens(PROSE_SAMPLE) + estimateTokens(CODE_SAMPLE) + estimateTokens(DIFF_SAMPLE);
    assert.equal(estimateRequestTokens(request), parts + 3 * MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS);
    assert.ok(estimateRequestTokens(request) >= EXACT_O200K.code + EXACT_O200K.prose + EXACT_O200K.diff);
    assert.equal(estimateRequestTokens({ messages: [] }), REPLY_PRIMING_TOKENS);
  });
});

describe('tokens: calibration', () => {
  it('converges on the ratio a model reports', () => {
    const calibration = new TokenCalibration();
    for (let i = 0; i < 40; i++) calibration.observe('anthropic:claude-sonnet-4-5', 1_000, 1_300);
    assert.ok(Math.abs(calibration.multiplier('anthropic:claude-sonnet-4-5') - 1.3) < 0.01);
    assert.ok(Math.abs(calibration.corrected('anthropic:claude-sonnet-4-5', 10_000) - 13_000) <= 100);
  });

  it('covers the spread of noisy reports, not just their mean', () => {
    const calibration = new TokenCalibration();
    for (let i = 0; i < 40; i++) calibration.observe('m', 1_000, i % 2 === 0 ? 1_100 : 1_300);
    assert.ok(calibration.multiplier('m') > 1.2, `multiplier ${calibration.multiplier('m')}`);
  });

  it('never corrects below the raw estimate', () => {
    const calibration = new TokenCalibration();
    for (let i = 0; i < 40; i++) calibration.observe('m', 1_000, 600);
    assert.equal(calibration.corrected('m', 5_000), 5_000);
    assert.equal(calibration.corrected('unknown model', 5_000), 5_000);
  });

  it('bounds the correction and ignores reports that carry no information', () => {
    const calibration = new TokenCalibration();
    calibration.observe('m', 100, 100_000);
    assert.equal(calibration.multiplier('m'), CALIBRATION_RATIO_MAX);
    for (const [estimated, reported] of [[0, 500], [500, 0], [Number.NaN, 500], [500, Number.POSITIVE_INFINITY]]) {
      calibration.observe('other', estimated!, reported!);
    }
    assert.equal(calibration.multiplier('other'), 1);
  });

  it('survives a JSON round trip', () => {
    const calibration = new TokenCalibration();
    calibration.observe('a', 1_000, 1_250);
    calibration.observe('a', 1_000, 1_150);
    calibration.observe('b', 2_000, 2_000);
    const restored = TokenCalibration.fromJSON(JSON.parse(JSON.stringify(calibration)));
    assert.deepEqual(restored.toJSON(), calibration.toJSON());
    assert.equal(restored.corrected('a', 7_777), calibration.corrected('a', 7_777));
  });

  it('starts empty from saved data it cannot read, and drops malformed entries', () => {
    assert.deepEqual(TokenCalibration.fromJSON('garbage').toJSON().models, {});
    assert.deepEqual(TokenCalibration.fromJSON({ version: 99, models: {} }).toJSON().models, {});
    const partial = TokenCalibration.fromJSON({ version: 1, models: { good: { ratio: 1.2, spread: 0, samples: 3 }, bad: { ratio: 'x' } } });
    assert.deepEqual(Object.keys(partial.toJSON().models), ['good']);
  });
});
