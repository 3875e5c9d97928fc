import type { DecisionFilter } from './decisionFilter';
import { NO_FILTER } from './decisionFilter';
import type { TierName } from './protocol';

/** What the user set up in the panel, kept (via the webview state) while VS Code hides and reloads the view. */
export interface UiState {
  filter: DecisionFilter;
  /** Sections the user opened or closed, by id (others keep their default). */
  sections: Record<string, boolean>;
  /** Text typed into fields and not yet saved, by field key. */
  drafts: Record<string, string>;
  /** The add-endpoint form's choices. */
  addEndpoint: { tier: TierName; provider: string };
}

export function initialUiState(saved: Partial<UiState> | undefined): UiState {
  return {
    filter: { ...NO_FILTER, ...saved?.filter },
    sections: saved?.sections && typeof saved.sections === 'object' ? { ...saved.sections } : {},
    drafts: saved?.drafts && typeof saved.drafts === 'object' ? { ...saved.drafts } : {},
    addEndpoint: { tier: saved?.addEndpoint?.tier ?? 'local', provider: saved?.addEndpoint?.provider ?? 'ollama' },
  };
}
