// Installs the real agent clients the gateway tests drive, pinned, once, into agentsCacheDir with
// `npm install --no-save --prefix`. The marker file is written last, so an interrupted install is redone; parallel
// test processes wait for one install through a lock folder. Only the npm registry is contacted.
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentsCacheDir } from './paths';
import { runToEnd } from './processes';
import { installTimeoutMs, versionCheckTimeoutMs } from './timeouts';

/** The client versions the tests are written against. */
export const CLAUDE_CODE_VERSION = '2.1.330';
export const CODEX_VERSION = '0.169.0';

const CLAUDE_CODE_PACKAGE = '@anthropic-ai/claude-code';
const CODEX_PACKAGE = '@openai/codex';

export interface AgentClients {
  /** node_modules/.bin/claude: the native binary install.cjs copied over the package's placeholder. */
  claude: string;
  /** node_modules/.bin/codex: a Node launcher that execs the platform package's native binary. */
  codex: string;
  installRoot: string;
  /** What the install that produced this cache took and weighs (from its marker). */
  install: InstallFacts;
}

export interface InstallFacts {
  claudeCode: string;
  codex: string;
  installedAt: string;
  installMs: number;
  /** Bytes on disk per client (its wrapper and native package; hard links counted once). */
  sizeBytes: { claudeCode: number; codex: number };
}

const installRoot = () => join(agentsCacheDir, `claude-code-${CLAUDE_CODE_VERSION}+codex-${CODEX_VERSION}`);
const markerPath = () => join(installRoot(), '.installed.json');
const binPath = (name: string) => join(installRoot(), 'node_modules', '.bin', name);

/**
 * The manifest of the cache folder. Of the four packages the install brings (the two wrappers and their linux-x64
 * native packages) only Claude Code's wrapper has an install script, and it is needed: install.cjs copies the native
 * binary over bin/claude.exe, a shell stub that otherwise only prints "native binary not installed". Codex's
 * launcher finds its native package at run time and needs no script. With strict-allow-scripts, any other script
 * that appears in a later version fails the install instead of running unreviewed.
 */
function cacheManifest(): Record<string, unknown> {
  return {
    name: 'tierwise-agent-clients',
    private: true,
    description: 'Agent clients for test/agents (installed by test/agents/helpers/clients.ts)',
    allowScripts: { [`${CLAUDE_CODE_PACKAGE}@${CLAUDE_CODE_VERSION}`]: true },
  };
}

export function progress(message: string): void {
  process.stderr.write(`[tierwise agents] ${message}\n`);
}

/** Both clients, installing them first if the cache does not hold this exact pair. Safe from parallel processes. */
export async function ensureAgentClients(): Promise<AgentClients> {
  const cached = readMarker();
  if (cached) return clientsFrom(cached);
  return withInstallLock(async () => {
    const again = readMarker(); // another process may have finished while this one waited
    return clientsFrom(again ?? (await install()));
  });
}

function clientsFrom(install: InstallFacts): AgentClients {
  return { claude: binPath('claude'), codex: binPath('codex'), installRoot: installRoot(), install };
}

function readMarker(): InstallFacts | undefined {
  try {
    const facts = JSON.parse(readFileSync(markerPath(), 'utf8')) as InstallFacts;
    const complete = facts.claudeCode === CLAUDE_CODE_VERSION && facts.codex === CODEX_VERSION && statSync(binPath('claude')).isFile() && statSync(binPath('codex')).isFile();
    return complete ? facts : undefined;
  } catch {
    return undefined;
  }
}

async function install(): Promise<InstallFacts> {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
    throw new Error(`The agent-client tests run Claude Code and Codex on Linux (x64 or arm64); this is ${process.platform}-${process.arch}.`);
  }
  const root = installRoot();
  const logFile = join(root, 'npm-install.log');
  const packages = [`${CLAUDE_CODE_PACKAGE}@${CLAUDE_CODE_VERSION}`, `${CODEX_PACKAGE}@${CODEX_VERSION}`];
  progress(`installing ${packages.join(' and ')} into ${root} (first run only; log: ${logFile})`);
  const started = Date.now();
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'package.json'), `${JSON.stringify(cacheManifest(), null, 2)}\n`);

  const npm = await runToEnd('npm', ['install', '--no-save', '--prefix', root, '--strict-allow-scripts', '--no-audit', '--no-fund', ...packages], {
    name: 'npm install',
    cwd: root,
    env: envWithoutNpmContext(),
    timeoutMs: installTimeoutMs,
  });
  writeFileSync(logFile, `${npm.stdout}\n${npm.stderr}`);
  if (npm.exit.code !== 0) {
    const why = npm.exit.timedOut ? `did not finish within ${installTimeoutMs / 60_000} min` : `failed (exit ${npm.exit.code ?? npm.exit.signal})`;
    throw new Error(`npm install of ${packages.join(', ')} ${why}. Only registry.npmjs.org (or your npm registry) is needed. Output:\n${npm.stderr.slice(-3000)}\nFull log: ${logFile}`);
  }

  // A stub left in place means Claude Code's postinstall did not run or found no native package.
  const claudeStub = readFileSync(binPath('claude')).subarray(0, 4096).toString('latin1');
  if (claudeStub.includes('native binary not installed')) {
    throw new Error(`npm installed ${CLAUDE_CODE_PACKAGE}@${CLAUDE_CODE_VERSION} but bin/claude.exe is still the placeholder, so its postinstall (node install.cjs) did not run or found no ${CLAUDE_CODE_PACKAGE}-linux-${process.arch} package. See ${logFile}.`);
  }
  await expectVersion(binPath('claude'), new RegExp(`^${escape(CLAUDE_CODE_VERSION)} \\(Claude Code\\)`));
  await expectVersion(binPath('codex'), new RegExp(`^codex-cli ${escape(CODEX_VERSION)}$`));

  const facts: InstallFacts = {
    claudeCode: CLAUDE_CODE_VERSION,
    codex: CODEX_VERSION,
    installedAt: new Date().toISOString(),
    installMs: Date.now() - started,
    sizeBytes: { claudeCode: scopeSize(join(root, 'node_modules', '@anthropic-ai')), codex: scopeSize(join(root, 'node_modules', '@openai')) },
  };
  writeFileSync(markerPath(), `${JSON.stringify(facts, null, 2)}\n`);
  const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
  progress(`installed in ${(facts.installMs / 1000).toFixed(1)} s: Claude Code ${megabytes(facts.sizeBytes.claudeCode)}, Codex ${megabytes(facts.sizeBytes.codex)}`);
  return facts;
}

async function expectVersion(bin: string, expected: RegExp): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'tierwise-agents-version-')); // clients write their state under HOME
  const run = await runToEnd(bin, ['--version'], { name: `${bin} --version`, env: { PATH: process.env.PATH, HOME: home }, timeoutMs: versionCheckTimeoutMs }).finally(() =>
    rmSync(home, { recursive: true, force: true }),
  );
  const printed = run.stdout.trim();
  if (run.exit.code !== 0 || !expected.test(printed)) {
    throw new Error(`${bin} --version printed "${printed}" (exit ${run.exit.code ?? run.exit.signal}), expected ${expected}. stderr:\n${run.stderr.slice(-2000)}\nDelete ${installRoot()} to reinstall.`);
  }
}

/** Bytes under a scope folder (a client's wrapper and native package), each hard-linked file counted once. */
function scopeSize(dir: string): number {
  const seen = new Set<string>();
  const sizeOf = (path: string): number => {
    const stat = lstatSync(path);
    if (stat.isDirectory()) return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
    const inode = `${stat.dev}:${stat.ino}`;
    if (seen.has(inode)) return 0;
    seen.add(inode);
    return stat.size;
  };
  return sizeOf(dir);
}

/** `npm test` exports npm_* variables of the repository's own npm context; the cache install must not inherit them. */
function envWithoutNpmContext(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function withInstallLock<T>(work: () => Promise<T>): Promise<T> {
  mkdirSync(agentsCacheDir, { recursive: true });
  const lockDir = join(agentsCacheDir, '.install-lock');
  const ownerFile = join(lockDir, 'pid');
  const deadline = Date.now() + installTimeoutMs;
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(ownerFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readOrEmpty(ownerFile));
    if (owner && !isAlive(owner)) {
      rmSync(lockDir, { recursive: true, force: true }); // its owner died mid-install
      continue;
    }
    if (Date.now() > deadline) throw new Error(`Gave up waiting for another agent-client install (pid ${owner || '?'}) holding ${lockDir}. If none is running, delete that folder.`);
    if (!announced) progress(`waiting for another process (pid ${owner || '?'}) installing into ${agentsCacheDir}`);
    announced = true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  try {
    return await work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
