import type { Router } from '../../router/router';
import { checkFor } from '../../router/taskValidators';

export interface RunCommandOptions {
  task: string;
  prompt: string;
  maxOutputTokens?: number;
  signal: AbortSignal;
}

/** One routed call end to end: the answer streams to stdout, a JSON summary line goes to stderr. */
export async function runCommand(router: Router, options: RunCommandOptions, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  let printedAttempt = -1;
  const check = checkFor(options.task);
  const result = await router.run(
    { task: options.task, messages: [{ role: 'user', content: options.prompt }], maxOutputTokens: options.maxOutputTokens },
    {
      validator: check.validator,
      json: check.json,
      signal: options.signal,
      // Only a TTY sees the stream as it comes; a pipe gets the accepted answer alone.
      onText: (delta, attempt) => {
        if (!(stdout as NodeJS.WriteStream).isTTY) return;
        if (attempt !== printedAttempt && printedAttempt !== -1) stdout.write('\n--- escalated ---\n');
        printedAttempt = attempt;
        stdout.write(delta);
      },
    },
  );
  if (!(stdout as NodeJS.WriteStream).isTTY) stdout.write(result.text);
  if (!result.text.endsWith('\n')) stdout.write('\n');
  stderr.write(
    `${JSON.stringify({
      task: options.task,
      tier: result.tier,
      provider: result.provider,
      model: result.model,
      attempts: result.attempts.map((attempt) => ({ tier: attempt.tier, model: attempt.model, outcome: attempt.outcome, costUsd: attempt.costUsd, latencyMs: attempt.latencyMs, ...(attempt.detail ? { detail: attempt.detail } : {}) })),
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      cacheReadTokens: result.usage.cacheReadTokens,
      cacheWriteTokens: result.usage.cacheWrite5mTokens + result.usage.cacheWrite1hTokens,
      costUsd: result.costUsd,
      frontierCostUsd: result.frontierCostUsd,
      reason: result.reason,
      ...(result.verdict.ok ? {} : { validationFailed: result.verdict.reason }),
    })}\n`,
  );
  return result.verdict.ok ? 0 : 3;
}
