import { endpointBaseUrl, endpointId, isLocalEndpoint, type EndpointConfig, type TierwiseConfig } from './config';
import { TIER_ORDER, type TierName } from './tiers';
import type { KeyResolver, ProviderAdapter } from '../providers/types';
import type { ProviderKind } from './config';

export interface EndpointStatus {
  tier: TierName;
  endpointId: string;
  provider: ProviderKind;
  model: string;
  baseUrl: string;
  local: boolean;
  reachable: boolean;
  /** Models the server lists (local servers: what is pulled); undefined when unreachable. */
  models?: string[];
  /** Whether the configured model is among them (undefined when the list is unknown). */
  modelAvailable?: boolean;
  /** Why it is not reachable, already safe to show (no key). */
  error?: string;
  hasKey: boolean;
}

/** Asks every configured endpoint for its model list: reachability and, for local servers, what is installed. */
export async function probeEndpoints(
  config: TierwiseConfig,
  providers: (kind: ProviderKind) => ProviderAdapter,
  keys: KeyResolver,
  options: { tiers?: TierName[]; signal?: AbortSignal } = {},
): Promise<EndpointStatus[]> {
  const endpoints: { tier: TierName; endpoint: EndpointConfig }[] = [];
  for (const tier of options.tiers ?? TIER_ORDER) for (const endpoint of config.tiers[tier].endpoints) endpoints.push({ tier, endpoint });
  return Promise.all(
    endpoints.map(async ({ tier, endpoint }): Promise<EndpointStatus> => {
      const base = {
        tier,
        endpointId: endpointId(endpoint),
        provider: endpoint.provider,
        model: endpoint.model,
        baseUrl: endpointBaseUrl(endpoint),
        local: isLocalEndpoint(endpoint),
      };
      let apiKey: string | undefined;
      try {
        apiKey = await keys(endpoint);
        const models = await providers(endpoint.provider).listModels(endpoint, apiKey, options.signal);
        return { ...base, reachable: true, models, modelAvailable: models.includes(endpoint.model), hasKey: apiKey !== undefined };
      } catch (error) {
        return { ...base, reachable: false, error: (error as Error).message, hasKey: apiKey !== undefined };
      }
    }),
  );
}
