/**
 * One appender process of `benchAppendRate`: `appendBenchChild --dir DIR --tag TAG (--records N | --seconds S)`.
 * Prints `ready`, waits for a line on stdin so every process starts together, appends call records through the
 * real Ledger, then prints one JSON line with what it did.
 */
import { createInterface } from 'node:readline';
import { benchCallRecord, type AppendBenchChildResult } from './bench';
import { Ledger } from './ledger';

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

async function main(args: string[]): Promise<void> {
  const dir = option(args, 'dir');
  const tag = option(args, 'tag') ?? `p${process.pid}`;
  const records = Number(option(args, 'records') ?? 'NaN');
  const seconds = Number(option(args, 'seconds') ?? 'NaN');
  if (!dir || (!(records > 0) && !(seconds > 0))) {
    process.stderr.write('usage: appendBenchChild --dir DIR --tag TAG (--records N | --seconds S)\n');
    process.exit(2);
  }
  const ledger = new Ledger({ dir });
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
  lines.close();

  const startedAt = Date.now();
  const stopAt = seconds > 0 ? startedAt + seconds * 1000 : Infinity;
  let appended = 0;
  while (records > 0 ? appended < records : Date.now() < stopAt) {
    ledger.append(benchCallRecord(tag, appended, Date.now()));
    appended++;
  }
  const result: AppendBenchChildResult = { tag, appended, startedAt, endedAt: Date.now() };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  ledger.close();
}

void main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
