import type { TierwiseConfig } from '../config';
import { outputTokensFor, routeTierFor } from '../decide';
import type { TaskKind } from '../tiers';

/** When the endpoint states no context size at all (Ollama's own default is smaller still). */
export const UNKNOWN_CONTEXT_TOKENS = 8192;
/**
 * Share of the free context a prompt may fill. Estimates already err high, but the router corrects them upward per
 * model as it learns the model's tokenizer; the margin keeps a condensed prompt on the endpoint it was sized for.
 */
export const PROMPT_CONTEXT_SHARE = 0.85;

/**
 * Tokens a prompt for `task` may take on the first endpoint of the tier it routes to: the smaller of its
 * `contextWindowTokens` and (Ollama) `numCtx`, minus the output the call reserves, times the margin.
 */
export function promptBudgetTokens(config: TierwiseConfig, task: TaskKind, maxOutputTokens: number): number {
  const { tier } = routeTierFor(task, config);
  const endpoint = config.tiers[tier]?.endpoints[0];
  if (!endpoint) return Math.floor((UNKNOWN_CONTEXT_TOKENS - maxOutputTokens) * PROMPT_CONTEXT_SHARE);
  const limits = [endpoint.contextWindowTokens, endpoint.provider === 'ollama' ? endpoint.numCtx : undefined].filter(
    (limit): limit is number => typeof limit === 'number' && limit > 0,
  );
  const context = limits.length > 0 ? Math.min(...limits) : UNKNOWN_CONTEXT_TOKENS;
  const output = outputTokensFor({ task, messages: [], maxOutputTokens }, endpoint);
  return Math.max(0, Math.floor((context - output) * PROMPT_CONTEXT_SHARE));
}
