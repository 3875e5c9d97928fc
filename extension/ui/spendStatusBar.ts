import * as vscode from 'vscode';
import { DisposableOwner } from '../lifecycle';
import { capUsages, worstLevel, type CapUsage } from '../router/budget';
import type { BudgetConfig } from '../router/config';
import type { SpendTotals } from '../router/ledger/records';
import { TIER_ORDER } from '../router/tiers';

const usd = (amount: number) => `$${amount.toFixed(2)}`;

/** The meter's text: today's spend, against the daily cap when one is set. */
export function meterText(totals: SpendTotals, budgets: BudgetConfig): string {
  const today = usd(totals.today.costUsd);
  return typeof budgets.dailyUsd === 'number' ? `$(pulse) ${today} / ${usd(budgets.dailyUsd)}` : `$(pulse) ${today} today`;
}

const CLIENT_NAMES: Record<string, string> = { editor: 'Editor', cli: 'CLI', 'claude-code': 'Claude Code', codex: 'Codex', other: 'Other agents' };

/** Spend by who made the call, once anything but the editor has spent (the gateway's agents, the CLI). */
function clientLines(totals: SpendTotals): string[] {
  const clients = Object.entries(totals.monthByClient).sort(([, a], [, b]) => b.costUsd - a.costUsd);
  if (clients.length === 0 || (clients.length === 1 && clients[0][0] === 'editor')) return [];
  return ['', '| Client | This month | Calls |', '|:--|--:|--:|', ...clients.map(([client, bucket]) => `| ${CLIENT_NAMES[client] ?? client} | ${usd(bucket.costUsd)} | ${bucket.calls} |`)];
}

function capLine(usage: CapUsage): string {
  const state = usage.level === 'exceeded' ? ' — **cap reached**' : usage.level === 'warning' ? ' — nearing the cap' : '';
  return `${usage.cap === 'daily' ? 'Daily' : 'Monthly'} cap: ${usd(usage.spentUsd)} of ${usd(usage.capUsd)} (${Math.floor(usage.percent)}%)${state}`;
}

/** The meter's Markdown tooltip: month total, spend by tier, savings versus frontier-only, cap state. */
export function meterTooltip(totals: SpendTotals, budgets: BudgetConfig): string {
  const lines = [
    `**Tierwise** — today ${usd(totals.today.costUsd)}, this month ${usd(totals.thisMonth.costUsd)} (${totals.thisMonth.calls} calls)`,
    '',
    '| Tier | Today | This month |',
    '|:--|--:|--:|',
    ...TIER_ORDER.map((tier) => `| ${tier} | ${usd(totals.todayByTier[tier].costUsd)} | ${usd(totals.monthByTier[tier].costUsd)} |`),
    ...clientLines(totals),
    '',
    `Saved versus frontier-only this month: ${usd(Math.max(0, totals.thisMonth.frontierCostUsd - totals.thisMonth.costUsd))}`,
  ];
  const usages = capUsages(totals, budgets);
  if (usages.length === 0) lines.push('', 'No caps set (`tierwise.budgets.dailyUsd`, `tierwise.budgets.monthlyUsd`).');
  else lines.push('', ...usages.map(capLine));
  if (totals.thisMonth.unpricedCalls > 0) lines.push('', `${totals.thisMonth.unpricedCalls} unpriced calls counted at the fallback price.`);
  lines.push('', 'Click to open Spend & Routing.');
  return lines.join('\n');
}

/** The `tierwise.spend` status-bar meter. Warning colour from the soft threshold, error colour at a cap. */
export class SpendStatusBar extends DisposableOwner {
  static readonly itemId = 'tierwise.spend';
  private readonly item: vscode.StatusBarItem;

  constructor(openViewCommand: string) {
    super();
    this.item = this.register(vscode.window.createStatusBarItem(SpendStatusBar.itemId, vscode.StatusBarAlignment.Right, 100));
    this.item.name = 'Tierwise Spend';
    this.item.command = openViewCommand;
  }

  show(totals: SpendTotals, budgets: BudgetConfig): void {
    this.item.text = meterText(totals, budgets);
    const tooltip = new vscode.MarkdownString(meterTooltip(totals, budgets));
    tooltip.supportThemeIcons = true;
    this.item.tooltip = tooltip;
    const level = worstLevel(capUsages(totals, budgets));
    this.item.backgroundColor =
      level === 'exceeded'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : level === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    this.item.accessibilityInformation = { label: `Tierwise spend today ${usd(totals.today.costUsd)}` };
    this.item.show();
  }
}
