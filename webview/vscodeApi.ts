import type { FromWebviewMessage } from './protocol';

/** The part of the webview API Tierwise uses. `getState`/`setState` survive the view being hidden and shown. */
export interface VsCodeApi<State> {
  postMessage(message: FromWebviewMessage): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<State>(): VsCodeApi<State>;

/** May only be called once per page load, so main.ts calls it and hands the result around. */
export function vscodeApi<State>(): VsCodeApi<State> {
  return acquireVsCodeApi<State>();
}
