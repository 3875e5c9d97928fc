import type { FallbackConfig } from './config';

/** Per-process memory of failing endpoints: after N consecutive failures an endpoint cools down for a while. */
export class EndpointHealth {
  private readonly consecutiveFailures = new Map<string, number>();
  private readonly coolingUntil = new Map<string, number>();

  constructor(
    private readonly settings: () => Pick<FallbackConfig, 'failuresBeforeCooldown' | 'cooldownMs'>,
    private readonly now: () => number = Date.now,
  ) {}

  recordFailure(endpointId: string): void {
    const failures = (this.consecutiveFailures.get(endpointId) ?? 0) + 1;
    this.consecutiveFailures.set(endpointId, failures);
    const { failuresBeforeCooldown, cooldownMs } = this.settings();
    if (failures >= failuresBeforeCooldown) this.coolingUntil.set(endpointId, this.now() + cooldownMs);
  }

  recordSuccess(endpointId: string): void {
    this.consecutiveFailures.delete(endpointId);
    this.coolingUntil.delete(endpointId);
  }

  /** Endpoints to skip right now. */
  coolingDown(): ReadonlySet<string> {
    if (this.coolingUntil.size === 0) return NONE_COOLING;
    const now = this.now();
    const cooling = new Set<string>();
    for (const [id, until] of this.coolingUntil) {
      if (until > now) cooling.add(id);
      else this.coolingUntil.delete(id);
    }
    return cooling;
  }
}

const NONE_COOLING: ReadonlySet<string> = new Set();
