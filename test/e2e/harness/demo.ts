// `npm run demo`: VS Code (code-server) with Tierwise installed, opened on a sample project that has a
// type error and a staged change, served on 127.0.0.1 until Ctrl-C.
//   node --import tsx test/e2e/harness/demo.ts [--port 8080]     (or PORT=8080)
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { installVsix, startCodeServer, type CodeServerDirs } from './codeServer';
import { ensureE2eToolchain, progress } from './install';
import { repoRoot } from './paths';
import { createSampleWorkspace } from './sampleWorkspace';
import { findOrBuildVsix, tierwiseExtensionId } from './vsix';
import { quietWorkbenchSettings } from './vscode';

const defaultPort = 8080;
const host = '127.0.0.1';
const demoWorkspaceDir = path.join(repoRoot, '.cache', 'demo-workspace');
const demoStateRoot = path.join(repoRoot, '.cache', 'demo');

async function main(): Promise<void> {
  const requestedPort = portFromArgs(process.argv.slice(2)) ?? defaultPort;
  const toolchain = await ensureE2eToolchain();
  const vsixPath = await findOrBuildVsix();

  createSampleWorkspace(demoWorkspaceDir);
  progress(`sample workspace: ${demoWorkspaceDir} (src/broken.ts has a type error, src/math.ts a staged change)`);

  // Fresh editor state every run, so the demo always starts the same way.
  fs.rmSync(demoStateRoot, { recursive: true, force: true });
  const dirs: CodeServerDirs = {
    userDataDir: path.join(demoStateRoot, 'user-data'),
    extensionsDir: path.join(demoStateRoot, 'extensions'),
    stateDir: path.join(demoStateRoot, 'state'),
  };
  const settingsFile = path.join(dirs.userDataDir, 'User', 'settings.json');
  fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
  fs.writeFileSync(settingsFile, `${JSON.stringify(quietWorkbenchSettings, null, 2)}\n`);
  await installVsix(toolchain, vsixPath, dirs, tierwiseExtensionId());
  progress(`installed ${path.basename(vsixPath)}`);

  const port = (await isPortFree(requestedPort)) ? requestedPort : 0;
  if (port === 0) progress(`port ${requestedPort} is taken; using a free one`);
  const server = await startCodeServer({ ...dirs, toolchain, folder: demoWorkspaceDir, host, port });

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    progress(`${reason}: stopping code-server`);
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('Ctrl-C'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  console.log(`\nTierwise demo: ${server.url}?folder=${encodeURI(demoWorkspaceDir)}`);
  console.log(`code-server log: ${server.logFile}`);
  console.log('Press Ctrl-C to stop.\n');

  const exit = await server.process.exited;
  if (!stopping) {
    console.error(`code-server stopped on its own (${exit.signal ?? `exit code ${exit.code}`}).\n${server.process.outputForError()}`);
    process.exit(1);
  }
}

function portFromArgs(args: string[]): number | undefined {
  const flagIndex = args.findIndex((arg) => arg === '--port' || arg.startsWith('--port='));
  const raw = flagIndex === -1 ? process.env.PORT : args[flagIndex]!.includes('=') ? args[flagIndex]!.split('=')[1] : args[flagIndex + 1];
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port / PORT must be a port number (1-65535), got "${raw}".`);
  return port;
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
