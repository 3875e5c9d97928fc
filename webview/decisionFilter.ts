// The recent-decisions filter. No DOM: the unit tests run it in plain Node.
import type { DecisionRow, TierName } from './protocol';

export interface DecisionFilter {
  /** Words that must all appear (any case) in the task, model, tier, reason, client or attempt notes. */
  text: string;
  tier: TierName | 'all';
}

export const NO_FILTER: DecisionFilter = { text: '', tier: 'all' };

export function isFiltering(filter: DecisionFilter): boolean {
  return filter.text.trim() !== '' || filter.tier !== 'all';
}

/** The rows the filter keeps, in their order. */
export function filterDecisions(rows: readonly DecisionRow[], filter: DecisionFilter): DecisionRow[] {
  const words = filter.text.toLowerCase().split(/\s+/).filter(Boolean);
  return rows.filter((row) => {
    if (filter.tier !== 'all' && row.tier !== filter.tier) return false;
    if (words.length === 0) return true;
    const haystack = [row.task, row.model, row.provider, row.tier, row.reason, row.client, ...row.attemptNotes].join('\n').toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}
