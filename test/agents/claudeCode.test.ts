/**
 * The real Claude Code (2.1.330, installed once into .cache/agents) through the real gateway (`tierwise gateway`
 * from dist/cli.js) to loopback upstreams that answer with tool calls. Each client runs in its own network
 * namespace whose only way out is the gateway (see helpers/netns.ts), so nothing reaches another host.
 * `npm test` builds dist/ first; to run this file alone, `npm run build` and then
 *   node --import tsx --test test/agents/claudeCode.test.ts
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { startFakeOllama, type FakeOllama } from '../fakes/ollama';
import { CLAUDE_CLIENT_MODEL, claudeCodeEnv, claudePrintArgs, claudeResult } from './helpers/claudeCode';
import { ensureAgentClients, type AgentClients } from './helpers/clients';
import { assertNetworkNamespaces } from './helpers/netns';
import { ANTHROPIC_TEST_KEY, withScenario } from './helpers/scenario';
import { blockedClientExitTimeoutMs, clientRunTimeoutMs, installTimeoutMs, scenarioTestTimeoutMs } from './helpers/timeouts';
import {
  anthropicToolResults,
  openAIToolResults,
  startAnthropicToolUpstream,
  startOpenAIChatToolUpstream,
  type RecordedRequest,
  type ToolUpstream,
} from './helpers/toolUpstreams';

/** Dollars per million tokens for the client's model (the main loop stays on it) and the mid tier's model. */
const MAIN_PRICE = { inputPerMTokUsd: 3, outputPerMTokUsd: 15, cacheReadPerMTokUsd: 0.3, cacheWrite5mPerMTokUsd: 3.75, cacheWrite1hPerMTokUsd: 6 };
const MID_MODEL = 'gpt-test-mid';
const MID_PRICE = { inputPerMTokUsd: 2, outputPerMTokUsd: 8, cacheReadPerMTokUsd: 0.5, cacheWrite5mPerMTokUsd: 2, cacheWrite1hPerMTokUsd: 2 };

const LOCAL_MODEL = 'qwen-test:7b';
/** One refused turn: Claude Code's feature fallbacks on a 400, not retries (see the cap test). */
const MAX_REQUESTS_FOR_A_REFUSED_TURN = 8;

type Upstreams = {
  anthropic: ToolUpstream;
  openai: ToolUpstream;
  ollama: FakeOllama;
};

const costUsd = (price: typeof MAIN_PRICE, usage: { inputTokens: number; outputTokens: number }) =>
  (usage.inputTokens * price.inputPerMTokUsd + usage.outputTokens * price.outputPerMTokUsd) / 1e6;

/**
 * Frontier is the client's own model on the Anthropic upstream (agent.main keeps the client's model); mid is an
 * OpenAI Chat upstream, which the gateway reaches by translating Anthropic Messages; local is a text-only Ollama.
 */
function gatewayConfig(upstreams: Upstreams, budgets: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tiers: {
      local: { endpoints: [{ provider: 'ollama', model: LOCAL_MODEL, baseUrl: upstreams.ollama.baseUrl }] },
      mid: { endpoints: [{ provider: 'openai', model: MID_MODEL, baseUrl: upstreams.openai.baseUrl }] },
      frontier: { endpoints: [{ provider: 'anthropic', model: CLAUDE_CLIENT_MODEL, baseUrl: upstreams.anthropic.baseUrl }] },
    },
    prices: { [CLAUDE_CLIENT_MODEL]: MAIN_PRICE, [MID_MODEL]: MID_PRICE },
    budgets,
  };
}

const closeAll = (upstreams: Upstreams) => Promise.all(Object.values(upstreams).map((upstream) => upstream.close()));

/** Whether an Anthropic request carries tool results in its last message (the client's reply to a tool call). */
const answersToolCall = (request: RecordedRequest) => anthropicToolResults(request).size > 0;

describe('Claude Code 2.1.330 through the gateway', () => {
  let clients: AgentClients;

  before(
    async () => {
      assertNetworkNamespaces();
      clients = await ensureAgentClients();
    },
    { timeout: installTimeoutMs },
  );

  test('a main turn runs a Bash tool round trip on the client\'s model, priced in the ledger as claude-code', { timeout: scenarioTestTimeoutMs }, async () => {
    const TOOL_TURN = { inputTokens: 1200, outputTokens: 40 };
    const FINAL_TURN = { inputTokens: 1300, outputTokens: 12 };
    const FINAL_TEXT = 'Wrote out.txt with the greeting.';
    const anthropic = await startAnthropicToolUpstream({
      answer: (request) =>
        answersToolCall(request)
          ? { text: FINAL_TEXT, usage: FINAL_TURN }
          : {
              text: 'I will write the file.',
              toolCalls: [{ id: 'toolu_bash01', name: 'Bash', input: { command: 'echo hello-from-the-tool > out.txt && cat out.txt', description: 'Write a greeting to out.txt' } }],
              usage: TOOL_TURN,
            },
    });
    const upstreams = { anthropic, openai: await startOpenAIChatToolUpstream(), ollama: await startFakeOllama() };
    const { openai } = upstreams;
    try {
      await withScenario({ name: 'claude-code-main-tool-round-trip', config: gatewayConfig(upstreams), upstreams }, async (scenario) => {
        const run = await scenario.runClient('claude', clients.claude, claudePrintArgs('Write hello-from-the-tool into out.txt using Bash.'), claudeCodeEnv(scenario), clientRunTimeoutMs);
        assert.equal(run.exit.code, 0, `claude exited with ${JSON.stringify(run.exit)}\n${run.stderr.slice(-2000)}`);
        const result = claudeResult(run.stdout);
        assert.equal(result.is_error, false);
        assert.equal(result.result, FINAL_TEXT);

        // The tool really ran, in the client's working directory, and its output went back upstream.
        assert.equal(readFileSync(join(scenario.work, 'out.txt'), 'utf8'), 'hello-from-the-tool\n');
        const toolReply = anthropic.requests.find(answersToolCall);
        assert.ok(toolReply, 'the upstream saw no tool_result');
        assert.match(anthropicToolResults(toolReply).get('toolu_bash01') ?? '', /hello-from-the-tool/);
        assert.equal(openai.requests.length, 0, 'nothing went to the mid tier');
        // Claude Code sent the token as x-api-key; the upstream got the gateway's own key, never that token.
        assert.ok(scenario.bridge.requests().every((head) => head.headers['x-api-key'] === scenario.gatewayToken));
        for (const request of anthropic.requests) assert.equal(request.headers['x-api-key'], ANTHROPIC_TEST_KEY);

        const calls = scenario.calls();
        assert.equal(calls.length, anthropic.requests.length, 'one call record per upstream request');
        const mainCalls = calls.filter((call) => call.task === 'agent.main');
        assert.equal(mainCalls.length, 2, `expected the tool turn and the final turn: ${JSON.stringify(calls)}`);
        for (const call of mainCalls) {
          assert.deepEqual([call.client, call.tier, call.provider, call.model, call.outcome], ['claude-code', 'frontier', 'anthropic', CLAUDE_CLIENT_MODEL, 'ok']);
        }
        const byInput = new Map(mainCalls.map((call) => [call.inputTokens, call]));
        for (const turn of [TOOL_TURN, FINAL_TURN]) {
          const call = byInput.get(turn.inputTokens);
          assert.ok(call, `no call with ${turn.inputTokens} input tokens`);
          assert.equal(call.outputTokens, turn.outputTokens);
          assert.ok(Math.abs(call.costUsd - costUsd(MAIN_PRICE, turn)) < 1e-9, `cost ${call.costUsd} != ${costUsd(MAIN_PRICE, turn)}`);
        }
      });
    } finally {
      await closeAll(upstreams);
    }
  });

  test('the token as ANTHROPIC_AUTH_TOKEN (a Bearer token, as the extension\'s terminals set it) is accepted too', { timeout: scenarioTestTimeoutMs }, async () => {
    const upstreams = {
      anthropic: await startAnthropicToolUpstream({ answer: { text: 'Authorised by bearer.' } }),
      openai: await startOpenAIChatToolUpstream(),
      ollama: await startFakeOllama(),
    };
    try {
      await withScenario({ name: 'claude-code-bearer-token', config: gatewayConfig(upstreams), upstreams }, async (scenario) => {
        const run = await scenario.runClient('claude', clients.claude, claudePrintArgs('Say hello.'), claudeCodeEnv(scenario, 'authToken'), clientRunTimeoutMs);
        assert.equal(run.exit.code, 0, `claude exited with ${JSON.stringify(run.exit)}\n${run.stdout.slice(-2000)}`);
        assert.equal(claudeResult(run.stdout).result, 'Authorised by bearer.');
        const sent = scenario.bridge.requests();
        assert.ok(sent.length > 0 && sent.every((head) => head.headers.authorization === `Bearer ${scenario.gatewayToken}` && head.headers['x-api-key'] === undefined));
        assert.equal(upstreams.anthropic.requests[0]?.headers['x-api-key'], ANTHROPIC_TEST_KEY);
        assert.equal(upstreams.anthropic.requests[0]?.headers.authorization, undefined, 'the client\'s bearer token is not passed upstream');
        assert.deepEqual(scenario.calls().map((call) => call.client), ['claude-code']);
      });
    } finally {
      await closeAll(upstreams);
    }
  });

  test('a subagent turn (the Agent tool) reaches the mid tier: the OpenAI upstream, translated both ways with its own tool call', { timeout: scenarioTestTimeoutMs }, async () => {
    const SUBAGENT_PROMPT = 'Read notes.txt and reply with its first line, prefixed by SUBAGENT-REPORT.';
    const NOTES_FIRST_LINE = 'The pager renders the last page twice.';
    const MAIN_TURN = { inputTokens: 2000, outputTokens: 30 };
    const SUB_TURN = { inputTokens: 900, outputTokens: 20 };
    let notesPath = '';
    const anthropic = await startAnthropicToolUpstream({
      answer: (request) => {
        const results = anthropicToolResults(request);
        if (results.size > 0) return { text: `Main loop done. ${[...results.values()].join(' ').match(/SUBAGENT-REPORT: [^\n]*/)?.[0] ?? 'no report'}`, usage: MAIN_TURN };
        const input = { description: 'Read the notes', prompt: SUBAGENT_PROMPT, subagent_type: 'general-purpose', run_in_background: false };
        return { toolCalls: [{ id: 'toolu_agent01', name: 'Agent', input }], usage: MAIN_TURN };
      },
    });
    // The subagent reads the file with a tool call of its own, in OpenAI's format, then reports its first line.
    const openai = await startOpenAIChatToolUpstream({
      answer: (request) => {
        const results = openAIToolResults(request);
        if (results.size > 0) return { text: `SUBAGENT-REPORT: ${[...results.values()].join(' ').match(/The pager[^\n]*/)?.[0] ?? 'notes not found'}`, usage: SUB_TURN };
        return { toolCalls: [{ id: 'call_read01', name: 'Read', input: { file_path: notesPath } }], usage: SUB_TURN };
      },
    });
    const upstreams = { anthropic, openai, ollama: await startFakeOllama() };
    try {
      await withScenario({ name: 'claude-code-subagent', config: gatewayConfig(upstreams), upstreams }, async (scenario) => {
        notesPath = join(scenario.work, 'notes.txt');
        writeFileSync(notesPath, `${NOTES_FIRST_LINE}\nSecond line.\n`);
        const run = await scenario.runClient('claude', clients.claude, claudePrintArgs('Delegate reading notes.txt to a subagent.', ['Agent', 'Bash', 'Read', 'Edit']), claudeCodeEnv(scenario), clientRunTimeoutMs);
        assert.equal(run.exit.code, 0, `claude exited with ${JSON.stringify(run.exit)}\n${run.stderr.slice(-2000)}`);
        assert.equal(claudeResult(run.stdout).result, `Main loop done. SUBAGENT-REPORT: ${NOTES_FIRST_LINE}`);

        // What Claude Code sent: the subagent's requests carry its agent id, the main loop's do not.
        const sent = scenario.bridge.requests().filter((head) => head.path.startsWith('/v1/messages'));
        const subagentHeads = sent.filter((head) => head.headers['x-claude-code-agent-id'] !== undefined);
        assert.equal(subagentHeads.length, 2, `expected the subagent's tool turn and its report: ${JSON.stringify(sent.map((head) => head.headers))}`);
        assert.equal(sent.length - subagentHeads.length, 2, 'two main-loop requests');
        assert.match(scenario.gatewayLog(), /agent\.subagent \[claude-code\][^\n]*header x-claude-code-agent-id/);

        // Which upstream got what: the subagent went to the OpenAI upstream (mid), the main loop to Anthropic.
        assert.equal(openai.requests.length, 2);
        assert.equal(anthropic.requests.length, 2);
        const [subagentFirst, subagentSecond] = openai.requests as [RecordedRequest, RecordedRequest];
        assert.ok(subagentFirst.rawBody.includes(SUBAGENT_PROMPT), 'the subagent prompt reached the OpenAI upstream');
        assert.equal((subagentFirst.body as { model?: string }).model, MID_MODEL);
        assert.match(openAIToolResults(subagentSecond).get('call_read01') ?? '', new RegExp(NOTES_FIRST_LINE), 'the Read tool ran and its result came back translated');
        assert.ok(!anthropic.requests.some((request) => request.rawBody.includes('call_read01')), 'the subagent\'s tool turn stayed off the main upstream');

        const calls = scenario.calls();
        const summary = calls.map((call) => [call.task, call.tier, call.provider, call.model, call.client, call.outcome].join(' ')).sort();
        assert.deepEqual(summary, [
          `agent.main frontier anthropic ${CLAUDE_CLIENT_MODEL} claude-code ok`,
          `agent.main frontier anthropic ${CLAUDE_CLIENT_MODEL} claude-code ok`,
          `agent.subagent mid openai ${MID_MODEL} claude-code ok`,
          `agent.subagent mid openai ${MID_MODEL} claude-code ok`,
        ]);
        for (const call of calls) {
          const expected = call.task === 'agent.subagent' ? costUsd(MID_PRICE, SUB_TURN) : costUsd(MAIN_PRICE, MAIN_TURN);
          assert.ok(Math.abs(call.costUsd - expected) < 1e-9, `${call.task} cost ${call.costUsd} != ${expected}`);
        }
      });
    } finally {
      await closeAll(upstreams);
    }
  });

  test('a daily cap with policy block stops a main turn: the client prints the gateway\'s message and exits non-zero, without retrying', { timeout: scenarioTestTimeoutMs }, async () => {
    const upstreams = { anthropic: await startAnthropicToolUpstream(), openai: await startOpenAIChatToolUpstream(), ollama: await startFakeOllama() };
    try {
      const config = gatewayConfig(upstreams, { dailyUsd: 0.01, policy: 'block' });
      await withScenario({ name: 'claude-code-blocked-by-cap', config, upstreams }, async (scenario) => {
        const run = await scenario.runClient('claude', clients.claude, claudePrintArgs('Explain the pager module.'), claudeCodeEnv(scenario), blockedClientExitTimeoutMs);
        assert.equal(run.exit.timedOut, false, `claude was still running after ${blockedClientExitTimeoutMs / 1000} s: it retried the refusal`);
        assert.notEqual(run.exit.code, 0, 'a blocked turn is a failed run');
        const printed = `${run.stdout}\n${run.stderr}`;
        assert.match(printed, /Tierwise blocked this agent\.main request: daily cap \$0\.01/);
        assert.match(printed, /budgets\.dailyUsd/, 'the message names the setting that raises the cap');

        // The SDK does not retry (x-should-retry: false), but Claude Code answers a 400 by resending the turn with
        // fewer beta features, one step at a time (2.1.330: 6 requests within ~150 ms). Bounded, and never a retry loop.
        const sent = scenario.bridge.requests().filter((head) => head.path.startsWith('/v1/messages'));
        assert.ok(sent.length >= 1 && sent.length <= MAX_REQUESTS_FOR_A_REFUSED_TURN, `the gateway saw ${sent.length} requests for one refused turn`);
        assert.deepEqual(new Set(sent.map((head) => head.headers['x-stainless-retry-count'])), new Set(['0']), 'no SDK retries');
        assert.equal(scenario.gatewayLog().match(/: blocked \(/g)?.length, sent.length, 'every request was refused');
        assert.equal(upstreams.anthropic.requests.length + upstreams.openai.requests.length + upstreams.ollama.requests.length, 0, 'nothing reached an upstream');
        assert.deepEqual(scenario.calls(), [], 'nothing was billed');
        assert.match(scenario.gatewayLog(), /agent\.main \[claude-code\]: blocked/);
      });
    } finally {
      await closeAll(upstreams);
    }
  });

  // Gateway finding, kept as a TODO so it shows in every run without failing it: the gateway answers a cap with
  // 400 invalid_request_error (translate/errors.ts clientStatus, errors.ts STATUS) on the assumption that clients
  // stop on a 400. Claude Code 2.1.330 does not retry it, but it does resend the turn with fewer beta features
  // (6 requests). Anthropic's own "billing_error" status, 402, it sends once and prints the same way.
  test('a refused turn is sent only once (cap answered as 402 billing_error)', { timeout: scenarioTestTimeoutMs }, async () => {
    const upstreams = { anthropic: await startAnthropicToolUpstream(), openai: await startOpenAIChatToolUpstream(), ollama: await startFakeOllama() };
    try {
      const config = gatewayConfig(upstreams, { dailyUsd: 0.01, policy: 'block' });
      await withScenario({ name: 'claude-code-refused-once', config, upstreams }, async (scenario) => {
        const run = await scenario.runClient('claude', clients.claude, claudePrintArgs('Explain the pager module.'), claudeCodeEnv(scenario), blockedClientExitTimeoutMs);
        assert.notEqual(run.exit.code, 0);
        assert.equal(scenario.bridge.requests().filter((head) => head.path.startsWith('/v1/messages')).length, 1);
      });
    } finally {
      await closeAll(upstreams);
    }
  });
});
