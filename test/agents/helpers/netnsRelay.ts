/**
 * Runs inside fresh network and mount namespaces (`unshare -n -m`), as the parent of one agent client:
 *   unshare -n -m node --import tsx test/agents/helpers/netnsRelay.ts --port PORT --socket PATH --cwd DIR \
 *     [--resolv-conf FILE] -- CLIENT ARGS…
 * Brings `lo` up, binds FILE over /etc/resolv.conf (in its own mount namespace; a resolver pointed at 127.0.0.1
 * is refused at once, where the host's nameserver, unreachable, would make every lookup wait out its timeout),
 * listens on 127.0.0.1:PORT (the gateway's own port, so the Host header the client sends is
 * the one the gateway expects) and pipes every connection to the Unix socket PATH, which the test process bridges to
 * the real gateway. Path-based Unix sockets live in the file system, not the network namespace, so this is the
 * only way out: any other address the client tries fails at once (no route). Then it starts the client in DIR with
 * its own stdio and exits with the client's status. It prints nothing on stdout; its own errors go to stderr.
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { constants } from 'node:os';

function fail(message: string): never {
  process.stderr.write(`netnsRelay: ${message}\n`);
  process.exit(125);
}

function main(argv: string[]): void {
  const split = argv.indexOf('--');
  const own = split >= 0 ? argv.slice(0, split) : argv;
  const [command, ...args] = split >= 0 ? argv.slice(split + 1) : [];
  const option = (name: string) => {
    const index = own.indexOf(`--${name}`);
    return index >= 0 ? own[index + 1] : undefined;
  };
  const port = Number(option('port'));
  const socketPath = option('socket');
  const cwd = option('cwd');
  const resolvConf = option('resolv-conf');
  if (!Number.isInteger(port) || port <= 0 || !socketPath || !cwd || !command) fail('usage: netnsRelay.ts --port PORT --socket PATH --cwd DIR -- COMMAND [ARGS…]');

  const lo = spawnSync('ip', ['link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (lo.status !== 0) fail(`"ip link set lo up" failed (${lo.error?.message ?? lo.stderr.trim()}); run me under "unshare -n" as root.`);
  if (resolvConf) {
    const bind = spawnSync('mount', ['--bind', resolvConf, '/etc/resolv.conf'], { encoding: 'utf8' });
    if (bind.status !== 0) fail(`binding ${resolvConf} over /etc/resolv.conf failed (${bind.error?.message ?? bind.stderr.trim()}); run me under "unshare -n -m".`);
  }

  const relay = createServer((inside) => {
    const outside = connect(socketPath);
    inside.pipe(outside).pipe(inside);
    const close = () => {
      inside.destroy();
      outside.destroy();
    };
    inside.on('error', close);
    outside.on('error', close);
  });
  relay.on('error', (error) => fail(`cannot listen on 127.0.0.1:${port}: ${error.message}`));
  relay.listen(port, '127.0.0.1', () => {
    const client = spawn(command, args, { stdio: 'inherit', cwd });
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => client.kill(signal));
    client.on('error', (error) => fail(`cannot start ${command}: ${error.message}`));
    client.on('exit', (code, signal) => {
      relay.close();
      process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

main(process.argv.slice(2));
