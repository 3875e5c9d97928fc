// Polls a condition that Playwright's own auto-waiting cannot express (several frames, files on disk).

export interface WaitOptions {
  timeoutMs: number;
  /** Finishes the sentence "Timed out waiting for …". */
  description: string;
  intervalMs?: number;
}

/** Resolves with the first truthy value `probe` returns; a throwing probe counts as "not yet". */
export async function waitUntil<T>(probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message.split('\n')[0]})` : '';
      throw new Error(`Timed out after ${options.timeoutMs} ms waiting for ${options.description}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}
