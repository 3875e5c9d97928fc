import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { LedgerError } from './errors';
import { LOCAL_HOST, isProcessAlive } from './processes';

export interface LockTiming {
  /** Give up waiting for the lock after this long. */
  timeoutMs: number;
  /** A lock older than this is abandoned even if its holder still runs (the critical section takes milliseconds). */
  staleMs: number;
}

// A waiter outlasts an abandoned lock: it is taken over after staleMs, well before the wait gives up.
export const DEFAULT_LOCK_TIMING: LockTiming = { timeoutMs: 10_000, staleMs: 5000 };

/** A takeover guard older than this was left by a process that died during a takeover (which takes microseconds). */
const TAKEOVER_GUARD_STALE_MS = 1000;
const FIRST_BACKOFF_MS = 1;
const MAX_BACKOFF_MS = 20;

/** What a lock file holds: who took it, when, and a token so only its taker removes it. */
interface LockHolder {
  pid: number;
  threadId: number;
  host: string;
  takenAt: number;
  token: string;
}

type LockState = { kind: 'free' } | { kind: 'held'; holder: LockHolder | undefined; ageMs: number; raw: string };

/**
 * Runs `criticalSection` while holding a lock file shared by every process using the ledger folder. The lock is
 * an exclusive create (`wx`) of `lockPath`; a lock whose holder is dead, or that is older than `staleMs`, is
 * taken over. The critical section is synchronous, so a holder never keeps the lock across an await.
 */
export async function withFileLock<T>(lockPath: string, timing: LockTiming, criticalSection: () => T): Promise<T> {
  const token = await acquire(lockPath, timing);
  try {
    return criticalSection();
  } finally {
    release(lockPath, token);
  }
}

async function acquire(lockPath: string, timing: LockTiming): Promise<string> {
  const token = randomUUID();
  const deadline = Date.now() + timing.timeoutMs;
  let backoffMs = FIRST_BACKOFF_MS;
  let lastHolder: LockHolder | undefined;
  for (;;) {
    if (tryCreate(lockPath, token)) return token;
    const state = readLock(lockPath);
    if (state.kind === 'free') continue;
    lastHolder = state.holder;
    if (isAbandoned(state, timing.staleMs) && takeOver(lockPath, state.raw, timing.staleMs)) continue;
    if (Date.now() >= deadline) {
      const who = lastHolder ? `process ${lastHolder.pid} on ${lastHolder.host}` : 'an unknown process';
      throw new LedgerError(
        'lockTimeout',
        `Timed out after ${timing.timeoutMs} ms waiting for the spend ledger lock ${lockPath}, held by ${who}. ` +
          `If no Tierwise process is running, delete the lock file.`,
        lockPath,
      );
    }
    await sleep(backoffMs * (0.5 + Math.random()));
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
  }
}

function tryCreate(lockPath: string, token: string): boolean {
  const holder: LockHolder = { pid: process.pid, threadId, host: LOCAL_HOST, takenAt: Date.now(), token };
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw error;
    mkdirSync(dirname(lockPath), { recursive: true, mode: 0o700 });
    return tryCreate(lockPath, token);
  }
  try {
    writeSync(fd, JSON.stringify(holder));
  } catch (error) {
    // An empty lock would hold everyone off until it went stale.
    closeSync(fd);
    removeIfPresent(lockPath);
    throw error;
  }
  closeSync(fd);
  return true;
}

function readLock(lockPath: string): LockState {
  let raw: string;
  let modifiedMs: number;
  try {
    modifiedMs = statSync(lockPath).mtimeMs;
    raw = readFileSync(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'free' };
    throw error;
  }
  let holder: LockHolder | undefined;
  try {
    const parsed = JSON.parse(raw) as LockHolder;
    if (typeof parsed.pid === 'number' && typeof parsed.takenAt === 'number') holder = parsed;
  } catch {
    // Empty or partial: its taker is between creating and writing it (or died there); judged by its age.
  }
  return { kind: 'held', holder, ageMs: Date.now() - (holder?.takenAt ?? modifiedMs), raw };
}

function isAbandoned(state: Extract<LockState, { kind: 'held' }>, staleMs: number): boolean {
  if (state.ageMs > staleMs) return true;
  const holder = state.holder;
  if (!holder || holder.host !== LOCAL_HOST) return false;
  // This thread never holds the lock while it waits for it, so a lock in its name was left by a dead process
  // that had the same pid.
  if (holder.pid === process.pid) return holder.threadId === threadId;
  return !isProcessAlive(holder.pid);
}

/**
 * Removes an abandoned lock. Two waiters may judge the same lock abandoned; the guard file makes them take turns,
 * and the lock is removed only if it still holds what was judged, so a fresh lock taken meanwhile survives.
 */
function takeOver(lockPath: string, judgedRaw: string, staleMs: number): boolean {
  const guardPath = `${lockPath}.takeover`;
  let guard: number;
  try {
    guard = openSync(guardPath, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const guardAgeMs = Date.now() - (statSync(guardPath, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (guardAgeMs > TAKEOVER_GUARD_STALE_MS) removeIfPresent(guardPath);
    return false;
  }
  try {
    closeSync(guard);
    const state = readLock(lockPath);
    if (state.kind === 'free') return true;
    if (state.raw !== judgedRaw || !isAbandoned(state, staleMs)) return false;
    removeIfPresent(lockPath);
    return true;
  } finally {
    removeIfPresent(guardPath);
  }
}

function release(lockPath: string, token: string): void {
  // A holder that overran `staleMs` may have been taken over; then the lock is someone else's.
  const state = readLock(lockPath);
  if (state.kind === 'held' && state.holder?.token === token) removeIfPresent(lockPath);
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
