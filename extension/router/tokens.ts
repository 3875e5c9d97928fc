import { estimateTokenCount, type LanguageConfig } from 'tokenx';

/**
 * Token estimates for budgeting. They feed reservations and context-window checks, so they err high: a low
 * estimate lets a call overshoot a cap. Measured against exact o200k counts (docs/prices.md, "Token
 * estimates"): tokenx with the rules below is +4.5% per file at the median and −10% at the 1st percentile;
 * ×1.10 leaves 13 of 1,119 files (1.2%) under their exact count, the worst by 10.5%.
 */
export const ESTIMATE_SAFETY_FACTOR = 1.1;

/**
 * tokenx prices high-entropy runs (hashes, base64) at ~7 characters per token; o200k spends about 1.7 on random
 * hex and 1.5 on random base64, so a changelog full of commit ids came out 40% low.
 */
const HIGH_ENTROPY_RULES: LanguageConfig[] = [
  // Hex runs with a digit and a letter (pure numbers keep tokenx's rule): commit ids, digests, UUID parts.
  { pattern: /^(?=[a-f]*\d)(?=\d*[a-f])[\da-f]{7,}$/i, averageCharsPerToken: 1.7 },
  // Long mixed-case alphanumeric runs with a digit: base64 and API-key-like strings.
  { pattern: /^(?=\D*\d)(?=[^A-Z]*[A-Z])(?=[^a-z]*[a-z])[A-Za-z\d]{16,}$/, averageCharsPerToken: 1.5 },
];

/** Role markers and separators around each message: OpenAI's cookbook counts 3; 4 leaves room for other formats. */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** The tokens that open the assistant's reply. */
export const REPLY_PRIMING_TOKENS = 3;

/** Estimated tokens in `text`, rounded up, erring high. */
export function estimateTokens(text: string): number {
  if (!text) return 0;
  return Math.ceil(estimateTokenCount(text, { languageConfigs: HIGH_ENTROPY_RULES }) * ESTIMATE_SAFETY_FACTOR);
}

export interface TokenEstimateRequest {
  system?: string;
  stableContext?: string;
  messages: ReadonlyArray<{ content: string }>;
}

/** Estimated prompt tokens of a request: each part as its own message (an upper bound if a provider merges them). */
export function estimateRequestTokens(request: TokenEstimateRequest): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const part of [request.system, request.stableContext]) if (part) total += estimateTokens(part) + MESSAGE_OVERHEAD_TOKENS;
  for (const message of request.messages) total += estimateTokens(message.content) + MESSAGE_OVERHEAD_TOKENS;
  return total;
}

/** Reported/estimated ratios are kept within this range, so one odd report cannot swing estimates wildly. */
export const CALIBRATION_RATIO_MIN = 0.5;
export const CALIBRATION_RATIO_MAX = 3;
/** Weight of each new report once a model has a few; the first reports are averaged equally. */
const CALIBRATION_WEIGHT = 0.2;
const CALIBRATION_FORMAT_VERSION = 1;

interface ModelCalibration {
  /** Weighted mean of reported ÷ estimated prompt tokens. */
  ratio: number;
  /** Weighted mean absolute deviation of that ratio, so the correction covers typical spread, not just the mean. */
  spread: number;
  samples: number;
}

export interface TokenCalibrationJson {
  version: typeof CALIBRATION_FORMAT_VERSION;
  models: Record<string, ModelCalibration>;
}

/**
 * Learns, per model, how the provider's reported prompt tokens compare with our estimates (a Claude or Llama
 * tokenizer is not o200k) and corrects future estimates — only upwards: a model that counts fewer tokens than
 * estimated keeps the raw estimate, so estimates never err low because of calibration.
 */
export class TokenCalibration {
  private readonly models = new Map<string, ModelCalibration>();

  /** Record one call: `estimated` is the raw estimate (not a corrected one), `reported` the provider's prompt tokens. */
  observe(modelKey: string, estimated: number, reported: number): void {
    if (!(estimated > 0) || !(reported > 0) || !Number.isFinite(estimated) || !Number.isFinite(reported)) return;
    const sample = clamp(reported / estimated, CALIBRATION_RATIO_MIN, CALIBRATION_RATIO_MAX);
    const current = this.models.get(modelKey);
    if (!current) {
      this.models.set(modelKey, { ratio: sample, spread: 0, samples: 1 });
      return;
    }
    const samples = current.samples + 1;
    const weight = Math.max(CALIBRATION_WEIGHT, 1 / samples);
    const ratio = current.ratio + weight * (sample - current.ratio);
    const spread = current.spread + weight * (Math.abs(sample - ratio) - current.spread);
    this.models.set(modelKey, { ratio, spread, samples });
  }

  /** The multiplier applied to raw estimates for this model: at least 1, at most CALIBRATION_RATIO_MAX. */
  multiplier(modelKey: string): number {
    const model = this.models.get(modelKey);
    return model ? clamp(model.ratio + model.spread, 1, CALIBRATION_RATIO_MAX) : 1;
  }

  /** The raw estimate scaled by what this model has reported so far; never below the raw estimate. */
  corrected(modelKey: string, estimate: number): number {
    return Math.max(estimate, Math.ceil(estimate * this.multiplier(modelKey)));
  }

  toJSON(): TokenCalibrationJson {
    return { version: CALIBRATION_FORMAT_VERSION, models: Object.fromEntries(this.models) };
  }

  /** Restores a saved calibration; entries that are not well-formed are dropped (they are re-learned). */
  static fromJSON(value: unknown): TokenCalibration {
    const calibration = new TokenCalibration();
    if (!isRecord(value) || value.version !== CALIBRATION_FORMAT_VERSION || !isRecord(value.models)) return calibration;
    for (const [key, entry] of Object.entries(value.models)) {
      if (!isRecord(entry)) continue;
      const { ratio, spread, samples } = entry;
      if (!isFiniteNumber(ratio) || !isFiniteNumber(spread) || !isFiniteNumber(samples) || samples < 1 || spread < 0) continue;
      calibration.models.set(key, {
        ratio: clamp(ratio, CALIBRATION_RATIO_MIN, CALIBRATION_RATIO_MAX),
        spread: Math.min(spread, CALIBRATION_RATIO_MAX),
        samples: Math.floor(samples),
      });
    }
    return calibration;
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
