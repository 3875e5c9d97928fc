/**
 * How an agent client runs with no network but the gateway. The client is started under `unshare -n` (a new,
 * empty network namespace) by netnsRelay.ts, which brings `lo` up and listens on 127.0.0.1:<gateway port> inside
 * it. Each connection there is piped through a Unix socket in a temporary folder to this process, which pipes it
 * on to the gateway on the host's loopback. The gateway and the fakes stay in the test process's namespace (so the
 * fakes remain scriptable in-process), and whatever else the client tries to reach — api.anthropic.com, telemetry,
 * update checks — fails at once with "network unreachable" instead of hanging or leaving the machine. A private
 * mount namespace (`unshare -m`) lets the relay point /etc/resolv.conf at 127.0.0.1, so name lookups are refused
 * at once too (with the host's nameserver unreachable, each lookup waited out a 5 s timeout: Codex's telemetry
 * flush at exit did).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './paths';

const RELAY_SCRIPT = join(repoRoot, 'test', 'agents', 'helpers', 'netnsRelay.ts');
/** A new network namespace (only `lo`) and a private mount namespace (for resolv.conf). */
const UNSHARE_FLAGS = ['--net', '--mount'];

/** A request as the client sent it to the gateway (read off the bridge, before the gateway saw it). */
export interface ClientRequestHead {
  method: string;
  path: string;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Record<string, string>;
}

export interface GatewayBridge {
  /** The Unix socket the relay inside the namespace connects to. */
  socketPath: string;
  /** The gateway's port, which the relay listens on inside the namespace too. */
  port: number;
  /** Bound over /etc/resolv.conf inside the namespace. */
  resolvConf: string;
  /** Connections the client opened to the gateway. */
  connections(): number;
  /** Every request head the client sent, in order. */
  requests(): ClientRequestHead[];
  close(): Promise<void>;
}

/** Fails with what to do when this machine cannot make network namespaces (not root, no user namespaces). */
export function assertNetworkNamespaces(): void {
  const probe = spawnSync('unshare', [...UNSHARE_FLAGS, 'sh', '-c', 'ip link set lo up && mount --bind /dev/null /etc/resolv.conf'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error ? probe.error.message : probe.stderr.trim() || `exit ${probe.status}`;
    throw new Error(
      `The agent-client tests run each client in its own network and mount namespaces ("unshare -n -m", then "ip link set lo up" and a bind mount over /etc/resolv.conf), which failed here: ${why}. ` +
        'Run them as root with util-linux and iproute2 installed.',
    );
  }
}

/** Listens on `<dir>/gateway.sock` and pipes each connection to the gateway at 127.0.0.1:`port`. */
export async function bridgeToGateway(port: number, dir: string): Promise<GatewayBridge> {
  const socketPath = join(dir, 'gateway.sock');
  const resolvConf = join(dir, 'resolv.conf');
  writeFileSync(resolvConf, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  let opened = 0;
  const sockets = new Set<Socket>();
  const heads: ClientRequestHead[] = [];
  const server: Server = createServer((fromClient) => {
    opened++;
    const toGateway = connect(port, '127.0.0.1');
    const readHeads = requestHeadReader(heads);
    fromClient.on('data', (chunk: Buffer) => readHeads(chunk));
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
    resolvConf,
    connections: () => opened,
    requests: () => [...heads],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Collects request heads from a client's byte stream. Agent clients send JSON bodies, in which a raw CR LF never
 * occurs, so "request line, header lines, blank line" can only match a real head.
 */
function requestHeadReader(into: ClientRequestHead[]): (chunk: Buffer) => void {
  const HEAD = /(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH) (\S+) HTTP\/1\.[01]\r\n((?:[^\r\n]+\r\n)*)\r\n/g;
  let pending = '';
  return (chunk) => {
    pending += chunk.toString('latin1');
    let match: RegExpExecArray | null;
    let consumed = 0;
    HEAD.lastIndex = 0;
    while ((match = HEAD.exec(pending))) {
      const headers: Record<string, string> = {};
      for (const line of match[3].split('\r\n').filter(Boolean)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      into.push({ method: match[1], path: match[2], headers });
      consumed = HEAD.lastIndex;
    }
    // Keep only a tail that could still be the start of a head split across chunks.
    pending = consumed > 0 ? pending.slice(consumed) : pending;
    if (pending.length > 64 * 1024) pending = pending.slice(-16 * 1024);
  };
}

/** The command line that runs `command args…` in a new network namespace whose only way out is `bridge`. */
export function isolatedCommand(bridge: GatewayBridge, clientCwd: string, command: string, args: string[]): { command: string; args: string[]; cwd: string } {
  return {
    command: 'unshare',
    args: [
      ...UNSHARE_FLAGS,
      process.execPath,
      '--import',
      'tsx',
      RELAY_SCRIPT,
      ...['--port', String(bridge.port), '--socket', bridge.socketPath, '--cwd', clientCwd, '--resolv-conf', bridge.resolvConf],
      '--',
      command,
      ...args,
    ],
    // The relay itself runs from the repository, where `--import tsx` resolves; it starts the client in clientCwd.
    cwd: repoRoot,
  };
}
