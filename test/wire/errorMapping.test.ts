/** errors.ts and registry.ts on their own: header parsing, deadline causes and mapping of shapes no fake produces. */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, test } from 'node:test';
import {
  CallDeadline,
  MalformedStreamError,
  retryAfterMs,
  StreamReportedError,
  toProviderError,
} from '../../extension/providers/errors';
import { createProviderRegistry } from '../../extension/providers/registry';
import { ProviderError, type ProviderAdapter } from '../../extension/providers/types';
import { PROVIDER_KINDS, type EndpointConfig } from '../../extension/router/config';

const endpoint: EndpointConfig = { provider: 'openai', model: 'gpt-5-mini' };

function headers(values: Record<string, string>): Headers {
  return new Headers(values);
}

function mapped(error: unknown, apiKey?: string): ProviderError {
  const deadline = new CallDeadline(undefined, 60_000);
  try {
    return toProviderError(error, { endpoint, deadline, apiKey });
  } finally {
    deadline.release();
  }
}

describe('retryAfterMs', () => {
  const nowMs = Date.parse('2025-06-01T12:00:00Z');

  test('seconds, fractional seconds and zero', () => {
    assert.equal(retryAfterMs(headers({ 'retry-after': '7' }), nowMs), 7_000);
    assert.equal(retryAfterMs(headers({ 'retry-after': '1.5' }), nowMs), 1_500);
    assert.equal(retryAfterMs(headers({ 'retry-after': '0' }), nowMs), 0);
  });

  test('an HTTP date, relative to now and never negative', () => {
    assert.equal(retryAfterMs(headers({ 'retry-after': 'Sun, 01 Jun 2025 12:00:42 GMT' }), nowMs), 42_000);
    assert.equal(retryAfterMs(headers({ 'retry-after': 'Sun, 01 Jun 2025 11:59:00 GMT' }), nowMs), 0);
  });

  test('retry-after-ms wins over retry-after', () => {
    assert.equal(retryAfterMs(headers({ 'retry-after-ms': '250.4', 'retry-after': '9' }), nowMs), 250);
  });

  test('absent or unusable values give undefined', () => {
    assert.equal(retryAfterMs(headers({}), nowMs), undefined);
    assert.equal(retryAfterMs(undefined, nowMs), undefined);
    assert.equal(retryAfterMs(headers({ 'retry-after': 'soon' }), nowMs), undefined);
    assert.equal(retryAfterMs(headers({ 'retry-after': '-3' }), nowMs), undefined);
    assert.equal(retryAfterMs(headers({ 'retry-after-ms': 'x', 'retry-after': '2' }), nowMs), 2_000);
  });
});

describe('CallDeadline', () => {
  test('the caller aborting is "cancelled"', () => {
    const caller = new AbortController();
    const deadline = new CallDeadline(caller.signal, 60_000);
    caller.abort();
    assert.equal(deadline.signal.aborted, true);
    assert.equal(deadline.abortCause, 'cancelled');
    assert.throws(() => deadline.throwIfAborted());
    deadline.release();
  });

  test('the deadline passing is "timeout"', async () => {
    const deadline = new CallDeadline(new AbortController().signal, 20);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(deadline.abortCause, 'timeout');
    assert.equal(mappedWith(deadline).kind, 'timeout');
    deadline.release();
  });

  test('release closes the request without claiming a cause, and stops listening to the caller', () => {
    const caller = new AbortController();
    const deadline = new CallDeadline(caller.signal, 60_000);
    deadline.release();
    assert.equal(deadline.signal.aborted, true);
    assert.equal(deadline.abortCause, undefined);
    caller.abort();
    assert.equal(deadline.abortCause, undefined);
  });

  function mappedWith(deadline: CallDeadline): ProviderError {
    return toProviderError(new DOMException('This operation was aborted', 'AbortError'), { endpoint, deadline });
  }
});

describe('toProviderError', () => {
  test('a ProviderError passes through unchanged', () => {
    const original = new ProviderError('badRequest', 'openai', 'gpt-5-mini', 'already typed');
    assert.equal(mapped(original), original);
  });

  test('403 is auth, worded as refused access', () => {
    const error = mapped(Object.assign(new Error('403 Forbidden'), { status: 403, headers: headers({}), error: { message: 'Project does not have access to model gpt-5' } }));
    assert.equal(error.kind, 'auth');
    assert.match(error.message, /refused access with this API key \(HTTP 403: Project does not have access to model gpt-5\)/);
    assert.match(error.message, /set OPENAI_API_KEY or run "Tierwise: Set API Key"/);
  });

  test('408 is server (the server gave up), 422 without context wording is badRequest', () => {
    assert.equal(mapped({ status: 408, error: { message: 'Request Timeout' } }).kind, 'server');
    assert.equal(mapped({ status: 422, error: { message: 'messages: field required' } }).kind, 'badRequest');
  });

  test('llama.cpp and vLLM context errors are contextOverflow', () => {
    const llamaCpp = { status: 400, error: { message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error' } };
    const vllm = { status: 400, error: { message: "This model's maximum context length is 32768 tokens.", type: 'BadRequestError' } };
    assert.equal(mapped(llamaCpp).kind, 'contextOverflow');
    assert.equal(mapped(vllm).kind, 'contextOverflow');
  });

  test('an error object inside a stream (no status) is typed by its type', () => {
    assert.equal(mapped({ error: { message: 'The server had an error', type: 'server_error' } }).kind, 'server');
    assert.equal(mapped({ error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } }).kind, 'server');
    assert.equal(mapped({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }).kind, 'rateLimit');
    assert.equal(mapped(new StreamReportedError('prompt is too long for the context window')).kind, 'contextOverflow');
  });

  test('broken streams and connection failures are network', () => {
    assert.equal(mapped(new MalformedStreamError('bad line')).kind, 'network');
    assert.equal(mapped(new SyntaxError('Unexpected end of JSON input')).kind, 'network');
    const reset = new TypeError('terminated', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    const mappedReset = mapped(reset);
    assert.equal(mappedReset.kind, 'network');
    assert.match(mappedReset.message, /terminated: other side closed: UND_ERR_SOCKET/);
    assert.equal(mapped(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })).kind, 'network');
    assert.equal(mapped(new Error('socket hang up')).kind, 'network');
  });

  test('an SDK connection timeout is timeout', () => {
    assert.equal(mapped(new Error('Request timed out.')).kind, 'timeout');
  });

  test('anything unrecognised is server, keeping what happened', () => {
    const error = mapped(new RangeError('Invalid array length'));
    assert.equal(error.kind, 'server');
    assert.match(error.message, /unexpected failure \(Invalid array length\)/);
  });

  test('the key is removed from every message, whatever echoed it', () => {
    const key = 'sk-live-0123456789abcdef';
    for (const error of [
      { status: 401, error: { message: `Incorrect API key provided: ${key}` } },
      { status: 400, error: { message: `bad header Bearer ${key}` } },
      new Error(`fetch failed for key ${key}`),
    ]) {
      const mappedError = mapped(error, key);
      assert.ok(!mappedError.message.includes(key), mappedError.message);
      assert.match(mappedError.message, /\[redacted key\]/);
      assert.ok(!inspect(mappedError.cause, { depth: 8 }).includes(key), 'key kept in the cause');
    }
  });
});

describe('createProviderRegistry', () => {
  test('has an adapter of the right kind for every ProviderKind', () => {
    const providers = createProviderRegistry();
    for (const kind of PROVIDER_KINDS) assert.equal(providers(kind).kind, kind);
  });

  test('replacements stand in for real adapters', () => {
    const scripted: ProviderAdapter = {
      kind: 'anthropic',
      async *stream() {
        yield { type: 'text', text: 'scripted' };
      },
      listModels: async () => ['scripted-model'],
    };
    const providers = createProviderRegistry({ anthropic: scripted });
    assert.equal(providers('anthropic'), scripted);
    assert.equal(providers('ollama').kind, 'ollama');
  });
});
