/**
 * Starts one fake provider in its own process, for tests that drive a real VS Code:
 *   node --import tsx test/fakes/cli.ts <ollama|openai|anthropic> [--port N] [--models a,b] [--text "default answer"]
 * Prints one JSON line {"provider","url","baseUrl","pid"} once listening; script it through /__fake/* (see server.ts).
 * Stops on SIGTERM, SIGINT, or when its stdin pipe closes (the parent test process died).
 */
import { fstatSync } from 'node:fs';
import { startFakeAnthropic } from './anthropic';
import { startFakeOllama } from './ollama';
import { startFakeOpenAI } from './openai';
import type { FakeServerOptions } from './server';

const STARTERS = {
  ollama: startFakeOllama,
  openai: startFakeOpenAI,
  anthropic: startFakeAnthropic,
} as const;

type FakeName = keyof typeof STARTERS;

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

async function main(args: string[]): Promise<void> {
  const [name] = args;
  if (!name || !(name in STARTERS)) {
    process.stderr.write(`usage: cli.ts <${Object.keys(STARTERS).join('|')}> [--port N] [--models a,b] [--text T]\n`);
    process.exitCode = 2;
    return;
  }
  const text = option(args, 'text');
  const options: FakeServerOptions<never> = {
    port: Number(option(args, 'port') ?? 0),
    models: option(args, 'models')?.split(',').filter(Boolean),
    ...(text !== undefined && { defaultReply: { type: 'answer', text } }),
  };
  const fake = await STARTERS[name as FakeName](options);
  process.stdout.write(`${JSON.stringify({ provider: fake.provider, url: fake.url, baseUrl: fake.baseUrl, pid: process.pid })}\n`);

  const stop = (): void => void fake.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Only a pipe means a parent is holding it; /dev/null or a closed stdin would end at once.
  const stdin = fstatSync(0);
  if (stdin.isFIFO() || stdin.isSocket()) {
    process.stdin.once('end', stop);
    process.stdin.resume();
  }
}

void main(process.argv.slice(2));
