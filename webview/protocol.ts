/**
 * The typed message protocol between the extension and the Spend & Routing webview. Both sides import these
 * maps, so renaming a message breaks the build instead of failing silently at run time.
 * No DOM and no `vscode` types here: the file is compiled into both programs.
 */

/** What the panel shows. Amounts are US dollars. */
export interface SpendViewState {
  extensionVersion: string;
  todayUsd: number;
  monthUsd: number;
  callsThisMonth: number;
}

/** Messages the extension posts to the webview, by type. */
export interface ExtensionToWebview {
  state: SpendViewState;
}

/** Messages the webview posts to the extension, by type. */
export interface WebviewToExtension {
  /** The webview's script has loaded and is listening; nothing is posted before this arrives. */
  ready: Record<string, never>;
}

export type MessageOf<Map> = { [Type in keyof Map]: { type: Type; payload: Map[Type] } }[keyof Map];
export type ToWebviewMessage = MessageOf<ExtensionToWebview>;
export type FromWebviewMessage = MessageOf<WebviewToExtension>;
