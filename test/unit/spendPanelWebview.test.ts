// The webview's DOM-free parts: the decision filter, the editor's input checks and the number formats.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { filterDecisions, isFiltering, NO_FILTER } from '../../webview/decisionFilter';
import { duration, usd } from '../../webview/format';
import type { DecisionRow } from '../../webview/protocol';
import { endpointFormErrors, parseCapUsd, parseSoftThreshold } from '../../webview/validation';

function row(overrides: Partial<DecisionRow>): DecisionRow {
  return {
    requestId: 'r',
    ts: 0,
    task: 'refactor',
    client: 'editor',
    tier: 'mid',
    provider: 'openai',
    model: 'gpt-5-mini',
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    latencyMs: 0,
    attempts: 1,
    escalations: 0,
    outcome: 'ok',
    unpriced: false,
    reason: 'routes.refactor → mid',
    attemptNotes: [],
    ...overrides,
  };
}

const rows = [
  row({ requestId: 'commit', task: 'commitMessage', tier: 'local', provider: 'ollama', model: 'qwen2.5-coder:7b', reason: 'routes.commitMessage → local' }),
  row({ requestId: 'refactor', task: 'refactor', tier: 'frontier', model: 'claude-sonnet-4-5', reason: 'routes.refactor → mid', attemptNotes: ['mid gpt-5-mini failed its check: empty'] }),
  row({ requestId: 'plan', task: 'plan', tier: 'frontier', model: 'claude-sonnet-4-5', client: 'claude-code', reason: 'daily cap → downgrade' }),
];
const ids = (found: DecisionRow[]) => found.map((found) => found.requestId);

describe('decision filter', () => {
  test('no filter keeps every row in order', () => {
    assert.deepEqual(ids(filterDecisions(rows, NO_FILTER)), ['commit', 'refactor', 'plan']);
    assert.equal(isFiltering(NO_FILTER), false);
    assert.equal(isFiltering({ text: '   ', tier: 'all' }), false);
  });

  test('text matches task, model, tier and reason, in any case', () => {
    assert.deepEqual(ids(filterDecisions(rows, { text: 'COMMIT', tier: 'all' })), ['commit']);
    assert.deepEqual(ids(filterDecisions(rows, { text: 'sonnet', tier: 'all' })), ['refactor', 'plan']);
    assert.deepEqual(ids(filterDecisions(rows, { text: 'local', tier: 'all' })), ['commit']);
    assert.deepEqual(ids(filterDecisions(rows, { text: 'downgrade', tier: 'all' })), ['plan']);
  });

  test('every word must match; client and attempt notes count too', () => {
    assert.deepEqual(ids(filterDecisions(rows, { text: 'sonnet claude-code', tier: 'all' })), ['plan']);
    assert.deepEqual(ids(filterDecisions(rows, { text: 'failed empty', tier: 'all' })), ['refactor']);
    assert.deepEqual(ids(filterDecisions(rows, { text: 'sonnet nothing', tier: 'all' })), []);
  });

  test('the tier dropdown keeps the final tier only, combined with text', () => {
    assert.deepEqual(ids(filterDecisions(rows, { text: '', tier: 'frontier' })), ['refactor', 'plan']);
    assert.deepEqual(ids(filterDecisions(rows, { text: 'plan', tier: 'frontier' })), ['plan']);
    assert.deepEqual(ids(filterDecisions(rows, { text: '', tier: 'mid' })), []);
  });
});

describe('editor input checks', () => {
  test('caps: empty is no cap, numbers ≥ 0, anything else explained', () => {
    assert.deepEqual(parseCapUsd(''), { ok: true, value: null });
    assert.deepEqual(parseCapUsd(' 5 '), { ok: true, value: 5 });
    assert.deepEqual(parseCapUsd('0.5'), { ok: true, value: 0.5 });
    assert.deepEqual(parseCapUsd('0'), { ok: true, value: 0 });
    const negative = parseCapUsd('-1');
    assert.ok(!negative.ok && /negative/.test(negative.error));
    const text = parseCapUsd('five');
    assert.ok(!text.ok && /not a number/.test(text.error));
  });

  test('soft threshold: 1 to 100', () => {
    assert.deepEqual(parseSoftThreshold('80'), { ok: true, value: 80 });
    assert.equal(parseSoftThreshold('0').ok, false);
    assert.equal(parseSoftThreshold('101').ok, false);
    assert.equal(parseSoftThreshold('').ok, false);
  });

  test('add endpoint: model required, URL optional but http(s) without credentials', () => {
    assert.deepEqual(endpointFormErrors('qwen3', ''), {});
    assert.deepEqual(endpointFormErrors('qwen3', 'http://127.0.0.1:1234/v1'), {});
    assert.ok(endpointFormErrors(' ', '').model);
    assert.ok(endpointFormErrors('m', 'localhost:1234').baseUrl);
    assert.ok(endpointFormErrors('m', 'file:///etc').baseUrl);
    assert.match(endpointFormErrors('m', 'https://me:sk-123@api.example.com').baseUrl!, /credentials/);
  });
});

describe('formats', () => {
  test('dollars: cents from $1, up to four decimals below', () => {
    assert.equal(usd(0), '$0.00');
    assert.equal(usd(0.0123), '$0.0123');
    assert.equal(usd(0.0042), '$0.0042');
    assert.equal(usd(0.42), '$0.42');
    assert.equal(usd(0.425), '$0.425');
    assert.equal(usd(0.1), '$0.10');
    assert.equal(usd(1.5), '$1.50');
    assert.equal(usd(12.3456), '$12.35');
    assert.equal(usd(0.00001), '<$0.0001', 'a paid call never reads as free');
    assert.equal(usd(-0.25), '−$0.25');
  });

  test('durations', () => {
    assert.equal(duration(850), '850 ms');
    assert.equal(duration(2300), '2.3 s');
    assert.equal(duration(65_000), '1 min 5 s');
  });
});
