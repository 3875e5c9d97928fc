import { h, on } from '../dom';
import type { Child } from '../dom';
import type { PanelContext } from './context';

/** A `<details>` whose open state is remembered across redraws and reloads of the view. */
export function collapsible(context: PanelContext, id: string, defaultOpen: boolean, summary: Child, attributes: Record<string, string> = {}, ...children: Child[]): HTMLDetailsElement {
  const open = context.ui.sections[id] ?? defaultOpen;
  const details = h('details', { ...attributes, open }, h('summary', { 'data-focus-key': `section:${id}` }, summary), ...children);
  on(details, 'toggle', () => {
    if (context.ui.sections[id] === details.open) return;
    context.ui.sections[id] = details.open;
    context.saveUi();
  });
  return details;
}
