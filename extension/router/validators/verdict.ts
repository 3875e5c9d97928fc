/** A validator's verdict on a model's output. Validators are pure: output in, verdict out. */
export type Verdict = { ok: true } | { ok: false; reason: string };
export type Validator = (output: string) => Verdict;

export const ok: Verdict = Object.freeze({ ok: true });
export const fail = (reason: string): Verdict => ({ ok: false, reason });

/** The weakest check every task gets: the model said something. */
export const nonEmpty: Validator = (output) => (output.trim().length > 0 ? ok : fail('empty answer'));
