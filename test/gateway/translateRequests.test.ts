/**
 * Request translation: one conversation (system prompt, two parallel tool calls and their results — one failed —,
 * tool definitions) written in each of the four protocols, translated to each of the four, with the exact body the
 * upstream receives. Then the cases that only some pairs have: thinking, images, freeform tools, invalid bodies.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  codecFor,
  PROTOCOLS,
  translateRequest,
  TranslationError,
  type IRRequest,
  type Protocol,
} from '../../extension/gateway/translate/index';

const SYSTEM = "You are Tierwise's test agent.";
const READ_SCHEMA = { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] };
const GREP_SCHEMA = { type: 'object', properties: { pattern: { type: 'string' } }, required: ['pattern'] };
const READ_ARGS = '{"path":"src/a.ts"}';
const GREP_ARGS = '{"pattern":"TODO"}';
const FILE = 'export const a = 1;';
const GREP_FAILURE = 'grep: src: No such file';

/** The conversation as each client protocol writes it. */
const SOURCES: Record<Protocol, Record<string, unknown>> = {
  anthropic: {
    model: 'claude-sonnet-4-5',
    max_tokens: 1024,
    system: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }],
    messages: [
      { role: 'user', content: 'Why does the test fail?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', id: 'call_read', name: 'read_file', input: { path: 'src/a.ts' } },
          { type: 'tool_use', id: 'call_grep', name: 'grep', input: { pattern: 'TODO' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_read', content: FILE },
          { type: 'tool_result', tool_use_id: 'call_grep', content: [{ type: 'text', text: GREP_FAILURE }], is_error: true },
        ],
      },
      { role: 'assistant', content: 'The constant is wrong.' },
      { role: 'user', content: [{ type: 'text', text: 'Fix it.', cache_control: { type: 'ephemeral' } }] },
    ],
    tools: [
      { name: 'read_file', description: 'Read a file', input_schema: READ_SCHEMA },
      { name: 'grep', description: 'Search files', input_schema: GREP_SCHEMA, cache_control: { type: 'ephemeral' } },
    ],
    tool_choice: { type: 'auto' },
    temperature: 0.2,
    top_p: 0.9,
    stop_sequences: ['</done>'],
    stream: true,
    metadata: { user_id: 'user-42' },
  },
  openaiChat: {
    model: 'gpt-4.1',
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'Why does the test fail?' },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [
          { id: 'call_read', type: 'function', function: { name: 'read_file', arguments: READ_ARGS } },
          { id: 'call_grep', type: 'function', function: { name: 'grep', arguments: GREP_ARGS } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_read', content: FILE },
      { role: 'tool', tool_call_id: 'call_grep', content: GREP_FAILURE },
      { role: 'assistant', content: 'The constant is wrong.' },
      { role: 'user', content: 'Fix it.' },
    ],
    tools: [
      { type: 'function', function: { name: 'read_file', description: 'Read a file', parameters: READ_SCHEMA } },
      { type: 'function', function: { name: 'grep', description: 'Search files', parameters: GREP_SCHEMA } },
    ],
    tool_choice: 'auto',
    max_completion_tokens: 1024,
    temperature: 0.2,
    top_p: 0.9,
    stop: ['</done>'],
    stream: true,
    stream_options: { include_usage: true },
    user: 'user-42',
    prompt_cache_key: 'tierwise-session-1',
    seed: 7,
  },
  openaiResponses: {
    model: 'gpt-5-codex',
    instructions: SYSTEM,
    input: [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Why does the test fail?' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me look.' }] },
      { type: 'function_call', call_id: 'call_read', name: 'read_file', arguments: READ_ARGS },
      { type: 'function_call', call_id: 'call_grep', name: 'grep', arguments: GREP_ARGS },
      { type: 'function_call_output', call_id: 'call_read', output: FILE },
      { type: 'function_call_output', call_id: 'call_grep', output: GREP_FAILURE },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'The constant is wrong.' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Fix it.' }] },
    ],
    tools: [
      { type: 'function', name: 'read_file', description: 'Read a file', parameters: READ_SCHEMA, strict: false },
      { type: 'function', name: 'grep', description: 'Search files', parameters: GREP_SCHEMA, strict: false },
    ],
    tool_choice: 'auto',
    parallel_tool_calls: true,
    max_output_tokens: 1024,
    temperature: 0.2,
    top_p: 0.9,
    stream: true,
    store: false,
    prompt_cache_key: 'tierwise-session-1',
    user: 'user-42',
  },
  ollama: {
    model: 'qwen2.5-coder:7b',
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'Why does the test fail?' },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [
          { function: { name: 'read_file', arguments: { path: 'src/a.ts' } } },
          { function: { name: 'grep', arguments: { pattern: 'TODO' } } },
        ],
      },
      { role: 'tool', content: FILE, tool_name: 'read_file' },
      { role: 'tool', content: GREP_FAILURE, tool_name: 'grep' },
      { role: 'assistant', content: 'The constant is wrong.' },
      { role: 'user', content: 'Fix it.' },
    ],
    tools: [
      { type: 'function', function: { name: 'read_file', description: 'Read a file', parameters: READ_SCHEMA } },
      { type: 'function', function: { name: 'grep', description: 'Search files', parameters: GREP_SCHEMA } },
    ],
    options: { num_predict: 1024, temperature: 0.2, top_p: 0.9, stop: ['</done>'], num_ctx: 16384 },
    stream: true,
    keep_alive: '10m',
  },
};

/** What each source can say, which decides what the target can receive. */
interface Traits {
  ids: [string, string];
  stop: boolean;
  /** Whether the failed grep is marked as an error (only Anthropic can say so). */
  isError: boolean;
  /** An OpenAI Chat system message stays a system message for Responses; the others become `instructions`. */
  systemAsMessage: boolean;
  toolChoice: boolean;
  parallelToolCalls: boolean;
  user: boolean;
  promptCacheKey: boolean;
}

const TRAITS: Record<Protocol, Traits> = {
  anthropic: { ids: ['call_read', 'call_grep'], stop: true, isError: true, systemAsMessage: false, toolChoice: true, parallelToolCalls: false, user: true, promptCacheKey: false },
  openaiChat: { ids: ['call_read', 'call_grep'], stop: true, isError: false, systemAsMessage: true, toolChoice: true, parallelToolCalls: false, user: true, promptCacheKey: true },
  openaiResponses: { ids: ['call_read', 'call_grep'], stop: false, isError: false, systemAsMessage: false, toolChoice: true, parallelToolCalls: true, user: true, promptCacheKey: true },
  // Ollama has no call ids: the gateway numbers them by message and position (the assistant turn is messages[2]).
  ollama: { ids: ['call_2_0', 'call_2_1'], stop: true, isError: false, systemAsMessage: false, toolChoice: false, parallelToolCalls: false, user: false, promptCacheKey: false },
};

const MODEL = 'routed-model';

function expectedBody(target: Protocol, source: Protocol): Record<string, unknown> {
  const traits = TRAITS[source];
  const [readId, grepId] = traits.ids;
  const same = target === source;
  const grepText = (traits.isError ? '[tool error] ' : '') + GREP_FAILURE;
  switch (target) {
    case 'anthropic':
      return {
        model: MODEL,
        max_tokens: 1024,
        system: [{ type: 'text', text: SYSTEM, ...(same && { cache_control: { type: 'ephemeral' } }) }],
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Why does the test fail?' }] },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Let me look.' },
              { type: 'tool_use', id: readId, name: 'read_file', input: { path: 'src/a.ts' } },
              { type: 'tool_use', id: grepId, name: 'grep', input: { pattern: 'TODO' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: readId, content: FILE },
              {
                type: 'tool_result',
                tool_use_id: grepId,
                content: same ? [{ type: 'text', text: GREP_FAILURE }] : GREP_FAILURE,
                ...(traits.isError && { is_error: true }),
              },
            ],
          },
          { role: 'assistant', content: [{ type: 'text', text: 'The constant is wrong.' }] },
          { role: 'user', content: [{ type: 'text', text: 'Fix it.', ...(same && { cache_control: { type: 'ephemeral' } }) }] },
        ],
        tools: [
          { name: 'read_file', description: 'Read a file', input_schema: READ_SCHEMA },
          { name: 'grep', description: 'Search files', input_schema: GREP_SCHEMA, ...(same && { cache_control: { type: 'ephemeral' } }) },
        ],
        ...(traits.toolChoice && { tool_choice: { type: 'auto' } }),
        temperature: 0.2,
        top_p: 0.9,
        ...(traits.stop && { stop_sequences: ['</done>'] }),
        stream: true,
        ...(traits.user && { metadata: { user_id: 'user-42' } }),
      };
    case 'openaiChat':
      return {
        model: MODEL,
        messages: [
          { role: 'system', content: SYSTEM },
          { role: 'user', content: 'Why does the test fail?' },
          {
            role: 'assistant',
            content: 'Let me look.',
            tool_calls: [
              { id: readId, type: 'function', function: { name: 'read_file', arguments: READ_ARGS } },
              { id: grepId, type: 'function', function: { name: 'grep', arguments: GREP_ARGS } },
            ],
          },
          { role: 'tool', tool_call_id: readId, content: FILE },
          { role: 'tool', tool_call_id: grepId, content: grepText },
          { role: 'assistant', content: 'The constant is wrong.' },
          { role: 'user', content: 'Fix it.' },
        ],
        tools: [
          // Responses tools say strict: false, and Chat has the same switch.
          { type: 'function', function: { name: 'read_file', description: 'Read a file', parameters: READ_SCHEMA, ...(source === 'openaiResponses' && { strict: false }) } },
          { type: 'function', function: { name: 'grep', description: 'Search files', parameters: GREP_SCHEMA, ...(source === 'openaiResponses' && { strict: false }) } },
        ],
        ...(traits.toolChoice && { tool_choice: 'auto' }),
        ...(traits.parallelToolCalls && { parallel_tool_calls: true }),
        max_tokens: 1024,
        temperature: 0.2,
        top_p: 0.9,
        ...(traits.stop && { stop: ['</done>'] }),
        stream: true,
        stream_options: { include_usage: true },
        ...(traits.promptCacheKey && { prompt_cache_key: 'tierwise-session-1' }),
        ...(traits.user && { user: 'user-42' }),
        ...(same && { seed: 7 }),
      };
    case 'openaiResponses':
      return {
        model: MODEL,
        ...(!traits.systemAsMessage && { instructions: SYSTEM }),
        input: [
          ...(traits.systemAsMessage ? [{ type: 'message', role: 'system', content: [{ type: 'input_text', text: SYSTEM }] }] : []),
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Why does the test fail?' }] },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me look.' }] },
          { type: 'function_call', call_id: readId, name: 'read_file', arguments: READ_ARGS },
          { type: 'function_call', call_id: grepId, name: 'grep', arguments: GREP_ARGS },
          { type: 'function_call_output', call_id: readId, output: FILE },
          { type: 'function_call_output', call_id: grepId, output: grepText },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'The constant is wrong.' }] },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Fix it.' }] },
        ],
        tools: [
          { type: 'function', name: 'read_file', description: 'Read a file', parameters: READ_SCHEMA, strict: false },
          { type: 'function', name: 'grep', description: 'Search files', parameters: GREP_SCHEMA, strict: false },
        ],
        ...(traits.toolChoice && { tool_choice: 'auto' }),
        ...(traits.parallelToolCalls && { parallel_tool_calls: true }),
        max_output_tokens: 1024,
        temperature: 0.2,
        top_p: 0.9,
        stream: true,
        store: false,
        ...(traits.promptCacheKey && { prompt_cache_key: 'tierwise-session-1' }),
        ...(traits.user && { user: 'user-42' }),
      };
    case 'ollama':
      return {
        model: MODEL,
        messages: [
          { role: 'system', content: SYSTEM },
          { role: 'user', content: 'Why does the test fail?' },
          {
            role: 'assistant',
            content: 'Let me look.',
            tool_calls: [
              { id: readId, function: { index: 0, name: 'read_file', arguments: { path: 'src/a.ts' } } },
              { id: grepId, function: { index: 1, name: 'grep', arguments: { pattern: 'TODO' } } },
            ],
          },
          { role: 'tool', content: FILE, tool_name: 'read_file', tool_call_id: readId },
          { role: 'tool', content: grepText, tool_name: 'grep', tool_call_id: grepId },
          { role: 'assistant', content: 'The constant is wrong.' },
          { role: 'user', content: 'Fix it.' },
        ],
        tools: [
          { type: 'function', function: { name: 'read_file', description: 'Read a file', parameters: READ_SCHEMA } },
          { type: 'function', function: { name: 'grep', description: 'Search files', parameters: GREP_SCHEMA } },
        ],
        stream: true,
        options: {
          ...(same && { num_ctx: 16384 }),
          num_predict: 1024,
          temperature: 0.2,
          top_p: 0.9,
          ...(traits.stop && { stop: ['</done>'] }),
        },
        ...(same && { keep_alive: '10m' }),
      };
  }
}

const PATHS: Record<Protocol, string> = {
  anthropic: '/v1/messages',
  openaiChat: '/v1/chat/completions',
  openaiResponses: '/v1/responses',
  ollama: '/api/chat',
};

function translated(source: Protocol, target: Protocol, body: unknown = SOURCES[source], model = MODEL) {
  const ir = codecFor(source).parseRequest(body);
  ir.model = model;
  return codecFor(target).buildRequest(ir);
}

describe('request translation: a tool-using conversation between every pair of protocols', () => {
  for (const source of PROTOCOLS) {
    for (const target of PROTOCOLS) {
      test(`${source} → ${target}${source === target ? ' (same protocol)' : ''}`, () => {
        const { path, body } = translated(source, target);
        assert.equal(path, PATHS[target]);
        assert.deepEqual(body, expectedBody(target, source));
      });
    }
  }

  test('translateRequest keeps the client’s model name until the gateway sets another', () => {
    assert.equal(translateRequest('openaiChat', 'anthropic', SOURCES.openaiChat).body.model, 'gpt-4.1');
  });

  test('the IR of each source holds the same conversation', () => {
    const shapes = PROTOCOLS.map((source) => {
      const ir = codecFor(source).parseRequest(SOURCES[source]);
      return ir.messages.map((message) => ({
        role: message.role,
        parts: message.content.map((part) => (part.type === 'toolCall' ? `call ${part.name} ${part.argumentsJson}` : part.type === 'toolResult' ? `result ${part.toolCallId.length > 0}` : part.type)),
      }));
    });
    for (const shape of shapes.slice(1)) assert.deepEqual(shape, shapes[0]);
    assert.deepEqual(shapes[0]!.map((message) => message.role), ['user', 'assistant', 'user', 'assistant', 'user']);
  });

  test('OpenAI Chat targets can take max_completion_tokens instead of max_tokens', () => {
    const ir = codecFor('anthropic').parseRequest(SOURCES.anthropic);
    const { body } = codecFor('openaiChat').buildRequest(ir, { outputLimitField: 'max_completion_tokens' });
    assert.equal(body.max_completion_tokens, 1024);
    assert.equal('max_tokens' in body, false);
  });

  test('prompt_cache_key travels to OpenAI targets only; cache_control to Anthropic only', () => {
    const ir = codecFor('openaiResponses').parseRequest(SOURCES.openaiResponses);
    assert.equal(codecFor('openaiChat').buildRequest(ir).body.prompt_cache_key, 'tierwise-session-1');
    assert.equal(codecFor('openaiResponses').buildRequest(ir).body.prompt_cache_key, 'tierwise-session-1');
    assert.equal(JSON.stringify(codecFor('anthropic').buildRequest(ir).body).includes('tierwise-session-1'), false);
    assert.equal(JSON.stringify(codecFor('ollama').buildRequest(ir).body).includes('tierwise-session-1'), false);
    const fromClaude = codecFor('anthropic').parseRequest(SOURCES.anthropic);
    for (const target of ['openaiChat', 'openaiResponses', 'ollama'] as const) {
      assert.equal(JSON.stringify(codecFor(target).buildRequest(fromClaude).body).includes('cache_control'), false, target);
    }
  });
});

describe('thinking and reasoning in requests', () => {
  const claudeThinkingBody = {
    model: 'claude-sonnet-4-5',
    max_tokens: 16000,
    thinking: { type: 'enabled', budget_tokens: 8000 },
    messages: [
      { role: 'user', content: 'Read a.ts' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'I should read it.', signature: 'sig-abc' },
          { type: 'redacted_thinking', data: 'redacted-xyz' },
          { type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'a.ts' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: FILE }] },
    ],
    tools: [{ name: 'read_file', input_schema: READ_SCHEMA }],
    temperature: 0.5,
  };

  test('Anthropic → Anthropic keeps thinking blocks, signatures and redacted thinking verbatim', () => {
    const { body } = translated('anthropic', 'anthropic', claudeThinkingBody);
    assert.deepEqual((body.messages as Array<{ content: unknown[] }>)[1]!.content, [
      { type: 'thinking', thinking: 'I should read it.', signature: 'sig-abc' },
      { type: 'redacted_thinking', data: 'redacted-xyz' },
      { type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'a.ts' } },
    ]);
    assert.deepEqual(body.thinking, { type: 'enabled', budget_tokens: 8000 });
    assert.equal(body.max_tokens, 16000);
    assert.equal('temperature' in body, false, 'thinking only runs with the default temperature');
  });

  test('Anthropic thinking never reaches another provider, but the thinking setting does', () => {
    const chat = translated('anthropic', 'openaiChat', claudeThinkingBody).body;
    assert.deepEqual((chat.messages as unknown[])[1], {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a.ts"}' } }],
    });
    assert.equal(chat.reasoning_effort, 'medium');
    const responses = translated('anthropic', 'openaiResponses', claudeThinkingBody).body;
    assert.deepEqual(
      (responses.input as Array<{ type: string }>).map((item) => item.type),
      ['message', 'function_call', 'function_call_output'],
    );
    assert.deepEqual(responses.reasoning, { summary: 'auto', effort: 'medium' });
    assert.deepEqual(responses.include, ['reasoning.encrypted_content']);
    const ollama = translated('anthropic', 'ollama', claudeThinkingBody).body;
    assert.equal(JSON.stringify(ollama).includes('sig-abc'), false);
    assert.equal(JSON.stringify(ollama).includes('I should read it.'), false);
    assert.equal(ollama.think, true);
  });

  test('Responses reasoning items are replayed to Responses only, with their encrypted content', () => {
    const reasoning = { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Plan.' }], encrypted_content: 'gAAAA-enc' };
    const codexBody = {
      model: 'gpt-5-codex',
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Read a.ts' }] },
        reasoning,
        { type: 'function_call', call_id: 'call_1', name: 'read_file', arguments: '{"path":"a.ts"}' },
        { type: 'function_call_output', call_id: 'call_1', output: FILE },
      ],
      tools: [{ type: 'function', name: 'read_file', parameters: READ_SCHEMA, strict: false }],
      reasoning: { effort: 'high', summary: 'detailed' },
      include: ['reasoning.encrypted_content'],
      store: false,
      stream: true,
    };
    const same = translated('openaiResponses', 'openaiResponses', codexBody).body;
    assert.deepEqual((same.input as unknown[])[1], reasoning);
    assert.deepEqual(same.reasoning, { effort: 'high', summary: 'detailed' });
    assert.deepEqual(same.include, ['reasoning.encrypted_content']);
    const claude = translated('openaiResponses', 'anthropic', codexBody).body;
    assert.equal(JSON.stringify(claude).includes('gAAAA-enc'), false);
    assert.deepEqual((claude.messages as Array<{ content: unknown[] }>)[1]!.content, [
      { type: 'tool_use', id: 'call_1', name: 'read_file', input: { path: 'a.ts' } },
    ]);
    // effort high → a 32000-token budget; no max_output_tokens → room for it plus the default answer.
    assert.deepEqual(claude.thinking, undefined, 'the tool-use turn has no Anthropic thinking block to continue from');
    const fresh = translated('openaiResponses', 'anthropic', { ...codexBody, input: 'Explain a.ts' }).body;
    assert.deepEqual(fresh.thinking, { type: 'enabled', budget_tokens: 32000 });
    assert.equal(fresh.max_tokens, 8192 + 32000);
  });

  test('reasoning: false leaves every thinking setting out, for upstream models that refuse them', () => {
    const ir = codecFor('anthropic').parseRequest(claudeThinkingBody);
    const claude = codecFor('anthropic').buildRequest(ir, { reasoning: false }).body;
    assert.equal(claude.thinking, undefined);
    assert.equal(claude.temperature, 0.5, 'without thinking the client’s temperature applies again');
    assert.equal('reasoning_effort' in codecFor('openaiChat').buildRequest(ir, { reasoning: false }).body, false);
    const codex = codecFor('openaiResponses').parseRequest({ model: 'g', input: 'hi', reasoning: { effort: 'high' }, include: ['reasoning.encrypted_content'] });
    const responses = codecFor('openaiResponses').buildRequest(codex, { reasoning: false }).body;
    assert.equal('reasoning' in responses, false);
    assert.equal('include' in responses, false);
    assert.equal('think' in codecFor('ollama').buildRequest(ir, { reasoning: false }).body, false);
  });

  test('Ollama think levels go back to Ollama; other protocols’ efforts reach Ollama as think: true', () => {
    const ollamaLevel = codecFor('ollama').parseRequest({ model: 'gpt-oss:20b', messages: [{ role: 'user', content: 'go' }], think: 'high' });
    assert.deepEqual(ollamaLevel.thinking, { effort: 'high' });
    assert.equal(codecFor('ollama').buildRequest(ollamaLevel).body.think, 'high');
    assert.equal(codecFor('openaiChat').buildRequest(ollamaLevel).body.reasoning_effort, 'high');
    const chat = codecFor('openaiChat').parseRequest({ model: 'o4-mini', messages: [{ role: 'user', content: 'go' }], reasoning_effort: 'low' });
    assert.equal(codecFor('ollama').buildRequest(chat).body.think, true);
  });

  test('Anthropic drops thinking it cannot honour: forced tool choice, or too small an output limit', () => {
    const forced = translated('anthropic', 'anthropic', {
      ...claudeThinkingBody,
      messages: [{ role: 'user', content: 'go' }],
      tool_choice: { type: 'tool', name: 'read_file' },
    }).body;
    assert.equal(forced.thinking, undefined);
    assert.deepEqual(forced.tool_choice, { type: 'tool', name: 'read_file' });
    const small = translated('openaiChat', 'anthropic', {
      model: 'o4-mini',
      messages: [{ role: 'user', content: 'go' }],
      reasoning_effort: 'high',
      max_completion_tokens: 900,
    }).body;
    assert.equal(small.thinking, undefined);
    assert.equal(small.max_tokens, 900);
    const fits = translated('openaiChat', 'anthropic', {
      model: 'o4-mini',
      messages: [{ role: 'user', content: 'go' }],
      reasoning_effort: 'low',
      max_completion_tokens: 3000,
    }).body;
    assert.deepEqual(fits.thinking, { type: 'enabled', budget_tokens: 2999 });
  });
});

describe('tool choice, ids, temperatures, mid-conversation instructions', () => {
  const base = { model: 'm', messages: [{ role: 'user', content: 'go' }], tools: SOURCES.openaiChat.tools };

  test('tool_choice maps between the protocols', () => {
    const required = codecFor('openaiChat').parseRequest({ ...base, tool_choice: 'required', parallel_tool_calls: false });
    assert.deepEqual(codecFor('anthropic').buildRequest(required).body.tool_choice, { type: 'any', disable_parallel_tool_use: true });
    assert.equal(codecFor('openaiResponses').buildRequest(required).body.tool_choice, 'required');
    const named = codecFor('openaiChat').parseRequest({ ...base, tool_choice: { type: 'function', function: { name: 'grep' } } });
    assert.deepEqual(codecFor('anthropic').buildRequest(named).body.tool_choice, { type: 'tool', name: 'grep' });
    assert.deepEqual(codecFor('openaiResponses').buildRequest(named).body.tool_choice, { type: 'function', name: 'grep' });
    const none = codecFor('openaiChat').parseRequest({ ...base, tool_choice: 'none' });
    assert.deepEqual(codecFor('anthropic').buildRequest(none).body.tool_choice, { type: 'none' });
    assert.equal('tools' in codecFor('ollama').buildRequest(none).body, false, 'Ollama has no tool_choice: "none" sends no tools');
    const any = codecFor('anthropic').parseRequest({ model: 'c', max_tokens: 10, messages: [{ role: 'user', content: 'go' }], tools: SOURCES.anthropic.tools, tool_choice: { type: 'any' } });
    assert.equal(codecFor('openaiChat').buildRequest(any).body.tool_choice, 'required');
  });

  test('tool call ids Anthropic would refuse are rewritten the same way in calls and results', () => {
    const body = translated('openaiChat', 'anthropic', {
      model: 'kimi',
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'functions.read_file:0', type: 'function', function: { name: 'read_file', arguments: '' } }] },
        { role: 'tool', tool_call_id: 'functions.read_file:0', content: FILE },
      ],
    }).body as { messages: Array<{ content: Array<Record<string, unknown>> }> };
    assert.deepEqual(body.messages[1]!.content, [{ type: 'tool_use', id: 'functions_read_file_0', name: 'read_file', input: {} }]);
    assert.equal(body.messages[2]!.content[0]!.tool_use_id, 'functions_read_file_0');
  });

  test('malformed arguments in history travel as a string instead of failing the request', () => {
    const body = translated('openaiChat', 'anthropic', {
      model: 'local',
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'grep', arguments: '{"pattern": TODO' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'error' },
      ],
    }).body as { messages: Array<{ content: Array<Record<string, unknown>> }> };
    assert.deepEqual(body.messages[1]!.content[0]!.input, { _unparsedArguments: '{"pattern": TODO' });
  });

  test('OpenAI temperatures above Anthropic’s range are clamped to 1', () => {
    assert.equal(translated('openaiChat', 'anthropic', { model: 'g', messages: [{ role: 'user', content: 'go' }], temperature: 1.6 }).body.temperature, 1);
  });

  test('a mid-conversation developer message keeps its place and, where the target has one, its role', () => {
    const body = {
      model: 'gpt-5-codex',
      instructions: SYSTEM,
      input: [
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Sandbox: read-only.' }] },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'go' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] },
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Sandbox: write allowed.' }] },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'now write' }] },
      ],
    };
    const claude = translated('openaiResponses', 'anthropic', body).body;
    assert.deepEqual(claude.system, [
      { type: 'text', text: SYSTEM },
      { type: 'text', text: 'Sandbox: read-only.' },
    ]);
    assert.deepEqual(claude.messages, [
      { role: 'user', content: [{ type: 'text', text: 'go' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
      { role: 'user', content: [{ type: 'text', text: 'Sandbox: write allowed.' }, { type: 'text', text: 'now write' }] },
    ]);
    const chat = translated('openaiResponses', 'openaiChat', body).body;
    assert.deepEqual(chat.messages, [
      { role: 'system', content: `${SYSTEM}\n\nSandbox: read-only.` },
      { role: 'user', content: 'go' },
      { role: 'assistant', content: 'ok' },
      { role: 'system', content: 'Sandbox: write allowed.' },
      { role: 'user', content: 'now write' },
    ]);
    const same = translated('openaiResponses', 'openaiResponses', body).body;
    assert.equal(same.instructions, SYSTEM);
    assert.deepEqual(same.input, body.input);
  });

  test('Ollama tool results with a tool_call_id (newer servers) keep it', () => {
    const ir = codecFor('ollama').parseRequest({
      model: 'q',
      messages: [
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_x', function: { name: 'grep', arguments: {} } }] },
        { role: 'tool', content: 'out', tool_call_id: 'call_x' },
      ],
    });
    assert.deepEqual(ir.messages[0]!.content, [{ type: 'toolCall', id: 'call_x', name: 'grep', argumentsJson: '{}' }]);
    assert.deepEqual(ir.messages[1]!.content, [{ type: 'toolResult', toolCallId: 'call_x', content: 'out' }]);
  });

  test('Ollama tool results find their calls by tool_name, then by order', () => {
    const ir = codecFor('ollama').parseRequest({
      model: 'q',
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'read_file', arguments: {} } }, { function: { name: 'grep', arguments: {} } }] },
        { role: 'tool', content: 'grep out', tool_name: 'grep' },
        { role: 'tool', content: 'file out' },
      ],
    });
    assert.deepEqual(ir.messages[2]!.content, [
      { type: 'toolResult', toolCallId: 'call_1_1', content: 'grep out' },
      { type: 'toolResult', toolCallId: 'call_1_0', content: 'file out' },
    ]);
  });
});

describe('images', () => {
  const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk';
  const claudeWithImages = {
    model: 'claude',
    max_tokens: 100,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_s', name: 'screenshot', input: {} }] },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_s',
            content: [
              { type: 'text', text: 'Screenshot taken' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            ],
          },
        ],
      },
    ],
  };

  test('base64 images reach every target in its own form', () => {
    const chat = translated('anthropic', 'openaiChat', claudeWithImages).body;
    assert.deepEqual(chat.messages, [
      { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_s', type: 'function', function: { name: 'screenshot', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'toolu_s', content: 'Screenshot taken' },
      // Chat tool messages are text only: the screenshot follows as a user message.
      { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] },
    ]);
    const responses = translated('anthropic', 'openaiResponses', claudeWithImages).body;
    assert.deepEqual((responses.input as unknown[])[0], {
      type: 'message',
      role: 'user',
      content: [{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: 'auto' }],
    });
    assert.deepEqual((responses.input as unknown[])[2], {
      type: 'function_call_output',
      call_id: 'toolu_s',
      output: [{ type: 'input_text', text: 'Screenshot taken' }, { type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: 'auto' }],
    });
    const ollama = translated('anthropic', 'ollama', claudeWithImages).body;
    assert.deepEqual(ollama.messages, [
      { role: 'user', content: 'What is this?', images: [PNG] },
      { role: 'assistant', content: '', tool_calls: [{ id: 'toolu_s', function: { index: 0, name: 'screenshot', arguments: {} } }] },
      { role: 'tool', content: 'Screenshot taken', images: [PNG], tool_name: 'screenshot', tool_call_id: 'toolu_s' },
    ]);
  });

  test('images come back to Anthropic from data URLs and Ollama base64', () => {
    const fromChat = translated('openaiChat', 'anthropic', {
      model: 'g',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/jpeg;base64,/9j/4AAQ` } }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }],
    }).body as { messages: Array<{ content: unknown[] }> };
    assert.deepEqual(fromChat.messages[0]!.content, [
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
    ]);
    const fromOllama = translated('ollama', 'anthropic', { model: 'q', messages: [{ role: 'user', content: 'look', images: ['/9j/4AAQ'] }] }).body as { messages: Array<{ content: unknown[] }> };
    assert.deepEqual(fromOllama.messages[0]!.content, [
      { type: 'text', text: 'look' },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
    ]);
  });

  test('an image URL cannot go to Ollama, and a PDF cannot leave Anthropic: the error names the field', () => {
    assert.throws(
      () => translated('openaiChat', 'ollama', { model: 'g', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] }),
      (error: unknown) => error instanceof TranslationError && error.field === 'messages[0].content[0]' && /base64 data only/.test(error.message),
    );
    assert.throws(
      () =>
        translated('anthropic', 'openaiChat', {
          model: 'c',
          max_tokens: 10,
          messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBER' } }] }],
        }),
      (error: unknown) =>
        error instanceof TranslationError &&
        error.message === 'messages[0].content[0]: a document block (PDF or text file) cannot be sent to an OpenAI Chat model',
    );
  });
});

describe('Codex freeform tools', () => {
  const patch = '*** Begin Patch\n*** Update File: a.ts\n@@\n-a\n+b\n*** End Patch';
  const codexBody = {
    model: 'gpt-5-codex',
    instructions: SYSTEM,
    input: [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'edit a.ts' }] },
      { type: 'custom_tool_call', call_id: 'call_p', name: 'apply_patch', input: patch },
      { type: 'custom_tool_call_output', call_id: 'call_p', output: 'Success. Updated a.ts' },
      { type: 'local_shell_call', call_id: 'call_sh', action: { type: 'exec', command: ['ls'] }, status: 'completed' },
      { type: 'local_shell_call_output', call_id: 'call_sh', output: 'a.ts' },
    ],
    tools: [
      { type: 'custom', name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', syntax: 'lark', definition: 'start: begin_patch hunk+ end_patch' } },
      { type: 'local_shell' },
    ],
    stream: true,
  };

  test('become an ordinary tool with one string argument for other protocols', () => {
    const claude = translated('openaiResponses', 'anthropic', codexBody).body;
    assert.deepEqual(claude.tools, [
      {
        name: 'apply_patch',
        description: 'Edit files.',
        input_schema: {
          type: 'object',
          properties: { input: { type: 'string', description: 'The raw text input of the tool. It must match this lark grammar:\nstart: begin_patch hunk+ end_patch' } },
          required: ['input'],
          additionalProperties: false,
        },
      },
    ]);
    assert.deepEqual(claude.messages, [
      { role: 'user', content: [{ type: 'text', text: 'edit a.ts' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_p', name: 'apply_patch', input: { input: patch } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_p', content: 'Success. Updated a.ts' }] },
    ]);
  });

  test('and go back to OpenAI Responses exactly as Codex sent them', () => {
    const same = translated('openaiResponses', 'openaiResponses', codexBody).body;
    assert.deepEqual(same.input, codexBody.input);
    assert.deepEqual(same.tools, codexBody.tools);
  });
});

describe('invalid request bodies are refused with the offending field', () => {
  const cases: Array<[Protocol, unknown, string]> = [
    ['anthropic', { model: 'c', max_tokens: 10 }, 'messages: expected an array, got a undefined'],
    ['anthropic', { model: 'c', max_tokens: 10, messages: [{ role: 'system', content: 'x' }] }, 'messages[0].role: expected "user" or "assistant", got "system"'],
    ['anthropic', { model: 'c', max_tokens: -1, messages: [] }, 'max_tokens: expected a positive integer, got -1'],
    ['anthropic', { model: 'c', messages: [{ role: 'assistant', content: [{ type: 'tool_use', name: 'f', input: {} }] }] }, 'messages[0].content[0].id: expected a string, got a undefined'],
    ['openaiChat', { messages: [] }, 'model: expected a string, got a undefined'],
    ['openaiChat', { model: 'g', messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id: expected a string, got a undefined'],
    ['openaiChat', { model: 'g', messages: [{ role: 'function', content: 'x' }] }, 'messages[0].role: expected system, developer, user, assistant or tool, got "function"'],
    ['openaiResponses', { model: 'g', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }, 'input[0].call_id: expected a string, got a undefined'],
    ['openaiResponses', { model: 'g', input: 'hi', reasoning: { effort: 'extreme' } }, 'reasoning.effort: expected minimal, low, medium or high, got "extreme"'],
    ['ollama', { model: 'q', messages: [{ role: 'user', content: 'x', images: [42] }] }, 'messages[0].images[0]: expected a string, got a number'],
    ['ollama', { model: 'q', messages: [], think: 'max' }, 'think: expected true, false, "low", "medium" or "high", got "max"'],
    ['ollama', 'not an object', 'body: expected an object, got the string "not an object"'],
  ];
  for (const [protocol, body, message] of cases) {
    test(`${protocol}: ${message}`, () => {
      assert.throws(
        () => codecFor(protocol).parseRequest(body),
        (error: unknown) => error instanceof TranslationError && error.message === message,
      );
    });
  }
});

test('an IR built by hand goes out with defaults each protocol requires', () => {
  const ir: IRRequest = {
    model: 'm',
    system: [],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
    tools: [{ name: 'noargs', inputSchema: {} }],
    stream: false,
    metadata: {},
  };
  const claude = codecFor('anthropic').buildRequest(ir).body;
  assert.equal(claude.max_tokens, 8192, 'Anthropic requires max_tokens');
  assert.deepEqual(claude.tools, [{ name: 'noargs', input_schema: { type: 'object' } }]);
  const responses = codecFor('openaiResponses').buildRequest(ir).body;
  assert.equal(responses.store, false);
  assert.equal(codecFor('ollama').buildRequest(ir).body.stream, false);
});
