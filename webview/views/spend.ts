// Today's and this month's spend against the caps, savings, the 30-day chart, and the month by tier and model.
import { dailyChart } from '../chart';
import { h } from '../dom';
import { percent, plural, usd } from '../format';
import type { CapMeter, SpendShare, SpendSummary } from '../protocol';

const CAP_LABELS: Record<CapMeter['cap'], { period: string; setting: string }> = {
  daily: { period: 'Today', setting: 'daily' },
  monthly: { period: 'This month', setting: 'monthly' },
};

const LEVEL_TEXT: Record<CapMeter['level'], string> = {
  ok: '',
  warning: 'nearing the cap',
  exceeded: 'cap reached',
};

/** A bar of `fraction` (0–1) width; widths go through the CSSOM, which the CSP allows (style attributes it does not). */
function bar(fraction: number, className: string): HTMLElement {
  const fill = h('div', { class: `bar-fill ${className}` });
  fill.style.width = `${Math.min(100, Math.max(0, fraction * 100))}%`;
  return h('div', { class: 'bar-track', 'aria-hidden': 'true' }, fill);
}

function spendFigure(cap: CapMeter['cap'], amountUsd: number, calls: number, meter: CapMeter | undefined): HTMLElement {
  const { period, setting } = CAP_LABELS[cap];
  const testId = cap === 'daily' ? 'today-spend' : 'month-spend';
  const label = h('span', { class: 'figure-label' }, period);
  const amount = h('span', { class: 'figure-amount', 'data-testid': testId }, usd(amountUsd));
  if (!meter) {
    return h(
      'div',
      { class: 'figure' },
      h('div', { class: 'figure-line' }, label, amount, h('span', { class: 'figure-detail' }, `${plural(calls, 'call')} · no ${setting} cap`)),
    );
  }
  const state = LEVEL_TEXT[meter.level];
  const meterLabel = `${period}: ${usd(meter.spentUsd)} of the ${setting} cap ${usd(meter.capUsd)} (${percent(meter.percent)})${state ? `, ${state}` : ''}`;
  const track = bar(meter.capUsd > 0 ? meter.spentUsd / meter.capUsd : meter.spentUsd > 0 ? 1 : 0, `level-${meter.level}`);
  track.removeAttribute('aria-hidden');
  track.setAttribute('role', 'progressbar');
  track.setAttribute('aria-label', meterLabel);
  track.setAttribute('aria-valuemin', '0');
  track.setAttribute('aria-valuemax', '100');
  track.setAttribute('aria-valuenow', String(Math.min(100, Math.floor(meter.percent))));
  track.setAttribute('aria-valuetext', meterLabel);
  return h(
    'div',
    { class: `figure level-${meter.level}`, 'data-testid': `cap-${cap}` },
    h(
      'div',
      { class: 'figure-line' },
      label,
      amount,
      h('span', { class: 'figure-detail' }, `of ${usd(meter.capUsd)} · ${percent(meter.percent)}`, state ? h('strong', { class: 'level-text' }, ` · ${state}`) : null),
    ),
    track,
  );
}

function shareList(title: string, testId: string, entries: readonly SpendShare[], kind: 'tier' | 'model'): HTMLElement {
  const list = h('ul', { class: 'share-list', 'aria-label': title, 'data-testid': testId });
  for (const entry of entries) {
    list.append(
      h(
        'li',
        { class: 'share' },
        h('span', { class: kind === 'tier' ? `share-name tier-badge tier-${entry.name}` : 'share-name', title: entry.name }, entry.name),
        h('span', { class: 'share-amount' }, usd(entry.costUsd)),
        h('span', { class: 'share-calls' }, plural(entry.calls, 'call')),
        bar(entry.share, kind === 'tier' ? `tier-${entry.name}` : 'model'),
      ),
    );
  }
  return h('div', { class: 'share-group' }, h('h3', {}, title), list);
}

export function spendView(spend: SpendSummary): HTMLElement[] {
  const daily = spend.caps.find((meter) => meter.cap === 'daily');
  const monthly = spend.caps.find((meter) => meter.cap === 'monthly');
  const parts: HTMLElement[] = [
    h(
      'div',
      { class: 'figures' },
      spendFigure('daily', spend.todayUsd, spend.callsToday, daily),
      spendFigure('monthly', spend.monthUsd, spend.callsThisMonth, monthly),
    ),
  ];
  const notes = h('ul', { class: 'notes' });
  if (spend.frontierCostUsd > 0) {
    notes.append(
      h(
        'li',
        { 'data-testid': 'savings' },
        'Saved ',
        h('strong', {}, usd(spend.savingsUsd)),
        ` this month versus frontier-only (${usd(spend.frontierCostUsd)})`,
      ),
    );
  }
  if (spend.openReservedUsd > 0) notes.append(h('li', {}, `${usd(spend.openReservedUsd)} held for calls in progress`));
  if (spend.unpricedCallsThisMonth > 0) {
    notes.append(
      h('li', { class: 'warning-text' }, `${plural(spend.unpricedCallsThisMonth, 'call')} had no known price and counted at the fallback price (tierwise.budgets.unpricedFallback)`),
    );
  }
  if (notes.childElementCount > 0) parts.push(notes);
  if (spend.callsThisMonth === 0) {
    parts.push(h('p', { class: 'empty' }, 'No spend recorded yet. Run a Tierwise action and its cost shows here.'));
  }
  parts.push(h('h3', {}, 'Last 30 days'), dailyChart(spend.days, spend.day));
  if (spend.callsThisMonth > 0) {
    parts.push(
      h(
        'div',
        { class: 'shares' },
        shareList('This month by tier', 'spend-by-tier', spend.byTier, 'tier'),
        shareList('This month by model', 'spend-by-model', spend.byModel, 'model'),
      ),
    );
  }
  return parts;
}
