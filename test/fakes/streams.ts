/** Reading an adapter's stream to the end in tests, keeping what arrived before a failure. */
import type { StreamEvent } from '../../extension/providers/types';

export type UsageEvent = Extract<StreamEvent, { type: 'usage' }>;

export interface DrainedStream {
  /** Text deltas in arrival order. */
  texts: string[];
  text: string;
  usageEvents: UsageEvent[];
  /** What the stream threw, if it did. */
  error: unknown;
}

/** Reads every event; `onText` sees each delta as it arrives (to cancel mid-stream, say). */
export async function drain(
  stream: AsyncIterable<StreamEvent>,
  onText?: (text: string, index: number) => void,
): Promise<DrainedStream> {
  const drained: DrainedStream = { texts: [], text: '', usageEvents: [], error: undefined };
  try {
    for await (const event of stream) {
      if (event.type === 'text') {
        drained.texts.push(event.text);
        drained.text += event.text;
        onText?.(event.text, drained.texts.length - 1);
      } else {
        drained.usageEvents.push(event);
      }
    }
  } catch (error) {
    drained.error = error;
  }
  return drained;
}

/** A port nothing listens on: one the OS just handed out and took back. */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
