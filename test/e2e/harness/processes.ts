// Child processes that can never outlive the harness: each runs in its own process group, is tracked
// until it is stopped, and is SIGKILLed (group plus escaped descendants) if this process exits or is
// interrupted first.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { killGraceMs } from './timeouts';

const outputTailChars = 200_000;

export interface ProcessOptions {
  /** Shown in errors and progress lines, e.g. "code-server". */
  name: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Also append everything the process prints to this file. */
  logFile?: string;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private outputTail = '';
  private readonly outputListeners = new Set<() => void>();
  private exitStatus: ProcessExit | undefined;

  constructor(command: string, args: string[], options: ProcessOptions) {
    this.name = options.name;
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true, // own process group, so stop() can signal everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error(`Could not start ${options.name} (${command}): spawn returned no pid`);
    this.pid = this.child.pid;
    const log = options.logFile ? fs.createWriteStream(options.logFile, { flags: 'a' }) : undefined;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.outputTail = (this.outputTail + text).slice(-outputTailChars);
      log?.write(text);
      for (const listener of this.outputListeners) listener();
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => onData(Buffer.from(`\n[spawn error] ${error.message}\n`)));
      this.child.on('close', (code, signal) => {
        this.exitStatus = { code, signal };
        log?.end();
        liveProcesses.delete(this);
        for (const listener of this.outputListeners) listener();
        resolve(this.exitStatus);
      });
    });
    liveProcesses.add(this);
    installExitCleanup();
  }

  get output(): string {
    return this.outputTail;
  }

  get hasExited(): boolean {
    return this.exitStatus !== undefined;
  }

  /** Resolves with the first match of `pattern` in the output; rejects if the process exits or time runs out. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.outputTail.match(pattern);
        if (match) return finish(() => resolve(match));
        if (this.exitStatus) {
          return finish(() =>
            reject(new Error(`${this.name} exited (${describeExit(this.exitStatus!)}) before printing ${pattern}.\n${this.outputForError()}`)),
          );
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms.\n${this.outputForError()}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.outputListeners.delete(check);
        settle();
      };
      this.outputListeners.add(check);
      check();
    });
  }

  outputForError(lastChars = 4000): string {
    return `--- last output of ${this.name} ---\n${this.outputTail.slice(-lastChars)}`;
  }

  /** SIGTERM the whole group (and any descendant that left it), SIGKILL whatever is left after a grace period. */
  async stop(): Promise<void> {
    const targets = this.processTree();
    signalAll(this.pid, targets, 'SIGTERM');
    const deadline = Date.now() + killGraceMs;
    while (Date.now() < deadline && (!this.hasExited || targets.some(isAlive))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    signalAll(this.pid, this.processTree().concat(targets.filter(isAlive)), 'SIGKILL');
    await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, killGraceMs))]);
    liveProcesses.delete(this);
  }

  /** Synchronous last resort, used from process 'exit' handlers. */
  killNow(): void {
    signalAll(this.pid, this.processTree(), 'SIGKILL');
  }

  /** Our group plus descendants that left it; the leader's own pid only while it has not been reaped (pids get reused). */
  private processTree(): number[] {
    return processTreeOf(this.pid, !this.hasExited);
  }
}

/** Runs a command to completion; throws with the tail of its output if it fails or takes too long. */
export async function runToCompletion(command: string, args: string[], options: ProcessOptions & { timeoutMs: number }): Promise<string> {
  const child = new ManagedProcess(command, args, options);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs)));
  const result = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    await child.stop();
    throw new Error(`${options.name} did not finish within ${options.timeoutMs} ms: ${command} ${args.join(' ')}\n${child.outputForError()}`);
  }
  if (result.code !== 0) {
    throw new Error(`${options.name} failed (${describeExit(result)}): ${command} ${args.join(' ')}\n${child.outputForError()}`);
  }
  return child.output;
}

function describeExit(exit: ProcessExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

const liveProcesses = new Set<ManagedProcess>();
let exitCleanupInstalled = false;

function installExitCleanup(): void {
  if (exitCleanupInstalled) return;
  exitCleanupInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllNow();
      // Nobody else handles it: keep the default behaviour of dying by that signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function killAllNow(): void {
  for (const child of liveProcesses) child.killNow();
  liveProcesses.clear();
}

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

function readProcStat(pid: number): ProcStat | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ..."; comm may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, state: fields[0]!, ppid: Number(fields[1]), pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** Members of the process group `rootPid` leads, plus their descendants wherever their group. */
function processTreeOf(rootPid: number, includeRoot: boolean): number[] {
  const all = fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => readProcStat(Number(entry)))
    .filter((stat): stat is ProcStat => stat !== undefined);
  const found = new Set<number>(all.filter((stat) => stat.pgrp === rootPid).map((stat) => stat.pid));
  if (includeRoot) found.add(rootPid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const stat of all) {
      if (!found.has(stat.pid) && found.has(stat.ppid)) {
        found.add(stat.pid);
        grew = true;
      }
    }
  }
  found.delete(process.pid);
  return [...found];
}

// A pid is never handed out while a process group with that id exists, so signalling -groupId is always safe.
function signalAll(groupId: number, pids: number[], signal: NodeJS.Signals): void {
  try {
    process.kill(-groupId, signal);
  } catch {
    // group already gone
  }
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
