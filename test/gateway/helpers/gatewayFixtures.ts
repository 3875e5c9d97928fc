/**
 * Shared by the gateway tests: a gateway over a temporary ledger with every tier pointed at the loopback fakes,
 * a raw HTTP client (so tests see exact bytes, statuses and headers), and request bodies shaped like the ones
 * Claude Code 2.1 and Codex 0.169 send.
 */
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { KeyResolver } from '../../../extension/providers/types';
import type { EndpointConfig, ModelPrice, TierwiseConfig } from '../../../extension/router/config';
import { Ledger } from '../../../extension/router/ledger/ledger';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../../extension/gateway';
import type { CodecLookup } from '../../../extension/gateway/codecs';
import { ANTHROPIC_TEST_KEY, LOCAL_TEST_MODEL, routerConfig, TempDirs, testKeys } from '../../wire/helpers/routerFixtures';
import type { TierName } from '../../../extension/router/tiers';

export { ANTHROPIC_TEST_KEY, LOCAL_TEST_MODEL, TempDirs, testKeys };

/** The model Claude Code asks for in these tests, priced so the main loop's cost is checkable. */
export const CLIENT_MODEL = 'claude-sonnet-4-5-20250929';
export const CLIENT_MODEL_PRICE: ModelPrice = { inputPerMTokUsd: 3, outputPerMTokUsd: 15, cacheReadPerMTokUsd: 0.3, cacheWrite5mPerMTokUsd: 3.75, cacheWrite1hPerMTokUsd: 6 };
export const MID_MODEL = 'claude-test-mid';
export const FRONTIER_MODEL = 'claude-test-frontier';

export interface GatewayHarness {
  gateway: RunningGateway;
  ledger: Ledger;
  ledgerDir: string;
  logs: string[];
  config: TierwiseConfig;
}

/** Tiers on the fakes: local Ollama, mid and frontier on the Anthropic fake. */
export function fakeTiers(urls: { anthropic: string; ollama: string; openai?: string }): Partial<Record<TierName, EndpointConfig[]>> {
  return {
    local: [{ provider: 'ollama', model: LOCAL_TEST_MODEL, baseUrl: urls.ollama }],
    mid: [{ provider: 'anthropic', model: MID_MODEL, baseUrl: urls.anthropic }],
    frontier: [{ provider: 'anthropic', model: FRONTIER_MODEL, baseUrl: urls.anthropic }],
  };
}

export function gatewayConfig(tiers: Partial<Record<TierName, EndpointConfig[]>>, overrides: Parameters<typeof routerConfig>[1] = {}): TierwiseConfig {
  return routerConfig(tiers, { ...overrides, prices: { [CLIENT_MODEL]: CLIENT_MODEL_PRICE, ...overrides.prices } });
}

export const TEST_TOKEN = 'tw-gw-test-token-0123456789abcdefghijklmnopqrstuvwxyz';

export async function startHarness(
  dirs: TempDirs,
  config: TierwiseConfig,
  options: { keys?: KeyResolver; codecs?: CodecLookup; gateway?: Partial<GatewayOptions> } = {},
): Promise<GatewayHarness> {
  const ledgerDir = dirs.make('gateway-ledger');
  const ledger = new Ledger({ dir: ledgerDir });
  const logs: string[] = [];
  const gateway = await startGateway({
    config: () => config,
    ledger,
    keys: options.keys ?? testKeys,
    tokenValue: TEST_TOKEN,
    log: (line) => logs.push(line),
    ...(options.codecs && { codecs: options.codecs }),
    ...options.gateway,
  });
  return { gateway, ledger, ledgerDir, logs, config };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request with exact headers; the body is sent as given (a string is sent byte for byte). */
export function send(url: string, path: string, options: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(path, url);
    const req = httpRequest(target, { method: options.method ?? 'POST', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Streams a main turn to /v1/messages and reads it to its end, or until the connection drops: the text, and whether
 * it ended cleanly. Optionally waits before reading anything (a slow client) or hangs up after the first bytes.
 */
export function streamTurn(
  url: string,
  body: string,
  options: { token?: string; pauseFirstMs?: number; hangUpAfterBytes?: number } = {},
): Promise<{ ended: boolean; text: string }> {
  return new Promise((resolve) => {
    let text = '';
    const req = httpRequest(new URL('/v1/messages', url), { method: 'POST', headers: claudeCodeHeaders({}, options.token), agent: false }, (res) => {
      if (options.pauseFirstMs) {
        res.pause();
        setTimeout(() => res.resume(), options.pauseFirstMs);
      }
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (options.hangUpAfterBytes !== undefined && text.length >= options.hangUpAfterBytes) {
          req.destroy();
          resolve({ ended: false, text });
        }
      });
      res.on('end', () => resolve({ ended: true, text }));
      res.on('error', () => resolve({ ended: false, text }));
      res.on('aborted', () => resolve({ ended: false, text }));
    });
    req.on('error', () => resolve({ ended: false, text }));
    req.end(body);
  });
}

/** Headers Claude Code 2.1 sends (its session id and, for subagents, the agent id), with the gateway token as its key. */
export function claudeCodeHeaders(extra: OutgoingHttpHeaders = {}, token = TEST_TOKEN): OutgoingHttpHeaders {
  return {
    'content-type': 'application/json',
    'user-agent': 'claude-cli/2.1.330 (external, cli)',
    'x-app': 'cli',
    'anthropic-version': '2023-06-01',
    'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14',
    'x-api-key': token,
    'x-stainless-lang': 'js',
    ...extra,
  };
}

export function codexHeaders(metadata: Record<string, unknown>, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return {
    'content-type': 'application/json',
    'user-agent': 'codex_cli_rs/0.169.0 (Debian 12; x86_64) xterm-256color',
    originator: 'codex_cli_rs',
    authorization: `Bearer ${TEST_TOKEN}`,
    'x-codex-turn-metadata': JSON.stringify(metadata),
    accept: 'text/event-stream',
    ...extra,
  };
}

const TOOL_NAMES = ['Task', 'Bash', 'Glob', 'Grep', 'LS', 'ExitPlanMode', 'Read', 'Edit', 'MultiEdit', 'Write', 'NotebookEdit', 'WebFetch', 'TodoWrite', 'WebSearch', 'BashOutput', 'KillShell'];

/** Claude Code's tool definitions (trimmed descriptions, real names and schema shape), the last one a cache breakpoint. */
export function claudeCodeTools(count = TOOL_NAMES.length): Record<string, unknown>[] {
  return TOOL_NAMES.slice(0, count).map((name, index, all) => ({
    name,
    description: `${name}: use this tool to work in the user's repository. Paths are absolute; prefer dedicated tools over Bash.`,
    input_schema: {
      type: 'object',
      properties: { file_path: { type: 'string', description: 'The absolute path to the file' }, limit: { type: 'number' } },
      required: ['file_path'],
      additionalProperties: false,
      $schema: 'http://json-schema.org/draft-07/schema#',
    },
    ...(index === all.length - 1 && { cache_control: { type: 'ephemeral' } }),
  }));
}

export const CLAUDE_CODE_SYSTEM_PROMPT =
  'You are Claude Code, Anthropic\'s official CLI for Claude.\nYou are an interactive CLI tool that helps users with software engineering tasks.\n\n' +
  'Here is useful information about the environment you are running in:\n<env>\nWorking directory: /home/dev/pager\nIs directory a git repo: Yes\nPlatform: linux\n</env>';

/** A main-loop turn: billing line, system prompt with breakpoint, the whole tool set, thinking, history with breakpoints. */
export function claudeCodeMainTurn(options: { system?: string; model?: string; turns?: number; stream?: boolean; sessionId?: string; agentSubagent?: boolean } = {}): Record<string, unknown> {
  const messages: Record<string, unknown>[] = [
    {
      role: 'user',
      content: [
        { type: 'text', text: '<system-reminder>\nAs you answer the user\'s questions, you can use the following context: CLAUDE.md says use pnpm.\n</system-reminder>' },
        { type: 'text', text: 'Fix the off-by-one in src/pager.ts — the last page renders twice. Über-check the ünicode too.' },
      ],
    },
  ];
  for (let turn = 1; turn < (options.turns ?? 1); turn++) {
    messages.push(
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'Look at the loop bound.', signature: 'EqoBCkYIBxgCKkBsig' }, { type: 'tool_use', id: `toolu_0${turn}`, name: 'Read', input: { file_path: '/home/dev/pager/src/pager.ts' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_0${turn}`, content: `for (let i = 0; i <= pages; i++) render(i);  // turn ${turn}` }] },
    );
  }
  const last = messages.at(-1) as { content: Record<string, unknown>[] };
  last.content[last.content.length - 1] = { ...last.content[last.content.length - 1], cache_control: { type: 'ephemeral' } };
  return {
    model: options.model ?? CLIENT_MODEL,
    messages,
    temperature: 1,
    system: [
      { type: 'text', text: `x-anthropic-billing-header: cc_version=2.1.330.a1b; cc_entrypoint=cli;${options.agentSubagent ? ' cc_is_subagent=true;' : ''}` },
      { type: 'text', text: options.system ?? CLAUDE_CODE_SYSTEM_PROMPT, cache_control: { type: 'ephemeral' } },
    ],
    tools: claudeCodeTools(),
    metadata: { user_id: JSON.stringify({ device_id: 'dev-1', account_uuid: '', session_id: options.sessionId ?? 'b6f1f4b0-1c1e-4a59-9d61-2f0b8f0b1a10' }) },
    max_tokens: 32000,
    thinking: { type: 'enabled', budget_tokens: 31999 },
    stream: options.stream ?? true,
  };
}

/** Claude Code's session-title call: small model, no tools, no thinking, structured output. */
export function claudeCodeTitleCall(): Record<string, unknown> {
  return {
    model: 'claude-haiku-4-5-20251001',
    max_tokens: 512,
    messages: [{ role: 'user', content: 'Fix the off-by-one in src/pager.ts — the last page renders twice.' }],
    system: [
      { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.330.a1b; cc_entrypoint=cli;' },
      { type: 'text', text: 'Summarize this coding conversation in under 50 characters as a sentence-case title.' },
    ],
    temperature: 1,
    output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'], additionalProperties: false } } },
    stream: true,
  };
}

/** Claude Code's /compact request: the whole history plus the summary instruction as the last user message. */
export function claudeCodeCompaction(): Record<string, unknown> {
  const turn = claudeCodeMainTurn({ turns: 2 });
  const messages = [...(turn.messages as unknown[])];
  messages.push({
    role: 'user',
    content: [{ type: 'text', text: 'CRITICAL: Respond with TEXT ONLY. Do NOT call any tools.\n\nYour task is to create a detailed summary of the conversation so far, paying close attention to the user\'s explicit requests.' }],
  });
  return { ...turn, messages, tools: claudeCodeTools(), thinking: undefined };
}

/** A Codex 0.169 Responses turn; `prompt_cache_key` is its thread id. */
export function codexTurn(threadId: string, text = 'Rename the pager module to paging.'): Record<string, unknown> {
  return {
    model: 'gpt-5.1-codex',
    instructions: 'You are Codex, based on GPT-5. You are running as a coding agent in the Codex CLI on a user\'s computer.',
    input: [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions instructions>sandbox: workspace-write</permissions instructions>' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
    ],
    tools: [{ type: 'function', name: 'shell', description: 'Runs a shell command', strict: false, parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } }, required: ['command'] } }],
    tool_choice: 'auto',
    parallel_tool_calls: false,
    reasoning: { effort: 'medium', summary: 'auto' },
    store: false,
    stream: true,
    include: ['reasoning.encrypted_content'],
    prompt_cache_key: threadId,
  };
}

/** Waits until `check` passes (ledger writes happen just after the response ends). */
export async function eventually<T>(check: () => T | undefined, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export { ANTHROPIC_TEST_KEY as UPSTREAM_ANTHROPIC_KEY };
