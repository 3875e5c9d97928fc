/**
 * How the tests run Claude Code against the gateway: `claude -p PROMPT --output-format json` with the gateway as
 * its API (ANTHROPIC_BASE_URL) and the gateway token as its key (ANTHROPIC_API_KEY, which Claude Code sends as
 * `x-api-key`, or ANTHROPIC_AUTH_TOKEN, sent as a Bearer token), a throw-away HOME, and every non-essential network call switched off. As root Claude Code refuses
 * --dangerously-skip-permissions, so the tools a scenario needs are allowed by name.
 */
import type { Scenario } from './scenario';

/** The model the client asks for; the tests price it in the gateway config. */
export const CLAUDE_CLIENT_MODEL = 'claude-sonnet-4-5-20250929';

/**
 * `apiKey` sends the token as x-api-key (ANTHROPIC_API_KEY); `authToken` as `Authorization: Bearer`
 * (ANTHROPIC_AUTH_TOKEN, what the extension puts in its terminals).
 */
export function claudeCodeEnv(scenario: Scenario, tokenAs: 'apiKey' | 'authToken' = 'apiKey'): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: scenario.home,
    // No TERM, no color: the JSON result is the only thing on stdout.
    ANTHROPIC_BASE_URL: scenario.gatewayUrl,
    [tokenAs === 'apiKey' ? 'ANTHROPIC_API_KEY' : 'ANTHROPIC_AUTH_TOKEN']: scenario.gatewayToken,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
  };
}

export function claudePrintArgs(prompt: string, tools: string[] = ['Bash', 'Read', 'Edit']): string[] {
  return ['-p', prompt, '--output-format', 'json', '--model', CLAUDE_CLIENT_MODEL, '--allowedTools', tools.join(','), '--permission-mode', 'acceptEdits'];
}

/** The `--output-format json` result object Claude Code prints last. */
export interface ClaudeResult {
  type: 'result';
  subtype: string;
  is_error: boolean;
  result?: string;
  num_turns: number;
  api_error_status?: number | null;
}

/** Parses the result line; throws with the whole output when there is none. */
export function claudeResult(stdout: string): ClaudeResult {
  const line = stdout.trim().split('\n').reverse().find((candidate) => candidate.startsWith('{'));
  try {
    if (line) return JSON.parse(line) as ClaudeResult;
  } catch {
    // reported below
  }
  throw new Error(`Claude Code printed no JSON result. stdout:\n${stdout.slice(-3000)}`);
}
