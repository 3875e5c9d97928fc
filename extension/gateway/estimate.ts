import { estimateTokens, MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS } from '../router/tokens';
import { asRecord } from './classify';
import type { IngressProtocol } from './protocols';
import { bodyView } from './requestBody';

/**
 * Prompt-size estimates for agent requests. Agent bodies are large (100 KB–1 MB of tools, system prompt and
 * history) and tokenx costs ~40 µs per KB, so the hot path counts bytes:
 *   - for reservations, at QUICK_BYTES_PER_TOKEN, which errs high for code and prose (3.5–5 bytes per token by
 *     the engine's estimate, JSON included) and about right for CJK (3 bytes per character): a reservation rarely
 *     undershoots;
 *   - for context-window checks, at CONTEXT_BYTES_PER_TOKEN, nearer a Claude tokenizer's count of code, so that a
 *     long conversation is not sent up a tier (or refused) for a window it fits in.
 * Media are counted at a fixed size. `countInputTokens`, for `count_tokens` (where clients decide when to compact),
 * runs tokenx over the text. Either way, what is billed is the usage the provider reports.
 */
export const QUICK_BYTES_PER_TOKEN = 3;
export const CONTEXT_BYTES_PER_TOKEN = 3.5;
/** Anthropic bills an image at most ~1,600 tokens (it resizes larger ones); OpenAI's high-detail tiles are similar. */
export const IMAGE_TOKENS = 1600;
/** Base64 characters per token for PDFs and other documents (a page of ~60 KB base64 bills ~1,800 tokens). */
const DOCUMENT_BASE64_CHARS_PER_TOKEN = 33;

interface MediaTally {
  /** Bytes of base64 payloads inside the body (not billed as text). */
  payloadBytes: number;
  tokens: number;
}

/** Walks a parsed body for base64 media, which the byte count must leave out. */
function tallyMedia(value: unknown, tally: MediaTally, depth = 0): void {
  if (depth > 64) return;
  if (Array.isArray(value)) {
    for (const item of value) tallyMedia(item, tally, depth + 1);
    return;
  }
  const record = asRecord(value);
  if (!record) return;
  const type = record.type;
  // Anthropic: {type: image|document, source: {type: base64, data}}.
  const source = asRecord(record.source);
  if ((type === 'image' || type === 'document') && source && typeof source.data === 'string' && source.type === 'base64') {
    tally.payloadBytes += source.data.length;
    tally.tokens += type === 'image' ? IMAGE_TOKENS : Math.ceil(source.data.length / DOCUMENT_BASE64_CHARS_PER_TOKEN);
    return;
  }
  // OpenAI Chat: {type: image_url, image_url: {url: "data:…"}}; Responses: {type: input_image, image_url: "data:…"}.
  const imageUrl = typeof record.image_url === 'string' ? record.image_url : asRecord(record.image_url)?.url;
  if ((type === 'image_url' || type === 'input_image') && typeof imageUrl === 'string') {
    if (imageUrl.startsWith('data:')) tally.payloadBytes += imageUrl.length;
    tally.tokens += IMAGE_TOKENS;
    return;
  }
  if (type === 'input_file' && typeof record.file_data === 'string') {
    tally.payloadBytes += record.file_data.length;
    tally.tokens += Math.ceil(record.file_data.length / DOCUMENT_BASE64_CHARS_PER_TOKEN);
    return;
  }
  for (const key in record) {
    const child = record[key];
    if (typeof child === 'object' && child !== null) tallyMedia(child, tally, depth + 1);
  }
}

/** Text every media part's JSON contains, per client protocol; a body without it has no media to walk for. */
const MEDIA_MARKERS: Record<IngressProtocol, readonly string[]> = {
  anthropic: ['"base64"'],
  openaiChat: ['"image_url"'],
  openaiResponses: ['"input_image"', '"input_file"'],
};

export interface QuickEstimate {
  /** Prompt tokens to reserve for: errs high. */
  budgetTokens: number;
  /** Prompt tokens to check context windows against. */
  contextTokens: number;
}

/** Hot-path estimates of a request's prompt tokens from its size in bytes (see the module comment). */
export function quickInputEstimate(protocol: IngressProtocol, bodyBytes: number, body: unknown): QuickEstimate {
  const view = bodyView(body);
  const media: MediaTally = { payloadBytes: 0, tokens: 0 };
  if (MEDIA_MARKERS[protocol].some((marker) => view.contains(marker))) tallyMedia(view.all(), media);
  const textBytes = Math.max(0, bodyBytes - media.payloadBytes);
  return {
    budgetTokens: Math.ceil(textBytes / QUICK_BYTES_PER_TOKEN) + media.tokens + REPLY_PRIMING_TOKENS,
    contextTokens: Math.ceil(textBytes / CONTEXT_BYTES_PER_TOKEN) + media.tokens + REPLY_PRIMING_TOKENS,
  };
}

/** A closer estimate for `count_tokens`: tokenx over every text a model would read (system, tools, messages). */
export function countInputTokens(body: unknown): number {
  const record = bodyView(body).all();
  let total = REPLY_PRIMING_TOKENS;
  const media: MediaTally = { payloadBytes: 0, tokens: 0 };
  tallyMedia(record, media);
  total += media.tokens;
  const system = record.system ?? record.instructions;
  if (system !== undefined) total += estimateTokens(textOf(system)) + MESSAGE_OVERHEAD_TOKENS;
  if (Array.isArray(record.tools)) total += estimateTokens(JSON.stringify(record.tools));
  const messages = Array.isArray(record.messages) ? record.messages : Array.isArray(record.input) ? record.input : typeof record.input === 'string' ? [record.input] : [];
  for (const message of messages) total += estimateTokens(textOf(message)) + MESSAGE_OVERHEAD_TOKENS;
  return total;
}

const STRUCTURED_KEYS = new Set(['input', 'input_schema', 'parameters']);

/** Every string in a value except media payloads, joined: what the tokenizer would see, roughly. */
function textOf(value: unknown, depth = 0): string {
  if (typeof value === 'string') return value;
  if (depth > 64 || typeof value !== 'object' || value === null) return '';
  if (Array.isArray(value)) return value.map((item) => textOf(item, depth + 1)).join('\n');
  const record = value as Record<string, unknown>;
  if (record.type === 'image' || record.type === 'document' || record.type === 'image_url' || record.type === 'input_image' || record.type === 'input_file') return '';
  const parts: string[] = [];
  for (const key in record) {
    if (key === 'cache_control' || key === 'type' || key === 'role' || key === 'signature') continue;
    const child = record[key];
    // Tool inputs and schemas reach the model as JSON, keys included.
    const text = STRUCTURED_KEYS.has(key) && typeof child === 'object' && child !== null ? JSON.stringify(child) : textOf(child, depth + 1);
    if (text) parts.push(text);
  }
  return parts.join('\n');
}
