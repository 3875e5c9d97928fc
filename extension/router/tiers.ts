/** The three tiers, cheapest first. Order matters: escalation walks up, downgrade walks down. */
export const TIER_ORDER = ['local', 'mid', 'frontier'] as const;
export type TierName = (typeof TIER_ORDER)[number];

export function isTierName(value: unknown): value is TierName {
  return typeof value === 'string' && (TIER_ORDER as readonly string[]).includes(value);
}

/** The next tier up (for escalation), or undefined at the top. */
export function tierAbove(tier: TierName): TierName | undefined {
  return TIER_ORDER[TIER_ORDER.indexOf(tier) + 1];
}

/** The next cheaper tier (for downgrades), or undefined at the bottom. */
export function tierBelow(tier: TierName): TierName | undefined {
  const index = TIER_ORDER.indexOf(tier);
  return index > 0 ? TIER_ORDER[index - 1] : undefined;
}

/** Task kinds the editor knows today; the routes table stays open to others (the gateway adds agent.*). */
export const BUILT_IN_TASK_KINDS = [
  'commitMessage',
  'explainDiagnostic',
  'findFiles',
  'refactor',
  'plan',
  'planStep',
  'ask',
] as const;
export type BuiltInTaskKind = (typeof BUILT_IN_TASK_KINDS)[number];
export type TaskKind = BuiltInTaskKind | (string & {});
