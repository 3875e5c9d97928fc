// DOM building without innerHTML: every piece of data goes in through textContent or an attribute.

type AttributeValue = string | number | boolean | null | undefined;
export type Attributes = Record<string, AttributeValue>;
export type Child = Node | string | number | null | undefined | false;

function applyAttributes(node: Element, attributes: Attributes | undefined): void {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(node: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'number' ? String(child) : child);
  }
}

/** An HTML element with attributes and children; `value` is set as a property once the children exist. */
export function h<Tag extends keyof HTMLElementTagNameMap>(tag: Tag, attributes?: Attributes, ...children: Child[]): HTMLElementTagNameMap[Tag] {
  const node = document.createElement(tag);
  const { value, ...rest } = attributes ?? {};
  applyAttributes(node, rest);
  append(node, children);
  if (value !== undefined && value !== null && 'value' in node) (node as HTMLInputElement).value = String(value);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<Tag extends keyof SVGElementTagNameMap>(tag: Tag, attributes?: Attributes, ...children: Child[]): SVGElementTagNameMap[Tag] {
  const node = document.createElementNS(SVG_NS, tag);
  applyAttributes(node, attributes);
  append(node, children);
  return node;
}

/** Adds a listener (no inline handlers: the CSP forbids them) and returns the element, for chaining in builders. */
export function on<Target extends EventTarget, Type extends keyof HTMLElementEventMap>(
  target: Target,
  type: Type,
  listener: (event: HTMLElementEventMap[Type]) => void,
): Target {
  target.addEventListener(type, listener as EventListener);
  return target;
}

/**
 * Replaces a container's content and keeps keyboard focus where it was: the element with the same
 * `data-focus-key` gets focus (and an input its caret) back; if it is gone, the first `data-focus-fallback`.
 */
export function replaceContent(container: HTMLElement, ...children: Child[]): void {
  const active = document.activeElement;
  const hadFocus = active instanceof HTMLElement && container.contains(active);
  const key = hadFocus ? active.dataset.focusKey : undefined;
  const caret =
    active instanceof HTMLInputElement && active.type === 'text' ? { start: active.selectionStart, end: active.selectionEnd } : undefined;
  container.replaceChildren();
  append(container, children);
  if (!hadFocus) return;
  const next = (key ? container.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(key)}"]`) : null) ?? container.querySelector<HTMLElement>('[data-focus-fallback]');
  if (!next) return;
  next.focus({ preventScroll: true });
  if (caret && next instanceof HTMLInputElement && caret.start !== null) next.setSelectionRange(caret.start, caret.end);
}

/** Says something to screen readers through the page's polite live region. */
export function announce(text: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  // Clearing first makes a repeated message ("Saved") be read again.
  region.textContent = '';
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

let idCounter = 0;
/** A document-unique id for label/aria wiring. */
export function uniqueId(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}
