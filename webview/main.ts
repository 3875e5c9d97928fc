import type { FromWebviewMessage, SpendViewState, ToWebviewMessage } from './protocol';

interface VsCodeApi {
  postMessage(message: FromWebviewMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('app');
if (!root) throw new Error('Tierwise webview: #app element missing from the view HTML');
const appRoot: HTMLElement = root;

const dollars = (amountUsd: number): string => `$${amountUsd.toFixed(2)}`;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function render(state: SpendViewState): void {
  const view = element('section');
  view.dataset.testid = 'spend-view';
  view.append(element('h2', 'Spend'));
  const figures = element('dl', undefined, 'figures');
  figures.append(element('dt', 'Today'), element('dd', dollars(state.todayUsd)));
  figures.append(element('dt', 'This month'), element('dd', dollars(state.monthUsd)));
  view.append(figures);
  if (state.callsThisMonth === 0) {
    view.append(element('p', 'No spend recorded yet. Run a Tierwise action and its cost shows here.', 'empty'));
  }
  view.append(element('p', `Tierwise ${state.extensionVersion}`, 'version'));
  appRoot.replaceChildren(view);
}

window.addEventListener('message', (event: MessageEvent<ToWebviewMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'state':
      render(message.payload);
      break;
  }
});

vscode.postMessage({ type: 'ready', payload: {} });
