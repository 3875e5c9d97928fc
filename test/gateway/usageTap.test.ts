/** Usage read out of upstream streams as the bytes pass, whatever the chunk boundaries. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageTap } from '../../extension/gateway/usageTap';
import type { WireProtocol } from '../../extension/gateway/protocols';

const sse = (event: string | undefined, data: unknown) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

/** Feeds `text` split at every `step` bytes (multi-byte characters split too). */
function tapOf(protocol: WireProtocol, text: string, step: number, streaming = true) {
  const tap = new UsageTap(protocol, streaming);
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; at += step) tap.push(bytes.subarray(at, at + step));
  return tap.finish();
}

const anthropicStream =
  sse('message_start', { type: 'message_start', message: { id: 'msg_1', model: 'm', usage: { input_tokens: 1200, cache_read_input_tokens: 5000, cache_creation_input_tokens: 800, cache_creation: { ephemeral_5m_input_tokens: 500, ephemeral_1h_input_tokens: 300 }, output_tokens: 1 } } }) +
  sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
  sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Ünïcode "message_start" ✓' } }) +
  sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 321, output_tokens_details: { thinking_tokens: 100 } } }) +
  sse('message_stop', { type: 'message_stop' });

describe('UsageTap', () => {
  test('Anthropic: message_start input and cache counts, message_delta output, split at every byte', () => {
    for (const step of [1, 3, 7, 64, 100_000]) {
      const outcome = tapOf('anthropic', anthropicStream, step);
      assert.deepEqual(outcome.usage, { inputTokens: 1200, outputTokens: 321, cacheReadTokens: 5000, cacheWrite5mTokens: 500, cacheWrite1hTokens: 300, reasoningTokens: 100 }, `step ${step}`);
      assert.equal(outcome.completed, true);
      assert.equal(outcome.stopReason, 'tool_use');
    }
  });

  test('CRLF line endings are read too', () => {
    const outcome = tapOf('anthropic', anthropicStream.replace(/\n/g, '\r\n'), 5);
    assert.equal(outcome.usage?.outputTokens, 321);
    assert.equal(outcome.completed, true);
  });

  test('Anthropic: an error event inside the stream, and a stream cut short, are reported', () => {
    const errored = tapOf('anthropic', anthropicStream.split('event: message_delta')[0] + sse('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), 9);
    assert.equal(errored.streamError, 'Overloaded');
    const cut = tapOf('anthropic', anthropicStream.split('event: message_delta')[0], 9);
    assert.equal(cut.completed, false);
    assert.equal(cut.usage?.inputTokens, 1200);
    assert.ok(cut.estimatedOutputTokens >= 0);
  });

  test('OpenAI Chat: the include_usage chunk, cached tokens split out; [DONE] completes', () => {
    const text =
      sse(undefined, { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] }) +
      sse(undefined, { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
      sse(undefined, { id: 'c', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 900, completion_tokens: 40, prompt_tokens_details: { cached_tokens: 600 }, completion_tokens_details: { reasoning_tokens: 10 } } }) +
      sse(undefined, '[DONE]');
    const outcome = tapOf('openaiChat', text, 4);
    assert.deepEqual(outcome.usage, { inputTokens: 300, outputTokens: 40, cacheReadTokens: 600, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 10 });
    assert.equal(outcome.completed, true);
    assert.equal(outcome.stopReason, 'stop');
  });

  test('OpenAI Chat without a usage chunk: no usage, an output estimate from the streamed text', () => {
    const delta = (content: string) => sse(undefined, { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-x', choices: [{ index: 0, delta: { content }, finish_reason: null }] });
    const outcome = tapOf('openaiChat', delta('a'.repeat(300)) + delta('b'.repeat(300)) + sse(undefined, '[DONE]'), 50);
    assert.equal(outcome.usage, undefined);
    assert.ok(outcome.estimatedOutputTokens >= 150, `estimate ${outcome.estimatedOutputTokens}`);
  });

  test('OpenAI Responses: response.completed usage; response.failed reports its error', () => {
    const completed =
      sse('response.output_text.delta', { type: 'response.output_text.delta', delta: 'x' }) +
      sse('response.completed', { type: 'response.completed', response: { status: 'completed', usage: { input_tokens: 5000, input_tokens_details: { cached_tokens: 4096 }, output_tokens: 70, output_tokens_details: { reasoning_tokens: 64 } } } });
    const outcome = tapOf('openaiResponses', completed, 11);
    assert.deepEqual(outcome.usage, { inputTokens: 904, outputTokens: 70, cacheReadTokens: 4096, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 64 });
    assert.equal(outcome.completed, true);
    const failed = tapOf('openaiResponses', sse('response.failed', { type: 'response.failed', response: { status: 'failed', error: { code: 'server_error', message: 'boom' } } }), 3);
    assert.equal(failed.streamError, 'boom');
  });

  test('Ollama NDJSON: the done line counts', () => {
    const text = `${JSON.stringify({ message: { content: 'hi' }, done: false })}\n${JSON.stringify({ message: { content: '' }, done: true, done_reason: 'stop', prompt_eval_count: 33, eval_count: 7 })}\n`;
    const outcome = tapOf('ollama', text, 2);
    assert.deepEqual(outcome.usage, { inputTokens: 33, outputTokens: 7, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0 });
    assert.equal(outcome.completed, true);
  });

  test('non-streaming bodies are parsed once complete', () => {
    const message = JSON.stringify({ id: 'msg', type: 'message', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 2, cache_read_input_tokens: 4 } });
    const outcome = tapOf('anthropic', message, 3, false);
    assert.equal(outcome.usage?.inputTokens, 10);
    assert.equal(outcome.usage?.cacheReadTokens, 4);
    assert.equal(outcome.usage?.outputTokens, 2);
    assert.equal(outcome.completed, true);
  });
});
