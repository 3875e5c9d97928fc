import { capUsages } from '../router/budget';
import { endpointId, type ProviderKind, type TierwiseConfig } from '../router/config';
import { RECENT_RECORDS_CAPACITY } from '../router/ledger/aggregate';
import type { Ledger } from '../router/ledger/ledger';
import type { SpendBucket } from '../router/ledger/records';
import { probeEndpoints } from '../router/providerStatus';
import { TIER_ORDER } from '../router/tiers';
import type { KeyResolver, ProviderAdapter } from '../providers/types';
import type { EndpointStatusView, ProviderStatusView, SettingEdit, SettingEditResult, SpendViewState } from '../../webview/protocol';
import type { TierwiseSettings } from './settings';
import { endpointStatusView, endpointsSignature, lastDays, monthsOfDays, requestRows, routingView, spendSummary } from './spendPanelModel';
import { configValueAt, planSettingWrite, sameJsonValue, settingName } from './spendPanelSettings';

/** A provider check younger than this is shown again instead of asking every endpoint once more. */
export const PROVIDER_STATUS_TTL_MS = 30_000;
/** How long an edit waits for VS Code to apply the written setting before checking what took effect. */
const SETTING_APPLY_TIMEOUT_MS = 2_000;
const SETTING_APPLY_POLL_MS = 50;

export interface SpendPanelDeps {
  ledger: Ledger;
  settings: TierwiseSettings;
  providers: (kind: ProviderKind) => ProviderAdapter;
  keys: KeyResolver;
  version: string;
  /** Clock, epoch ms (tests). */
  now?: () => number;
  /** How long an edit waits for the written setting to take effect (tests shorten it). */
  settingApplyTimeoutMs?: number;
}

interface ProviderCheck {
  signature: string;
  checkedAt: number;
  endpoints: EndpointStatusView[];
}

/**
 * Everything the Spend & Routing panel shows and changes: spend from the ledger, routing and caps from the
 * settings, endpoint status from the providers (cached), and setting writes from the routing editor.
 */
export class SpendPanelSource {
  private lastCheck: ProviderCheck | undefined;
  private runningCheck: { signature: string; result: Promise<ProviderStatusView> } | undefined;
  /** Numbers checks, so one that finishes after a newer one started (the endpoints changed) is not kept. */
  private checkGeneration = 0;
  private readonly now: () => number;

  constructor(private readonly deps: SpendPanelDeps) {
    this.now = deps.now ?? Date.now;
  }

  state(): SpendViewState {
    const { ledger, settings } = this.deps;
    const config = settings.config;
    const totals = ledger.totals();
    return {
      extensionVersion: this.deps.version,
      spend: spendSummary(totals, capUsages(totals, config.budgets), this.chartDays(totals.day, totals.monthByDay)),
      decisions: requestRows(ledger.recentCalls(RECENT_RECORDS_CAPACITY), ledger.recentDecisions(RECENT_RECORDS_CAPACITY)),
      routing: routingView(config),
    };
  }

  /** The last check as it stands (possibly none yet, or for endpoints since changed), without asking anyone. */
  currentProviderStatus(): ProviderStatusView {
    return {
      ...(this.lastCheck ? { checkedAt: this.lastCheck.checkedAt, endpoints: this.lastCheck.endpoints } : { endpoints: [] }),
      checking: this.runningCheck !== undefined,
    };
  }

  /** Whether the last check is missing, older than the TTL, or for other endpoints than those configured now. */
  providerStatusIsStale(): boolean {
    const check = this.lastCheck;
    return !check || check.signature !== endpointsSignature(this.deps.settings.config) || this.now() - check.checkedAt >= PROVIDER_STATUS_TTL_MS;
  }

  /** Whether the endpoints changed since the last check (a settings edit): worth checking again right away. */
  endpointsChangedSinceCheck(): boolean {
    return this.lastCheck !== undefined && this.lastCheck.signature !== endpointsSignature(this.deps.settings.config);
  }

  /**
   * Asks every configured endpoint for its models: reachable or not, what a local server has, whether a key is
   * stored. A fresh cached answer is reused unless `force`; concurrent callers share one check.
   */
  providerStatus(options: { force?: boolean } = {}): Promise<ProviderStatusView> {
    const config = this.deps.settings.config;
    const signature = endpointsSignature(config);
    if (!options.force && !this.providerStatusIsStale()) return Promise.resolve(this.currentProviderStatus());
    if (this.runningCheck?.signature === signature) return this.runningCheck.result;
    const result = this.check(config, signature).finally(() => {
      if (this.runningCheck?.result === result) this.runningCheck = undefined;
    });
    this.runningCheck = { signature, result };
    return result;
  }

  /** Writes the setting an edit amounts to (user settings, as the Settings UI does) and confirms it took effect. */
  async applyEdit(edit: SettingEdit): Promise<SettingEditResult> {
    const { settings } = this.deps;
    const plan = planSettingWrite(edit, settings.config);
    if (!plan.ok) return plan;
    const { key, value } = plan.write;
    const name = settingName(key);
    try {
      await settings.update(key, value);
    } catch (error) {
      return { ok: false, error: `Could not write ${name}: ${(error as Error).message}` };
    }
    if (await this.settingTakesEffect(key, value)) return { ok: true, setting: name };
    return {
      ok: false,
      error: `${name} was saved in your user settings, but a workspace or folder setting overrides it. Change it there (.vscode/settings.json) or remove it.`,
    };
  }

  private async settingTakesEffect(key: string, value: unknown): Promise<boolean> {
    const deadline = Date.now() + (this.deps.settingApplyTimeoutMs ?? SETTING_APPLY_TIMEOUT_MS);
    for (;;) {
      if (sameJsonValue(configValueAt(this.deps.settings.config, key), value)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, SETTING_APPLY_POLL_MS));
    }
  }

  private async check(config: TierwiseConfig, signature: string): Promise<ProviderStatusView> {
    const generation = ++this.checkGeneration;
    const byId = new Map(TIER_ORDER.flatMap((tier) => config.tiers[tier].endpoints.map((endpoint) => [`${tier}|${endpointId(endpoint)}`, endpoint] as const)));
    const statuses = await probeEndpoints(config, this.deps.providers, this.deps.keys);
    const check: ProviderCheck = {
      signature,
      checkedAt: this.now(),
      endpoints: statuses.map((status) => endpointStatusView(status, byId.get(`${status.tier}|${status.endpointId}`))),
    };
    if (generation === this.checkGeneration) this.lastCheck = check;
    return { checkedAt: check.checkedAt, endpoints: check.endpoints, checking: false };
  }

  /** Spend per day for the chart's days: this month's from the totals, earlier months' from their files. */
  private chartDays(today: string, monthByDay: Record<string, SpendBucket>): Record<string, SpendBucket> {
    const { ledger } = this.deps;
    const currentMonth = today.slice(0, 7);
    const earlierMonths = monthsOfDays(lastDays(today)).filter((month) => month !== currentMonth);
    if (earlierMonths.length === 0) return monthByDay;
    const stored = new Set(ledger.months());
    const byDay: Record<string, SpendBucket> = {};
    for (const month of earlierMonths) {
      if (!stored.has(month)) continue;
      try {
        Object.assign(byDay, ledger.monthTotals(month).monthByDay);
      } catch {
        // An unreadable past month leaves its days empty rather than breaking the panel.
      }
    }
    return Object.assign(byDay, monthByDay);
  }
}
