import { hash } from 'node:crypto';
import type { Usage } from '../providers/types';
import { asRecord, headerValue, type AgentClient, type AgentTaskKind, type RequestHeaders } from './classify';
import type { IngressProtocol } from './protocols';
import { bodyView, type BodyView } from './requestBody';

/**
 * Agent sessions, for cache-aware stickiness: a prompt cache lives on one endpoint, so the main loop of a session
 * stays on the endpoint it started on (unless a cap or a failing endpoint forces a move), and a turn whose stable
 * prefix (system prompt, tools, first user message) differs from the previous turn's is flagged as a cache break.
 */

/** How a session was recognised, for the log. */
export interface SessionIdentity {
  key: string;
  source: string;
}

/** Digests of the parts of a prompt that providers cache as a prefix. */
export interface PrefixDigest {
  system: string;
  tools: string;
  firstUserMessage: string;
}

export interface SessionCacheStats {
  turns: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  inputTokens: number;
  cacheBreaks: number;
}

export interface SessionSummary extends SessionCacheStats {
  key: string;
  lastSeenAt: number;
  /** Sticky endpoint per stream (`main`, `subagent:<id>`). */
  endpoints: Record<string, string>;
}

/** Claude Code's first system block is a per-request attribution line that the prompt cache does not depend on. */
export const ATTRIBUTION_BLOCK_PREFIX = 'x-anthropic-billing-header';
const DEFAULT_MAX_SESSIONS = 2000;
const DEFAULT_SESSION_IDLE_MS = 12 * 60 * 60_000;

/**
 * The session a request belongs to, when the client names one: Claude Code's session header (or the session in
 * its metadata.user_id), Codex's prompt_cache_key (its thread id) or session headers.
 */
export function sessionIdentity(headers: RequestHeaders, body: unknown, client: AgentClient): SessionIdentity | undefined {
  const view = bodyView(body);
  const claudeSession = headerValue(headers, 'x-claude-code-session-id');
  if (claudeSession) return { key: `claude-code:${claudeSession}`, source: 'header x-claude-code-session-id' };
  const fromMetadata = sessionFromUserId(asRecord(view.get('metadata'))?.user_id);
  if (fromMetadata) return { key: `claude-code:${fromMetadata}`, source: 'metadata.user_id' };
  const cacheKey = view.get('prompt_cache_key');
  if (typeof cacheKey === 'string' && cacheKey) return { key: `${client}:${cacheKey}`, source: 'prompt_cache_key' };
  for (const name of ['session_id', 'conversation_id', 'thread-id', 'session-id']) {
    const value = headerValue(headers, name);
    if (value) return { key: `${client}:${value}`, source: `header ${name}` };
  }
  return undefined;
}

/** Older Claude Code sends `user_<hash>_account_<uuid>_session_<uuid>`, newer a JSON object with session_id. */
function sessionFromUserId(userId: unknown): string | undefined {
  if (typeof userId !== 'string') return undefined;
  const legacy = /_session_([0-9a-f-]{36})$/i.exec(userId);
  if (legacy) return legacy[1];
  if (!userId.startsWith('{')) return undefined;
  try {
    const sessionId = asRecord(JSON.parse(userId))?.session_id;
    return typeof sessionId === 'string' && sessionId ? sessionId : undefined;
  } catch {
    return undefined;
  }
}

/** Serialises without cache breakpoints: they move from turn to turn without changing what is cached. */
const withoutCacheControl = (key: string, value: unknown) => (key === 'cache_control' ? undefined : value);

const PART_SEPARATOR = Buffer.from([0]);
const ABSENT_PART = Buffer.from('-');

/** One-shot hashing: a Hash object per part cost more than hashing the bytes. */
function digestOf(parts: Array<string | Buffer | undefined>): string {
  const buffers: Buffer[] = [];
  for (const part of parts) buffers.push(part === undefined ? ABSENT_PART : typeof part === 'string' ? Buffer.from(part, 'utf8') : part, PART_SEPARATOR);
  return hash('sha256', Buffer.concat(buffers), 'base64url').slice(0, 22);
}

/** A message (or Responses item) without its cache breakpoints. */
const messageText = (message: unknown): string | undefined => (message === undefined ? undefined : JSON.stringify(message, withoutCacheControl));

/**
 * Digests of the stable prefix of a request in `protocol`: the system prompt and the tools as serialised (their
 * breakpoints do not move; the bytes are what the cache keys on), the first user message without breakpoints
 * (Claude Code moves the last breakpoint forward every turn). Claude Code's per-request attribution block is left out.
 */
export function prefixDigest(protocol: IngressProtocol, body: unknown): PrefixDigest {
  const view = bodyView(body);
  if (protocol === 'anthropic') {
    const systemParts: Array<string | Buffer | undefined> = [];
    const systemBlocks = view.length('system');
    if (systemBlocks === 0) systemParts.push(view.serialized('system'));
    for (let index = 0; index < systemBlocks; index++) {
      const serialized = view.serializedElement('system', index);
      if (serialized?.includes(ATTRIBUTION_BLOCK_PREFIX)) {
        const text = asRecord(view.element('system', index))?.text;
        if (typeof text === 'string' && text.startsWith(ATTRIBUTION_BLOCK_PREFIX)) continue;
      }
      systemParts.push(serialized);
    }
    return { system: digestOf(systemParts), tools: digestOf([view.serialized('tools')]), firstUserMessage: digestOf([messageText(firstUser(view, 'messages').message)]) };
  }
  const key = protocol === 'openaiChat' ? 'messages' : 'input';
  // A Responses `input` may be one string (the whole prompt); as an array it is read element by element below.
  const input = key === 'input' ? view.serialized('input') : undefined;
  if (input !== undefined && (typeof input === 'string' ? input.startsWith('"') : input[0] === 0x22)) {
    return { system: digestOf([view.serialized('instructions')]), tools: digestOf([view.serialized('tools')]), firstUserMessage: digestOf([input]) };
  }
  const { message, leading } = firstUser(view, key);
  return {
    system: digestOf([view.serialized('instructions'), ...leading.map(messageText)]),
    tools: digestOf([view.serialized('tools')]),
    firstUserMessage: digestOf([messageText(message)]),
  };
}

/** The first user message of a top-level array, and the system/developer messages before it. */
function firstUser(view: BodyView, key: string): { message: unknown; leading: unknown[] } {
  const leading: unknown[] = [];
  // Element by element: the first user message is near the start, the rest of a long history is never walked.
  for (let index = 0; ; index++) {
    const item = view.element(key, index);
    if (item === undefined) break;
    const role = asRecord(item)?.role;
    if (role === 'user') return { message: item, leading };
    if (role === 'system' || role === 'developer') leading.push(item);
  }
  return { message: undefined, leading };
}

/** A session key for clients that name none: the stable prefix itself. */
export function prefixSessionKey(prefix: PrefixDigest): SessionIdentity {
  return { key: `prefix:${prefix.system}.${prefix.tools}.${prefix.firstUserMessage}`, source: 'stable prefix hash' };
}

/** Which stream of a session a request belongs to: the main loop, a subagent, or neither (utility calls). */
export function streamOf(kind: AgentTaskKind, headers: RequestHeaders): string | undefined {
  switch (kind) {
    case 'agent.main':
    case 'agent.thinking':
    case 'agent.longContext':
      return 'main';
    case 'agent.subagent':
      return `subagent:${headerValue(headers, 'x-claude-code-agent-id') ?? 'default'}`;
    default:
      return undefined;
  }
}

interface StreamState {
  endpointId?: string;
  prefix?: PrefixDigest;
}

interface SessionState extends SessionCacheStats {
  lastSeenAt: number;
  streams: Map<string, StreamState>;
}

export interface SessionTrackerOptions {
  maxSessions?: number;
  idleMs?: number;
  now?: () => number;
}

/** In-memory sessions of one gateway process (least recently used beyond `maxSessions` are forgotten). */
export class SessionTracker {
  private readonly sessions = new Map<string, SessionState>();
  private readonly maxSessions: number;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(options: SessionTrackerOptions = {}) {
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.idleMs = options.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.now = options.now ?? Date.now;
  }

  /** The endpoint this stream of the session is on, if it has one. */
  stickyEndpoint(sessionKey: string, stream: string): string | undefined {
    return this.peek(sessionKey)?.streams.get(stream)?.endpointId;
  }

  /** Puts the stream on `endpointId`; returns the endpoint it was on before when that differs. */
  bind(sessionKey: string, stream: string, endpointId: string): string | undefined {
    const state = this.streamState(sessionKey, stream);
    const previous = state.endpointId;
    state.endpointId = endpointId;
    return previous !== undefined && previous !== endpointId ? previous : undefined;
  }

  /** Records this turn's prefix; returns why the prompt cache broke since the previous turn, if it did. */
  observePrefix(sessionKey: string, stream: string, prefix: PrefixDigest): string | undefined {
    const state = this.streamState(sessionKey, stream);
    const previous = state.prefix;
    state.prefix = prefix;
    if (!previous) return undefined;
    const changed = [
      previous.system !== prefix.system ? 'system prompt' : '',
      previous.tools !== prefix.tools ? 'tools' : '',
      previous.firstUserMessage !== prefix.firstUserMessage ? 'first user message' : '',
    ].filter(Boolean);
    if (changed.length === 0) return undefined;
    this.session(sessionKey).cacheBreaks++;
    return `${changed.join(', ')} changed`;
  }

  /** Adds a settled call's cache reads and writes to the session. */
  recordUsage(sessionKey: string, usage: Usage): SessionCacheStats {
    const session = this.session(sessionKey);
    session.turns++;
    session.inputTokens += usage.inputTokens;
    session.cacheReadTokens += usage.cacheReadTokens;
    session.cacheWriteTokens += usage.cacheWrite5mTokens + usage.cacheWrite1hTokens;
    const { turns, cacheReadTokens, cacheWriteTokens, inputTokens, cacheBreaks } = session;
    return { turns, cacheReadTokens, cacheWriteTokens, inputTokens, cacheBreaks };
  }

  /** Counts a cache break found outside the prefix (a move to another endpoint). */
  noteCacheBreak(sessionKey: string): void {
    this.session(sessionKey).cacheBreaks++;
  }

  snapshot(): SessionSummary[] {
    return [...this.sessions].map(([key, session]) => ({
      key,
      lastSeenAt: session.lastSeenAt,
      turns: session.turns,
      cacheReadTokens: session.cacheReadTokens,
      cacheWriteTokens: session.cacheWriteTokens,
      inputTokens: session.inputTokens,
      cacheBreaks: session.cacheBreaks,
      endpoints: Object.fromEntries([...session.streams].flatMap(([stream, state]) => (state.endpointId ? [[stream, state.endpointId]] : []))),
    }));
  }

  private peek(sessionKey: string): SessionState | undefined {
    const session = this.sessions.get(sessionKey);
    if (session && this.now() - session.lastSeenAt > this.idleMs) {
      this.sessions.delete(sessionKey);
      return undefined;
    }
    return session;
  }

  private session(sessionKey: string): SessionState {
    let session = this.peek(sessionKey);
    if (session) {
      // Map order is the LRU order: move to the back.
      this.sessions.delete(sessionKey);
    } else {
      session = { lastSeenAt: 0, streams: new Map(), turns: 0, cacheReadTokens: 0, cacheWriteTokens: 0, inputTokens: 0, cacheBreaks: 0 };
    }
    session.lastSeenAt = this.now();
    this.sessions.set(sessionKey, session);
    while (this.sessions.size > this.maxSessions) this.sessions.delete(this.sessions.keys().next().value as string);
    return session;
  }

  private streamState(sessionKey: string, stream: string): StreamState {
    const streams = this.session(sessionKey).streams;
    let state = streams.get(stream);
    if (!state) streams.set(stream, (state = {}));
    return state;
  }
}
