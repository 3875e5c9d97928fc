// Child processes of the agent tests: each runs in its own process group, keeps its stdout and stderr apart, and
// is killed with its whole group when it overstays its time limit, when stopped, or when this process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { killGraceMs } from './timeouts';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Killed because it ran past its time limit. */
  timedOut: boolean;
  durationMs: number;
}

export interface SpawnOptions {
  /** Shown in errors, e.g. "claude -p". */
  name: string;
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /** SIGTERM, then SIGKILL, the whole group after this long. */
  timeoutMs: number;
  /** Written to stdin, which is then closed; stdin is /dev/null without it. */
  input?: string;
}

const live = new Set<GroupProcess>();
let exitHookInstalled = false;

export class GroupProcess {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private stdoutText = '';
  private stderrText = '';
  private readonly listeners = new Set<() => void>();
  private timedOut = false;
  private exitStatus: ProcessExit | undefined;

  constructor(command: string, args: string[], options: SpawnOptions) {
    this.name = options.name;
    const started = Date.now();
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true, // its own process group, so everything it starts can be signalled at once
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error(`Could not start ${options.name} (${command}): spawn returned no pid.`);
    this.pid = this.child.pid;
    if (options.input !== undefined) this.child.stdin!.end(options.input);
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.stdoutText += chunk.toString('utf8');
      this.notify();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrText += chunk.toString('utf8');
      this.notify();
    });
    const timer = setTimeout(() => {
      this.timedOut = true;
      void this.stop();
    }, options.timeoutMs);
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.stderrText += `\n[spawn error] ${error.message}\n`;
      });
      this.child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.exitStatus = { code, signal, timedOut: this.timedOut, durationMs: Date.now() - started };
        live.delete(this);
        this.notify();
        resolve(this.exitStatus);
      });
    });
    live.add(this);
    installExitHook();
  }

  get stdout(): string {
    return this.stdoutText;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Resolves with the first line of stdout; rejects when the process exits first or time runs out. */
  firstStdoutLine(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const newline = this.stdoutText.indexOf('\n');
        if (newline >= 0) return finish(() => resolve(this.stdoutText.slice(0, newline)));
        if (this.exitStatus) {
          return finish(() => reject(new Error(`${this.name} exited (${describeExit(this.exitStatus!)}) before printing a line.\n${this.outputForError()}`)));
        }
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.name} printed no line within ${timeoutMs} ms.\n${this.outputForError()}`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  outputForError(lastChars = 4000): string {
    return `--- ${this.name} stdout ---\n${this.stdoutText.slice(-lastChars)}\n--- ${this.name} stderr ---\n${this.stderrText.slice(-lastChars)}`;
  }

  /** SIGTERM the group, SIGKILL it after a grace period. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<ProcessExit> {
    if (!this.exitStatus) {
      signalGroup(this.pid, signal);
      const grace = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), killGraceMs);
      await this.exited;
      clearTimeout(grace);
    }
    // The leader is gone; members that ignored SIGTERM (or were orphaned) go too.
    signalGroup(this.pid, 'SIGKILL');
    return this.exitStatus!;
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

/** Runs a command to its end (or its time limit) and returns what it printed. */
export async function runToEnd(command: string, args: string[], options: SpawnOptions): Promise<{ exit: ProcessExit; stdout: string; stderr: string }> {
  const child = new GroupProcess(command, args, options);
  const exit = await child.exited;
  signalGroup(child.pid, 'SIGKILL'); // anything it left running in its group
  return { exit, stdout: child.stdout, stderr: child.stderr };
}

export function describeExit(exit: Pick<ProcessExit, 'code' | 'signal' | 'timedOut'>): string {
  if (exit.timedOut) return `killed after its time limit${exit.signal ? ` (${exit.signal})` : ''}`;
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

// A pid is never reused while a process group with that id exists, so signalling -pgid only reaches our group.
function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) signalGroup(child.pid, 'SIGKILL');
  });
}
