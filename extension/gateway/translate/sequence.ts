/**
 * Anthropic content blocks and Responses output items are written one after another: a block must end before the
 * next begins. IR streams may interleave parallel tool calls (an OpenAI-compatible server may send deltas for call 0
 * after call 1 started). The sequencer passes events through while they are in order and holds the rest back until
 * the open block ends, so encoders of sequential protocols never see two open blocks.
 */
import type { IREvent } from './ir';

type Open = { kind: 'text' } | { kind: 'thinking' } | { kind: 'tool'; index: number };

interface HeldToolCall {
  index: number;
  events: IREvent[];
  ended: boolean;
}

export class BlockSequencer {
  private open: Open | undefined;
  private readonly heldCalls: HeldToolCall[] = [];
  /** Text and thinking that arrived while a tool call was open. */
  private heldContent: IREvent[] = [];

  push(event: IREvent): IREvent[] {
    switch (event.type) {
      case 'textDelta':
      case 'thinkingDelta':
      case 'thinkingEnd':
        if (this.open?.kind === 'tool') {
          this.heldContent.push(event);
          return [];
        }
        this.open = event.type === 'thinkingEnd' ? undefined : { kind: event.type === 'textDelta' ? 'text' : 'thinking' };
        return [event];
      case 'toolCallStart':
        if (this.open?.kind === 'tool') {
          this.heldCalls.push({ index: event.index, events: [event], ended: false });
          return [];
        }
        this.open = { kind: 'tool', index: event.index };
        return [event];
      case 'toolCallDelta':
      case 'toolCallEnd': {
        if (this.open?.kind === 'tool' && this.open.index === event.index) {
          if (event.type === 'toolCallDelta') return [event];
          this.open = undefined;
          return [event, ...this.release()];
        }
        const held = this.heldCalls.find((call) => call.index === event.index);
        if (!held) return event.type === 'toolCallEnd' ? [] : [event];
        held.events.push(event);
        if (event.type === 'toolCallEnd') held.ended = true;
        return [];
      }
      default:
        return [event];
    }
  }

  /** Ends every call still open (the upstream stopped without closing it) and releases everything held. */
  finish(): IREvent[] {
    const out: IREvent[] = [];
    for (let guard = 0; this.open?.kind === 'tool' && guard < 10_000; guard++) {
      out.push(...this.push({ type: 'toolCallEnd', index: this.open.index }));
    }
    out.push(...this.release());
    return out;
  }

  private release(): IREvent[] {
    const out: IREvent[] = [];
    while (this.heldCalls.length > 0) {
      const call = this.heldCalls.shift()!;
      out.push(...call.events);
      if (!call.ended) {
        this.open = { kind: 'tool', index: call.index };
        return out;
      }
    }
    const content = this.heldContent;
    this.heldContent = [];
    for (const event of content) out.push(...this.push(event));
    return out;
  }
}
