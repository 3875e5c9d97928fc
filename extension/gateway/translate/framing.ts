/**
 * Incremental framing of the two stream formats the upstreams speak: server-sent events (Anthropic, OpenAI) and
 * newline-delimited JSON (Ollama). Input is decoded text in chunks that may split anywhere, including inside a line
 * and between the \r and \n of a line ending.
 */
import { TranslationError } from './errors';
import type { IREvent } from './ir';

export interface SseMessage {
  event?: string;
  data: string;
}

/** The event-stream parsing rules of the HTML spec, for the fields these APIs use (event, data). */
export class SseParser {
  private buffer = '';
  private event: string | undefined;
  private dataLines: string[] = [];

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const messages: SseMessage[] = [];
    let lineStart = 0;
    for (;;) {
      const lf = this.buffer.indexOf('\n', lineStart);
      const cr = this.buffer.indexOf('\r', lineStart);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A \r at the very end may be the first half of \r\n: wait for the next chunk.
        if (cr === this.buffer.length - 1) break;
        end = cr;
        next = this.buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.line(this.buffer.slice(lineStart, end), messages);
      lineStart = next;
    }
    this.buffer = this.buffer.slice(lineStart);
    return messages;
  }

  /** The stream closed: a last event without its blank line still counts. */
  end(): SseMessage[] {
    const messages: SseMessage[] = [];
    if (this.buffer) this.line(this.buffer.replace(/\r$/, ''), messages);
    this.buffer = '';
    this.line('', messages);
    return messages;
  }

  private line(line: string, messages: SseMessage[]): void {
    if (line === '') {
      if (this.dataLines.length > 0) {
        messages.push({ ...(this.event !== undefined && { event: this.event }), data: this.dataLines.join('\n') });
      }
      this.event = undefined;
      this.dataLines = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.dataLines.push(value);
  }
}

/** One JSON value per line; blank lines are skipped. */
export class NdjsonParser {
  private buffer = '';

  push(chunk: string): string[] {
    this.buffer += chunk;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop() ?? '';
    return lines.map((line) => line.replace(/\r$/, '')).filter((line) => line.trim() !== '');
  }

  end(): string[] {
    const rest = this.buffer.trim();
    this.buffer = '';
    return rest ? [rest] : [];
  }
}

/** Parses one frame's JSON payload; a frame that is not JSON means the upstream is not speaking the protocol. */
export function parseFrame(data: string, where: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new TranslationError(where, `the upstream sent a frame that is not JSON: ${data.slice(0, 120)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TranslationError(where, `the upstream sent a frame that is not a JSON object: ${data.slice(0, 120)}`);
  }
  return parsed as Record<string, unknown>;
}

export function sseFrame(event: string | undefined, payload: unknown): string {
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${JSON.stringify(payload)}\n\n`;
}

export function ndjsonLine(payload: unknown): string {
  return `${JSON.stringify(payload)}\n`;
}

/** Splits an upstream byte stream (as text) into frames: SSE messages or NDJSON lines. */
export interface Framer<Frame> {
  push(chunk: string): Frame[];
  end(): Frame[];
}

/**
 * The plumbing every upstream stream decoder shares: frames in as the chunks arrive, each decoded into IR events; a
 * frame that fails to decode ends the stream with one error event, and so does a stream that stops before its
 * protocol's closing frame.
 */
export abstract class FramedStreamDecoder<Frame> {
  protected finished = false;

  constructor(
    private readonly framer: Framer<Frame>,
    private readonly errorType: string,
    private readonly endedEarlyMessage: string,
  ) {}

  push(chunk: string): IREvent[] {
    return this.handle(this.framer.push(chunk));
  }

  end(): IREvent[] {
    const events = this.handle(this.framer.end());
    return this.finished ? events : [...events, ...this.endedEarly()];
  }

  /** Decodes one frame into `events`; may throw (a malformed frame). */
  protected abstract decode(frame: Frame, events: IREvent[]): void;

  /** The stream ended without its closing frame. */
  protected endedEarly(): IREvent[] {
    this.finished = true;
    return [{ type: 'error', errorType: this.errorType, message: this.endedEarlyMessage }];
  }

  private handle(frames: Frame[]): IREvent[] {
    const events: IREvent[] = [];
    for (const frame of frames) {
      if (this.finished) break;
      try {
        this.decode(frame, events);
      } catch (error) {
        this.finished = true;
        events.push({ type: 'error', errorType: this.errorType, message: (error as Error).message });
      }
    }
    return events;
  }
}
