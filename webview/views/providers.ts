// Provider status: is each configured endpoint reachable, what a local server has, whether a key is stored.
// Checked when the panel opens (at most every 30 s) and when the user asks.
import { h, on } from '../dom';
import { count, fullTime, plural } from '../format';
import type { EndpointStatusView, ProviderStatusView } from '../protocol';
import type { PanelContext } from './context';

/** Beyond this many, a server's model list is summarised ("+12 more"). */
const MODELS_SHOWN = 6;

function modelLine(endpoint: EndpointStatusView): HTMLElement | null {
  if (!endpoint.reachable || endpoint.models === undefined) return null;
  if (endpoint.modelAvailable === false) {
    const fix = endpoint.provider === 'ollama' ? ` Run: ollama pull ${endpoint.model}` : '';
    return h('p', { class: 'status-line warning-text' }, `${endpoint.model} is not on this server.${fix}`);
  }
  return h('p', { class: 'status-line' }, `${endpoint.model} is available.`);
}

function serverModels(endpoint: EndpointStatusView): HTMLElement | null {
  // Hosted APIs list hundreds of models; what a local server has installed is what helps.
  if (!endpoint.local || !endpoint.models) return null;
  if (endpoint.models.length === 0) return h('p', { class: 'status-line muted' }, 'The server has no models installed.');
  const shown = endpoint.models.slice(0, MODELS_SHOWN).join(', ');
  const more = endpoint.models.length > MODELS_SHOWN ? ` (+${endpoint.models.length - MODELS_SHOWN} more)` : '';
  return h('p', { class: 'status-line muted', title: endpoint.models.join('\n') }, `Installed: ${shown}${more}`);
}

function keyLine(endpoint: EndpointStatusView, context: PanelContext): HTMLElement {
  if (endpoint.local) return h('p', { class: 'status-line muted' }, 'Local: no key needed.');
  const name = endpoint.keyName ?? 'API key';
  if (endpoint.hasKey) return h('p', { class: 'status-line', 'data-testid': 'key-state' }, `✓ Key ${name} is set.`);
  const setKey = on(h('button', { type: 'button', class: 'link-button', 'aria-label': `Set ${name}` }, 'Set API Key…'), 'click', () => context.runCommand('setApiKey'));
  return h('p', { class: 'status-line warning-text', 'data-testid': 'key-state' }, `No key ${name} stored. `, setKey);
}

/** A paid endpoint without a key is not asked at all: say so, rather than "unreachable". */
function reachability(endpoint: EndpointStatusView): 'reachable' | 'needsKey' | 'unreachable' {
  if (endpoint.reachable) return 'reachable';
  return !endpoint.local && !endpoint.hasKey ? 'needsKey' : 'unreachable';
}

const REACHABILITY: Record<ReturnType<typeof reachability>, { text: string; className: string }> = {
  reachable: { text: '● Reachable', className: 'status-ok' },
  needsKey: { text: '● Needs a key', className: 'status-warning' },
  unreachable: { text: '● Unreachable', className: 'status-error' },
};

function endpointStatus(endpoint: EndpointStatusView, context: PanelContext): HTMLElement {
  const state = reachability(endpoint);
  return h(
    'li',
    { class: 'provider', 'data-testid': 'provider-status', 'data-reachable': String(endpoint.reachable), 'data-state': state },
    h(
      'div',
      { class: 'provider-head' },
      h('span', { class: `tier-badge tier-${endpoint.tier}` }, endpoint.tier),
      h('span', { class: 'endpoint-model' }, endpoint.model),
      h('span', { class: REACHABILITY[state].className }, REACHABILITY[state].text),
    ),
    h('p', { class: 'status-line muted' }, `${endpoint.provider} · ${endpoint.baseUrl}`),
    // The key line below says what to do about a missing key.
    endpoint.error && state === 'unreachable' ? h('p', { class: 'status-line error-text' }, endpoint.error) : null,
    modelLine(endpoint),
    serverModels(endpoint),
    keyLine(endpoint, context),
  );
}

export function providersView(status: ProviderStatusView | undefined, context: PanelContext): HTMLElement[] {
  const checking = status?.checking ?? true;
  const refresh = h(
    'button',
    { type: 'button', class: 'secondary', disabled: checking, 'data-testid': 'refresh-providers', 'data-focus-key': 'providers:refresh', 'aria-describedby': 'providers-checked' },
    checking ? 'Checking…' : 'Check again',
  );
  on(refresh, 'click', () => void context.refreshProviders());
  const checkedText = status?.checkedAt ? `Checked ${fullTime(status.checkedAt)}` : checking ? 'Asking each endpoint…' : 'Not checked yet.';
  const endpoints = status?.endpoints ?? [];
  const unreachable = endpoints.filter((endpoint) => reachability(endpoint) === 'unreachable').length;
  const needKeys = endpoints.filter((endpoint) => reachability(endpoint) === 'needsKey').length;
  return [
    h(
      'div',
      { class: 'toolbar' },
      h(
        'p',
        { class: 'muted', id: 'providers-checked' },
        checkedText,
        unreachable > 0 ? ` · ${plural(unreachable, 'endpoint')} unreachable` : '',
        needKeys > 0 ? ` · ${count(needKeys)} need${needKeys === 1 ? 's' : ''} a key` : '',
      ),
      refresh,
    ),
    endpoints.length > 0
      ? h('ul', { class: 'providers', 'aria-busy': String(checking) }, ...endpoints.map((endpoint) => endpointStatus(endpoint, context)))
      : h('p', { class: 'muted' }, checking ? '' : 'No endpoints configured.'),
  ];
}
