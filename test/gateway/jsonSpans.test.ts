/** The byte-level model swap behind pass-through: only the top-level model value changes, every other byte stays. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { arrayElementSpans, JsonScanError, objectFieldSpan, scanTopLevel, withModel } from '../../extension/gateway/jsonSpans';
import { claudeCodeMainTurn } from './helpers/gatewayFixtures';

const swap = (text: string, model: string): string => {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat(withModel(bytes, scanTopLevel(bytes), model)).toString('utf8');
};

describe('withModel', () => {
  test('replaces only the top-level model value of a Claude Code body', () => {
    const text = JSON.stringify(claudeCodeMainTurn());
    const swapped = swap(text, 'claude-test-mid');
    assert.equal(swapped, text.replace('"model":"claude-sonnet-4-5-20250929"', '"model":"claude-test-mid"'));
    assert.equal((JSON.parse(swapped) as { model: string }).model, 'claude-test-mid');
  });

  test('keeps whitespace, escapes, unicode, number formats and nested "model" keys exactly', () => {
    const text = '{\n  "messages" : [{"role":"user","content":"say \\"model\\": \\\\ Über 1.0e3 ✓","model":"inner"}],\n  "model"\t:\t"old-model" ,\n  "temperature": 1.0e0, "tools":[{"model":"x","a":[1,{"b":"}]"}]}]\n}';
    const swapped = swap(text, 'new-model');
    assert.equal(swapped, text.replace('"old-model"', '"new-model"'));
    const parsed = JSON.parse(swapped) as { model: string; messages: Array<{ model: string }> };
    assert.equal(parsed.model, 'new-model');
    assert.equal(parsed.messages[0].model, 'inner');
  });

  test('a key with an escape is still recognised; a repeated key is replaced where JSON.parse reads it (the last)', () => {
    assert.equal(swap('{"mod\\u0065l":"a","x":1}', 'b'), '{"mod\\u0065l":"b","x":1}');
    assert.equal(swap('{"model":"a","model":"c"}', 'b'), '{"model":"a","model":"b"}');
  });

  test('adds the model when the body has none', () => {
    assert.deepEqual(JSON.parse(swap('{"messages":[]}', 'm')), { model: 'm', messages: [] });
    assert.deepEqual(JSON.parse(swap(' { } ', 'm')), { model: 'm' });
  });

  test('a model value that is not a string is replaced too, and model names are JSON-escaped', () => {
    assert.equal(swap('{"model":null}', 'a"b'), '{"model":"a\\"b"}');
  });

  test('bodies that are not a JSON object are refused', () => {
    for (const text of ['[]', '"x"', '{"a":"unterminated}', '{"a" 1}', '']) {
      assert.throws(() => scanTopLevel(Buffer.from(text)), JsonScanError, text);
    }
  });
});

describe('scanTopLevel', () => {
  test('counts the elements of top-level arrays on the same pass', () => {
    const scan = scanTopLevel(Buffer.from('{"a":[1,[2,3],{"x":[4,5]},"s,t"],"b":[],"c":[ ],"d":{"e":[1,2]},"f":"x"}'));
    assert.deepEqual([...scan.arrayLengths], [['a', 4], ['b', 0], ['c', 0]]);
  });

  test('finds the last element of each non-empty top-level array on the same pass', () => {
    const bytes = Buffer.from('{"a":[1,[2,3],{"x":[4,5]},"s,t"],"b":[],"m":[ {"role":"user","content":"a, [b]"} , {"role":"user","content":"}]"}\n ],"d":{"e":[1,2]}}');
    const scan = scanTopLevel(bytes);
    const last = (key: string) => {
      const span = scan.lastElements.get(key);
      return span && bytes.toString('utf8', span.start, span.end);
    };
    assert.deepEqual([last('a'), last('b'), last('m'), last('d')], ['"s,t"', undefined, '{"role":"user","content":"}]"}', undefined]);
  });
});

describe('objectFieldSpan', () => {
  const field = (text: string, key: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const span = objectFieldSpan(bytes, { start: 0, end: bytes.length }, key);
    return span && bytes.toString('utf8', span.start, span.end);
  };

  test('finds a key of the object itself, not one nested deeper or inside a string', () => {
    const text = '{"content":[{"type":"text","role":"nested"}],"note":"\\"role\\":\\"in a string\\"","role" : "user" }';
    assert.equal(JSON.parse(text).role, 'user');
    assert.equal(field(text, 'role'), '"user"');
    assert.equal(field(text, 'content'), '[{"type":"text","role":"nested"}]');
    assert.equal(field(text, 'type'), undefined);
    assert.equal(field(text, 'rol'), undefined);
  });

  test('a repeated key gives its last value, and an escaped key is compared decoded, as JSON.parse reads them', () => {
    assert.equal(field('{"role":"user","content":"x","role":"assistant"}', 'role'), '"assistant"');
    const escapedLater = '{"role":"user","content":"x","r\\u006fle":"assistant"}';
    assert.equal(JSON.parse(escapedLater).role, 'assistant');
    assert.equal(field(escapedLater, 'role'), '"assistant"');
    const escaped = '{"r\\u006fle":"user","content":"x"}';
    assert.equal(JSON.parse(escaped).role, 'user');
    assert.equal(field(escaped, 'role'), '"user"');
  });

  test('anything but an object has no fields; a broken object is a JsonScanError', () => {
    assert.equal(field('["role","user"]', 'role'), undefined);
    assert.equal(field('"role"', 'role'), undefined);
    assert.equal(field('{ }', 'role'), undefined);
    assert.throws(() => field('{"role" "user"}', 'role'), JsonScanError);
  });
});

describe('arrayElementSpans', () => {
  test('finds the elements of an array value', () => {
    const bytes = Buffer.from('{"messages":[ {"role":"user"} , "x", [1,[2]] ,3]}');
    const span = scanTopLevel(bytes).values.get('messages')!;
    const elements = arrayElementSpans(bytes, span).map((element) => bytes.toString('utf8', element.start, element.end));
    assert.deepEqual(elements, ['{"role":"user"}', '"x"', '[1,[2]]', '3']);
    assert.equal(arrayElementSpans(bytes, span, 1).length, 1);
  });
});
