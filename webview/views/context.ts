import type { PanelCommand, SettingEdit } from '../protocol';
import type { UiState } from '../uiState';

/** What a view may do besides drawing: the panel's shared state and its ways to talk to the extension. */
export interface PanelContext {
  readonly ui: UiState;
  /** Persists `ui` (call after changing it). */
  saveUi(): void;
  /** Messages under fields, by field key, until the field is saved or edited again. */
  readonly fieldErrors: Map<string, string>;
  /**
   * Sends one routing-editor edit. On success announces `savedMessage`; on failure puts the extension's error
   * under `fieldKey`. Either way the affected views draw again. Resolves to whether it was saved.
   */
  edit(edit: SettingEdit, fieldKey: string, savedMessage: string): Promise<boolean>;
  refreshProviders(): Promise<void>;
  runCommand(command: PanelCommand): void;
  /** Draws the views again from the last state (after a change of UI state). */
  redraw(): void;
}
