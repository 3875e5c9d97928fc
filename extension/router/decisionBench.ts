import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type TierwiseConfig } from './config';
import { Ledger } from './ledger/ledger';
import { Router } from './router';
import { BUILT_IN_TASK_KINDS } from './tiers';

export interface LatencySummary {
  count: number;
  p50Micros: number;
  p99Micros: number;
  meanMicros: number;
}

export function summarizeMicros(samples: Float64Array | number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const at = (quantile: number) => sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))];
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { count: sorted.length, p50Micros: at(0.5), p99Micros: at(0.99), meanMicros: mean };
}

/**
 * Times `Router.decide` (token estimate, ledger totals, rule, context check, worst-case price, caps) over
 * `count` varied requests against a real ledger in a temporary folder, with a daily cap so the cap path runs.
 */
export function benchDecisions(count = 100_000): LatencySummary & { meanPromptChars: number } {
  const dir = mkdtempSync(join(tmpdir(), 'tierwise-bench-decide-'));
  const config: TierwiseConfig = { ...structuredClone(DEFAULT_CONFIG), budgets: { ...DEFAULT_CONFIG.budgets, dailyUsd: 5, monthlyUsd: 100 } };
  const ledger = new Ledger({ dir });
  try {
    const router = new Router({ config: () => config, ledger, providers: () => { throw new Error('the decision bench calls no provider'); }, keys: async () => undefined, client: 'cli' });
    // Prompts from 30 characters to ~13 KB (a small diagnostic to a large diff); estimating tokens is O(length).
    const prompts = Array.from({ length: 64 }, (_, index) => 'const value = compute(input);\n'.repeat(1 + index * 7));
    const meanPromptChars = prompts.reduce((sum, prompt) => sum + prompt.length, 0) / prompts.length;
    const samples = new Float64Array(count);
    for (let index = 0; index < count; index++) {
      const request = { task: BUILT_IN_TASK_KINDS[index % BUILT_IN_TASK_KINDS.length], messages: [{ role: 'user' as const, content: prompts[index % prompts.length] }] };
      const started = process.hrtime.bigint();
      router.decide(request);
      samples[index] = Number(process.hrtime.bigint() - started) / 1000;
    }
    return { ...summarizeMicros(samples), meanPromptChars };
  } finally {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
