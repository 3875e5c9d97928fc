import { fail, ok, type Validator } from './verdict';

/** Fewer characters than this is not an explanation ("Fix the typo."). */
export const EXPLANATION_MIN_CHARS = 40;

/**
 * An explanation worth showing: long enough to say something, and not cut off — an unclosed code fence is what a
 * model that ran out of output tokens mid-fix leaves behind.
 */
export const explanationValidator: Validator = (output) => {
  const text = output.trim();
  if (text.length === 0) return fail('empty answer');
  if (text.length < EXPLANATION_MIN_CHARS) return fail(`explanation is only ${text.length} characters`);
  const fences = text.split('\n').filter((line) => /^\s*(```|~~~)/.test(line)).length;
  if (fences % 2 === 1) return fail('unclosed code fence (the answer was cut off)');
  return ok;
};
