/** The pieces under the codecs: SSE and NDJSON framing, and the block sequencer. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NdjsonParser, SseParser } from '../../extension/gateway/translate/framing';
import type { IREvent } from '../../extension/gateway/translate/ir';
import { BlockSequencer } from '../../extension/gateway/translate/sequence';

describe('SseParser', () => {
  test('an event: line whose \\r and \\n arrive apart keeps its name', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('event: message_stop\r'), []);
    assert.deepEqual(parser.push('\ndata: {"a":1}\r'), []);
    // A \r at the end of a chunk may be half of \r\n: the blank line is only certain with the next chunk.
    assert.deepEqual(parser.push('\n\r'), []);
    assert.deepEqual(parser.push('\n'), [{ event: 'message_stop', data: '{"a":1}' }]);
  });

  test('multi-line data, comments, fields without a space, lone \\r line ends', () => {
    const parser = new SseParser();
    const messages = [...parser.push(': keep-alive\n\nevent:ping\ndata:{"x":\ndata: 2}\n\nid: 7\rdata: last\r\r'), ...parser.end()];
    assert.deepEqual(messages, [
      { event: 'ping', data: '{"x":\n2}' },
      { data: 'last' },
    ]);
  });

  test('a last event without its blank line is delivered at the end', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('data: [DONE]'), []);
    assert.deepEqual(parser.end(), [{ data: '[DONE]' }]);
  });

  test('an event name does not leak into the next event', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('event: a\ndata: 1\n\ndata: 2\n\n'), [{ event: 'a', data: '1' }, { data: '2' }]);
  });
});

describe('NdjsonParser', () => {
  test('lines split anywhere, CRLF, blank lines and a last line without newline', () => {
    const parser = new NdjsonParser();
    const lines = [...parser.push('{"a"'), ...parser.push(':1}\r\n\n{"b":2}\n{"c"'), ...parser.push(':3}'), ...parser.end()];
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
  });
});

describe('BlockSequencer', () => {
  function run(events: IREvent[]): IREvent[] {
    const sequencer = new BlockSequencer();
    return [...events.flatMap((event) => sequencer.push(event)), ...sequencer.finish()];
  }

  test('holds a second call back until the first ends, then replays it in order', () => {
    const out = run([
      { type: 'toolCallStart', index: 0, id: 'a', name: 'read' },
      { type: 'toolCallStart', index: 1, id: 'b', name: 'grep' },
      { type: 'toolCallDelta', index: 1, argumentsJsonDelta: '{"p":' },
      { type: 'toolCallDelta', index: 0, argumentsJsonDelta: '{}' },
      { type: 'toolCallDelta', index: 1, argumentsJsonDelta: '1}' },
      { type: 'toolCallEnd', index: 1 },
      { type: 'textDelta', text: 'late text' },
      { type: 'toolCallEnd', index: 0 },
      { type: 'stop', reason: 'toolUse' },
    ]);
    assert.deepEqual(out, [
      { type: 'toolCallStart', index: 0, id: 'a', name: 'read' },
      { type: 'toolCallDelta', index: 0, argumentsJsonDelta: '{}' },
      { type: 'toolCallEnd', index: 0 },
      { type: 'toolCallStart', index: 1, id: 'b', name: 'grep' },
      { type: 'toolCallDelta', index: 1, argumentsJsonDelta: '{"p":' },
      { type: 'toolCallDelta', index: 1, argumentsJsonDelta: '1}' },
      { type: 'toolCallEnd', index: 1 },
      { type: 'textDelta', text: 'late text' },
      { type: 'stop', reason: 'toolUse' },
    ]);
  });

  test('finish() closes calls the upstream left open', () => {
    const out = run([
      { type: 'toolCallStart', index: 0, id: 'a', name: 'read' },
      { type: 'toolCallStart', index: 1, id: 'b', name: 'grep' },
    ]);
    assert.deepEqual(out.map((event) => `${event.type}${'index' in event ? event.index : ''}`), [
      'toolCallStart0',
      'toolCallEnd0',
      'toolCallStart1',
      'toolCallEnd1',
    ]);
  });
});
