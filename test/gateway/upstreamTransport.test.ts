/**
 * The gateway's connections to upstreams and its reading of client bodies, against loopback servers. Plain HTTP
 * goes through the gateway's own HTTP/1.1 client (Http1Agent) and HTTPS through node:https, so each transport case
 * runs on both: what reaches the client and the ledger when an upstream cannot be reached, stays silent, stalls
 * mid-stream, is read slowly or is hung up on, and that Basic credentials in a base URL and an unsendable key are
 * handled. The HTTPS fake uses
 * test/fixtures/tls, which `npm test` trusts through NODE_EXTRA_CA_CERTS (Node reads it at start-up).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { EndpointConfig } from '../../extension/router/config';
import { Ledger } from '../../extension/router/ledger/ledger';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { callRecordsOf, readLedgerRecords } from '../wire/helpers/routerFixtures';
import {
  CLIENT_MODEL,
  claudeCodeHeaders,
  claudeCodeMainTurn,
  eventually,
  fakeTiers,
  gatewayConfig,
  send,
  startHarness,
  streamTurn,
  TempDirs,
  type GatewayHarness,
} from './helpers/gatewayFixtures';
import { closedPort } from '../fakes/streams';

/** A config whose client-model endpoint (frontier, Anthropic) is `endpoint`. */
function configWith(endpoint: Partial<EndpointConfig> & { baseUrl: string }) {
  const tiers = fakeTiers({ anthropic: endpoint.baseUrl, ollama: 'http://127.0.0.1:9' });
  tiers.frontier = [{ provider: 'anthropic', model: CLIENT_MODEL, ...endpoint }];
  return gatewayConfig(tiers);
}

const TLS_FIXTURES = join(__dirname, '..', 'fixtures', 'tls');

describe('upstream transport', () => {
  const dirs = new TempDirs();
  const fakes = {} as Record<'http' | 'https', FakeAnthropic>;
  let anthropic: FakeAnthropic;
  const harnesses: GatewayHarness[] = [];
  const harnessFor = async (endpoint: Partial<EndpointConfig> & { baseUrl: string }, keys?: Parameters<typeof startHarness>[2]) => {
    const harness = await startHarness(dirs, configWith(endpoint), keys);
    harnesses.push(harness);
    return harness;
  };
  const callsOf = (harness: GatewayHarness) => callRecordsOf(readLedgerRecords(harness.ledgerDir));

  before(async () => {
    const fixtureCert = readFileSync(join(TLS_FIXTURES, 'loopback.crt'), 'utf8').trim();
    const trusted = process.env.NODE_EXTRA_CA_CERTS ? readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8') : '';
    assert.ok(trusted.includes(fixtureCert), 'run through `npm test`, which trusts test/fixtures/tls/loopback.crt (NODE_EXTRA_CA_CERTS) for the HTTPS cases');
    const tls = { key: readFileSync(join(TLS_FIXTURES, 'loopback.key')), cert: readFileSync(join(TLS_FIXTURES, 'loopback.crt')) };
    [fakes.http, fakes.https] = await Promise.all([startFakeAnthropic(), startFakeAnthropic({ tls })]);
    anthropic = fakes.http;
  });
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((harness) => harness.gateway.close()));
    fakes.http.reset();
    fakes.https.reset();
  });
  after(async () => {
    await Promise.all([fakes.http?.close(), fakes.https?.close()]);
    dirs.removeAll();
  });

  for (const scheme of ['http', 'https'] as const) {
    describe(`over ${scheme === 'http' ? 'HTTP (Http1Agent)' : 'HTTPS (node:https)'}`, () => {
      const fake = () => fakes[scheme];

      test('an upstream nobody listens on: 502 in Anthropic format naming the endpoint; settled as a network error', async () => {
        const harness = await harnessFor({ baseUrl: `${scheme}://127.0.0.1:${await closedPort()}` });
        const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeMainTurn()) });
        assert.equal(response.status, 502);
        const body = JSON.parse(response.body) as { type: string; error: { message: string } };
        assert.equal(body.type, 'error');
        assert.match(body.error.message, new RegExp(`${CLIENT_MODEL}.*could not be reached: .*ECONNREFUSED`));
        const [call] = await eventually(() => (callsOf(harness).length ? callsOf(harness) : undefined));
        assert.equal(call.outcome, 'error');
        assert.equal(call.errorKind, 'network');
      });

      test('an upstream silent past the endpoint timeout before answering: 504 "timed out"; settled as a timeout', async () => {
        const harness = await harnessFor({ baseUrl: fake().baseUrl, timeoutMs: 200 });
        fake().reply({ type: 'answer', text: 'late', headersDelayMs: 1500 });
        const started = Date.now();
        const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeMainTurn()) });
        assert.equal(response.status, 504);
        assert.match(response.body, /timed out: no data from the upstream for 200 ms/);
        assert.ok(Date.now() - started < 1400, `answered after ${Date.now() - started} ms, not when the upstream would have`);
        const [call] = await eventually(() => (callsOf(harness).length ? callsOf(harness) : undefined));
        assert.equal(call.errorKind, 'timeout');
      });

      test('an upstream that stalls mid-stream: the client connection drops and what streamed is settled as an error', async () => {
        const harness = await harnessFor({ baseUrl: fake().baseUrl, timeoutMs: 250 });
        fake().reply({ type: 'answer', text: ['one', ' two', ' three'], chunkDelayMs: 2000, usage: { input_tokens: 800, output_tokens: 3 } });
        const outcome = await streamTurn(harness.gateway.url, JSON.stringify(claudeCodeMainTurn()));
        assert.equal(outcome.ended, false, 'the client sees the stream cut, not a clean end');
        assert.match(outcome.text, /one/);
        const [call] = await eventually(() => (callsOf(harness).length ? callsOf(harness) : undefined));
        assert.equal(call.outcome, 'error');
        assert.equal(call.inputTokens, 800, 'message_start had been relayed');
        assert.match(call.detail ?? '', /upstream stalled mid-answer/);
      });

      test('a client that hangs up mid-stream stops the upstream call; what streamed is settled as cancelled', async () => {
        const harness = await harnessFor({ baseUrl: fake().baseUrl });
        fake().reply({ type: 'answer', text: ['a', 'b', 'c', 'd', 'e', 'f'], chunkDelayMs: 100, usage: { input_tokens: 700, output_tokens: 6 } });
        await streamTurn(harness.gateway.url, JSON.stringify(claudeCodeMainTurn()), { hangUpAfterBytes: 1 });
        await fake().waitForRequests(1);
        assert.equal(await fake().settled(fake().requests[0]), 'clientClosed');
        const [call] = await eventually(() => (callsOf(harness).length ? callsOf(harness) : undefined));
        assert.deepEqual([call.outcome, call.errorKind, call.inputTokens], ['error', 'cancelled', 700]);
      });

      test('a client that reads slowly gets every byte of a large stream (the upstream waits rather than the gateway buffering)', async () => {
        const harness = await harnessFor({ baseUrl: fake().baseUrl });
        const chunks = Array.from({ length: 120 }, (_, index) => `${String(index).padStart(4, '0')}${'x'.repeat(16_000)}`);
        fake().reply({ type: 'answer', text: chunks, usage: { input_tokens: 10, output_tokens: 500_000 } });
        const outcome = await streamTurn(harness.gateway.url, JSON.stringify(claudeCodeMainTurn()), { pauseFirstMs: 300 });
        assert.equal(outcome.ended, true);
        for (const index of [0, 59, 119]) assert.ok(outcome.text.includes(String(index).padStart(4, '0') + 'x'), `chunk ${index} arrived`);
        assert.ok(outcome.text.length > 120 * 16_000, `${outcome.text.length} characters`);
        const [call] = await eventually(() => (callsOf(harness).length ? callsOf(harness) : undefined));
        assert.equal(call.outcome, 'ok');
        assert.equal(call.outputTokens, 500_000);
      });

      test('credentials in a base URL reach the upstream as Basic authorization, next to the provider key', async () => {
        const base = new URL(fake().baseUrl);
        base.username = 'proxy-user';
        base.password = 's3cret:pass';
        const harness = await harnessFor({ baseUrl: base.toString().replace(/\/$/, '') });
        const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeMainTurn()) });
        assert.equal(response.status, 200);
        const forwarded = fake().requests[0].headers;
        assert.equal(forwarded.authorization, `Basic ${Buffer.from('proxy-user:s3cret:pass').toString('base64')}`);
        assert.ok(forwarded['x-api-key'], 'the provider key is sent as well');
      });

      test('a key that cannot be sent in a header is refused (400, not retried) naming the header, and the gateway keeps serving', async () => {
        const harness = await harnessFor({ baseUrl: fake().baseUrl }, { keys: async () => 'sk-ant-line\nbreak' });
        const refused = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeMainTurn()) });
        assert.equal(refused.status, 400);
        assert.match(refused.body, /could not call .*x-api-key/);
        assert.equal(refused.headers['x-should-retry'], 'false');
        assert.equal(fake().requests.length, 0, 'nothing was sent');
        const models = await send(harness.gateway.url, '/v1/models', { method: 'GET', headers: claudeCodeHeaders() });
        assert.equal(models.status, 200);
      });
    });
  }

  for (const framing of ['without a length', 'with its length declared'] as const) {
    test(`a body sent in pieces ${framing} is read whole and forwarded byte for byte`, async () => {
      const harness = await harnessFor({ baseUrl: anthropic.baseUrl });
      const body = JSON.stringify(claudeCodeMainTurn());
      const length = framing === 'without a length' ? { 'transfer-encoding': 'chunked' } : { 'content-length': Buffer.byteLength(body) };
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(new URL('/v1/messages', harness.gateway.url), { method: 'POST', headers: { ...claudeCodeHeaders(), ...length }, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        const third = Math.ceil(body.length / 3);
        req.write(body.slice(0, third));
        setTimeout(() => req.write(body.slice(third, 2 * third)), 20);
        setTimeout(() => req.end(body.slice(2 * third)), 40);
      });
      assert.equal(status, 200);
      assert.equal(anthropic.requests[0].rawBody, body);
    });
  }

  test('a ledger that refuses the write: the answer is delivered, the log says what was not recorded, close() still returns', async () => {
    const ledger = new Ledger({ dir: dirs.make('refusing-ledger') });
    const refusing = Object.assign(Object.create(ledger) as Ledger, {
      appendAll: () => {
        throw new Error('ENOSPC: no space left on device');
      },
    });
    const harness = await startHarness(dirs, configWith({ baseUrl: anthropic.baseUrl }), { gateway: { ledger: refusing } });
    harnesses.push(harness);
    const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: JSON.stringify(claudeCodeMainTurn()) });
    assert.equal(response.status, 200);
    await eventually(() => harness.logs.find((line) => line.includes('could not record 1 call(s) in the ledger: ENOSPC')));
    await harness.gateway.close();
  });

  test('calls finishing together are written together, and close() writes what is pending at once', async () => {
    const harness = await harnessFor({ baseUrl: anthropic.baseUrl });
    const body = JSON.stringify(claudeCodeMainTurn());
    const answers = await Promise.all(Array.from({ length: 5 }, () => send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body })));
    assert.deepEqual(answers.map((answer) => answer.status), [200, 200, 200, 200, 200]);
    await harness.gateway.close();
    const records = readLedgerRecords(harness.ledgerDir);
    assert.equal(callRecordsOf(records).length, 5, 'every call is in the ledger once close() has returned');
    // Each call follows its own decision (they are written as one batch).
    for (const call of callRecordsOf(records)) {
      const decisionAt = records.findIndex((record) => record.type === 'decision' && record.requestId === call.requestId);
      assert.ok(decisionAt >= 0 && decisionAt < records.indexOf(call));
    }
  });
});
