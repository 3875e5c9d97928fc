/**
 * One of the processes in the router concurrency test:
 *   node --import tsx test/wire/helpers/routerChild.ts --dir LEDGER_DIR --config CONFIG_JSON --calls N --tag T
 *        [--spread-ms MS] [--seed S]
 * Builds a Router over the real adapters with a Ledger on the shared folder, prints `ready`, waits for a line on
 * stdin, then runs its N routed calls concurrently (each started after a random delay within MS) and prints one
 * JSON summary line: how many answered, what they cost, and every failure by error name.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createProviderRegistry } from '../../../extension/providers/registry';
import type { TierwiseConfig } from '../../../extension/router/config';
import { Ledger } from '../../../extension/router/ledger/ledger';
import { Router } from '../../../extension/router/router';
import { testKeys } from './routerFixtures';

export interface RouterChildSummary {
  tag: string;
  pid: number;
  calls: number;
  answered: number;
  answeredCostUsd: number;
  /** Error name → how many calls failed with it. */
  failures: Record<string, number>;
  /** Messages of failures other than BudgetBlockedError, for diagnosing a failing run. */
  unexpected: string[];
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

/** Deterministic pseudo-random numbers (mulberry32), so a run's start times can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(args: string[]): Promise<void> {
  const dir = option(args, 'dir');
  const configPath = option(args, 'config');
  const calls = Number(option(args, 'calls'));
  const tag = option(args, 'tag') ?? `child-${process.pid}`;
  const spreadMs = Number(option(args, 'spread-ms') ?? '0');
  const next = random(Number(option(args, 'seed') ?? '1'));
  if (!dir || !configPath || !Number.isInteger(calls)) throw new Error('routerChild needs --dir, --config and --calls');

  const config = JSON.parse(readFileSync(configPath, 'utf8')) as TierwiseConfig;
  const ledger = new Ledger({ dir });
  const router = new Router({ config: () => config, ledger, providers: createProviderRegistry(), keys: testKeys, client: 'other' });
  const delaysMs = Array.from({ length: calls }, () => next() * spreadMs);

  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.once('line', () => (lines.close(), resolve()));
  });

  const summary: RouterChildSummary = { tag, pid: process.pid, calls, answered: 0, answeredCostUsd: 0, failures: {}, unexpected: [] };
  await Promise.all(
    delaysMs.map(async (delayMs, index) => {
      await sleep(delayMs);
      try {
        const result = await router.run({ task: 'refactor', messages: [{ role: 'user', content: `Rename variable ${tag}-${index}.` }] });
        summary.answered++;
        summary.answeredCostUsd += result.costUsd;
      } catch (error) {
        const name = (error as Error)?.name ?? 'unknown';
        summary.failures[name] = (summary.failures[name] ?? 0) + 1;
        if (name !== 'BudgetBlockedError') summary.unexpected.push(`${name}: ${(error as Error)?.message}`);
      }
    }),
  );
  ledger.close();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
