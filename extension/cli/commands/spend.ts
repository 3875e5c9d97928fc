import { formatUsd } from '../../router/money';
import type { BudgetConfig } from '../../router/config';
import { capUsages } from '../../router/budget';
import type { SpendBucket, SpendTotals } from '../../router/ledger/records';
import { TIER_ORDER } from '../../router/tiers';

const usd = formatUsd;
const bucketLine = (bucket: SpendBucket) =>
  `${usd(bucket.costUsd).padStart(10)}  ${String(bucket.calls).padStart(5)} calls  ${bucket.inputTokens} in / ${bucket.outputTokens} out` +
  (bucket.unpricedCalls ? `  (${bucket.unpricedCalls} unpriced, counted at the fallback price)` : '');

/** Spend summary: totals, savings versus frontier-only and cap state. */
export function spendReport(totals: SpendTotals, budgets: BudgetConfig) {
  return {
    day: totals.day,
    month: totals.month,
    today: totals.today,
    thisMonth: totals.thisMonth,
    todayByTier: totals.todayByTier,
    monthByTier: totals.monthByTier,
    monthByModel: totals.monthByModel,
    monthByClient: totals.monthByClient,
    monthByDay: totals.monthByDay,
    openReservedUsd: totals.openReservedUsd,
    savings: {
      todayUsd: totals.today.frontierCostUsd - totals.today.costUsd,
      thisMonthUsd: totals.thisMonth.frontierCostUsd - totals.thisMonth.costUsd,
      frontierOnlyThisMonthUsd: totals.thisMonth.frontierCostUsd,
    },
    caps: capUsages(totals, budgets),
  };
}

export function formatSpend(totals: SpendTotals, budgets: BudgetConfig): string {
  const report = spendReport(totals, budgets);
  const lines = [`Today (${totals.day}):`.padEnd(24) + bucketLine(totals.today), `This month (${totals.month}):`.padEnd(24) + bucketLine(totals.thisMonth)];
  for (const cap of report.caps) {
    lines.push(`  ${cap.cap} cap ${usd(cap.capUsd)}: ${cap.percent.toFixed(0)}% used${cap.level === 'ok' ? '' : ` (${cap.level})`}`);
  }
  if (totals.openReservedUsd > 0) lines.push(`  ${usd(totals.openReservedUsd)} reserved by calls in progress`);
  lines.push('', 'By tier (today | this month):');
  for (const tier of TIER_ORDER) {
    lines.push(`  ${tier.padEnd(9)}${usd(totals.todayByTier[tier].costUsd).padStart(10)} |${bucketLine(totals.monthByTier[tier])}`);
  }
  const models = Object.entries(totals.monthByModel).sort(([, a], [, b]) => b.costUsd - a.costUsd);
  lines.push('', 'By model (this month):');
  if (models.length === 0) lines.push('  (no calls yet)');
  for (const [model, bucket] of models) lines.push(`  ${model.padEnd(34)}${bucketLine(bucket)}`);
  const clients = Object.entries(totals.monthByClient).sort(([, a], [, b]) => b.costUsd - a.costUsd);
  if (clients.length > 0) {
    lines.push('', 'By client (this month):');
    for (const [client, bucket] of clients) lines.push(`  ${client.padEnd(34)}${bucketLine(bucket)}`);
  }
  lines.push(
    '',
    `Savings versus frontier-only: ${usd(report.savings.thisMonthUsd)} this month ` +
      `(frontier-only would have cost ${usd(report.savings.frontierOnlyThisMonthUsd)}), ${usd(report.savings.todayUsd)} today`,
  );
  return `${lines.join('\n')}\n`;
}
