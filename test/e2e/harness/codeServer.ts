// Runs code-server (VS Code's server plus its web workbench) under Node 22, isolated from the user's
// own code-server config, data and extensions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { E2eToolchain } from './install';
import { ManagedProcess, runToCompletion } from './processes';
import { installExtensionTimeoutMs, orphanServerIdleSeconds, serverListenTimeoutMs } from './timeouts';

export interface CodeServerDirs {
  userDataDir: string;
  extensionsDir: string;
  /** code-server's own config file, data (heartbeat, IPC socket) and log; keeps ~/.config and ~/.local untouched. */
  stateDir: string;
}

export interface CodeServerStartOptions extends CodeServerDirs {
  toolchain: E2eToolchain;
  /** The folder the workbench opens. */
  folder: string;
  host?: string;
  /** 0 (the default) lets the OS pick a free port. */
  port?: number;
  /** Shut the server down once no browser has been connected for a while (a safety net against orphans). */
  exitWhenIdle?: boolean;
}

export interface RunningCodeServer {
  url: string;
  port: number;
  process: ManagedProcess;
  logFile: string;
  stop(): Promise<void>;
}

export async function installVsix(toolchain: E2eToolchain, vsixPath: string, dirs: CodeServerDirs, expectedExtensionId: string): Promise<void> {
  const output = await runToCompletion(
    path.join(toolchain.node22BinDir, 'node'),
    [toolchain.codeServerEntry, ...commonArgs(dirs), '--force', '--install-extension', vsixPath],
    { name: `code-server --install-extension ${path.basename(vsixPath)}`, env: codeServerEnv(toolchain, dirs), timeoutMs: installExtensionTimeoutMs },
  );
  const installed = installedExtensionIds(dirs.extensionsDir);
  if (!installed.includes(expectedExtensionId.toLowerCase())) {
    throw new Error(`Installing ${vsixPath} did not install ${expectedExtensionId} (installed: ${installed.join(', ') || 'none'}).\n${output}`);
  }
}

export function installedExtensionIds(extensionsDir: string): string[] {
  const registry = path.join(extensionsDir, 'extensions.json');
  if (!fs.existsSync(registry)) return [];
  const entries = JSON.parse(fs.readFileSync(registry, 'utf8')) as Array<{ identifier: { id: string } }>;
  return entries.map((entry) => entry.identifier.id.toLowerCase());
}

export async function startCodeServer(options: CodeServerStartOptions): Promise<RunningCodeServer> {
  const host = options.host ?? '127.0.0.1';
  const logFile = path.join(options.stateDir, 'code-server.log');
  const args = [
    options.toolchain.codeServerEntry,
    ...commonArgs(options),
    '--auth', 'none',
    '--bind-addr', `${host}:${options.port ?? 0}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    ...(options.exitWhenIdle ? ['--idle-timeout-seconds', String(orphanServerIdleSeconds)] : []),
    options.folder,
  ];
  const server = new ManagedProcess(path.join(options.toolchain.node22BinDir, 'node'), args, {
    name: 'code-server',
    env: codeServerEnv(options.toolchain, options),
    logFile,
  });
  try {
    const match = await server.waitForOutput(/HTTP server listening on (https?:\/\/[^\s/]+:(\d+))/, serverListenTimeoutMs);
    return { url: `${match[1]}/`, port: Number(match[2]), process: server, logFile, stop: () => server.stop() };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

function commonArgs(dirs: CodeServerDirs): string[] {
  fs.mkdirSync(dirs.stateDir, { recursive: true });
  const configFile = path.join(dirs.stateDir, 'config.yaml');
  // Without --config code-server writes ~/.config/code-server/config.yaml with a generated password.
  if (!fs.existsSync(configFile)) fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
  return ['--config', configFile, '--user-data-dir', dirs.userDataDir, '--extensions-dir', dirs.extensionsDir];
}

function codeServerEnv(toolchain: E2eToolchain, dirs: CodeServerDirs): NodeJS.ProcessEnv {
  // Variables from a VS Code terminal or `npm run` would leak the outer editor's state into this one.
  const inherited = Object.entries(process.env).filter(
    ([name]) => !/^(VSCODE_|ELECTRON_|npm_)/i.test(name) && !['PORT', 'PASSWORD', 'HASHED_PASSWORD', 'GITHUB_TOKEN'].includes(name),
  );
  return {
    ...Object.fromEntries(inherited),
    PATH: `${toolchain.node22BinDir}${path.delimiter}${process.env.PATH ?? ''}`,
    XDG_DATA_HOME: path.join(dirs.stateDir, 'data'),
  };
}
