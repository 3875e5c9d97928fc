// The routing editor: task kind → tier, and each tier's ordered endpoints (move, remove, add). Every change is
// one request to the extension, which writes the same `tierwise.*` setting the Settings UI writes.
import { h, on, uniqueId } from '../dom';
import type { EndpointView, ProviderKind, ProviderStatusView, RoutingView, TierName } from '../protocol';
import { endpointFormErrors } from '../validation';
import type { PanelContext } from './context';
import { clearError, select, withError } from './fields';

const TASK_LABELS: Record<string, string> = {
  commitMessage: 'Commit message',
  explainDiagnostic: 'Explain a problem',
  findFiles: 'Find files',
  refactor: 'Refactor',
  plan: 'Plan a change',
  planStep: 'Run a plan step',
  ask: 'Ask',
};

const TIER_DESCRIPTIONS: Record<TierName, string> = {
  local: 'Free local models for editor chores.',
  mid: 'Affordable hosted models for refactors and questions.',
  frontier: 'The strongest models, for plans and hard reasoning.',
};

const PROVIDER_LABELS: Record<ProviderKind, string> = {
  ollama: 'Ollama',
  openai: 'OpenAI-compatible',
  anthropic: 'Anthropic',
};

function routesTable(routing: RoutingView, context: PanelContext): HTMLElement {
  const rows = routing.routes.map((route) => {
    const id = uniqueId(`route-${route.task}`);
    const fieldKey = `route:${route.task}`;
    const label = TASK_LABELS[route.task] ?? route.task;
    const control = select(
      { id, 'data-testid': `route-select-${route.task}`, 'data-focus-key': fieldKey },
      routing.options.tiers.map((tier) => ({ value: tier, label: tier })),
      route.tier,
    );
    on(control, 'change', () => {
      const tier = control.value as TierName;
      void context.edit({ kind: 'route', task: route.task, tier }, fieldKey, `${label} now runs on the ${tier} tier.`);
    });
    return h(
      'div',
      { class: 'route' },
      h('label', { for: id, title: route.task }, label, route.builtIn ? null : h('span', { class: 'muted' }, ' (custom)')),
      ...withError(control, `${id}-error`, context.fieldErrors.get(fieldKey)),
    );
  });
  return h(
    'div',
    { class: 'route-group' },
    h('h3', {}, 'Task → tier'),
    h('p', { class: 'hint' }, 'Kinds not listed use the tier of Ask.'),
    h('div', { class: 'routes', 'data-testid': 'routes' }, ...rows),
  );
}

function endpointItem(tier: TierName, endpoint: EndpointView, index: number, total: number, context: PanelContext): HTMLElement {
  const name = `${endpoint.model} in the ${tier} tier`;
  const keyBase = `endpoint:${tier}:${endpoint.id}`;
  const button = (action: 'up' | 'down' | 'remove', text: string, label: string, disabledReason: string | undefined) => {
    const control = h('button', {
      type: 'button',
      class: `icon-button ${action === 'remove' ? 'danger' : ''}`,
      'aria-label': label,
      title: disabledReason ?? label,
      disabled: disabledReason !== undefined,
      'data-focus-key': `${keyBase}:${action}`,
      'data-testid': `endpoint-${action}`,
    }, text);
    on(control, 'click', () => {
      if (action === 'remove') {
        void context.edit({ kind: 'removeEndpoint', tier, endpointId: endpoint.id, index }, `tier:${tier}`, `Removed ${name}.`);
      } else {
        void context.edit({ kind: 'moveEndpoint', tier, endpointId: endpoint.id, index, direction: action }, `tier:${tier}`, `Moved ${name} ${action}.`);
      }
    });
    return control;
  };
  return h(
    'li',
    { class: 'endpoint', 'data-testid': 'endpoint-row' },
    h(
      'div',
      { class: 'endpoint-text' },
      h('span', { class: 'endpoint-model' }, endpoint.model),
      h('span', { class: 'endpoint-detail' }, `${PROVIDER_LABELS[endpoint.provider] ?? endpoint.provider} · ${endpoint.baseUrl}${endpoint.baseUrlIsDefault ? ' (default)' : ''}${endpoint.local ? ' · free' : ''}`),
    ),
    h(
      'div',
      { class: 'endpoint-actions' },
      button('up', '↑', `Move ${name} up`, index === 0 ? 'Already first: tried first' : undefined),
      button('down', '↓', `Move ${name} down`, index === total - 1 ? 'Already last' : undefined),
      button('remove', '✕', `Remove ${name}`, total === 1 ? 'A tier needs at least one endpoint' : undefined),
    ),
  );
}

function tierList(tier: TierName, endpoints: readonly EndpointView[], context: PanelContext): HTMLElement {
  const error = context.fieldErrors.get(`tier:${tier}`);
  const headingId = uniqueId(`tier-${tier}`);
  return h(
    'div',
    { class: 'tier', 'data-testid': `tier-${tier}` },
    h('h4', { id: headingId, tabindex: -1, 'data-focus-fallback': true }, h('span', { class: `tier-badge tier-${tier}` }, tier), h('span', { class: 'muted' }, ` ${TIER_DESCRIPTIONS[tier]}`)),
    h('ol', { class: 'endpoints', 'aria-labelledby': headingId }, ...endpoints.map((endpoint, index) => endpointItem(tier, endpoint, index, endpoints.length, context))),
    error ? h('p', { class: 'field-error', role: 'alert' }, error) : null,
  );
}

/** Models the checked servers of a provider listed, for the model field's suggestions. */
function knownModels(status: ProviderStatusView | undefined, provider: string): string[] {
  const models = new Set<string>();
  for (const endpoint of status?.endpoints ?? []) if (endpoint.provider === provider) for (const model of endpoint.models ?? []) models.add(model);
  return [...models].sort();
}

function addEndpointForm(routing: RoutingView, status: ProviderStatusView | undefined, context: PanelContext): HTMLElement {
  const { ui, fieldErrors } = context;
  const ids = { tier: uniqueId('add-tier'), provider: uniqueId('add-provider'), model: uniqueId('add-model'), baseUrl: uniqueId('add-url'), models: uniqueId('add-models') };
  const provider = (routing.options.providers as string[]).includes(ui.addEndpoint.provider) ? (ui.addEndpoint.provider as ProviderKind) : routing.options.providers[0];
  const tierSelect = select({ id: ids.tier, 'data-focus-key': 'add:tier', 'data-testid': 'add-endpoint-tier' }, routing.options.tiers.map((tier) => ({ value: tier, label: tier })), ui.addEndpoint.tier);
  const providerSelect = select(
    { id: ids.provider, 'data-focus-key': 'add:provider', 'data-testid': 'add-endpoint-provider' },
    routing.options.providers.map((kind) => ({ value: kind, label: PROVIDER_LABELS[kind] ?? kind })),
    provider,
  );
  const model = h('input', {
    id: ids.model,
    type: 'text',
    list: ids.models,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'e.g. qwen2.5-coder:7b',
    value: ui.drafts['add:model'] ?? '',
    'data-focus-key': 'add:model',
    'data-testid': 'add-endpoint-model',
  });
  const baseUrl = h('input', {
    id: ids.baseUrl,
    type: 'text',
    inputmode: 'url',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: routing.options.defaultBaseUrls[provider],
    value: ui.drafts['add:baseUrl'] ?? '',
    'data-focus-key': 'add:baseUrl',
    'data-testid': 'add-endpoint-url',
  });
  const suggestions = h('datalist', { id: ids.models }, ...knownModels(status, provider).map((name) => h('option', { value: name })));

  const remember = () => {
    ui.addEndpoint = { tier: tierSelect.value as TierName, provider: providerSelect.value };
    ui.drafts['add:model'] = model.value;
    ui.drafts['add:baseUrl'] = baseUrl.value;
    context.saveUi();
  };
  on(tierSelect, 'change', remember);
  on(providerSelect, 'change', () => {
    remember();
    // The URL placeholder and model suggestions follow the provider.
    context.redraw();
  });
  on(model, 'input', () => {
    remember();
    clearError(model, fieldErrors, 'add:model');
  });
  on(baseUrl, 'input', () => {
    remember();
    clearError(baseUrl, fieldErrors, 'add:baseUrl');
  });

  const form = h(
    'form',
    { class: 'add-endpoint', 'aria-label': 'Add an endpoint', novalidate: true, 'data-testid': 'add-endpoint' },
    h('h4', {}, 'Add an endpoint'),
    h('div', { class: 'field' }, h('label', { for: ids.tier }, 'Tier'), tierSelect),
    h('div', { class: 'field' }, h('label', { for: ids.provider }, 'Provider'), providerSelect),
    h('div', { class: 'field' }, h('label', { for: ids.model }, 'Model'), ...withError(model, `${ids.model}-error`, fieldErrors.get('add:model')), suggestions),
    h(
      'div',
      { class: 'field' },
      h('label', { for: ids.baseUrl }, 'Base URL ', h('span', { class: 'muted' }, '(optional)')),
      ...withError(baseUrl, `${ids.baseUrl}-error`, fieldErrors.get('add:baseUrl')),
    ),
    h('p', { class: 'hint' }, 'Keys are not entered here: use Set API Key…, which keeps them in VS Code’s secret storage.'),
    fieldErrors.get('add') ? h('p', { class: 'field-error', role: 'alert' }, fieldErrors.get('add')!) : null,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', 'data-focus-key': 'add:submit', 'data-testid': 'add-endpoint-submit' }, 'Add endpoint')),
  );
  on(form, 'submit', (event) => {
    event.preventDefault();
    remember();
    const errors = endpointFormErrors(model.value, baseUrl.value);
    fieldErrors.delete('add');
    if (errors.model) fieldErrors.set('add:model', errors.model);
    if (errors.baseUrl) fieldErrors.set('add:baseUrl', errors.baseUrl);
    if (errors.model || errors.baseUrl) {
      context.redraw();
      // Focus the first field to fix, as a native form would.
      document.querySelector<HTMLElement>(`[data-focus-key="${errors.model ? 'add:model' : 'add:baseUrl'}"]`)?.focus();
      return;
    }
    const tier = tierSelect.value as TierName;
    const modelId = model.value.trim();
    const url = baseUrl.value.trim();
    void context
      .edit({ kind: 'addEndpoint', tier, provider: providerSelect.value as ProviderKind, model: modelId, ...(url ? { baseUrl: url } : {}) }, 'add', `Added ${modelId} to the ${tier} tier.`)
      .then((saved) => {
        if (!saved) return;
        delete ui.drafts['add:model'];
        delete ui.drafts['add:baseUrl'];
        context.saveUi();
        context.redraw();
      });
  });
  return form;
}

export function routingView(routing: RoutingView, status: ProviderStatusView | undefined, context: PanelContext): HTMLElement[] {
  return [
    routesTable(routing, context),
    h(
      'div',
      { class: 'tiers' },
      h('h3', {}, 'Tier → endpoints'),
      h('p', { class: 'hint' }, 'Tried in order: on a rate limit, server error or timeout the next endpoint takes the call.'),
      ...routing.tiers.map(({ tier, endpoints }) => tierList(tier, endpoints, context)),
    ),
    addEndpointForm(routing, status, context),
    h(
      'p',
      { class: 'hint' },
      'Edits are saved to your user settings (tierwise.routes, tierwise.tiers). ',
      link('Open in Settings', () => context.runCommand('openRoutingSettings')),
    ),
  ];
}

/** A button that reads as a link (it runs a command, it goes nowhere). */
export function link(text: string, action: () => void): HTMLButtonElement {
  return on(h('button', { type: 'button', class: 'link-button' }, text), 'click', action);
}
