/**
 * Classification of agent traffic from headers and body shapes, as Claude Code 2.1.330 and Codex 0.169.0 send
 * them: every signal decides the right kind and names itself in the reason; what is not recognised is agent.main.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classify, detectClient, type Classification, type ClassifyInput } from '../../extension/gateway/classify';
import type { IngressProtocol } from '../../extension/gateway/protocols';
import { RawBody } from '../../extension/gateway/requestBody';
import { claudeCodeCompaction, claudeCodeHeaders, claudeCodeMainTurn, claudeCodeTitleCall, codexHeaders, codexTurn } from './helpers/gatewayFixtures';

/** Headers as node:http hands them to the gateway: lower-case names, string values. */
function incoming(headers: Record<string, unknown>): ClassifyInput['headers'] {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
}

const claude = (body: unknown, extra: Record<string, string> = {}) =>
  classify({ protocol: 'anthropic', headers: incoming(claudeCodeHeaders({ 'x-claude-code-session-id': '7a1c1d8e-5b4e-4d55-9c1f-0a2e6f3b9d21', ...extra })), body });
const codex = (metadata: Record<string, unknown>, extra: Record<string, string> = {}, body: unknown = codexTurn('019a-thread')) =>
  classify({ protocol: 'openaiResponses', headers: incoming(codexHeaders(metadata, extra)), body });

describe('Claude Code', () => {
  test('a main-loop turn (≥10 tools, thinking, cache_control) is agent.main on the client model', () => {
    const result = claude(claudeCodeMainTurn());
    assert.equal(result.kind, 'agent.main');
    assert.equal(result.client, 'claude-code');
    assert.equal(result.reason, '16 tools, thinking, cache_control (main loop) → agent.main');
  });

  test('the x-claude-code-agent-id header makes a subagent, and the reason names the header', () => {
    const result = claude(claudeCodeMainTurn(), { 'x-claude-code-agent-id': 'agent-3f2a' });
    assert.equal(result.kind, 'agent.subagent');
    assert.equal(result.reason, 'header x-claude-code-agent-id → agent.subagent');
  });

  test('cc_is_subagent=true in the first system block makes a subagent without the header', () => {
    const result = claude(claudeCodeMainTurn({ agentSubagent: true }));
    assert.equal(result.kind, 'agent.subagent');
    assert.equal(result.reason, 'first system block cc_is_subagent=true → agent.subagent');
  });

  test('the session-title call (no tools, no thinking, small model, json_schema output) is agent.background', () => {
    const result = claude(claudeCodeTitleCall());
    assert.equal(result.kind, 'agent.background');
    assert.match(result.reason, /^no tools, no thinking, output_config\.format json_schema, small model claude-haiku-4-5-20251001 \(session title\) → agent\.background$/);
  });

  test('a small-model utility call without tools or thinking is agent.background', () => {
    const body = { model: 'claude-haiku-4-5-20251001', max_tokens: 512, messages: [{ role: 'user', content: 'Command: git status --short\nOutput the command prefix.' }], stream: true };
    const result = claude(body);
    assert.equal(result.kind, 'agent.background');
    assert.equal(result.reason, 'small model claude-haiku-4-5-20251001 without tools or thinking → agent.background');
  });

  test('/compact (last user message "CRITICAL: Respond with TEXT ONLY…") is agent.compaction, even from a subagent', () => {
    assert.equal(claude(claudeCodeCompaction()).kind, 'agent.compaction');
    const result = claude(claudeCodeCompaction(), { 'x-claude-code-agent-id': 'agent-3f2a' });
    assert.equal(result.kind, 'agent.compaction');
    assert.match(result.reason, /^last user message "CRITICAL: Respond with TEXT ONLY…" \(\/compact\) → agent\.compaction$/);
  });

  test('/compact at the end of a long conversation, after an assistant prefill, and a history that only quotes the prompt', () => {
    const compaction = claudeCodeCompaction() as { messages: unknown[] };
    const history = (claudeCodeMainTurn({ turns: 12 }) as { messages: unknown[] }).messages;
    const quoting = { role: 'user', content: 'Earlier I typed "CRITICAL: Respond with TEXT ONLY" by mistake.' };
    const cases: Array<[string, unknown[], string]> = [
      ['ends with /compact', [...history, ...compaction.messages], 'agent.compaction'],
      ['an assistant prefill after /compact', [...history, ...compaction.messages, { role: 'assistant', content: 'Summary:' }], 'agent.compaction'],
      ['the prompt quoted earlier, a normal turn last', [quoting, ...history], 'agent.main'],
      ['the prompt quoted inside the last message, not opening it', [...history, quoting], 'agent.main'],
    ];
    for (const [name, messages, kind] of cases) {
      const body = { ...claudeCodeMainTurn(), messages };
      assert.equal(claude(new RawBody(Buffer.from(JSON.stringify(body)))).kind, kind, `${name} (raw body)`);
      assert.equal(claude(body).kind, kind, `${name} (parsed body)`);
    }
  });

  test('a [1m] model (the context-1m beta header) is agent.longContext', () => {
    const result = claude(claudeCodeMainTurn(), { 'anthropic-beta': 'claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14' });
    assert.equal(result.kind, 'agent.longContext');
    assert.equal(result.reason, 'header anthropic-beta context-1m-2025-08-07 ([1m] model) → agent.longContext');
    assert.equal(claude({ ...claudeCodeMainTurn(), model: 'claude-sonnet-4-5[1m]' }).kind, 'agent.longContext');
  });

  test('thinking outside the main loop (few tools) is agent.thinking', () => {
    const body = { ...claudeCodeMainTurn(), tools: [] };
    const result = claude(body);
    assert.equal(result.kind, 'agent.thinking');
    assert.equal(result.reason, 'thinking enabled outside the main loop → agent.thinking');
  });
});

describe('Codex', () => {
  test('request_kind=turn from the user is agent.main', () => {
    const result = codex({ request_kind: 'turn', thread_source: 'user', thread_id: '019a-thread' });
    assert.equal(result.kind, 'agent.main');
    assert.equal(result.client, 'codex');
    assert.equal(result.reason, 'x-codex-turn-metadata request_kind=turn, thread_source=user → agent.main');
  });

  test('request_kind=prewarm stays with the main loop (it warms that cache)', () => {
    const result = codex({ request_kind: 'prewarm', thread_source: 'user' });
    assert.equal(result.kind, 'agent.main');
    assert.match(result.reason, /request_kind=prewarm/);
  });

  test('request_kind=compaction is agent.compaction', () => {
    const result = codex({ request_kind: 'compaction', thread_source: 'user' });
    assert.equal(result.kind, 'agent.compaction');
    assert.equal(result.reason, 'x-codex-turn-metadata request_kind=compaction → agent.compaction');
  });

  test('thread_source=thread_title is agent.background', () => {
    const result = codex({ request_kind: 'turn', thread_source: 'thread_title' });
    assert.equal(result.kind, 'agent.background');
    assert.equal(result.reason, 'x-codex-turn-metadata thread_source=thread_title → agent.background');
  });

  test('subagent turns and x-openai-subagent helpers are agent.subagent; x-openai-subagent=compact is compaction', () => {
    assert.equal(codex({ request_kind: 'subagent_turn', thread_source: 'subagent' }).kind, 'agent.subagent');
    const review = codex({ request_kind: 'turn' }, { 'x-openai-subagent': 'review' });
    assert.equal(review.kind, 'agent.subagent');
    assert.equal(review.reason, 'header x-openai-subagent=review → agent.subagent');
    assert.equal(codex({}, { 'x-openai-subagent': 'compact' }).kind, 'agent.compaction');
  });

  test('Codex over Chat Completions is recognised by its headers too', () => {
    const result = classify({ protocol: 'openaiChat', headers: incoming(codexHeaders({ request_kind: 'compaction' })), body: { model: 'gpt-5', messages: [] } });
    assert.equal(result.kind, 'agent.compaction');
  });
});

describe('unknown shapes', () => {
  const protocols: IngressProtocol[] = ['anthropic', 'openaiChat', 'openaiResponses'];
  const bodies: unknown[] = [undefined, null, 'text', 42, [], {}, { messages: 'not an array', tools: { a: 1 }, system: 7, thinking: 'yes' }, { model: 12, input: {} }];

  test('never fail and classify as agent.main', () => {
    for (const protocol of protocols) {
      for (const body of bodies) {
        const result = classify({ protocol, headers: {}, body });
        assert.equal(result.kind, 'agent.main', `${protocol} ${JSON.stringify(body)}`);
        assert.equal(result.reason, 'no agent signal (default) → agent.main');
        assert.equal(result.client, 'other');
      }
    }
  });

  test('a Codex header that is not JSON is ignored', () => {
    const result = classify({ protocol: 'openaiResponses', headers: { 'user-agent': 'codex_cli_rs/0.169.0', 'x-codex-turn-metadata': '{broken' }, body: codexTurn('t') });
    assert.equal(result.kind, 'agent.main');
    assert.equal(result.client, 'codex');
  });

  test('body-shape signals of Claude Code are not applied to other clients (a haiku call from an SDK app stays main)', () => {
    const result = classify({ protocol: 'anthropic', headers: { 'user-agent': 'Anthropic/JS 0.60.0' }, body: claudeCodeTitleCall() });
    assert.equal(result.kind, 'agent.main');
    assert.equal(result.client, 'other');
  });
});

describe('views of the body', () => {
  test('a raw body read lazily classifies exactly like the parsed body', () => {
    const fixtures: Array<[IngressProtocol, unknown, Record<string, string>]> = [
      ['anthropic', claudeCodeMainTurn(), {}],
      ['anthropic', claudeCodeMainTurn({ agentSubagent: true }), {}],
      ['anthropic', claudeCodeTitleCall(), {}],
      ['anthropic', claudeCodeCompaction(), {}],
      ['anthropic', { ...claudeCodeMainTurn(), tools: [] }, {}],
      ['anthropic', { ...claudeCodeMainTurn(), tools: [] , thinking: { type: 'disabled' }, model: 'claude-haiku-4-5' }, {}],
    ];
    for (const [protocol, body] of fixtures) {
      const headers = incoming(claudeCodeHeaders({ 'x-claude-code-session-id': 's' }));
      const parsed = classify({ protocol, headers, body });
      const raw = classify({ protocol, headers, body: new RawBody(Buffer.from(JSON.stringify(body))) });
      const seen = ({ kind, client, reason }: Classification) => ({ kind, client, reason });
      assert.deepEqual(seen(raw), seen(parsed));
    }
    const codexBody = new RawBody(Buffer.from(JSON.stringify(codexTurn('t'))));
    assert.deepEqual(classify({ protocol: 'openaiResponses', headers: incoming(codexHeaders({ request_kind: 'compaction' })), body: codexBody }).kind, 'agent.compaction');
  });
});

describe('client detection', () => {
  test('claude-code, codex or other, from the User-Agent and client-only headers', () => {
    assert.equal(detectClient({ 'user-agent': 'claude-cli/2.1.330 (external, cli)' }), 'claude-code');
    assert.equal(detectClient({ 'x-claude-code-session-id': 'abc' }), 'claude-code');
    assert.equal(detectClient({ 'user-agent': 'codex_cli_rs/0.169.0 (Mac OS 15.1; arm64)' }), 'codex');
    assert.equal(detectClient({ 'user-agent': 'Mozilla/5.0', originator: 'codex_vscode' }), 'codex');
    assert.equal(detectClient({ 'x-codex-turn-metadata': '{}' }), 'codex');
    assert.equal(detectClient({ 'user-agent': 'curl/8.7.1' }), 'other');
    assert.equal(detectClient({}), 'other');
  });
});
