import { endpointBaseUrl, type EndpointConfig, type ProviderKind } from '../router/config';

/** The wire formats agent clients speak to the gateway. */
export const INGRESS_PROTOCOLS = ['anthropic', 'openaiChat', 'openaiResponses'] as const;
export type IngressProtocol = (typeof INGRESS_PROTOCOLS)[number];

/** What the gateway can send upstream: the ingress formats plus Ollama's native chat. */
export type WireProtocol = IngressProtocol | 'ollama';

/** The provider kind whose servers speak an ingress protocol natively (the "client's model" upstream). */
export const INGRESS_PROVIDER: Record<IngressProtocol, ProviderKind> = {
  anthropic: 'anthropic',
  'openaiChat': 'openai',
  'openaiResponses': 'openai',
};

/** The Anthropic API version sent when the client did not name one. */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

const OPENAI_RESPONSES_HOSTS = new Set(['api.openai.com']);

/**
 * The format an endpoint is spoken to in, for a request that arrived in `ingress`. OpenAI-compatible servers all
 * have Chat Completions; only OpenAI's own API is assumed to have the Responses API, so a Responses request for any
 * other `openai` endpoint is translated to Chat Completions.
 */
export function upstreamProtocolFor(endpoint: EndpointConfig, ingress: IngressProtocol, clientModelRoute = false): WireProtocol {
  switch (endpoint.provider) {
    case 'anthropic':
      return 'anthropic';
    case 'ollama':
      return 'ollama';
    case 'openai':
      if (ingress !== 'openaiResponses') return 'openaiChat';
      // The client's own model on its own kind of server: it chose a Responses upstream, keep it.
      if (clientModelRoute || OPENAI_RESPONSES_HOSTS.has(hostOf(endpointBaseUrl(endpoint)))) return 'openaiResponses';
      return 'openaiChat';
  }
}

const urlCache = new Map<string, URL>();
const URL_CACHE_LIMIT = 256;

/** The upstream URL for a chat call (or Anthropic's count_tokens) in `protocol`; parsed once, shared (do not modify). */
export function upstreamUrl(endpoint: EndpointConfig, protocol: WireProtocol, options: { countTokens?: boolean; query?: string } = {}): URL {
  const id = `${endpointBaseUrl(endpoint)}\u0000${protocol}\u0000${options.countTokens === true}\u0000${options.query ?? ''}`;
  let url = urlCache.get(id);
  if (!url) {
    if (urlCache.size >= URL_CACHE_LIMIT) urlCache.clear();
    url = buildUpstreamUrl(endpoint, protocol, options);
    urlCache.set(id, url);
  }
  return url;
}

function buildUpstreamUrl(endpoint: EndpointConfig, protocol: WireProtocol, options: { countTokens?: boolean; query?: string }): URL {
  const base = endpointBaseUrl(endpoint).replace(/\/+$/, '');
  const path =
    protocol === 'anthropic'
      ? options.countTokens
        ? '/v1/messages/count_tokens'
        : '/v1/messages'
      : protocol === 'openaiChat'
        ? '/chat/completions'
        : protocol === 'openaiResponses'
          ? '/responses'
          : '/api/chat';
  return new URL(`${base}${path}${options.query ?? ''}`);
}

/** The headers that carry `apiKey` to a server of `provider` (none for a keyless local server). */
export function upstreamAuthHeaders(provider: ProviderKind, apiKey: string | undefined): Record<string, string> {
  if (!apiKey) return {};
  return provider === 'anthropic' ? { 'x-api-key': apiKey } : { authorization: `Bearer ${apiKey}` };
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}
