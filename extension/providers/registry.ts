import type { ProviderKind } from '../router/config';
import { AnthropicAdapter } from './anthropic';
import { OllamaAdapter } from './ollama';
import { OpenAICompatibleAdapter } from './openaiCompatible';
import type { ProviderAdapter } from './types';

/** The adapter for a wire protocol (the shape the router's `providers` dependency takes). */
export type ProviderRegistry = (kind: ProviderKind) => ProviderAdapter;

/** The real adapters, with any replaced (tests hand the router scripted adapters this way). */
export function createProviderRegistry(
  replacements: Partial<Record<ProviderKind, ProviderAdapter>> = {},
): ProviderRegistry {
  // A Record, so that a new ProviderKind without an adapter fails to compile.
  const adapters: Readonly<Record<ProviderKind, ProviderAdapter>> = Object.freeze({
    ollama: new OllamaAdapter(),
    openai: new OpenAICompatibleAdapter(),
    anthropic: new AnthropicAdapter(),
    ...replacements,
  });
  return (kind) => adapters[kind];
}
