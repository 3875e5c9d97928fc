/**
 * The agent tests' network namespace is what they rely on: a client inside reaches the gateway (through the
 * bridge), and nothing else — not other hosts, not the host's other loopback ports, not DNS — and those failures
 * are immediate rather than timeouts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertNetworkNamespaces, bridgeToGateway, isolatedCommand, type GatewayBridge } from './helpers/netns';
import { runToEnd } from './helpers/processes';

/** A probe run inside the namespace: prints one JSON line per target with what happened and how long it took. */
const PROBE = `
const net = require('node:net');
const dns = require('node:dns');
const [gatewayPort, hostOnlyPort] = process.argv.slice(1).map(Number);
const timed = (run) => new Promise((resolve) => { const started = Date.now(); run((outcome) => resolve({ outcome, ms: Date.now() - started })); });
const connectTo = (host, port) => timed((done) => {
  const socket = net.connect(port, host);
  socket.setTimeout(10000, () => { socket.destroy(); done('timeout'); });
  socket.once('connect', () => { socket.end(); done('connected'); });
  socket.once('error', (error) => done(error.code));
});
(async () => {
  const results = {
    gateway: await new Promise((resolve) => fetch('http://127.0.0.1:' + gatewayPort + '/probe').then((r) => r.text()).then(resolve, (e) => resolve('error ' + e.cause?.code))),
    hostLoopback: await connectTo('127.0.0.1', hostOnlyPort),
    otherHost: await connectTo('1.1.1.1', 443),
    lookup: await timed((done) => dns.lookup('registry.npmjs.org', (error) => done(error ? error.code : 'resolved'))),
  };
  process.stdout.write(JSON.stringify(results) + '\\n');
})();
`;

describe('the agent clients\' network namespace', () => {
  let dir: string;
  let gatewayStandIn: Server;
  let hostOnly: Server;
  let bridge: GatewayBridge;

  before(async () => {
    assertNetworkNamespaces();
    dir = mkdtempSync(join(tmpdir(), 'tierwise-agents-netns-'));
    const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
    gatewayStandIn = createServer((request, response) => response.end(`gateway saw ${request.url} for Host ${request.headers.host}`));
    hostOnly = createServer((_request, response) => response.end('host only'));
    bridge = await bridgeToGateway(await listen(gatewayStandIn), dir);
    await listen(hostOnly);
  });
  after(async () => {
    await bridge?.close();
    gatewayStandIn?.close();
    hostOnly?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('reaches the gateway on its own address, and fails at once for everything else', { timeout: 60_000 }, async () => {
    const hostOnlyPort = (hostOnly.address() as AddressInfo).port;
    const isolated = isolatedCommand(bridge, dir, process.execPath, ['-e', PROBE, String(bridge.port), String(hostOnlyPort)]);
    const run = await runToEnd(isolated.command, isolated.args, { name: 'probe', cwd: isolated.cwd, env: { PATH: process.env.PATH }, timeoutMs: 30_000 });
    assert.equal(run.exit.code, 0, run.stderr);
    const results = JSON.parse(run.stdout) as Record<string, { outcome: string; ms: number }> & { gateway: string };

    assert.equal(results.gateway, `gateway saw /probe for Host 127.0.0.1:${bridge.port}`, 'the Host header is the gateway\'s own address');
    assert.equal(results.hostLoopback.outcome, 'ECONNREFUSED', 'the host\'s other loopback ports are not reachable');
    assert.equal(results.otherHost.outcome, 'ENETUNREACH');
    assert.notEqual(results.lookup.outcome, 'resolved');
    for (const name of ['hostLoopback', 'otherHost', 'lookup'] as const) {
      assert.ok(results[name].ms < 1000, `${name} took ${results[name].ms} ms to fail`);
    }
    assert.equal(bridge.requests().length, 1);
  });
});
