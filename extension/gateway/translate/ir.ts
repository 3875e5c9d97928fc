/**
 * The neutral representation every wire protocol is translated through: a client's request is parsed into an
 * IRRequest, built again for the upstream's protocol, and the upstream's answer comes back as IREvents (or one
 * IRResponse) that the client's codec encodes. No `vscode` import; plain Node.
 */
import { randomBytes } from 'node:crypto';
import { ZERO_USAGE, type Usage } from '../../providers/types';
import { UpstreamReportedError, type EncodedError, type EncodeErrorOptions, type GatewayErrorKind } from './errors';

export type Protocol = 'anthropic' | 'openaiChat' | 'openaiResponses' | 'ollama';

/** Whose reasoning a thinking part is. Signatures and encrypted reasoning only verify at the provider that made them. */
export type ThinkingProvider = 'anthropic' | 'openai' | 'other';

/** Anthropic's prompt-cache breakpoint, kept verbatim; every other protocol drops it. */
export interface CacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h';
}

export type JsonSchema = Record<string, unknown>;

export interface IRSystemBlock {
  text: string;
  cacheControl?: CacheControl;
  /** Set when an OpenAI-family client sent it as a leading system/developer message rather than `instructions`. */
  role?: 'system' | 'developer';
}

export type IRPart =
  | { type: 'text'; text: string; cacheControl?: CacheControl }
  | { type: 'image'; mediaType: string; dataBase64: string; cacheControl?: CacheControl }
  | { type: 'imageUrl'; url: string; cacheControl?: CacheControl }
  | {
      type: 'toolCall';
      id: string;
      name: string;
      argumentsJson: string;
      /** A Codex freeform (custom) tool call: argumentsJson is `{"input": <the raw text>}`. */
      freeform?: boolean;
      cacheControl?: CacheControl;
    }
  | {
      type: 'toolResult';
      toolCallId: string;
      content: string | IRPart[];
      isError?: boolean;
      cacheControl?: CacheControl;
    }
  | {
      type: 'thinking';
      text: string;
      /** Anthropic's signature, or OpenAI's encrypted_content. */
      signature?: string;
      /** Anthropic redacted_thinking data (text is then empty). */
      redactedData?: string;
      provider: ThinkingProvider;
      /** The block or item exactly as the client sent it, replayed only to the same protocol. */
      native?: unknown;
    }
  | {
      /** A block only its own protocol can carry (Anthropic document, server tool results, Responses web_search_call). */
      type: 'opaque';
      protocol: Protocol;
      /** What it is, for the error message when it cannot cross. */
      what: string;
      value: unknown;
      /** Dropped when crossing protocols (assistant-side history), or refused (user content the model must see). */
      onCross: 'drop' | 'reject';
    };

export type IRPartType = IRPart['type'];
export type IRPartOf<T extends IRPartType> = Extract<IRPart, { type: T }>;

export interface IRMessage {
  role: 'user' | 'assistant';
  content: IRPart[];
  /**
   * A system/developer message in the middle of an OpenAI-family conversation. It is carried as a user turn (Anthropic
   * has no mid-conversation system role); OpenAI-family and Ollama targets restore the role.
   */
  instruction?: 'system' | 'developer';
}

export interface IRTool {
  name: string;
  description?: string;
  inputSchema: JsonSchema;
  strict?: boolean;
  /** Codex's freeform (custom) tool: the model writes raw text, carried as one string argument named `input`. */
  freeform?: boolean;
  cacheControl?: CacheControl;
  /** The definition exactly as the client sent it; a codec of the same protocol sends it verbatim. */
  source?: { protocol: Protocol; definition: unknown };
  /** A tool the provider runs itself (web search, code execution): only the same protocol can carry it. */
  providerHosted?: boolean;
}

export type IRToolChoice = 'auto' | 'none' | 'required' | { name: string };

export type ReasoningEffort = 'minimal' | 'low' | 'medium' | 'high';

export interface IRThinking {
  budgetTokens?: number;
  effort?: ReasoningEffort;
  /** Anthropic adaptive thinking: the model decides how much to think. */
  adaptive?: boolean;
}

export type IRResponseFormat =
  | { type: 'json_schema'; schema: JsonSchema; name?: string; strict?: boolean }
  | { type: 'json_object' };

export interface IRRequest {
  model: string;
  system: IRSystemBlock[];
  messages: IRMessage[];
  tools: IRTool[];
  toolChoice?: IRToolChoice;
  parallelToolCalls?: boolean;
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  stream: boolean;
  thinking?: IRThinking;
  responseFormat?: IRResponseFormat;
  metadata: { promptCacheKey?: string; user?: string };
  /** Whether a streaming OpenAI Chat client asked for the final usage chunk (stream_options.include_usage). */
  streamIncludeUsage?: boolean;
  /** Top-level fields the source protocol has and the IR does not model; sent again only to the same protocol. */
  extensions?: { protocol: Protocol; fields: Record<string, unknown> };
}

/** Token usage, with the meaning of the providers' Usage: inputTokens excludes cache reads and writes. */
export type IRUsage = Usage;

export type IRStopReason = 'end' | 'maxTokens' | 'toolUse' | 'stopSequence' | 'contentFilter';

export type IREvent =
  /** First event of a stream. `usage` is what the upstream knew at the start (Anthropic's message_start). */
  | { type: 'start'; id: string; model: string; usage?: IRUsage }
  | { type: 'textDelta'; text: string }
  | { type: 'thinkingDelta'; text: string; provider: ThinkingProvider; itemId?: string }
  /** Closes a thinking block; carries its signature, or a whole redacted block. */
  | { type: 'thinkingEnd'; provider: ThinkingProvider; signature?: string; redactedData?: string; itemId?: string }
  /** `index` numbers the calls of one response from 0. */
  | { type: 'toolCallStart'; index: number; id: string; name: string; freeform?: boolean }
  | { type: 'toolCallDelta'; index: number; argumentsJsonDelta: string }
  | { type: 'toolCallEnd'; index: number }
  /** The final, cumulative usage. */
  | { type: 'usage'; usage: IRUsage }
  | { type: 'stop'; reason: IRStopReason; stopSequence?: string }
  | { type: 'error'; status?: number; errorType: string; message: string };

export interface IRResponse {
  id: string;
  model: string;
  /** text, toolCall and thinking parts. */
  content: IRPart[];
  stopReason: IRStopReason;
  stopSequence?: string;
  usage: IRUsage;
  /** False when the upstream reported no usage at all: the counts are zeros, not measurements. */
  usageReported?: boolean;
}

/** What an encoder needs to know about the client and the answer it is writing. */
export interface StreamMeta {
  /** The id the client sees (msg_…, chatcmpl-…, resp_…). */
  id: string;
  /** The model name the client sees. */
  model: string;
  /** OpenAI Chat: send the final usage chunk (default true; pass the client's stream_options.include_usage). */
  includeUsage?: boolean;
  /** Responses: the client's freeform tools, whose calls are written as custom_tool_call items. */
  freeformToolNames?: readonly string[];
}

export interface StreamDecoder {
  /** Feeds decoded text; chunks may split anywhere. Returns the events completed so far. */
  push(chunk: string): IREvent[];
  /** The upstream closed: flushes what is buffered; an error event if the stream ended before its final event. */
  end(): IREvent[];
}

export interface StreamEncoder {
  /** The client-facing text for one event ('' when it produces none yet). */
  encode(event: IREvent): string;
  /** Closes every open block and writes the final frames. */
  end(): string;
}

export interface DecoderOptions {
  /** Prefix of the tool call ids synthesized for protocols that have none (Ollama); random by default. */
  toolCallIdPrefix?: string;
}

export interface BuildRequestOptions {
  /**
   * OpenAI Chat: which output-limit field the upstream understands. api.openai.com wants max_completion_tokens for
   * reasoning models; most OpenAI-compatible servers only know max_tokens (the default).
   */
  outputLimitField?: 'max_tokens' | 'max_completion_tokens';
  /**
   * False when the upstream model does not reason: thinking and reasoning settings are left out, because models
   * without reasoning refuse them (OpenAI's reasoning_effort on gpt-4.1, Anthropic's thinking on Claude 3.5). Default true.
   */
  reasoning?: boolean;
}

/** The request as a given upstream may receive it. */
export function withBuildOptions(ir: IRRequest, options: BuildRequestOptions): IRRequest {
  return options.reasoning === false && ir.thinking ? { ...ir, thinking: undefined } : ir;
}

export interface ProtocolCodec {
  readonly protocol: Protocol;
  /** text/event-stream or application/x-ndjson. */
  readonly streamContentType: string;
  /** Ingress: a client's request body. Throws TranslationError naming the offending field. */
  parseRequest(body: unknown): IRRequest;
  /** Egress: the request for an upstream of this protocol (model = ir.model). */
  buildRequest(ir: IRRequest, options?: BuildRequestOptions): { path: string; body: Record<string, unknown> };
  createStreamDecoder(options?: DecoderOptions): StreamDecoder;
  createStreamEncoder(meta: StreamMeta): StreamEncoder;
  parseResponse(json: unknown, options?: DecoderOptions): IRResponse;
  encodeResponse(response: IRResponse, meta: StreamMeta): Record<string, unknown>;
  encodeError(status: number, message: string, kind: GatewayErrorKind, options?: EncodeErrorOptions): EncodedError;
  usageFromWire(usage: unknown): IRUsage;
  usageToWire(usage: IRUsage): Record<string, unknown>;
  stopReasonFromWire(reason: string | null | undefined): IRStopReason;
  stopReasonToWire(reason: IRStopReason): string;
}

/** A short random token for ids the upstream did not give (tool calls, output items). */
export function randomToken(): string {
  return randomBytes(6).toString('hex');
}

export function zeroUsage(): IRUsage {
  return { ...ZERO_USAGE };
}

/** The system blocks as one text, for protocols with a single system prompt. */
export function systemText(system: IRSystemBlock[]): string {
  return system.map((block) => block.text).join('\n\n');
}

/** Every prompt token, however it was billed (OpenAI and Ollama report only this total). */
export function totalPromptTokens(usage: IRUsage): number {
  return usage.inputTokens + usage.cacheReadTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens;
}

/** A model that called tools and then said "stop" (Ollama, some OpenAI-compatible servers) still wants them run. */
export function effectiveStopReason(reason: IRStopReason | undefined, calledTools: boolean): IRStopReason {
  if (calledTools && (reason === undefined || reason === 'end')) return 'toolUse';
  return reason ?? 'end';
}

/** Whether a thinking part or event may be shown to, or sent to, a protocol whose reasoning comes from `provider`. */
export function thinkingTravelsTo(from: ThinkingProvider, to: ThinkingProvider): boolean {
  return from === to;
}

/** Budget ⇄ effort, for protocols that only have one of them. Bounds in tokens. */
const EFFORT_BUDGET_TOKENS: Record<ReasoningEffort, number> = {
  minimal: 1_024,
  low: 4_096,
  medium: 10_000,
  high: 32_000,
};

export function budgetForEffort(effort: ReasoningEffort): number {
  return EFFORT_BUDGET_TOKENS[effort];
}

export function effortForBudget(budgetTokens: number): ReasoningEffort {
  if (budgetTokens <= EFFORT_BUDGET_TOKENS.minimal) return 'minimal';
  if (budgetTokens <= EFFORT_BUDGET_TOKENS.low) return 'low';
  if (budgetTokens <= EFFORT_BUDGET_TOKENS.medium) return 'medium';
  return 'high';
}

export function thinkingEffort(thinking: IRThinking): ReasoningEffort {
  if (thinking.effort) return thinking.effort;
  if (thinking.budgetTokens !== undefined) return effortForBudget(thinking.budgetTokens);
  return 'medium';
}

/**
 * Tool-call arguments as an object, for protocols that carry them as one (Anthropic input, Ollama arguments).
 * Empty means no arguments. History is never refused over a model's malformed arguments: they travel as a string.
 */
export function argumentsObject(argumentsJson: string): Record<string, unknown> {
  if (argumentsJson.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(argumentsJson);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // falls through
  }
  return { _unparsedArguments: argumentsJson };
}

/** The text of a tool result, for protocols whose tool results are plain strings. Images are left out. */
export function toolResultText(content: string | IRPart[]): string {
  if (typeof content === 'string') return content;
  return content
    .filter((part): part is IRPartOf<'text'> => part.type === 'text')
    .map((part) => part.text)
    .join('\n\n');
}

/** Builds the final response from a complete event stream. Throws UpstreamReportedError if the stream reported one. */
export function collect(events: Iterable<IREvent>): IRResponse {
  const response: IRResponse = { id: '', model: '', content: [], stopReason: 'end', usage: zeroUsage(), usageReported: false };
  const calls = new Map<number, IRPartOf<'toolCall'>>();
  let stopReason: IRStopReason | undefined;
  let openText: IRPartOf<'text'> | undefined;
  let openThinking: IRPartOf<'thinking'> | undefined;
  for (const event of events) {
    if (event.type !== 'textDelta') openText = undefined;
    if (event.type !== 'thinkingDelta' && event.type !== 'thinkingEnd') openThinking = undefined;
    switch (event.type) {
      case 'start':
        response.id = event.id;
        response.model = event.model;
        if (event.usage) response.usage = { ...event.usage };
        break;
      case 'textDelta':
        if (!openText) {
          openText = { type: 'text', text: '' };
          response.content.push(openText);
        }
        openText.text += event.text;
        break;
      case 'thinkingDelta':
        if (!openThinking) {
          openThinking = { type: 'thinking', text: '', provider: event.provider };
          response.content.push(openThinking);
        }
        openThinking.text += event.text;
        break;
      case 'thinkingEnd': {
        const part = openThinking ?? { type: 'thinking', text: '', provider: event.provider };
        if (!openThinking) response.content.push(part);
        if (event.signature !== undefined) part.signature = event.signature;
        if (event.redactedData !== undefined) part.redactedData = event.redactedData;
        if (event.itemId !== undefined) part.native = { id: event.itemId };
        openThinking = undefined;
        break;
      }
      case 'toolCallStart': {
        const call: IRPartOf<'toolCall'> = { type: 'toolCall', id: event.id, name: event.name, argumentsJson: '' };
        if (event.freeform) call.freeform = true;
        calls.set(event.index, call);
        response.content.push(call);
        break;
      }
      case 'toolCallDelta': {
        const call = calls.get(event.index);
        if (call) call.argumentsJson += event.argumentsJsonDelta;
        break;
      }
      case 'toolCallEnd':
        break;
      case 'usage':
        response.usage = { ...event.usage };
        response.usageReported = true;
        break;
      case 'stop':
        stopReason = event.reason;
        if (event.stopSequence !== undefined) response.stopSequence = event.stopSequence;
        break;
      case 'error':
        throw new UpstreamReportedError(event.status, event.errorType, event.message);
    }
  }
  response.stopReason = effectiveStopReason(stopReason, calls.size > 0);
  return response;
}

/** The parts of an IRResponse as IREvents, so a non-streamed answer can be written by a stream encoder. */
export function eventsOf(response: IRResponse): IREvent[] {
  const events: IREvent[] = [{ type: 'start', id: response.id, model: response.model }];
  let toolIndex = 0;
  for (const part of response.content) {
    if (part.type === 'text') {
      if (part.text) events.push({ type: 'textDelta', text: part.text });
    } else if (part.type === 'thinking') {
      const itemId = nativeItemId(part.native);
      if (part.text) events.push({ type: 'thinkingDelta', text: part.text, provider: part.provider, ...(itemId && { itemId }) });
      events.push({
        type: 'thinkingEnd',
        provider: part.provider,
        ...(part.signature !== undefined && { signature: part.signature }),
        ...(part.redactedData !== undefined && { redactedData: part.redactedData }),
        ...(itemId && { itemId }),
      });
    } else if (part.type === 'toolCall') {
      const index = toolIndex++;
      events.push({ type: 'toolCallStart', index, id: part.id, name: part.name, ...(part.freeform && { freeform: true }) });
      if (part.argumentsJson) events.push({ type: 'toolCallDelta', index, argumentsJsonDelta: part.argumentsJson });
      events.push({ type: 'toolCallEnd', index });
    }
  }
  events.push({ type: 'usage', usage: response.usage });
  events.push({
    type: 'stop',
    reason: response.stopReason,
    ...(response.stopSequence !== undefined && { stopSequence: response.stopSequence }),
  });
  return events;
}

function nativeItemId(native: unknown): string | undefined {
  const id = (native as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}
