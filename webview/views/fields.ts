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

/** Takes a field's error away as soon as the user edits it (the next check may put it back). */
export function clearError(control: HTMLElement, fieldErrors: Map<string, string>, fieldKey: string): void {
  if (!fieldErrors.delete(fieldKey) && control.getAttribute('aria-invalid') !== 'true') return;
  control.removeAttribute('aria-invalid');
  const ids = (control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
  const errorIds = ids.filter((id) => id.endsWith('-error'));
  for (const id of errorIds) document.getElementById(id)?.remove();
  const remaining = ids.filter((id) => !errorIds.includes(id));
  if (remaining.length > 0) control.setAttribute('aria-describedby', remaining.join(' '));
  else control.removeAttribute('aria-describedby');
}
