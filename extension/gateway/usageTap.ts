import { StringDecoder } from 'node:string_decoder';
import type { MessageDeltaUsage, Usage as AnthropicUsage } from '@anthropic-ai/sdk/resources/messages';
import type { CompletionUsage } from 'openai/resources/completions';
import { usageFromMessage } from '../providers/anthropic';
import { usageFromCompletion } from '../providers/openaiCompatible';
import { ZERO_USAGE, type Usage } from '../providers/types';
import { asRecord } from './classify';
import type { WireProtocol } from './protocols';

/**
 * Reads usage out of an upstream response as its bytes go by, without holding the stream back or changing it:
 * SSE frames (Anthropic, OpenAI Chat and Responses) or NDJSON lines (Ollama) are split as they complete, and only
 * frames that can carry usage, a finish or an error are parsed. A non-streaming body is kept (up to a bound) and
 * parsed once it has arrived.
 */
export interface TapOutcome {
  /** Usage as the server reported it; undefined when it reported none. */
  usage: Usage | undefined;
  /** Output tokens guessed from the streamed bytes, for a stream that ended without usage. */
  estimatedOutputTokens: number;
  /** The server sent its end marker (message_stop, [DONE], response.completed, done:true, or a whole JSON body). */
  completed: boolean;
  /** An error the server reported inside a 200 stream. */
  streamError?: string;
  stopReason?: string;
}

/** Largest non-streaming body kept for its usage; bigger answers are passed on but not parsed. */
const MAX_KEPT_BODY_BYTES = 32 * 1024 * 1024;
/** Bytes of JSON envelope around the text of one content frame, per protocol (to estimate text from frame sizes). */
const FRAME_ENVELOPE_BYTES: Record<WireProtocol, number> = { anthropic: 70, 'openaiChat': 150, 'openaiResponses': 110, ollama: 110 };
/** Characters of streamed text per output token, erring high on tokens. */
const TEXT_CHARS_PER_TOKEN = 3;

export class UsageTap {
  /** Made with the first streamed chunk: a JSON answer never needs one. */
  private decoder: StringDecoder | undefined;
  private pending = '';
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private contentBytes = 0;
  private contentFrames = 0;
  private anthropicStart: AnthropicUsage | undefined;
  private anthropicDelta: MessageDeltaUsage | undefined;
  private reported: Usage | undefined;
  private completed = false;
  private streamError: string | undefined;
  private stopReason: string | undefined;

  constructor(
    private readonly protocol: WireProtocol,
    private readonly streaming: boolean,
  ) {}

  push(chunk: Buffer): void {
    if (!this.streaming) {
      if (this.keptBytes + chunk.length <= MAX_KEPT_BODY_BYTES) this.kept.push(chunk);
      this.keptBytes += chunk.length;
      return;
    }
    this.pending += (this.decoder ??= new StringDecoder('utf8')).write(chunk);
    if (this.pending.includes('\r')) this.pending = this.pending.replace(/\r\n?/g, '\n');
    const separator = this.protocol === 'ollama' ? '\n' : '\n\n';
    let cursor = 0;
    for (let end = this.pending.indexOf(separator, cursor); end >= 0; end = this.pending.indexOf(separator, cursor)) {
      const frame = this.pending.slice(cursor, end);
      cursor = end + separator.length;
      if (frame.trim()) this.protocol === 'ollama' ? this.onOllamaLine(frame) : this.onSseFrame(frame);
    }
    if (cursor > 0) this.pending = this.pending.slice(cursor);
  }

  finish(): TapOutcome {
    if (this.streaming) {
      const rest = (this.pending + (this.decoder?.end() ?? '')).trim();
      this.pending = '';
      if (rest) this.protocol === 'ollama' ? this.onOllamaLine(rest) : this.onSseFrame(rest);
    } else if (this.keptBytes > 0 && this.keptBytes <= MAX_KEPT_BODY_BYTES) {
      this.onWholeBody(Buffer.concat(this.kept).toString('utf8'));
    }
    const usage = this.protocol === 'anthropic' && (this.anthropicStart || this.anthropicDelta) ? usageFromMessage(this.anthropicStart, this.anthropicDelta) : this.reported;
    const text = Math.max(0, this.contentBytes - this.contentFrames * FRAME_ENVELOPE_BYTES[this.protocol]);
    return {
      usage,
      estimatedOutputTokens: Math.ceil(text / TEXT_CHARS_PER_TOKEN),
      completed: this.completed,
      ...(this.streamError !== undefined && { streamError: this.streamError }),
      ...(this.stopReason !== undefined && { stopReason: this.stopReason }),
    };
  }

  private onSseFrame(frame: string): void {
    let data = '';
    for (const line of frame.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const value = line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5);
      data = data ? `${data}\n${value}` : value;
    }
    if (!data) return;
    if (this.protocol === 'anthropic') return this.onAnthropicEvent(data);
    if (this.protocol === 'openaiChat') return this.onChatChunk(data);
    return this.onResponsesEvent(data);
  }

  private countContent(data: string): void {
    this.contentBytes += data.length;
    this.contentFrames++;
  }

  private onAnthropicEvent(data: string): void {
    if (!data.includes('"message_') && !data.includes('"error"')) return this.countContent(data);
    const event = parse(data);
    switch (event?.type) {
      case 'message_start':
        this.anthropicStart = asRecord(asRecord(event.message)?.usage) as AnthropicUsage | undefined;
        return;
      case 'message_delta': {
        const usage = asRecord(event.usage) as MessageDeltaUsage | undefined;
        if (usage) this.anthropicDelta = { ...this.anthropicDelta, ...usage };
        const stop = asRecord(event.delta)?.stop_reason;
        if (typeof stop === 'string') this.stopReason = stop;
        return;
      }
      case 'message_stop':
        this.completed = true;
        return;
      case 'error':
        this.streamError = errorMessage(event.error);
        return;
      default:
        this.countContent(data);
    }
  }

  private onChatChunk(data: string): void {
    if (data === '[DONE]') {
      this.completed = true;
      return;
    }
    if (!data.includes('"usage"') && !data.includes('"error"') && !data.includes('"finish_reason":"')) return this.countContent(data);
    const chunk = parse(data);
    if (!chunk) return;
    if (chunk.error !== undefined) this.streamError = errorMessage(chunk.error);
    const usage = asRecord(chunk.usage);
    if (usage) this.reported = usageFromCompletion(usage as unknown as CompletionUsage);
    const choice = Array.isArray(chunk.choices) ? asRecord(chunk.choices[0]) : undefined;
    if (typeof choice?.finish_reason === 'string') this.stopReason = choice.finish_reason;
    if (!usage) this.countContent(data);
  }

  private onResponsesEvent(data: string): void {
    if (!data.includes('"response.') && !data.includes('"error"')) return this.countContent(data);
    const event = parse(data);
    const response = asRecord(event?.response);
    switch (event?.type) {
      case 'response.completed':
      case 'response.incomplete':
        this.completed = true;
        this.reported = responsesUsage(response?.usage) ?? this.reported;
        if (typeof response?.status === 'string') this.stopReason = response.status;
        return;
      case 'response.failed':
        this.completed = true;
        this.reported = responsesUsage(response?.usage) ?? this.reported;
        this.streamError = errorMessage(response?.error) ?? 'response failed';
        return;
      case 'error':
        this.streamError = errorMessage(event.error ?? event);
        return;
      default:
        this.countContent(data);
    }
  }

  private onOllamaLine(line: string): void {
    if (!line.includes('"done":true') && !line.includes('"error"')) return this.countContent(line);
    const chunk = parse(line);
    if (!chunk) return;
    if (typeof chunk.error === 'string') this.streamError = chunk.error;
    if (chunk.done === true) {
      this.completed = true;
      this.reported = ollamaUsage(chunk);
      if (typeof chunk.done_reason === 'string') this.stopReason = chunk.done_reason;
    }
  }

  private onWholeBody(text: string): void {
    const body = parse(text);
    if (!body) return;
    this.completed = true;
    switch (this.protocol) {
      case 'anthropic':
        this.anthropicStart = asRecord(body.usage) as AnthropicUsage | undefined;
        if (typeof body.stop_reason === 'string') this.stopReason = body.stop_reason;
        return;
      case 'openaiChat': {
        const usage = asRecord(body.usage);
        if (usage) this.reported = usageFromCompletion(usage as unknown as CompletionUsage);
        return;
      }
      case 'openaiResponses':
        this.reported = responsesUsage(body.usage);
        return;
      case 'ollama':
        if (body.done === true) this.reported = ollamaUsage(body);
    }
  }
}

/** OpenAI Responses usage: input includes cached tokens, output includes reasoning. */
export function responsesUsage(value: unknown): Usage | undefined {
  const usage = asRecord(value);
  if (!usage) return undefined;
  const input = numberOr(usage.input_tokens);
  const cached = numberOr(asRecord(usage.input_tokens_details)?.cached_tokens);
  return {
    ...ZERO_USAGE,
    inputTokens: Math.max(0, input - cached),
    cacheReadTokens: cached,
    outputTokens: numberOr(usage.output_tokens),
    reasoningTokens: numberOr(asRecord(usage.output_tokens_details)?.reasoning_tokens),
  };
}

function ollamaUsage(chunk: Record<string, unknown>): Usage | undefined {
  if (chunk.eval_count === undefined && chunk.prompt_eval_count === undefined) return undefined;
  return { ...ZERO_USAGE, inputTokens: numberOr(chunk.prompt_eval_count), outputTokens: numberOr(chunk.eval_count) };
}

const numberOr = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

function parse(text: string): Record<string, unknown> | undefined {
  try {
    return asRecord(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function errorMessage(value: unknown): string | undefined {
  const record = asRecord(value);
  if (typeof record?.message === 'string') return record.message;
  return typeof value === 'string' ? value : undefined;
}
