/**
 * Error bodies in each protocol's own format, with statuses chosen so that the coding agent retries what may pass
 * later (rate limits, overload, upstream 5xx) and stops on what will not (budget blocks, bad requests).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { codecFor, PROTOCOLS, type GatewayErrorKind } from '../../extension/gateway/translate/index';

const BUDGET = 'Tierwise: the daily cap of $5.00 is reached ($5.02 spent). Raise tierwise.budgets.dailyUsd to continue.';

describe('budget blocks stop the agent instead of making it retry', () => {
  test('Anthropic (Claude Code): 402 billing_error, x-should-retry false (Claude Code re-sends a 400)', () => {
    assert.deepEqual(codecFor('anthropic').encodeError(429, BUDGET, 'budget'), {
      status: 402,
      headers: { 'content-type': 'application/json', 'x-should-retry': 'false' },
      body: { type: 'error', error: { type: 'billing_error', message: BUDGET } },
    });
  });

  test('OpenAI Chat and Responses (Codex): 400 with a budget_exceeded code', () => {
    for (const protocol of ['openaiChat', 'openaiResponses'] as const) {
      assert.deepEqual(codecFor(protocol).encodeError(402, BUDGET, 'budget'), {
        status: 400,
        headers: { 'content-type': 'application/json', 'x-should-retry': 'false' },
        body: { error: { message: BUDGET, type: 'invalid_request_error', param: null, code: 'budget_exceeded' } },
      });
    }
  });

  test('Ollama: 400 with {error}', () => {
    assert.deepEqual(codecFor('ollama').encodeError(400, BUDGET, 'budget'), {
      status: 400,
      headers: { 'content-type': 'application/json', 'x-should-retry': 'false' },
      body: { error: BUDGET },
    });
  });
});

describe('every kind in every protocol', () => {
  const cases: Array<[GatewayErrorKind, number, number, string, string | null, string]> = [
    // kind, given status, client status, Anthropic type, OpenAI code, OpenAI type
    ['auth', 403, 401, 'authentication_error', 'invalid_api_key', 'invalid_request_error'],
    ['rateLimit', 500, 429, 'rate_limit_error', 'rate_limit_exceeded', 'requests'],
    ['invalid', 404, 404, 'not_found_error', null, 'invalid_request_error'],
    ['invalid', 413, 413, 'request_too_large', null, 'invalid_request_error'],
    ['invalid', 200, 400, 'invalid_request_error', null, 'invalid_request_error'],
    ['upstream', 502, 502, 'api_error', null, 'server_error'],
    ['upstream', 500, 500, 'api_error', null, 'server_error'],
    // Tierwise's own provider key was refused: the client's login is fine and a retry cannot help.
    ['upstream', 401, 400, 'invalid_request_error', null, 'invalid_request_error'],
    ['upstream', 0, 502, 'api_error', null, 'server_error'],
  ];
  for (const [kind, given, status, anthropicType, openAiCode, openAiType] of cases) {
    test(`${kind} (given ${given}) → ${status}`, () => {
      const anthropic = codecFor('anthropic').encodeError(given, 'why', kind);
      assert.equal(anthropic.status, status);
      assert.deepEqual(anthropic.body, { type: 'error', error: { type: anthropicType, message: 'why' } });
      const chat = codecFor('openaiChat').encodeError(given, 'why', kind);
      assert.equal(chat.status, status);
      assert.deepEqual(chat.body, { error: { message: 'why', type: openAiType, param: null, code: openAiCode } });
      assert.deepEqual(codecFor('openaiResponses').encodeError(given, 'why', kind), chat);
      const ollama = codecFor('ollama').encodeError(given, 'why', kind);
      assert.equal(ollama.status, status);
      assert.deepEqual(ollama.body, { error: 'why' });
      const retryable = status === 429 || status >= 500;
      for (const encoded of [anthropic, chat, ollama]) {
        assert.equal(encoded.headers['x-should-retry'], retryable ? undefined : 'false');
      }
    });
  }

  test('overload: Anthropic 529 overloaded_error (Claude Code waits and retries), others 503', () => {
    assert.deepEqual(codecFor('anthropic').encodeError(503, 'busy', 'overloaded', { retryAfterSeconds: 2.5 }), {
      status: 529,
      headers: { 'content-type': 'application/json', 'retry-after': '3' },
      body: { type: 'error', error: { type: 'overloaded_error', message: 'busy' } },
    });
    for (const protocol of ['openaiChat', 'openaiResponses', 'ollama'] as const) {
      const encoded = codecFor(protocol).encodeError(529, 'busy', 'overloaded', { retryAfterSeconds: 4 });
      assert.equal(encoded.status, 503, protocol);
      assert.equal(encoded.headers['retry-after'], '4', protocol);
    }
  });

  test('Retry-After is only sent with retryable statuses', () => {
    for (const protocol of PROTOCOLS) {
      assert.equal(codecFor(protocol).encodeError(429, 'slow down', 'rateLimit', { retryAfterSeconds: 7 }).headers['retry-after'], '7');
      assert.equal(codecFor(protocol).encodeError(400, BUDGET, 'budget', { retryAfterSeconds: 7 }).headers['retry-after'], undefined);
    }
  });
});
