// Recent requests, one row each (the decision and its attempts summed), with a text filter and a tier filter.
import { filterDecisions, isFiltering } from '../decisionFilter';
import { h, on, replaceContent, uniqueId } from '../dom';
import { count, duration, fullTime, plural, requestTime, usd } from '../format';
import type { DecisionRow, TierName } from '../protocol';
import type { PanelContext } from './context';
import { select } from './fields';

const ROWS_PER_PAGE = 10;

const OUTCOME_TEXT: Record<DecisionRow['outcome'], string> = {
  ok: '',
  validationFailed: 'failed its check',
  error: 'failed',
  pending: 'in progress',
};

function decisionRow(row: DecisionRow, today: string): HTMLElement {
  const meta: HTMLElement[] = [
    h('span', { class: 'model', title: `${row.provider} · ${row.model}`, 'data-testid': 'decision-model' }, row.model),
    h('span', { class: 'client', title: 'Client' }, row.client),
    h('span', { title: 'Tokens in → out' }, `${count(row.inputTokens)} → ${count(row.outputTokens)} tok`),
    h('span', { title: 'Latency, all attempts' }, duration(row.latencyMs)),
  ];
  if (row.escalations > 0) meta.push(h('span', { class: 'escalated' }, `↑ ${plural(row.escalations, 'escalation')}`));
  if (row.attempts > 1) meta.push(h('span', {}, plural(row.attempts, 'attempt')));
  if (OUTCOME_TEXT[row.outcome]) meta.push(h('span', { class: `outcome outcome-${row.outcome}` }, OUTCOME_TEXT[row.outcome]));
  const joined = meta.flatMap((item, index) => (index === 0 ? [item] : [h('span', { class: 'sep', 'aria-hidden': 'true' }, '·'), item]));
  return h(
    'li',
    { class: 'decision', 'data-testid': 'decision-row', 'data-request-id': row.requestId },
    h(
      'div',
      { class: 'decision-head' },
      h(
        'div',
        { class: 'decision-what' },
        h('time', { datetime: new Date(row.ts).toISOString(), title: fullTime(row.ts) }, requestTime(row.ts, today)),
        h('span', { class: 'task', 'data-testid': 'decision-task' }, row.task),
        h('span', { class: `tier-badge tier-${row.tier}`, 'data-testid': 'decision-tier' }, row.tier),
      ),
      h(
        'span',
        { class: 'cost', 'data-testid': 'decision-cost', title: row.unpriced ? 'No known price: counted at the fallback price' : 'Cost, all attempts' },
        `${usd(row.costUsd)}${row.unpriced ? '*' : ''}`,
      ),
    ),
    h('div', { class: 'decision-meta' }, ...joined),
    row.reason ? h('p', { class: 'decision-reason', title: row.reason }, row.reason) : null,
    ...row.attemptNotes.map((note) => h('p', { class: 'decision-note' }, note)),
  );
}

export class DecisionsView {
  readonly element: HTMLElement;
  private readonly list = h('ol', { class: 'decisions', 'aria-label': 'Recent requests, newest first', 'data-testid': 'decision-list' });
  private readonly summary = h('p', { class: 'muted', 'data-testid': 'decision-count' });
  private readonly more = h('button', { type: 'button', class: 'secondary show-more', 'data-testid': 'decision-more' });
  private rows: readonly DecisionRow[] = [];
  private today = '';
  /** Rows drawn; "Show more" raises it, so a long month does not push the editor far down. */
  private limit = ROWS_PER_PAGE;

  constructor(
    private readonly context: PanelContext,
    tiers: readonly TierName[],
  ) {
    const { filter } = context.ui;
    const textId = uniqueId('decision-filter');
    const tierId = uniqueId('decision-tier');
    const text = h('input', {
      id: textId,
      type: 'search',
      placeholder: 'task, model, tier, reason…',
      value: filter.text,
      'data-testid': 'decision-filter',
      'aria-controls': 'decision-list',
    });
    on(text, 'input', () => {
      context.ui.filter = { ...context.ui.filter, text: text.value };
      context.saveUi();
      this.drawList();
    });
    const tier = select(
      { id: tierId, 'data-testid': 'decision-tier-filter' },
      [{ value: 'all', label: 'All tiers' }, ...tiers.map((name) => ({ value: name, label: name }))],
      filter.tier,
    );
    on(tier, 'change', () => {
      context.ui.filter = { ...context.ui.filter, tier: tier.value as TierName | 'all' };
      context.saveUi();
      this.drawList();
    });
    this.list.id = 'decision-list';
    this.element = h(
      'div',
      {},
      h(
        'div',
        { class: 'filter-bar', role: 'search' },
        h('label', { for: textId, class: 'visually-hidden' }, 'Filter requests'),
        text,
        h('label', { for: tierId, class: 'visually-hidden' }, 'Tier'),
        tier,
      ),
      this.summary,
      this.list,
      this.more,
    );
    on(this.more, 'click', () => {
      this.limit += ROWS_PER_PAGE;
      this.drawList();
    });
  }

  update(rows: readonly DecisionRow[], today: string): void {
    this.rows = rows;
    this.today = today;
    this.drawList();
  }

  private drawList(): void {
    const filter = this.context.ui.filter;
    const shown = filterDecisions(this.rows, filter);
    if (this.rows.length === 0) this.summary.textContent = 'No requests this month yet.';
    else if (isFiltering(filter)) this.summary.textContent = `${count(shown.length)} of ${plural(this.rows.length, 'request')} match.`;
    else this.summary.textContent = `${plural(this.rows.length, 'request')} this month, newest first.`;
    const drawn = shown.slice(0, this.limit);
    replaceContent(this.list, ...drawn.map((row) => decisionRow(row, this.today)));
    const hidden = shown.length - drawn.length;
    this.more.hidden = hidden <= 0;
    this.more.textContent = `Show ${Math.min(hidden, ROWS_PER_PAGE)} more (${count(hidden)} hidden)`;
  }
}
