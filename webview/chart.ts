// The last-30-days chart: one SVG bar per day, drawn by hand (no chart library). Every bar carries a title and an
// aria-label with its date and amount; the chart is one tab stop whose arrow keys walk the days, with the chosen
// day read out below it.
import { dayLabel, plural, usd } from './format';
import { h, on, svg } from './dom';
import type { DaySpendPoint } from './protocol';

const SLOT_WIDTH = 10;
const BAR_WIDTH = 7;
const CHART_HEIGHT = 60;
/** An empty day still shows a sliver, so a gap reads as "nothing spent", not "no data". */
const EMPTY_BAR_HEIGHT = 1;
/** A spend this small still gets a visible bar. */
const MIN_BAR_HEIGHT = 2;

/** The day the user last picked, kept across redraws (the chart is redrawn on every ledger change). */
let pickedDay: string | undefined;

export function dayDescription(point: DaySpendPoint): string {
  const date = dayLabel(point.day);
  return point.calls === 0 ? `${date}: no calls` : `${date}: ${usd(point.costUsd)}, ${plural(point.calls, 'call')}`;
}

export function dailyChart(days: readonly DaySpendPoint[], today: string): HTMLElement {
  const maxUsd = Math.max(0, ...days.map((point) => point.costUsd));
  const width = days.length * SLOT_WIDTH;
  const readout = h('p', { class: 'chart-readout', 'aria-live': 'polite', 'data-testid': 'chart-readout' });
  const bars: SVGGElement[] = [];

  const chart = svg('svg', {
    class: 'chart',
    viewBox: `0 0 ${width} ${CHART_HEIGHT}`,
    preserveAspectRatio: 'none',
    role: 'group',
    tabindex: 0,
    'aria-label': `Spend per day, ${dayLabel(days[0]?.day ?? today)} to ${dayLabel(today)}. Use the arrow keys to read each day.`,
    'data-testid': 'daily-chart',
    'data-focus-key': 'daily-chart',
  });

  days.forEach((point, index) => {
    const empty = point.calls === 0;
    const height = empty ? EMPTY_BAR_HEIGHT : maxUsd > 0 ? Math.max(MIN_BAR_HEIGHT, (point.costUsd / maxUsd) * CHART_HEIGHT) : MIN_BAR_HEIGHT;
    const description = dayDescription(point);
    const x = index * SLOT_WIDTH + (SLOT_WIDTH - BAR_WIDTH) / 2;
    const classes = ['day', empty ? 'empty' : '', point.day === today ? 'today' : ''].filter(Boolean).join(' ');
    const bar = svg(
      'g',
      { class: classes, role: 'img', 'aria-label': description, 'data-testid': 'day-bar', 'data-day': point.day },
      svg('title', {}, description),
      // The full-height slot is the hover target, so a short bar is as easy to point at as a tall one.
      svg('rect', { class: 'slot', x: index * SLOT_WIDTH, y: 0, width: SLOT_WIDTH, height: CHART_HEIGHT }),
      svg('rect', { class: 'bar', x, y: CHART_HEIGHT - height, width: BAR_WIDTH, height }),
    );
    on(bar, 'mouseenter', () => select(index));
    bars.push(bar);
    chart.append(bar);
  });

  let selected = -1;
  function select(index: number): void {
    if (index < 0 || index >= days.length) return;
    bars[selected]?.classList.remove('selected');
    selected = index;
    pickedDay = days[index].day;
    bars[index].classList.add('selected');
    readout.textContent = dayDescription(days[index]);
  }
  const picked = pickedDay === undefined ? -1 : days.findIndex((point) => point.day === pickedDay);
  if (picked >= 0) select(picked);
  on(chart, 'keydown', (event) => {
    const moves: Record<string, number> = { ArrowLeft: selected - 1, ArrowRight: selected + 1, Home: 0, End: days.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    select(selected < 0 && event.key.startsWith('Arrow') ? days.length - 1 : moves[event.key]);
  });
  on(chart, 'focus', () => {
    if (selected < 0) select(days.length - 1);
  });

  const first = days[0];
  return h(
    'figure',
    { class: 'chart-figure' },
    h('div', { class: 'chart-scale' }, h('span', {}, maxUsd > 0 ? `max ${usd(maxUsd)}/day` : 'nothing spent in 30 days')),
    chart,
    h('div', { class: 'chart-axis', 'aria-hidden': 'true' }, h('span', {}, first ? dayLabel(first.day, { month: 'short', day: 'numeric' }) : ''), h('span', {}, 'today')),
    readout,
  );
}
