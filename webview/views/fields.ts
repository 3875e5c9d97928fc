// Small form pieces shared by the editor views: a labelled control with its error line.
import { h } from '../dom';

/** The error line under a field, wired to it with aria-describedby / aria-invalid. */
export function withError<Control extends HTMLElement>(control: Control, errorId: string, error: string | undefined): HTMLElement[] {
  if (!error) return [control];
  control.setAttribute('aria-invalid', 'true');
  const describedBy = [control.getAttribute('aria-describedby'), errorId].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', describedBy);
  return [control, h('p', { id: errorId, class: 'field-error', role: 'alert' }, error)];
}

export function select(
  attributes: Record<string, string | undefined>,
  options: readonly { value: string; label: string }[],
  selected: string,
): HTMLSelectElement {
  const control = h('select', attributes, ...options.map((option) => h('option', { value: option.value, selected: option.value === selected }, option.label)));
  control.value = selected;
  return control;
}
