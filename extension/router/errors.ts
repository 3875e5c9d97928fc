import type { ProviderError } from '../providers/types';
import type { TierName } from './tiers';

/** Every endpoint of a tier failed (rate limits, server errors, network, timeouts) and no other tier may take over. */
export class TierExhaustedError extends Error {
  override readonly name = 'TierExhaustedError';
  constructor(
    readonly tier: TierName,
    readonly failures: ProviderError[],
  ) {
    super(
      failures.length
        ? `All ${tier} endpoints failed: ${failures.map((failure) => `${failure.provider} ${failure.model}: ${failure.message}`).join('; ')}`
        : `No ${tier} endpoint is available (all cooling down or too small for the prompt).`,
    );
  }
}

/** No tier has an endpoint that can take the request (configuration or context size). */
export class NoEndpointError extends Error {
  override readonly name = 'NoEndpointError';
}

/** The user declined a call that would cross a cap (policy `ask`). */
export class OverCapDeclinedError extends Error {
  override readonly name = 'OverCapDeclinedError';
}
