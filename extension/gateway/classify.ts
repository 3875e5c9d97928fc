import type { IngressProtocol } from './protocols';
import { bodyView, type BodyView } from './requestBody';

/**
 * Task kinds of agent traffic, for the routes table (`agent.main` → a tier, …). Pure: the same headers and body
 * always classify the same way, and no shape ever fails — what is not recognised is `agent.main`.
 */
export const AGENT_TASK_KINDS = [
  'agent.main',
  'agent.subagent',
  'agent.background',
  'agent.compaction',
  'agent.longContext',
  'agent.thinking',
] as const;
export type AgentTaskKind = (typeof AGENT_TASK_KINDS)[number];

/** Who is calling; recorded as the ledger's `client`. */
export type AgentClient = 'claude-code' | 'codex' | 'other';

/** Header values as node:http hands them: lower-case names, repeated headers as arrays. */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface ClassifyInput {
  protocol: IngressProtocol;
  headers: RequestHeaders;
  /** The body: a BodyView (the gateway's RawBody), or a parsed value (anything: unknown shapes are agent.main). */
  body: unknown;
}

export interface Classification {
  kind: AgentTaskKind;
  client: AgentClient;
  /** The signal that decided, e.g. "header x-claude-code-agent-id → agent.subagent". */
  reason: string;
}

/** Claude Code's /compact prompt opens with this (2.1.x). */
const CLAUDE_CODE_COMPACTION_PREFIX = 'CRITICAL: Respond with TEXT ONLY';
/** A main-loop request of Claude Code carries its whole tool set; subagents and utility calls carry fewer or none. */
const MAIN_LOOP_MIN_TOOLS = 10;
const SMALL_MODEL_PATTERN = /haiku/i;
const LONG_CONTEXT_BETA_PREFIX = 'context-1m-';
const LONG_CONTEXT_MODEL_SUFFIX = '[1m]';
/** How Claude Code serialises a user message: role first (the comma makes "user" the whole value). */
const USER_MESSAGE_OPENING = '{"role":"user",';
/** Claude Code marks a subagent's first system block with this. */
const SUBAGENT_MARK = 'cc_is_subagent=true';

export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** claude-code, codex or other, from the User-Agent and the headers only these clients send. */
export function detectClient(headers: RequestHeaders): AgentClient {
  const userAgent = headerValue(headers, 'user-agent') ?? '';
  if (/^claude-cli\//i.test(userAgent) || headers['x-claude-code-session-id'] !== undefined || headers['x-claude-code-agent-id'] !== undefined) {
    return 'claude-code';
  }
  const originator = headerValue(headers, 'originator') ?? '';
  if (/^codex[_-]/i.test(userAgent) || /^codex[_-]/i.test(originator) || headers['x-codex-turn-metadata'] !== undefined) return 'codex';
  return 'other';
}

export function classify(input: ClassifyInput): Classification {
  const client = detectClient(input.headers);
  const body = bodyView(input.body);
  return client === 'codex' ? classifyCodex(input.headers, body) : classifyMessages(input.headers, body, client);
}

/** A classification whose reason names the signal that decided it. */
const decision = (client: AgentClient, kind: AgentTaskKind, signal: string): Classification => ({ kind, client, reason: `${signal} → ${kind}` });

/**
 * Runs before every request goes upstream, so it reads as little as it can: a handful of small fields, and byte
 * searches confined to the field they concern; deep fields are parsed only when the raw text says they can match.
 */
function classifyMessages(headers: RequestHeaders, body: BodyView, client: AgentClient): Classification {
  const decided = (kind: AgentTaskKind, signal: string) => decision(client, kind, signal);
  const claudeCode = client === 'claude-code';
  const modelValue = body.get('model');
  const model = typeof modelValue === 'string' ? modelValue : '';
  const toolCount = body.length('tools');
  // Read only where it decides (few tools) or for the reason: a main-loop turn is main with or without it.
  let thinkingRead: boolean | undefined;
  const thinking = () => (thinkingRead ??= thinkingEnabled(body));

  if (claudeCode && compactionRequested(body)) {
    return decided('agent.compaction', `last user message "${CLAUDE_CODE_COMPACTION_PREFIX}…" (/compact)`);
  }
  if (headers['x-claude-code-agent-id'] !== undefined) return decided('agent.subagent', 'header x-claude-code-agent-id');
  if (claudeCode && subagentMarked(body)) {
    return decided('agent.subagent', `first system block ${SUBAGENT_MARK}`);
  }
  if (claudeCode && toolCount === 0 && !thinking()) {
    if (jsonSchemaFormat(body)) {
      const small = SMALL_MODEL_PATTERN.test(model) ? `, small model ${model}` : '';
      return decided('agent.background', `no tools, no thinking, output_config.format json_schema${small} (session title)`);
    }
    if (SMALL_MODEL_PATTERN.test(model)) return decided('agent.background', `small model ${model} without tools or thinking`);
  }
  const longContextBeta = longContextBetaOf(headers);
  if (longContextBeta) return decided('agent.longContext', `header anthropic-beta ${longContextBeta} ([1m] model)`);
  if (model.endsWith(LONG_CONTEXT_MODEL_SUFFIX)) return decided('agent.longContext', `model suffix ${LONG_CONTEXT_MODEL_SUFFIX}`);
  // The reason is spelt out when read (after the request has left): only it needs the cache_control search.
  if (toolCount >= MAIN_LOOP_MIN_TOOLS) return new MainLoopTurn(client, body, toolCount, thinking);
  if (thinking()) return decided('agent.thinking', 'thinking enabled outside the main loop');
  return decided('agent.main', 'no agent signal (default)');
}

/**
 * A main-loop turn, its reason spelt out when first read. A class rather than an object literal with a getter:
 * V8 builds such a literal on its slow path, about twenty times slower, and this is made on every main turn.
 */
class MainLoopTurn implements Classification {
  readonly kind = 'agent.main';
  private spelt: string | undefined;

  constructor(
    readonly client: AgentClient,
    private readonly body: BodyView,
    private readonly toolCount: number,
    private readonly thinking: () => boolean,
  ) {}

  get reason(): string {
    if (this.spelt === undefined) {
      // Breakpoints on the system prompt or the tools (where Claude Code puts its long-lived ones).
      const cached = this.body.fieldContains('system', '"cache_control"') || this.body.fieldContains('tools', '"cache_control"');
      const extras = this.thinking() ? (cached ? ', thinking, cache_control' : ', thinking') : cached ? ', cache_control' : '';
      this.spelt = `${this.toolCount} tools${extras} (main loop) → agent.main`;
    }
    return this.spelt;
  }
}

interface CodexTurnMetadata {
  request_kind?: unknown;
  thread_source?: unknown;
}

/** Codex (0.169): `x-codex-turn-metadata` says what the request is for; `x-openai-subagent` marks helper threads. */
function classifyCodex(headers: RequestHeaders, body: BodyView): Classification {
  const decided = (kind: AgentTaskKind, signal: string) => decision('codex', kind, signal);
  const metadata = parseTurnMetadata(headerValue(headers, 'x-codex-turn-metadata'));
  const requestKind = typeof metadata?.request_kind === 'string' ? metadata.request_kind : undefined;
  const threadSource = typeof metadata?.thread_source === 'string' ? metadata.thread_source : undefined;
  const subagent = headerValue(headers, 'x-openai-subagent');

  if (requestKind === 'compaction') return decided('agent.compaction', 'x-codex-turn-metadata request_kind=compaction');
  if (subagent === 'compact') return decided('agent.compaction', 'header x-openai-subagent=compact');
  if (threadSource === 'thread_title') return decided('agent.background', 'x-codex-turn-metadata thread_source=thread_title');
  if (requestKind === 'subagent_turn' || threadSource === 'subagent') {
    return decided('agent.subagent', `x-codex-turn-metadata ${requestKind === 'subagent_turn' ? 'request_kind=subagent_turn' : 'thread_source=subagent'}`);
  }
  if (subagent) return decided('agent.subagent', `header x-openai-subagent=${subagent}`);
  if (requestKind === 'prewarm') return decided('agent.main', 'x-codex-turn-metadata request_kind=prewarm (warms the main loop cache)');
  if (requestKind === 'turn') return decided('agent.main', `x-codex-turn-metadata request_kind=turn${threadSource ? `, thread_source=${threadSource}` : ''}`);
  const toolCount = body.length('tools');
  if (toolCount >= MAIN_LOOP_MIN_TOOLS) return decided('agent.main', `${toolCount} tools (main loop)`);
  return decided('agent.main', 'no agent signal (default)');
}

function parseTurnMetadata(raw: string | undefined): CodexTurnMetadata | undefined {
  if (!raw) return undefined;
  try {
    return asRecord(JSON.parse(raw)) as CodexTurnMetadata | undefined;
  } catch {
    return undefined;
  }
}

function thinkingEnabled(body: BodyView): boolean {
  const thinking = asRecord(body.get('thinking'));
  if (thinking) return thinking.type !== 'disabled';
  // OpenAI shapes: reasoning effort on Chat Completions or the Responses API.
  const effort = body.get('reasoning_effort') ?? asRecord(body.get('reasoning'))?.effort;
  return typeof effort === 'string' && effort !== 'none' && effort !== 'minimal';
}

function jsonSchemaFormat(body: BodyView): boolean {
  const format = asRecord(asRecord(body.get('output_config'))?.format) ?? asRecord(body.get('output_format'));
  return format?.type === 'json_schema';
}

/** The context-1m-… flag in anthropic-beta (a comma-separated list, possibly repeated), if any. */
function longContextBetaOf(headers: RequestHeaders): string | undefined {
  const raw = headers['anthropic-beta'];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  for (let at = value.indexOf(LONG_CONTEXT_BETA_PREFIX); at >= 0; at = value.indexOf(LONG_CONTEXT_BETA_PREFIX, at + 1)) {
    const before = at === 0 ? ',' : value[at - 1];
    if (before !== ',' && before !== ' ' && before !== '\t') continue; // only a flag that starts there
    const end = value.indexOf(',', at);
    return value.slice(at, end < 0 ? undefined : end).trim();
  }
  return undefined;
}

/**
 * Whether the first system block carries Claude Code's subagent mark. Only that block's bytes are searched (a line
 * of about 100 bytes, where the whole system prompt runs to 15 KB), and it is parsed only when they hold the mark.
 */
function subagentMarked(body: BodyView): boolean {
  const firstBlock = body.serializedElement('system', 0);
  const mayHold = firstBlock !== undefined ? firstBlock.includes(SUBAGENT_MARK) : body.fieldContains('system', SUBAGENT_MARK);
  return mayHold && firstSystemText(body).includes(SUBAGENT_MARK);
}

function firstSystemText(body: BodyView): string {
  const system = body.get('system');
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) return '';
  const text = asRecord(system[0])?.text;
  return typeof text === 'string' ? text : '';
}

/**
 * Whether the last user message opens with Claude Code's /compact prompt. A request normally ends with the user's
 * message: then only that message is searched, and a long conversation's history is not read at all.
 */
function compactionRequested(body: BodyView): boolean {
  const opensWithPrompt = (message: unknown) => userTexts(message).some((text) => text.trimStart().startsWith(CLAUDE_CODE_COMPACTION_PREFIX));
  const inLastMessage = body.lastElementContains('messages', CLAUDE_CODE_COMPACTION_PREFIX);
  // Claude Code writes "role" first: a last message plainly the user's without the prompt settles it, unparsed. (Only
  // a body repeating "role" in that message could read otherwise, and then it is routed as the default, agent.main.)
  if (!inLastMessage && body.lastElementOpensWith('messages', USER_MESSAGE_OPENING)) return false;
  if (body.lastElementField('messages', 'role') === 'user') return inLastMessage && opensWithPrompt(body.lastElement('messages'));
  if (!body.contains(CLAUDE_CODE_COMPACTION_PREFIX)) return false;
  for (let index = -1; index >= -body.length('messages'); index--) {
    const message = asRecord(body.element('messages', index));
    if (message?.role === 'user') return opensWithPrompt(message);
  }
  return false;
}

/** The texts of a user message: its string content, or each of its text blocks. */
function userTexts(value: unknown): string[] {
  const message = asRecord(value);
  if (typeof message?.content === 'string') return [message.content];
  return Array.isArray(message?.content) ? message.content.map((block) => contentText([block])).filter(Boolean) : [];
}

export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((block) => {
      const record = asRecord(block);
      return record && (record.type === 'text' || record.type === 'input_text') && typeof record.text === 'string' ? record.text : '';
    })
    .filter(Boolean)
    .join('\n');
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
