import type { KeyResolver } from '../providers/types';
import type { EndpointConfig } from '../router/config';

/** Long enough to keep key lookups off the hot path, short enough that a changed key applies within seconds. */
export const DEFAULT_KEY_CACHE_MS = 10_000;

/**
 * Upstream keys, asked of the host's resolver once per key name and reused for a few seconds: every agent turn
 * needs one, and in the extension each lookup crosses to VS Code's secret storage. A missing key is not cached,
 * so a key set after a refusal works on the next request. Keys live only in this process's memory.
 */
export class KeyCache {
  private readonly entries = new Map<string, { key: string; until: number }>();

  constructor(
    private readonly resolver: KeyResolver,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key when it was looked up in the last few seconds. */
  cached(endpoint: EndpointConfig): string | undefined {
    const entry = this.entries.get(cacheId(endpoint));
    return entry && entry.until > this.now() ? entry.key : undefined;
  }

  async get(endpoint: EndpointConfig): Promise<string | undefined> {
    const cached = this.cached(endpoint);
    if (cached) return cached;
    const id = cacheId(endpoint);
    const key = await this.resolver(endpoint);
    if (key) this.entries.set(id, { key, until: this.now() + this.ttlMs });
    else this.entries.delete(id);
    return key;
  }
}

const cacheId = (endpoint: EndpointConfig) => `${endpoint.provider}\u0000${endpoint.apiKeyEnv ?? ''}`;
