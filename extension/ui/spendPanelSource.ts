import type { Ledger } from '../router/ledger/ledger';
import type { ProviderKind } from '../router/config';
import type { KeyResolver, ProviderAdapter } from '../providers/types';
import type { SpendViewState } from '../../webview/protocol';
import type { TierwiseSettings } from './settings';

export interface SpendPanelDeps {
  ledger: Ledger;
  settings: TierwiseSettings;
  providers: (kind: ProviderKind) => ProviderAdapter;
  keys: KeyResolver;
  version: string;
}

/** Everything the Spend & Routing panel shows, read from the ledger and settings. (Being extended for the full panel.) */
export class SpendPanelSource {
  constructor(private readonly deps: SpendPanelDeps) {}

  state(): SpendViewState {
    const totals = this.deps.ledger.totals();
    return {
      extensionVersion: this.deps.version,
      todayUsd: totals.today.costUsd,
      monthUsd: totals.thisMonth.costUsd,
      callsThisMonth: totals.thisMonth.calls,
    };
  }
}
