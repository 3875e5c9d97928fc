/**
 * Added latency of the gateway against a bare Node pipe proxy, on loopback (not a test; run by hand):
 *   node --import tsx test/gateway/helpers/latencyBench.ts [requests]
 * (or bundled with esbuild for numbers without the TypeScript loader). The client and the upstream run in a child
 * process, as Claude Code and the provider would, so only the gateway's own work is on the measured path: its
 * bookkeeping while the upstream answers and its settlement after the last byte overlap the other processes.
 * The upstream answers a short Anthropic SSE stream at once. The client sends the same Claude Code main turn
 * directly, through a pipe proxy (keep-alive agent, headers copied, bytes piped), through a proxy that reads the
 * whole body before forwarding (what any router must do), and through the gateway (classification, route,
 * pass-through with the usage tap, settlement) without a cap and with one (then every turn also takes the ledger's
 * cross-process reservation lock), one request at a time over keep-alive connections, interleaved, and reports
 * median and p90 times to the end of the answer.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from '../../../extension/gateway';
import { Ledger } from '../../../extension/router/ledger/ledger';
import { claudeCodeHeaders, claudeCodeMainTurn, fakeTiers, gatewayConfig, TEST_TOKEN, testKeys } from './gatewayFixtures';

const SSE =
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":1200,"cache_read_input_tokens":5000,"output_tokens":1}}}\n\n' +
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Done."}}\n\n' +
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}\n\n' +
  'event: message_stop\ndata: {"type":"message_stop"}\n\n';

const WARMUP = 300;
type Path = 'direct' | 'proxy' | 'bufferingProxy' | 'gateway' | 'gatewayCapped';
type Message = { type: 'upstream'; port: number } | { type: 'results'; label: string; bytes: number; samples: Record<Path, number[]> } | { type: 'done' };

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

/** The child: the upstream, and the client that times requests. */
async function child(): Promise<void> {
  const send = (message: Message) => process.send!(message);
  const upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end(SSE);
    });
  });
  const upstreamPort = await listen(upstream);
  const ports = await new Promise<{ proxy: number; bufferingProxy: number; gateway: number; gatewayCapped: number; requests: number }>((resolve) => {
    process.once('message', (message) => resolve(message as { proxy: number; bufferingProxy: number; gateway: number; gatewayCapped: number; requests: number }));
    send({ type: 'upstream', port: upstreamPort });
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const time = (port: number, body: Buffer, session: string) =>
    new Promise<number>((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/v1/messages?beta=true', method: 'POST', agent, headers: { ...claudeCodeHeaders({ 'x-claude-code-session-id': session }), 'content-length': body.length } },
        (res: IncomingMessage) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`status ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  for (const [label, body] of [
    ['small body (1 turn)', Buffer.from(JSON.stringify(claudeCodeMainTurn({ turns: 1 })))],
    ['large body (60 turns)', Buffer.from(JSON.stringify(claudeCodeMainTurn({ turns: 60 })))],
  ] as const) {
    const samples: Record<Path, number[]> = { direct: [], proxy: [], bufferingProxy: [], gateway: [], gatewayCapped: [] };
    const portOf: Record<Path, number> = { direct: upstreamPort, proxy: ports.proxy, bufferingProxy: ports.bufferingProxy, gateway: ports.gateway, gatewayCapped: ports.gatewayCapped };
    for (let index = 0; index < ports.requests + WARMUP; index++) {
      // Interleaved, so drift in machine load touches all three alike.
      for (const path of ['direct', 'proxy', 'bufferingProxy', 'gateway', 'gatewayCapped'] as const) {
        const ms = await time(portOf[path], body, `bench-${index % 50}`);
        if (index >= WARMUP) samples[path].push(ms);
      }
    }
    send({ type: 'results', label, bytes: body.length, samples });
  }
  agent.destroy();
  upstream.close();
  send({ type: 'done' });
}

async function parent(requests: number): Promise<void> {
  const worker = fork(__filename, ['child'], { execArgv: process.execArgv });
  const upstreamPort = await new Promise<number>((resolve) => worker.once('message', (message: Message) => message.type === 'upstream' && resolve(message.port)));
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

  const proxyAgent = new Agent({ keepAlive: true });
  const proxy = createServer((req, res) => {
    const forward = httpRequest({ host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers: req.headers, agent: proxyAgent }, (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    });
    req.pipe(forward);
  });
  const proxyPort = await listen(proxy);
  // The least any gateway that must read the body before choosing a route can do: buffer it, then forward.
  const bufferingProxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const forward = httpRequest({ host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers: { ...req.headers, 'content-length': body.length }, agent: proxyAgent }, (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      });
      forward.end(body);
    });
  });
  const bufferingProxyPort = await listen(bufferingProxy);

  const ledgerDir = mkdtempSync(join(process.env.BENCH_LEDGER_PARENT ?? tmpdir(), 'tierwise-bench-'));
  const ledger = new Ledger({ dir: ledgerDir });
  // Without caps nothing is reserved; with one, every turn takes the ledger's cross-process reservation lock.
  const config = gatewayConfig(fakeTiers({ anthropic: upstreamUrl, ollama: 'http://127.0.0.1:9' }));
  const capped = gatewayConfig(fakeTiers({ anthropic: upstreamUrl, ollama: 'http://127.0.0.1:9' }), { budgets: { dailyUsd: 1_000_000 } });
  const gateway = await startGateway({ config: () => config, ledger, keys: testKeys, tokenValue: TEST_TOKEN });
  const gatewayCapped = await startGateway({ config: () => capped, ledger, keys: testKeys, tokenValue: TEST_TOKEN });

  const stats = (samples: number[]) => {
    const sorted = [...samples].sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)], p90: sorted[Math.floor(sorted.length * 0.9)] };
  };
  await new Promise<void>((resolve) => {
    worker.on('message', (message: Message) => {
      if (message.type === 'done') return resolve();
      if (message.type !== 'results') return;
      const direct = stats(message.samples.direct);
      const proxied = stats(message.samples.proxy);
      const buffered = stats(message.samples.bufferingProxy);
      const gated = stats(message.samples.gateway);
      const cappedStats = stats(message.samples.gatewayCapped);
      const proxyAdded = proxied.median - direct.median;
      const gatewayAdded = gated.median - direct.median;
      const cappedAdded = cappedStats.median - direct.median;
      process.stdout.write(
        `${message.label}, ${message.bytes} bytes, ${requests} requests each:\n` +
          `  direct                  median ${direct.median.toFixed(3)} ms  p90 ${direct.p90.toFixed(3)} ms\n` +
          `  proxy                   median ${proxied.median.toFixed(3)} ms  p90 ${proxied.p90.toFixed(3)} ms  (+${proxyAdded.toFixed(3)} ms)\n` +
          `  buffering proxy         median ${buffered.median.toFixed(3)} ms  p90 ${buffered.p90.toFixed(3)} ms  (+${(buffered.median - direct.median).toFixed(3)} ms)\n` +
          `  gateway, no cap         median ${gated.median.toFixed(3)} ms  p90 ${gated.p90.toFixed(3)} ms  (+${gatewayAdded.toFixed(3)} ms; ${(gatewayAdded / proxyAdded).toFixed(2)}× the proxy's added latency)\n` +
          `  gateway, with a cap     median ${cappedStats.median.toFixed(3)} ms  p90 ${cappedStats.p90.toFixed(3)} ms  (+${cappedAdded.toFixed(3)} ms; ${(cappedAdded / proxyAdded).toFixed(2)}× the proxy's added latency)\n`,
      );
    });
    worker.send({ proxy: proxyPort, bufferingProxy: bufferingProxyPort, gateway: gateway.port, gatewayCapped: gatewayCapped.port, requests });
  });

  await Promise.all([gateway.close(), gatewayCapped.close()]);
  ledger.close();
  proxyAgent.destroy();
  proxy.close();
  bufferingProxy.close();
  rmSync(ledgerDir, { recursive: true, force: true });
}

if (process.argv[2] === 'child') void child();
else void parent(Number(process.argv[2] ?? 2000));
