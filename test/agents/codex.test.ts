/**
 * The real Codex CLI (0.169.0, installed once into .cache/agents) through the real gateway's Responses endpoint,
 * to loopback upstreams that answer with tool calls, in a network namespace whose only way out is the gateway
 * (see helpers/netns.ts). The gateway translates: Responses → OpenAI Chat Completions, and Responses → Anthropic
 * Messages. `npm test` builds dist/ first; to run this file alone, `npm run build` and then
 *   node --import tsx --test test/agents/codex.test.ts
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { startFakeOllama, type FakeOllama } from '../fakes/ollama';
import { ensureAgentClients, type AgentClients } from './helpers/clients';
import { CODEX_CLIENT_MODEL, codexEnv, codexExecArgs, writeCodexHome } from './helpers/codex';
import { assertNetworkNamespaces } from './helpers/netns';
import { withScenario } from './helpers/scenario';
import { blockedClientExitTimeoutMs, clientRunTimeoutMs, installTimeoutMs, scenarioTestTimeoutMs } from './helpers/timeouts';
import {
  anthropicToolResults,
  openAIToolResults,
  startAnthropicToolUpstream,
  startOpenAIChatToolUpstream,
  type RecordedRequest,
  type ToolUpstream,
} from './helpers/toolUpstreams';

const MID_MODEL = 'gpt-test-mid';
const FRONTIER_MODEL = 'claude-test-frontier';
const LOCAL_MODEL = 'qwen-test:7b';
/** Dollars per million tokens. */
const PRICES = {
  [MID_MODEL]: { inputPerMTokUsd: 2, outputPerMTokUsd: 8 },
  [FRONTIER_MODEL]: { inputPerMTokUsd: 15, outputPerMTokUsd: 75 },
};
const TOOL_TURN = { inputTokens: 3000, outputTokens: 50 };
const FINAL_TURN = { inputTokens: 3100, outputTokens: 15 };
const FINAL_TEXT = 'Done: out.txt holds the greeting.';
const SHELL_COMMAND = 'echo hello-from-codex > out.txt && cat out.txt';

type Upstreams = {
  anthropic: ToolUpstream;
  openai: ToolUpstream;
  ollama: FakeOllama;
};

/** Codex's main loop (agent.main) pinned to `tier`: mid is OpenAI Chat, frontier is Anthropic. */
function gatewayConfig(upstreams: Upstreams, mainTier: 'mid' | 'frontier'): Record<string, unknown> {
  return {
    tiers: {
      local: { endpoints: [{ provider: 'ollama', model: LOCAL_MODEL, baseUrl: upstreams.ollama.baseUrl }] },
      mid: { endpoints: [{ provider: 'openai', model: MID_MODEL, baseUrl: upstreams.openai.baseUrl }] },
      frontier: { endpoints: [{ provider: 'anthropic', model: FRONTIER_MODEL, baseUrl: upstreams.anthropic.baseUrl }] },
    },
    routes: { 'agent.main': mainTier },
    prices: PRICES,
  };
}

async function startUpstreams(): Promise<Upstreams> {
  // Each answers by what the request holds: a tool result → the final text, else → run the shell command.
  const anthropic = await startAnthropicToolUpstream({
    answer: (request) =>
      anthropicToolResults(request).size > 0
        ? { text: FINAL_TEXT, usage: FINAL_TURN }
        : { toolCalls: [{ id: 'toolu_exec01', name: 'exec_command', input: { cmd: SHELL_COMMAND, login: false, yield_time_ms: 2000 } }], usage: TOOL_TURN },
  });
  const openai = await startOpenAIChatToolUpstream({
    answer: (request) =>
      openAIToolResults(request).size > 0
        ? { text: FINAL_TEXT, usage: FINAL_TURN }
        : { toolCalls: [{ id: 'call_exec01', name: 'exec_command', input: { cmd: SHELL_COMMAND, login: false, yield_time_ms: 2000 } }], usage: TOOL_TURN },
  });
  return { anthropic, openai, ollama: await startFakeOllama() };
}

const closeAll = (upstreams: Upstreams) => Promise.all(Object.values(upstreams).map((upstream) => upstream.close()));
const costUsd = (model: keyof typeof PRICES, usage: typeof TOOL_TURN) => (usage.inputTokens * PRICES[model].inputPerMTokUsd + usage.outputTokens * PRICES[model].outputPerMTokUsd) / 1e6;

describe('Codex 0.169.0 through the gateway', () => {
  let clients: AgentClients;

  before(
    async () => {
      assertNetworkNamespaces();
      clients = await ensureAgentClients();
    },
    { timeout: installTimeoutMs },
  );

  const cases = [
    { tier: 'mid', provider: 'openai', model: MID_MODEL, via: 'OpenAI Chat Completions', toolResults: openAIToolResults, callId: 'call_exec01' },
    { tier: 'frontier', provider: 'anthropic', model: FRONTIER_MODEL, via: 'Anthropic Messages', toolResults: anthropicToolResults, callId: 'toolu_exec01' },
  ] as const;

  test('a daily cap with policy block stops Codex\'s turn: it prints the gateway\'s message and exits non-zero after one request', { timeout: scenarioTestTimeoutMs }, async () => {
    const upstreams = await startUpstreams();
    try {
      const config = { ...gatewayConfig(upstreams, 'mid'), budgets: { dailyUsd: 0.01, policy: 'block' } };
      await withScenario({ name: 'codex-blocked-by-cap', config, upstreams }, async (scenario) => {
        const run = await scenario.runClient('codex', clients.codex, codexExecArgs('Explain the pager module.'), codexEnv(scenario, writeCodexHome(scenario)), blockedClientExitTimeoutMs);
        assert.equal(run.exit.timedOut, false, `codex was still running after ${blockedClientExitTimeoutMs / 1000} s: it retried the refusal`);
        assert.notEqual(run.exit.code, 0);
        assert.match(run.stderr, /Tierwise blocked this agent\.main request: daily cap \$0\.01[^\n]*raise tierwise\.budgets\.dailyUsd/);
        assert.equal(scenario.bridge.requests().length, 1, 'Codex does not retry a 400');
        assert.equal(upstreams.openai.requests.length + upstreams.anthropic.requests.length + upstreams.ollama.requests.length, 0);
        assert.deepEqual(scenario.calls(), []);
      });
    } finally {
      await closeAll(upstreams);
    }
  });

  for (const route of cases) {
    test(`a shell tool round trip through the Responses endpoint, translated to ${route.via}, recorded as codex`, { timeout: scenarioTestTimeoutMs }, async () => {
      const upstreams = await startUpstreams();
      const target = upstreams[route.provider];
      const other = upstreams[route.provider === 'openai' ? 'anthropic' : 'openai'];
      try {
        await withScenario({ name: `codex-shell-round-trip-${route.provider}`, config: gatewayConfig(upstreams, route.tier), upstreams }, async (scenario) => {
          const codexHome = writeCodexHome(scenario);
          const run = await scenario.runClient('codex', clients.codex, codexExecArgs('Write hello-from-codex into out.txt with the shell.'), codexEnv(scenario, codexHome), clientRunTimeoutMs);
          assert.equal(run.exit.code, 0, `codex exited with ${JSON.stringify(run.exit)}\n${run.stderr.slice(-3000)}`);
          // codex exec prints the last agent message alone on stdout (the transcript goes to stderr).
          assert.equal(run.stdout.trim(), FINAL_TEXT);

          assert.equal(readFileSync(join(scenario.work, 'out.txt'), 'utf8'), 'hello-from-codex\n', 'the shell command ran in the working directory');
          assert.equal(target.requests.length, 2, 'the tool turn and the final turn');
          assert.equal(other.requests.length, 0);
          const toolReply = target.requests[1] as RecordedRequest;
          assert.match(route.toolResults(toolReply).get(route.callId) ?? '', /hello-from-codex/, 'the command output went back upstream, translated');
          assert.equal((target.requests[0]!.body as { model?: string }).model, route.model);

          const sent = scenario.bridge.requests();
          assert.deepEqual([...new Set(sent.map((head) => `${head.method} ${head.path}`))], ['POST /v1/responses']);
          assert.ok(sent.every((head) => head.headers.authorization === `Bearer ${scenario.gatewayToken}`), 'Codex sent the token from TIERWISE_GATEWAY_TOKEN');
          assert.ok(sent.every((head) => head.headers['x-codex-turn-metadata']?.includes(`"model":"${CODEX_CLIENT_MODEL}"`)));

          const calls = scenario.calls();
          assert.deepEqual(
            calls.map((call) => [call.client, call.task, call.tier, call.provider, call.model, call.outcome].join(' ')),
            [`codex agent.main ${route.tier} ${route.provider} ${route.model} ok`, `codex agent.main ${route.tier} ${route.provider} ${route.model} ok`],
          );
          assert.deepEqual(calls.map((call) => [call.inputTokens, call.outputTokens]), [[TOOL_TURN.inputTokens, TOOL_TURN.outputTokens], [FINAL_TURN.inputTokens, FINAL_TURN.outputTokens]]);
          calls.forEach((call, index) => {
            const expected = costUsd(route.model, index === 0 ? TOOL_TURN : FINAL_TURN);
            assert.ok(Math.abs(call.costUsd - expected) < 1e-9, `cost ${call.costUsd} != ${expected}`);
          });
        });
      } finally {
        await closeAll(upstreams);
      }
    });
  }
});
