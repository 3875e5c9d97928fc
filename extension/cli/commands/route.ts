import { createInterface } from 'node:readline';
import type { ChatMessage } from '../../providers/types';
import type { RouteRequest } from '../../router/decide';
import type { Router } from '../../router/router';

/** One line of `tierwise route` input. */
interface RouteInput {
  task: string;
  prompt?: string;
  messages?: ChatMessage[];
  system?: string;
  maxOutputTokens?: number;
}

function toRequest(input: unknown, lineNumber: number): RouteRequest {
  const fail = (message: string): never => {
    throw new Error(`line ${lineNumber}: ${message}`);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('expected a JSON object');
  const { task, prompt, messages, system, maxOutputTokens } = input as RouteInput;
  if (typeof task !== 'string' || task.length === 0) fail('"task" must be a non-empty string');
  if (prompt !== undefined && typeof prompt !== 'string') fail('"prompt" must be a string');
  if (messages !== undefined && (!Array.isArray(messages) || messages.some((m) => typeof m?.content !== 'string' || (m.role !== 'user' && m.role !== 'assistant')))) {
    fail('"messages" must be an array of {role: "user"|"assistant", content: string}');
  }
  if (maxOutputTokens !== undefined && (!Number.isInteger(maxOutputTokens) || maxOutputTokens <= 0)) fail('"maxOutputTokens" must be a positive whole number');
  return {
    task,
    system,
    messages: messages ?? (prompt !== undefined ? [{ role: 'user', content: prompt }] : []),
    maxOutputTokens,
  };
}

/** Reads JSON-lines requests and prints one decision per line without calling any model. Returns the exit code. */
export async function routeCommand(router: Router, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<number> {
  let failed = 0;
  let lineNumber = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNumber++;
    if (line.trim() === '') continue;
    let request: RouteRequest;
    try {
      request = toRequest(JSON.parse(line), lineNumber);
    } catch (error) {
      failed++;
      const message = error instanceof SyntaxError ? `line ${lineNumber}: not valid JSON (${error.message})` : (error as Error).message;
      output.write(`${JSON.stringify({ error: message })}\n`);
      continue;
    }
    const decision = router.decide(request);
    const common = { task: decision.task, tier: decision.tier };
    switch (decision.kind) {
      case 'route':
        output.write(`${JSON.stringify({ ...common, provider: decision.endpoint.provider, model: decision.endpoint.model, reason: decision.reason, estInputTokens: decision.estInputTokens, reservedUsd: decision.reservedUsd })}\n`);
        break;
      case 'ask':
        output.write(`${JSON.stringify({ ...common, provider: decision.proposed.endpoint.provider, model: decision.proposed.endpoint.model, reason: decision.reason, estInputTokens: decision.estInputTokens, reservedUsd: decision.proposed.reservedUsd, needsConfirmation: true })}\n`);
        break;
      case 'blocked':
      case 'noEndpoint':
        output.write(`${JSON.stringify({ ...common, provider: null, model: null, reason: decision.reason, estInputTokens: decision.estInputTokens, reservedUsd: 0, blocked: true })}\n`);
        break;
    }
  }
  return failed > 0 ? 1 : 0;
}
