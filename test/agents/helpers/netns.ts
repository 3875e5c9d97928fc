/**
 * How an agent client runs with no network but the gateway. The client is started under `unshare -n` (a new,
 * empty network namespace) by netnsRelay.ts, which brings `lo` up and listens on 127.0.0.1:<gateway port> inside
 * it. Each connection there is piped through a Unix socket in a temporary folder to this process, which pipes it
 * on to the gateway on the host's loopback. The gateway and the fakes stay in the test process's namespace (so the
 * fakes remain scriptable in-process), and whatever else the client tries to reach — api.anthropic.com, telemetry,
 * update checks — fails at once with "network unreachable" instead of hanging or leaving the machine.
 */
import { spawnSync } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './paths';

const RELAY_SCRIPT = join(repoRoot, 'test', 'agents', 'helpers', 'netnsRelay.ts');

export interface GatewayBridge {
  /** The Unix socket the relay inside the namespace connects to. */
  socketPath: string;
  /** The gateway's port, which the relay listens on inside the namespace too. */
  port: number;
  /** Connections the client opened to the gateway. */
  connections(): number;
  close(): Promise<void>;
}

/** Fails with what to do when this machine cannot make network namespaces (not root, no user namespaces). */
export function assertNetworkNamespaces(): void {
  const probe = spawnSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error ? probe.error.message : probe.stderr.trim() || `exit ${probe.status}`;
    throw new Error(
      `The agent-client tests run each client in its own network namespace ("unshare -n", then "ip link set lo up"), which failed here: ${why}. ` +
        'Run them as root (or with unprivileged user namespaces and "unshare -rn"), with util-linux and iproute2 installed.',
    );
  }
}

/** Listens on `<dir>/gateway.sock` and pipes each connection to the gateway at 127.0.0.1:`port`. */
export async function bridgeToGateway(port: number, dir: string): Promise<GatewayBridge> {
  const socketPath = join(dir, 'gateway.sock');
  let opened = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((fromClient) => {
    opened++;
    const toGateway = connect(port, '127.0.0.1');
    for (const socket of [fromClient, toGateway]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        fromClient.destroy();
        toGateway.destroy();
      });
    }
    fromClient.pipe(toGateway).pipe(fromClient);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    port,
    connections: () => opened,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The command line that runs `command args…` in a new network namespace whose only way out is `bridge`. */
export function isolatedCommand(bridge: GatewayBridge, clientCwd: string, command: string, args: string[]): { command: string; args: string[]; cwd: string } {
  return {
    command: 'unshare',
    args: ['-n', process.execPath, '--import', 'tsx', RELAY_SCRIPT, '--port', String(bridge.port), '--socket', bridge.socketPath, '--cwd', clientCwd, '--', command, ...args],
    // The relay itself runs from the repository, where `--import tsx` resolves; it starts the client in clientCwd.
    cwd: repoRoot,
  };
}
