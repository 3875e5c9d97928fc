// Checks the routing editor makes before sending anything; the extension checks again with the engine's schema.
// No DOM: the unit tests run it in plain Node.

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** A dollar cap as typed: empty is "no cap" (null), otherwise a number ≥ 0. */
export function parseCapUsd(text: string): Parsed<number | null> {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, value: null };
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return { ok: false, error: `"${trimmed}" is not a number. Enter dollars (e.g. 5 or 0.50), or leave it empty for no cap.` };
  if (value < 0) return { ok: false, error: 'A cap cannot be negative. Enter 0 or more, or leave it empty for no cap.' };
  return { ok: true, value };
}

/** The soft warning threshold, a percentage of a cap from 1 to 100. */
export function parseSoftThreshold(text: string): Parsed<number> {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (trimmed === '' || !Number.isFinite(value)) return { ok: false, error: 'Enter a percentage from 1 to 100.' };
  if (value < 1 || value > 100) return { ok: false, error: `${trimmed}% is outside 1–100.` };
  return { ok: true, value };
}

/** The text a cap shows in its field. */
export function capText(value: number | null): string {
  return value === null ? '' : String(value);
}

export interface EndpointFormErrors {
  model?: string;
  baseUrl?: string;
}

/** The add-endpoint form: a model id is required; a base URL is optional but must be http(s) and hold no credentials. */
export function endpointFormErrors(model: string, baseUrl: string): EndpointFormErrors {
  const errors: EndpointFormErrors = {};
  if (model.trim() === '') errors.model = 'Enter the model id exactly as the provider names it.';
  const url = baseUrl.trim();
  if (url !== '') {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      errors.baseUrl = `"${url}" is not a URL. Enter e.g. http://127.0.0.1:1234/v1, or leave it empty for the provider's default.`;
    }
    if (parsed && parsed.protocol !== 'http:' && parsed.protocol !== 'https:') errors.baseUrl = 'The base URL must start with http:// or https://.';
    else if (parsed && (parsed.username || parsed.password)) {
      errors.baseUrl = 'Leave credentials out of the URL; store keys with "Set API Key…".';
    }
  }
  return errors;
}
