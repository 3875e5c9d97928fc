// The caps editor: daily, monthly and per-request caps, per-tier daily caps, the soft threshold and the policy.
// A field is saved when it changes (Enter or leaving it), as in the Settings UI.
import { h, on, uniqueId } from '../dom';
import type { BudgetAmountKey, BudgetPolicy, BudgetsView, RoutingView, SettingEdit, TierName } from '../protocol';
import { capText, parseCapUsd, parseSoftThreshold, type Parsed } from '../validation';
import type { PanelContext } from './context';
import { clearError, select, withError } from './fields';
import { link } from './routing';
import { collapsible } from './section';

const POLICY_LABELS: Record<BudgetPolicy, string> = {
  downgrade: 'Downgrade to a cheaper tier that fits',
  block: 'Block the call',
  ask: 'Ask before spending past the cap',
};

interface NumberField {
  key: string;
  label: string;
  hint: string;
  current: string;
  unit: '$' | '%';
  min: number;
  max?: number;
  parse(text: string): Parsed<number | null>;
  edit(value: number | null): SettingEdit;
}

function numberField(field: NumberField, context: PanelContext): HTMLElement {
  const { ui, fieldErrors } = context;
  const id = uniqueId(`cap-${field.key}`);
  const hintId = `${id}-hint`;
  const input = h('input', {
    id,
    type: 'text',
    inputmode: 'decimal',
    autocomplete: 'off',
    placeholder: field.unit === '$' ? 'no cap' : '',
    value: ui.drafts[field.key] ?? field.current,
    'aria-describedby': hintId,
    'data-focus-key': field.key,
    'data-testid': `cap-input-${field.key}`,
  });
  on(input, 'input', () => {
    ui.drafts[field.key] = input.value;
    context.saveUi();
    clearError(input, fieldErrors, field.key);
  });
  on(input, 'change', () => {
    const parsed = field.parse(input.value);
    if (!parsed.ok) {
      fieldErrors.set(field.key, parsed.error);
      context.redraw();
      return;
    }
    const shown = parsed.value === null ? 'no cap' : field.unit === '$' ? `$${parsed.value}` : `${parsed.value}%`;
    void context.edit(field.edit(parsed.value), field.key, `${field.label} set to ${shown}.`).then((saved) => {
      if (!saved) return;
      delete ui.drafts[field.key];
      context.saveUi();
    });
  });
  return h(
    'div',
    { class: 'field cap-field' },
    h('label', { for: id }, field.label, h('span', { class: 'unit' }, field.unit === '$' ? ' (US$)' : ' (%)')),
    h('div', { class: `unit-input unit-${field.unit === '$' ? 'usd' : 'percent'}` }, ...withError(input, `${id}-error`, fieldErrors.get(field.key))),
    h('p', { class: 'hint', id: hintId }, field.hint),
  );
}

const amountField = (key: BudgetAmountKey, label: string, hint: string, budgets: BudgetsView): NumberField => ({
  key: `budgets.${key}`,
  label,
  hint,
  current: capText(budgets[key]),
  unit: '$',
  min: 0,
  parse: parseCapUsd,
  edit: (value) => ({ kind: 'budgetAmount', key, value }),
});

const tierField = (tier: TierName, budgets: BudgetsView): NumberField => ({
  key: `budgets.perTierDailyUsd.${tier}`,
  label: `${tier[0].toUpperCase()}${tier.slice(1)} tier, per day`,
  hint: 'Empty: no cap for this tier.',
  current: capText(budgets.perTierDailyUsd[tier]),
  unit: '$',
  min: 0,
  parse: parseCapUsd,
  edit: (value) => ({ kind: 'tierDailyCap', tier, value }),
});

export function capsView(routing: RoutingView, context: PanelContext): HTMLElement[] {
  const { budgets } = routing;
  const policyId = uniqueId('cap-policy');
  const policy = select(
    { id: policyId, 'data-focus-key': 'budgets.policy', 'data-testid': 'cap-policy' },
    routing.options.policies.map((value) => ({ value, label: POLICY_LABELS[value] ?? value })),
    budgets.policy,
  );
  on(policy, 'change', () => {
    const value = policy.value as BudgetPolicy;
    void context.edit({ kind: 'policy', value }, 'budgets.policy', `When a call would cross a cap: ${POLICY_LABELS[value] ?? value}.`);
  });
  const threshold: NumberField = {
    key: 'budgets.softThresholdPercent',
    label: 'Warn at',
    hint: 'Percent of a cap at which spend shows as a warning (1–100).',
    current: String(budgets.softThresholdPercent),
    unit: '%',
    min: 1,
    max: 100,
    parse: parseSoftThreshold,
    edit: (value) => ({ kind: 'softThreshold', value: value ?? budgets.softThresholdPercent }),
  };
  return [
    h(
      'div',
      { class: 'cap-grid' },
      numberField(amountField('dailyUsd', 'Daily cap', 'Per calendar day, local time. Empty: no cap.', budgets), context),
      numberField(amountField('monthlyUsd', 'Monthly cap', 'Per calendar month. Empty: no cap.', budgets), context),
      numberField(amountField('perRequestUsd', 'Per-request cap', 'Worst case of one call. Empty: no cap.', budgets), context),
      numberField(threshold, context),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: policyId }, 'When a call would cross a cap'),
      ...withError(policy, `${policyId}-error`, context.fieldErrors.get('budgets.policy')),
    ),
    collapsible(
      context,
      'tier-caps',
      routing.options.tiers.some((tier) => budgets.perTierDailyUsd[tier] !== null),
      'Daily caps per tier',
      { class: 'tier-caps' },
      h('div', { class: 'cap-grid' }, ...routing.options.tiers.map((tier) => numberField(tierField(tier, budgets), context))),
    ),
    h('p', { class: 'hint' }, 'Saved to your user settings (tierwise.budgets.*). ', link('Open in Settings', () => context.runCommand('openBudgetSettings'))),
  ];
}
