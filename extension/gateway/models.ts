import type { TierwiseConfig } from '../router/config';
import { TIER_ORDER } from '../router/tiers';
import { detectClient, type RequestHeaders } from './classify';
import { MODEL_ALIASES } from './route';

/** Stable `created` for listings (the gateway has no model ages); 2025-01-01. */
const LISTED_CREATED_AT_S = 1_735_689_600;

/**
 * GET /v1/models: every model configured in a tier, then the aliases a client can ask for (`tierwise-auto` lets the
 * gateway choose; `tierwise-mid` pins a tier). Anthropic's list format for Anthropic clients, OpenAI's otherwise.
 */
export function modelsListing(config: TierwiseConfig, headers: RequestHeaders): Record<string, unknown> {
  const ids = [...new Set([...TIER_ORDER.flatMap((tier) => config.tiers[tier].endpoints.map((endpoint) => endpoint.model)), ...Object.keys(MODEL_ALIASES)])];
  if (headers['anthropic-version'] !== undefined || detectClient(headers) === 'claude-code') {
    const createdAt = new Date(LISTED_CREATED_AT_S * 1000).toISOString();
    return {
      data: ids.map((id) => ({ type: 'model', id, display_name: id, created_at: createdAt })),
      has_more: false,
      first_id: ids[0] ?? null,
      last_id: ids.at(-1) ?? null,
    };
  }
  return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: LISTED_CREATED_AT_S, owned_by: 'tierwise' })) };
}
