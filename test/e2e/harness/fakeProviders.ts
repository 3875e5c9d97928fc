// Loopback servers speaking the Ollama, OpenAI and Anthropic wire formats, wired into Tierwise's user settings
// so the installed extension routes its tiers to them. They run in the test process; the extension host reaches
// them over loopback HTTP exactly as it would reach the real providers.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic';
import { startFakeOllama, type FakeOllama } from '../../fakes/ollama';
import { startFakeOpenAI, type FakeOpenAI } from '../../fakes/openai';
import type { VSCodeSession } from './vscode';

/** Models the fakes stand in for, and their prices (USD per million tokens) as given to Tierwise. */
export const E2E_MODELS = {
  local: 'qwen2.5-coder:7b',
  mid: 'gpt-5-mini',
  frontier: 'claude-sonnet-4-5',
} as const;

export const E2E_PRICES = {
  [E2E_MODELS.mid]: { inputPerMTokUsd: 0.25, outputPerMTokUsd: 2, cacheReadPerMTokUsd: 0.025, cacheWrite5mPerMTokUsd: 0.25 },
  [E2E_MODELS.frontier]: { inputPerMTokUsd: 3, outputPerMTokUsd: 15, cacheReadPerMTokUsd: 0.3, cacheWrite5mPerMTokUsd: 3.75, cacheWrite1hPerMTokUsd: 6 },
} as const;

export interface FakeProviderSet {
  ollama: FakeOllama;
  openai: FakeOpenAI;
  anthropic: FakeAnthropic;
  /** A throw-away ledger folder (the extension's `tierwise.ledgerDirectory`). */
  ledgerDir: string;
  /** User settings routing local → fake Ollama, mid → fake OpenAI, frontier → fake Anthropic, plus `extra`. */
  settings(extra?: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startFakeProviders(): Promise<FakeProviderSet> {
  const ollama = await startFakeOllama({ models: [E2E_MODELS.local] });
  const openai = await startFakeOpenAI({ models: [E2E_MODELS.mid] });
  const anthropic = await startFakeAnthropic({ models: [E2E_MODELS.frontier] });
  const ledgerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tierwise-e2e-ledger-'));
  return {
    ollama,
    openai,
    anthropic,
    ledgerDir,
    settings: (extra = {}) => ({
      'tierwise.ledgerDirectory': ledgerDir,
      'tierwise.tiers': {
        local: { endpoints: [{ provider: 'ollama', model: E2E_MODELS.local, baseUrl: ollama.baseUrl, contextWindowTokens: 32768, numCtx: 8192, maxOutputTokens: 512 }] },
        // Loopback URLs count as free local servers unless told otherwise; these stand in for paid APIs.
        mid: { endpoints: [{ provider: 'openai', model: E2E_MODELS.mid, baseUrl: openai.baseUrl, local: false, contextWindowTokens: 400000, maxOutputTokens: 2048 }] },
        frontier: { endpoints: [{ provider: 'anthropic', model: E2E_MODELS.frontier, baseUrl: anthropic.baseUrl, local: false, contextWindowTokens: 200000, maxOutputTokens: 4096 }] },
      },
      'tierwise.prices': E2E_PRICES,
      ...extra,
    }),
    close: async () => {
      await Promise.all([ollama.close(), openai.close(), anthropic.close()]);
      fs.rmSync(ledgerDir, { recursive: true, force: true });
    },
  };
}

/** Runs "Tierwise: Set API Key…" as a user would: pick the key name, type the key into the masked box. */
export async function setApiKeyThroughUi(session: VSCodeSession, name: string, value: string): Promise<void> {
  await session.runCommand('Tierwise: Set API Key…');
  const row = session.quickPickRow(name);
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await row.click();
  const input = session.quickInputBox();
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(value);
  await session.page.keyboard.press('Enter');
  await session.page.locator('.notification-toast', { hasText: `${name} saved` }).first().waitFor({ state: 'visible', timeout: 15_000 });
}

/** Reads every record of every month file in a ledger folder (as a test would audit it). */
export function readLedgerRecords(ledgerDir: string): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const file of fs.readdirSync(ledgerDir).filter((name) => name.endsWith('.jsonl'))) {
    for (const line of fs.readFileSync(path.join(ledgerDir, file), 'utf8').split('\n')) {
      if (line.trim()) records.push(JSON.parse(line));
    }
  }
  return records;
}
