/** Prompt-size estimates: the hot-path byte count (media counted apart) and the closer count for count_tokens. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONTEXT_BYTES_PER_TOKEN, countInputTokens, IMAGE_TOKENS, QUICK_BYTES_PER_TOKEN, quickInputEstimate } from '../../extension/gateway/estimate';
import { RawBody } from '../../extension/gateway/requestBody';
import { REPLY_PRIMING_TOKENS } from '../../extension/router/tokens';
import { claudeCodeMainTurn } from './helpers/gatewayFixtures';

describe('quickInputEstimate', () => {
  test('a text body is its bytes per token: high for reservations, nearer the real count for context checks', () => {
    const body = claudeCodeMainTurn({ turns: 5 });
    const raw = Buffer.from(JSON.stringify(body));
    const quick = quickInputEstimate('anthropic', raw.length, new RawBody(raw));
    assert.equal(quick.budgetTokens, Math.ceil(raw.length / QUICK_BYTES_PER_TOKEN) + REPLY_PRIMING_TOKENS);
    assert.equal(quick.contextTokens, Math.ceil(raw.length / CONTEXT_BYTES_PER_TOKEN) + REPLY_PRIMING_TOKENS);
    assert.ok(quick.budgetTokens > countInputTokens(body), `${quick.budgetTokens} should exceed ${countInputTokens(body)}`);
  });

  test('a pasted image counts as an image, not as its base64 text', () => {
    const data = 'iVBORw0KGgo'.repeat(100_000);
    const body = { model: 'm', messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data } }, { type: 'text', text: 'What is wrong here?' }] }] };
    const raw = Buffer.from(JSON.stringify(body));
    const quick = quickInputEstimate('anthropic', raw.length, new RawBody(raw));
    assert.equal(quick.budgetTokens, Math.ceil((raw.length - data.length) / QUICK_BYTES_PER_TOKEN) + IMAGE_TOKENS + REPLY_PRIMING_TOKENS);
    const openai = { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } }] }] };
    const openaiRaw = Buffer.from(JSON.stringify(openai));
    assert.ok(quickInputEstimate('openaiChat', openaiRaw.length, new RawBody(openaiRaw)).budgetTokens < 2000);
  });
});

describe('countInputTokens', () => {
  test('counts system, tools and messages of every protocol shape', () => {
    assert.ok(countInputTokens({ system: 'Be brief.', messages: [{ role: 'user', content: 'Hello there' }] }) > REPLY_PRIMING_TOKENS);
    assert.ok(countInputTokens({ instructions: 'Be brief.', input: 'Hello there' }) > REPLY_PRIMING_TOKENS);
    assert.equal(countInputTokens({}), REPLY_PRIMING_TOKENS);
    assert.equal(countInputTokens(null), REPLY_PRIMING_TOKENS);
  });
});
