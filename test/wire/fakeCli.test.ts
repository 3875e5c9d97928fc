/** The fakes as a separate process (how e2e tests in a real VS Code use them), scripted over their control routes. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { createProviderRegistry } from '../../extension/providers/registry';
import { ProviderError } from '../../extension/providers/types';
import type { EndpointConfig } from '../../extension/router/config';
import type { FakeScript, RecordedRequest } from '../fakes/server';
import { drain } from '../fakes/streams';

const CLI = path.join(__dirname, '..', 'fakes', 'cli.ts');

interface Started {
  provider: string;
  url: string;
  baseUrl: string;
  pid: number;
}

async function startCli(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; started: Started }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: 'pipe' });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return { child, started: JSON.parse(line) as Started };
}

async function control<T>(url: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}/__fake/${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(response.status, 200);
  return (await response.json()) as T;
}

describe('fake provider CLI', () => {
  let child: ChildProcessWithoutNullStreams;
  let started: Started;
  const providers = createProviderRegistry();

  before(async () => {
    ({ child, started } = await startCli(['anthropic', '--models', 'claude-a,claude-b', '--text', 'default words']));
  });
  after(async () => {
    child.kill('SIGTERM');
    await once(child, 'exit');
  });

  test('prints where it listens', () => {
    assert.equal(started.provider, 'anthropic');
    assert.match(started.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(started.baseUrl, started.url);
    assert.equal(started.pid, child.pid);
  });

  test('answers with --text by default, then with scripts queued over HTTP, and reports requests', async () => {
    const endpoint: EndpointConfig = { provider: 'anthropic', model: 'claude-a', baseUrl: started.baseUrl };
    const request = { messages: [{ role: 'user' as const, content: 'hi' }], maxOutputTokens: 16, timeoutMs: 5_000 };

    assert.equal((await drain(providers('anthropic').stream(endpoint, request, 'sk-ant-cli'))).text, 'default words');

    const scripts: FakeScript<unknown>[] = [
      { type: 'answer', text: 'scripted answer' },
      { type: 'error', status: 429, message: 'slow down', headers: { 'retry-after': '3' } },
    ];
    await control(started.url, 'script', { route: 'chat', scripts });
    assert.equal((await drain(providers('anthropic').stream(endpoint, request, 'sk-ant-cli'))).text, 'scripted answer');
    const { error } = await drain(providers('anthropic').stream(endpoint, request, 'sk-ant-cli'));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'rateLimit');
    assert.equal(error.details.retryAfterMs, 3_000);
    assert.deepEqual(await providers('anthropic').listModels(endpoint, 'sk-ant-cli'), ['claude-a', 'claude-b']);

    const recorded = await control<RecordedRequest[]>(started.url, 'requests');
    assert.deepEqual(
      recorded.map((entry) => [entry.method, entry.path.split('?')[0], entry.outcome]),
      [
        ['POST', '/v1/messages', 'completed'],
        ['POST', '/v1/messages', 'completed'],
        ['POST', '/v1/messages', 'completed'],
        ['GET', '/v1/models', 'completed'],
      ],
    );
    assert.equal((recorded[0].body as { model: string }).model, 'claude-a');

    await control(started.url, 'reset', {});
    assert.deepEqual(await control(started.url, 'requests'), []);
  });

  test('a client that hangs up halfway through its body is not a request: nothing recorded, and the fake serves on', async () => {
    const { port } = new URL(started.url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"model":"claude-a",');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(child.exitCode, null, 'the fake is still running');
    assert.deepEqual(await control(started.url, 'requests'), []);
    const endpoint: EndpointConfig = { provider: 'anthropic', model: 'claude-a', baseUrl: started.baseUrl };
    const request = { messages: [{ role: 'user' as const, content: 'hi' }], maxOutputTokens: 16, timeoutMs: 5_000 };
    assert.equal((await drain(providers('anthropic').stream(endpoint, request, 'sk-ant-cli'))).text, 'default words');
  });
});
