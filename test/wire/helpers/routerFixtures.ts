/**
 * Shared by the router, concurrency and CLI wire tests: test keys, configs that point every endpoint at a fake with
 * explicit prices, temporary ledger folders, and a reader of the ledger files written independently of the ledger.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyResolver } from '../../../extension/providers/types';
import { DEFAULT_CONFIG, type EndpointConfig, type ModelPrice, type TierwiseConfig } from '../../../extension/router/config';
import type { CallRecord, LedgerRecord, ReserveRecord } from '../../../extension/router/ledger/records';
import type { TierName } from '../../../extension/router/tiers';

/** Keys the fakes should see; long and distinctive so a leak into a file or a log is easy to find. */
export const OPENAI_TEST_KEY = 'sk-test-tierwise-openai-5f0c2a9e7b';
export const ANTHROPIC_TEST_KEY = 'sk-ant-test-tierwise-anthropic-91d4e6c3';

/** The KeyResolver a host would pass: one test key per paid provider, none for Ollama. */
export const testKeys: KeyResolver = async (endpoint) =>
  endpoint.provider === 'openai' ? OPENAI_TEST_KEY : endpoint.provider === 'anthropic' ? ANTHROPIC_TEST_KEY : undefined;

/**
 * Prices the tests compute against (US dollars per million tokens). The fakes listen on 127.0.0.1, which makes
 * every endpoint "local" and free unless priced here, so each paid model has an override.
 */
export const TEST_PRICES = {
  /** Mid, OpenAI wire. A 5-minute cache write costs the input price, so reservations price input at 2. */
  'gpt-test-mid': { inputPerMTokUsd: 2, outputPerMTokUsd: 8, cacheReadPerMTokUsd: 0.5, cacheWrite5mPerMTokUsd: 2, cacheWrite1hPerMTokUsd: 2 },
  /** Mid, Anthropic wire, with Anthropic's cache multipliers: reservations price input at 3.75. */
  'claude-test-mid': { inputPerMTokUsd: 3, outputPerMTokUsd: 15, cacheReadPerMTokUsd: 0.3, cacheWrite5mPerMTokUsd: 3.75, cacheWrite1hPerMTokUsd: 6 },
  /** Frontier and the savings reference. */
  'claude-test-frontier': { inputPerMTokUsd: 15, outputPerMTokUsd: 75, cacheReadPerMTokUsd: 1.5, cacheWrite5mPerMTokUsd: 18.75, cacheWrite1hPerMTokUsd: 30 },
} satisfies Record<string, ModelPrice>;

export const LOCAL_TEST_MODEL = 'qwen-test:7b';

/** A config with the given endpoints per tier (a tier left out has none), test prices, and `overrides` on top. */
export function routerConfig(
  tiers: Partial<Record<TierName, EndpointConfig[]>>,
  overrides: Partial<Omit<TierwiseConfig, 'budgets' | 'fallback'>> & {
    budgets?: Partial<TierwiseConfig['budgets']>;
    fallback?: Partial<TierwiseConfig['fallback']>;
  } = {},
): TierwiseConfig {
  const defaults = structuredClone(DEFAULT_CONFIG);
  return {
    ...defaults,
    savingsReference: { provider: 'anthropic', model: 'claude-test-frontier' },
    requestTimeoutMs: 10_000,
    ...overrides,
    tiers: { local: { endpoints: tiers.local ?? [] }, mid: { endpoints: tiers.mid ?? [] }, frontier: { endpoints: tiers.frontier ?? [] } },
    prices: { ...TEST_PRICES, ...overrides.prices },
    budgets: { ...defaults.budgets, ...overrides.budgets },
    fallback: { ...defaults.fallback, ...overrides.fallback },
  };
}

/** Rounds to nano-dollars, as the ledger stores amounts; for hand-computed figures built from estimates. */
export const nanoUsd = (amountUsd: number): number => Math.round(amountUsd * 1e9) / 1e9;

/** Temporary folders (never ~/.tierwise), removed together at the end of a test file. */
export class TempDirs {
  private readonly dirs: string[] = [];

  make(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), `tierwise-${prefix}-`));
    this.dirs.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Every record in a ledger folder's month files, parsed line by line without the ledger's own code. */
export function readLedgerRecords(dir: string): LedgerRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => /^\d{4}-\d{2}\.jsonl$/.test(name))
    .sort()
    .flatMap((name) =>
      readFileSync(join(dir, name), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as LedgerRecord),
    );
}

/** The raw bytes of every file in a ledger folder, for checking that no key was written. */
export function ledgerFilesText(dir: string): string {
  return readdirSync(dir)
    .map((name) => readFileSync(join(dir, name), 'utf8'))
    .join('\n');
}

export const callRecordsOf = (records: LedgerRecord[]): CallRecord[] =>
  records.filter((record): record is CallRecord => record.type === 'call');

/** Reservations with neither a call record nor a release naming them. */
export function openReservationsOf(records: LedgerRecord[]): ReserveRecord[] {
  const closed = new Set<string>();
  for (const record of records) {
    if (record.type === 'release') closed.add(record.reservationId);
    if (record.type === 'call' && record.reservationId) closed.add(record.reservationId);
  }
  return records.filter((record): record is ReserveRecord => record.type === 'reserve' && !closed.has(record.reservationId));
}

/** A settled call to seed a ledger with, e.g. spend that already used most of today's cap. */
export function seedCallRecord(costUsd: number, tier: TierName = 'mid', ts = Date.now()): CallRecord {
  return {
    v: 1,
    ts,
    type: 'call',
    requestId: `seed-${ts}`,
    task: 'ask',
    tier,
    provider: 'openai',
    model: 'gpt-test-mid',
    endpointId: 'openai:gpt-test-mid@seed',
    client: 'other',
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    reasoningTokens: 0,
    costUsd,
    unpriced: false,
    frontierCostUsd: costUsd,
    latencyMs: 1,
    outcome: 'ok',
  };
}
