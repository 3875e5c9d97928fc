/**
 * Who may use the gateway, and what never leaves it: the token (wrong, missing, either header), the Host header
 * (DNS rebinding), browsers (Origin), oversized bodies — each refused with its status and nothing forwarded — and the
 * per-install token file.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { gatewayTokenPath, loadOrCreateGatewayToken } from '../../extension/gateway';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeOllama, type FakeOllama } from '../fakes/ollama';
import { ANTHROPIC_TEST_KEY, openReservationsOf, readLedgerRecords } from '../wire/helpers/routerFixtures';
import {
  claudeCodeHeaders,
  claudeCodeMainTurn,
  codexHeaders,
  codexTurn,
  eventually,
  fakeTiers,
  gatewayConfig,
  send,
  startHarness,
  TempDirs,
  TEST_TOKEN,
  type GatewayHarness,
} from './helpers/gatewayFixtures';

describe('gateway access', () => {
  const dirs = new TempDirs();
  let anthropic: FakeAnthropic;
  let ollama: FakeOllama;
  let harness: GatewayHarness;
  const body = JSON.stringify(claudeCodeMainTurn());

  before(async () => {
    [anthropic, ollama] = await Promise.all([startFakeAnthropic(), startFakeOllama()]);
    harness = await startHarness(dirs, gatewayConfig(fakeTiers({ anthropic: anthropic.baseUrl, ollama: ollama.baseUrl })), { gateway: { maxBodyBytes: 64 * 1024 } });
  });
  after(async () => {
    await harness?.gateway.close();
    await Promise.all([anthropic?.close(), ollama?.close()]);
    dirs.removeAll();
  });
  afterEach(() => {
    anthropic.reset();
    ollama.reset();
  });

  const errorOf = (text: string) => JSON.parse(text) as { type: string; error: { type: string; message: string } };

  test('a missing token is refused with 401 in Anthropic format, nothing forwarded', async () => {
    const headers = claudeCodeHeaders();
    delete headers['x-api-key'];
    const response = await send(harness.gateway.url, '/v1/messages', { headers, body });
    assert.equal(response.status, 401);
    assert.deepEqual(errorOf(response.body).error.type, 'authentication_error');
    assert.match(errorOf(response.body).error.message, /no token/);
    assert.equal(anthropic.requests.length, 0);
  });

  test('a wrong token is refused with 401, as x-api-key and as Bearer (OpenAI format)', async () => {
    const wrong = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders({}, `${TEST_TOKEN}x`), body });
    assert.equal(wrong.status, 401);
    assert.match(errorOf(wrong.body).error.message, /wrong token/);
    const bearer = await send(harness.gateway.url, '/v1/responses', { headers: { ...codexHeaders({ request_kind: 'turn' }), authorization: 'Bearer sk-not-the-token' }, body: JSON.stringify(codexTurn('t')) });
    assert.equal(bearer.status, 401);
    const openaiError = JSON.parse(bearer.body) as { error: { message: string; code: string } };
    assert.equal(openaiError.error.code, 'invalid_api_key');
    assert.equal(anthropic.requests.length + ollama.requests.length, 0);
  });

  test('the right token works as x-api-key and as Authorization: Bearer', async () => {
    const viaKey = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body });
    assert.equal(viaKey.status, 200);
    const headers = claudeCodeHeaders();
    delete headers['x-api-key'];
    const viaBearer = await send(harness.gateway.url, '/v1/messages', { headers: { ...headers, authorization: `Bearer ${TEST_TOKEN}` }, body });
    assert.equal(viaBearer.status, 200);
    assert.equal(anthropic.requests.length, 2);
    for (const forwarded of anthropic.requests) {
      assert.equal(forwarded.headers['x-api-key'], ANTHROPIC_TEST_KEY, 'upstream auth is Tierwise\'s key');
      assert.equal(forwarded.headers.authorization, undefined, 'the gateway token never goes upstream');
      assert.ok(!JSON.stringify(forwarded.headers).includes(TEST_TOKEN));
    }
  });

  test('a foreign Host (DNS rebinding) is refused with 403 even with the token; localhost:PORT is accepted', async () => {
    const foreign = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders({ host: `evil.example:${harness.gateway.port}` }), body });
    assert.equal(foreign.status, 403);
    assert.equal(errorOf(foreign.body).error.type, 'permission_error');
    const otherPort = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders({ host: `127.0.0.1:${harness.gateway.port + 1}` }), body });
    assert.equal(otherPort.status, 403);
    assert.equal(anthropic.requests.length, 0);
    const local = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders({ host: `localhost:${harness.gateway.port}` }), body });
    assert.equal(local.status, 200);
  });

  test('any request with an Origin header (a browser page) is refused with 403', async () => {
    const response = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders({ origin: 'http://localhost:3000' }), body });
    assert.equal(response.status, 403);
    assert.match(errorOf(response.body).error.message, /Origin/);
    const models = await send(harness.gateway.url, '/v1/models', { method: 'GET', headers: { authorization: `Bearer ${TEST_TOKEN}`, origin: 'null' } });
    assert.equal(models.status, 403);
    assert.equal(anthropic.requests.length, 0);
  });

  test('an oversized body is refused with 413, declared or streamed without a length', async () => {
    const big = JSON.stringify({ ...claudeCodeMainTurn(), padding: 'x'.repeat(100 * 1024) });
    const declared = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: big });
    assert.equal(declared.status, 413);
    assert.equal(errorOf(declared.body).error.type, 'request_too_large');
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(new URL('/v1/messages', harness.gateway.url), { method: 'POST', headers: { ...claudeCodeHeaders(), 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let at = 0; at < big.length; at += 8192) req.write(big.slice(at, at + 8192));
      req.end();
    });
    assert.equal(chunked, 413);
    assert.equal(anthropic.requests.length, 0);
  });

  test('unknown paths are 404 and wrong methods 405, in the client format', async () => {
    const missing = await send(harness.gateway.url, '/v1/complete', { headers: claudeCodeHeaders(), body });
    assert.equal(missing.status, 404);
    const wrongMethod = await send(harness.gateway.url, '/v1/messages', { method: 'GET', headers: claudeCodeHeaders() });
    assert.equal(wrongMethod.status, 405);
    const notJson = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: '{"model":' });
    assert.equal(notJson.status, 400);
    const badField = await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body: '{"model": tru, "messages": []}' });
    assert.equal(badField.status, 400);
    assert.match(errorOf(badField.body).error.message, /model is not valid JSON/);
    assert.equal(anthropic.requests.length, 0);
  });

  test('the log never holds a key or the token, nor prompt text unless debugLogPrompts is on', async () => {
    const logged = harness.logs.length;
    await send(harness.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body });
    // The decision and the settlement are logged with the next settlement batch.
    await eventually(() => harness.logs.slice(logged).some((line) => line.includes(' tokens ')) || undefined);
    const log = harness.logs.join('\n');
    assert.ok(!log.includes(ANTHROPIC_TEST_KEY));
    assert.ok(!log.includes(TEST_TOKEN));
    assert.ok(!log.includes('off-by-one'), 'prompt text stays out of the log');

    const debug = await startHarness(dirs, harness.config, { gateway: { debugLogPrompts: true } });
    try {
      await send(debug.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body });
      await eventually(() => debug.logs.some((line) => line.includes(' tokens ')) || undefined);
      assert.ok(debug.logs.join('\n').includes('off-by-one'));
      assert.ok(!debug.logs.join('\n').includes(ANTHROPIC_TEST_KEY));
    } finally {
      await debug.gateway.close();
    }
  });

  test('a paid endpoint without a key: 400 naming the variable that holds it; nothing forwarded, nothing left reserved', async () => {
    // Loopback endpoints count as local (keyless) servers unless marked otherwise, as a hosted API is.
    const tiers = fakeTiers({ anthropic: anthropic.baseUrl, ollama: ollama.baseUrl });
    for (const endpoint of [...tiers.mid!, ...tiers.frontier!]) endpoint.local = false;
    const keyless = await startHarness(dirs, gatewayConfig(tiers, { budgets: { dailyUsd: 100 } }), { keys: async () => undefined });
    try {
      const response = await send(keyless.gateway.url, '/v1/messages', { headers: claudeCodeHeaders(), body });
      assert.equal(response.status, 400);
      assert.equal(response.headers['x-should-retry'], 'false');
      assert.match(errorOf(response.body).error.message, /needs an API key: set ANTHROPIC_API_KEY/);
      assert.equal(anthropic.requests.length, 0);
      assert.deepEqual(openReservationsOf(readLedgerRecords(keyless.ledgerDir)), []);
    } finally {
      await keyless.gateway.close();
    }
  });

  test('the gateway refuses to listen on anything but a loopback address', async () => {
    await assert.rejects(startHarness(dirs, harness.config, { gateway: { host: '0.0.0.0' } }), /loopback/);
  });
});

describe('gateway token file', () => {
  const dirs = new TempDirs();
  after(() => dirs.removeAll());

  test('lives next to the ledger folder, is created 0600 in a 0700 folder, and is reused', () => {
    const home = dirs.make('token-home');
    const ledgerDir = join(home, '.tierwise', 'ledger');
    const path = gatewayTokenPath(ledgerDir);
    assert.equal(path, join(home, '.tierwise', 'gateway-token'));
    const token = loadOrCreateGatewayToken(path);
    assert.match(token, /^tw-gw-[A-Za-z0-9_-]{43}$/);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, '.tierwise')).mode & 0o777, 0o700);
    assert.equal(loadOrCreateGatewayToken(path), token);
    assert.notEqual(loadOrCreateGatewayToken(join(dirs.make('token-other'), 'gateway-token')), token);
  });

  test('a token file others can read is narrowed to 0600; one that holds no token is replaced', () => {
    const path = join(dirs.make('token-fix'), 'gateway-token');
    const token = loadOrCreateGatewayToken(path);
    chmodSync(path, 0o644);
    assert.equal(loadOrCreateGatewayToken(path), token);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    writeFileSync(path, 'not a token\n');
    const replaced = loadOrCreateGatewayToken(path);
    assert.notEqual(replaced, token);
    assert.equal(readFileSync(path, 'utf8').trim(), replaced);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(existsSync(path));
  });
});
