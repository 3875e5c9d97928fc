import { watch as watchFs, type FSWatcher } from 'node:fs';

/** Bursts of appends (a call settles right after its reservation) become one notification. */
export const WATCH_DEBOUNCE_MS = 100;
/**
 * The poll catches what file events miss (network folders, a watcher the OS refused) and the change of day at
 * midnight; short enough that a change shows within a second.
 */
export const WATCH_POLL_MS = 750;

export interface Disposer {
  dispose(): void;
}

/**
 * Calls `onChange` when `signature()` (cheap: a stat and the day) differs from the last one seen. File events in
 * `dir` trigger a debounced check; a poll checks too. Timers are unref'd so a CLI can exit while watching.
 */
export function watchSignature(
  dir: string,
  signature: () => string,
  onChange: () => void,
  isRelevantFile: (name: string) => boolean,
): Disposer {
  let lastSignature = signature();
  let debounce: NodeJS.Timeout | undefined;
  let disposed = false;

  const check = (): void => {
    debounce = undefined;
    if (disposed) return;
    const current = signature();
    if (current === lastSignature) return;
    lastSignature = current;
    try {
      onChange();
    } catch {
      // A failing listener must not stop the watch; the next change calls it again.
    }
  };
  const scheduleCheck = (): void => {
    if (debounce || disposed) return;
    debounce = setTimeout(check, WATCH_DEBOUNCE_MS);
    debounce.unref();
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watchFs(dir, { persistent: false }, (_event, fileName) => {
      if (!fileName || isRelevantFile(String(fileName))) scheduleCheck();
    });
    // Errors (the folder removed, watch limits) leave the poll to do the work.
    watcher.on('error', () => {
      watcher?.close();
      watcher = undefined;
    });
  } catch {
    watcher = undefined;
  }
  const poll = setInterval(check, WATCH_POLL_MS);
  poll.unref();

  return {
    dispose(): void {
      if (disposed) return;
      disposed = true;
      clearInterval(poll);
      if (debounce) clearTimeout(debounce);
      watcher?.close();
    },
  };
}
