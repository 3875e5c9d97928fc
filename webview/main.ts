// The Spend & Routing webview: draws what the extension posts and sends the routing editor's edits back.
// Posts `ready` once listening; the extension posts nothing before that.
import { announce, h, replaceContent } from './dom';
import { plural } from './format';
import type { PanelCommand, ProviderStatusView, SettingEdit, SpendViewState, ToWebviewMessage } from './protocol';
import { RequestChannel } from './rpc';
import { initialUiState, type UiState } from './uiState';
import { vscodeApi } from './vscodeApi';
import { capsView } from './views/caps';
import type { PanelContext } from './views/context';
import { DecisionsView } from './views/decisions';
import { providersView } from './views/providers';
import { routingView } from './views/routing';
import { collapsible } from './views/section';
import { spendView } from './views/spend';

const api = vscodeApi<UiState>();
const rpc = new RequestChannel((message) => api.postMessage(message));
const appRoot = document.getElementById('app');
if (!appRoot) throw new Error('Tierwise webview: #app element missing from the view HTML');

let state: SpendViewState | undefined;
let providerStatus: ProviderStatusView | undefined;

const context: PanelContext = {
  ui: initialUiState(api.getState()),
  fieldErrors: new Map(),
  saveUi: () => api.setState(context.ui),
  edit: sendEdit,
  refreshProviders,
  runCommand: (command: PanelCommand) => api.postMessage({ type: 'runCommand', payload: { command } }),
  redraw: () => draw({ force: true }),
};

/** The panel's fixed frame, built on the first state; each part's content is redrawn when its data changes. */
interface Frame {
  spend: HTMLElement;
  decisions: DecisionsView;
  routing: HTMLElement;
  caps: HTMLElement;
  providers: HTMLElement;
  version: HTMLElement;
  /** What each part was last drawn from, to skip redrawing what did not change. */
  drawnFrom: Map<string, string>;
}
let frame: Frame | undefined;

function buildFrame(first: SpendViewState): Frame {
  const built: Frame = {
    spend: h('div', { class: 'spend', 'data-testid': 'spend-summary' }),
    decisions: new DecisionsView(context, first.routing.options.tiers),
    routing: h('div', { class: 'section-body' }),
    caps: h('div', { class: 'section-body' }),
    providers: h('div', { class: 'section-body' }),
    version: h('p', { class: 'version' }),
    drawnFrom: new Map(),
  };
  const heading = (text: string) => h('h2', {}, text);
  const view = h(
    'section',
    { 'data-testid': 'spend-view', 'aria-label': 'Tierwise spend and routing' },
    h('h2', { class: 'spend-heading' }, 'Spend'),
    built.spend,
    collapsible(context, 'decisions', true, heading('Recent requests'), { class: 'panel-section', 'data-testid': 'decisions-section' }, built.decisions.element),
    collapsible(context, 'routing', true, heading('Routing'), { class: 'panel-section', 'data-testid': 'routing-section' }, built.routing),
    collapsible(context, 'caps', true, heading('Caps'), { class: 'panel-section', 'data-testid': 'caps-section' }, built.caps),
    collapsible(context, 'providers', true, heading('Providers'), { class: 'panel-section', 'data-testid': 'providers-section' }, built.providers),
    built.version,
  );
  appRoot!.replaceChildren(view);
  return built;
}

/** Redraws the parts whose data changed (all editor parts when `force`, e.g. after an edit's answer). */
function draw(options: { force?: boolean } = {}): void {
  if (!state) return;
  const current = state;
  frame ??= buildFrame(current);
  const parts = frame;
  const redraw = (part: string, data: unknown, paint: () => void, forced = false) => {
    const key = JSON.stringify(data);
    if (!forced && parts.drawnFrom.get(part) === key) return;
    parts.drawnFrom.set(part, key);
    try {
      paint();
    } catch (error) {
      console.error(`Tierwise: could not draw ${part}`, error);
    }
  };
  const providerModels = providerStatus?.endpoints.map((endpoint) => [endpoint.provider, endpoint.models]);
  redraw('spend', current.spend, () => replaceContent(parts.spend, ...spendView(current.spend)));
  redraw('decisions', [current.decisions, current.spend.day], () => parts.decisions.update(current.decisions, current.spend.day));
  redraw('routing', [current.routing, providerModels], () => replaceContent(parts.routing, ...routingView(current.routing, providerStatus, context)), options.force);
  redraw('caps', [current.routing.budgets, current.routing.options], () => replaceContent(parts.caps, ...capsView(current.routing, context)), options.force);
  redraw('providers', providerStatus ?? null, () => replaceContent(parts.providers, ...providersView(providerStatus, context)), options.force);
  parts.version.textContent = `Tierwise ${current.extensionVersion}`;
}

async function sendEdit(edit: SettingEdit, fieldKey: string, savedMessage: string): Promise<boolean> {
  context.fieldErrors.delete(fieldKey);
  let result;
  try {
    result = await rpc.request('updateSetting', edit);
  } catch (error) {
    result = { ok: false as const, error: (error as Error).message };
  }
  if (result.ok) {
    announce(`${savedMessage} Saved to ${result.setting}.`);
  } else {
    const details = result.problems && result.problems.length > 1 ? ` (${result.problems.slice(1).join('; ')})` : '';
    context.fieldErrors.set(fieldKey, `${result.error}${details}`);
    announce(result.error);
  }
  // A refused edit puts the control back to the value in effect, with the reason under it.
  draw({ force: true });
  return result.ok;
}

async function refreshProviders(): Promise<void> {
  providerStatus = { ...(providerStatus ?? { endpoints: [] }), checking: true };
  draw();
  announce('Checking every endpoint…');
  try {
    providerStatus = await rpc.request('refreshProviders', {});
  } catch (error) {
    providerStatus = { ...providerStatus, checking: false };
    announce((error as Error).message);
  }
  draw();
  const unreachable = providerStatus.endpoints.filter((endpoint) => !endpoint.reachable).length;
  announce(`Checked ${plural(providerStatus.endpoints.length, 'endpoint')}: ${unreachable === 0 ? 'all reachable' : `${unreachable} unreachable`}.`);
}

window.addEventListener('message', (event: MessageEvent<ToWebviewMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'state':
      state = message.payload;
      draw();
      break;
    case 'providerStatus':
      providerStatus = message.payload;
      draw();
      break;
    case 'response':
      rpc.settle(message);
      break;
  }
});

api.postMessage({ type: 'ready', payload: {} });
