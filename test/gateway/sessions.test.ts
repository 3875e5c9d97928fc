/** Session identity, stable-prefix digests and the in-memory session tracker. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prefixDigest, sessionIdentity, SessionTracker, streamOf } from '../../extension/gateway/sessions';
import { ZERO_USAGE } from '../../extension/providers/types';
import { claudeCodeMainTurn, codexTurn } from './helpers/gatewayFixtures';

describe('sessionIdentity', () => {
  test("Claude Code's session header, then its metadata.user_id; Codex's prompt_cache_key", () => {
    assert.deepEqual(sessionIdentity({ 'x-claude-code-session-id': 's-1' }, {}, 'claude-code'), { key: 'claude-code:s-1', source: 'header x-claude-code-session-id' });
    assert.equal(sessionIdentity({}, claudeCodeMainTurn({ sessionId: 's-2' }), 'claude-code')?.key, 'claude-code:s-2');
    assert.equal(sessionIdentity({}, { metadata: { user_id: 'user_abc_account_def_session_0f8fad5b-d9cb-469f-a165-70867728950e' } }, 'claude-code')?.key, 'claude-code:0f8fad5b-d9cb-469f-a165-70867728950e');
    assert.deepEqual(sessionIdentity({}, codexTurn('019a-thread'), 'codex'), { key: 'codex:019a-thread', source: 'prompt_cache_key' });
    assert.equal(sessionIdentity({}, { messages: [] }, 'other'), undefined);
  });
});

describe('prefixDigest', () => {
  test('ignores moving cache breakpoints and the attribution line, sees system, tools and first user message', () => {
    const turn1 = prefixDigest('anthropic', claudeCodeMainTurn({ turns: 1 }));
    const turn3 = prefixDigest('anthropic', claudeCodeMainTurn({ turns: 3 }));
    assert.deepEqual(turn3, turn1);
    const edited = prefixDigest('anthropic', claudeCodeMainTurn({ system: 'You are Claude Code. Be terse.' }));
    assert.notEqual(edited.system, turn1.system);
    assert.equal(edited.tools, turn1.tools);
    const codex = prefixDigest('openaiResponses', codexTurn('t', 'first'));
    assert.equal(prefixDigest('openaiResponses', codexTurn('t', 'first')).firstUserMessage, codex.firstUserMessage);
    assert.notEqual(prefixDigest('openaiResponses', codexTurn('t', 'other')).firstUserMessage, codex.firstUserMessage);
  });
});

describe('SessionTracker', () => {
  test('binds a stream to an endpoint and reports a move', () => {
    const sessions = new SessionTracker();
    assert.equal(sessions.bind('s', 'main', 'A'), undefined);
    assert.equal(sessions.stickyEndpoint('s', 'main'), 'A');
    assert.equal(sessions.bind('s', 'main', 'A'), undefined);
    assert.equal(sessions.bind('s', 'main', 'B'), 'A');
    assert.equal(sessions.stickyEndpoint('s', 'subagent:x'), undefined);
  });

  test('flags a changed prefix between turns of one stream, naming what changed', () => {
    const sessions = new SessionTracker();
    const first = prefixDigest('anthropic', claudeCodeMainTurn());
    assert.equal(sessions.observePrefix('s', 'main', first), undefined);
    assert.equal(sessions.observePrefix('s', 'main', first), undefined);
    assert.equal(sessions.observePrefix('s', 'main', { ...first, system: 'other' }), 'system prompt changed');
    assert.equal(sessions.observePrefix('s', 'main', { system: 'x', tools: 'y', firstUserMessage: 'z' }), 'system prompt, tools, first user message changed');
    assert.equal(sessions.observePrefix('s', 'subagent:a', first), undefined, 'another stream has its own prefix');
  });

  test('sums cache reads and writes per session', () => {
    const sessions = new SessionTracker();
    sessions.recordUsage('s', { ...ZERO_USAGE, inputTokens: 10, cacheReadTokens: 1000, cacheWrite5mTokens: 200, cacheWrite1hTokens: 50 });
    const stats = sessions.recordUsage('s', { ...ZERO_USAGE, inputTokens: 5, cacheReadTokens: 1200 });
    assert.deepEqual(stats, { turns: 2, inputTokens: 15, cacheReadTokens: 2200, cacheWriteTokens: 250, cacheBreaks: 0 });
  });

  test('forgets idle sessions and the least recently used beyond the limit', () => {
    let now = 0;
    const sessions = new SessionTracker({ maxSessions: 2, idleMs: 1000, now: () => now });
    sessions.bind('a', 'main', 'A');
    sessions.bind('b', 'main', 'B');
    sessions.stickyEndpoint('a', 'main');
    sessions.bind('a', 'main', 'A');
    sessions.bind('c', 'main', 'C');
    assert.equal(sessions.stickyEndpoint('b', 'main'), undefined);
    assert.equal(sessions.stickyEndpoint('a', 'main'), 'A');
    now = 5000;
    assert.equal(sessions.stickyEndpoint('a', 'main'), undefined);
  });

  test('streams: main loop kinds share one, subagents have their own, utility calls none', () => {
    assert.equal(streamOf('agent.main', {}), 'main');
    assert.equal(streamOf('agent.thinking', {}), 'main');
    assert.equal(streamOf('agent.subagent', { 'x-claude-code-agent-id': 'a1' }), 'subagent:a1');
    assert.equal(streamOf('agent.background', {}), undefined);
    assert.equal(streamOf('agent.compaction', {}), undefined);
  });
});
