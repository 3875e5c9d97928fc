import { hostname } from 'node:os';

/** This machine's name, recorded with pids so a pid is only checked on the host it belongs to. */
export const LOCAL_HOST = hostname();

/**
 * Whether a process with this pid runs on this host. `kill(pid, 0)` sends nothing: ESRCH means no such process,
 * EPERM means it exists but belongs to another user.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long a liveness answer is reused. Not longer: a pid that is gone now may belong to a new process later. */
const PID_RECHECK_MS = 1000;

/** Caches liveness per pid so totals() stays cheap with many open reservations. */
export class ProcessLiveness {
  private readonly checked = new Map<number, { alive: boolean; atMs: number }>();

  isAlive(pid: number): boolean {
    if (pid === process.pid) return true;
    const now = Date.now();
    const cached = this.checked.get(pid);
    if (cached && now - cached.atMs < PID_RECHECK_MS) return cached.alive;
    const alive = isProcessAlive(pid);
    this.checked.set(pid, { alive, atMs: now });
    return alive;
  }
}
