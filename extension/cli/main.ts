import { version } from '../../package.json';
import type { TierwiseConfig } from '../router/config';
import { BudgetBlockedError } from '../router/budget';
import { NoEndpointError, OverCapDeclinedError, TierExhaustedError } from '../router/errors';
import { Ledger, defaultLedgerDir } from '../router/ledger/ledger';
import { Router } from '../router/router';
import { createProviderRegistry } from '../providers/registry';
import { ProviderError } from '../providers/types';
import { integerOption, parseArgs, stringOption, UsageError, type ParsedArgs } from './args';
import { ConfigFileError, loadConfigFile } from './configFile';
import { environmentKeyResolver } from './envKeys';
import { routeCommand } from './commands/route';
import { runCommand } from './commands/run';
import { formatSpend, spendReport } from './commands/spend';
import { benchCommand } from './commands/bench';
import { gatewayCommand, parsePort } from './commands/gateway';

const HELP = `Usage: tierwise <command> [options]

Commands:
  route  [--config FILE] [--ledger DIR]
         Read JSON-lines requests {task, prompt?, messages?, maxOutputTokens?} from stdin and print one
         routing decision per line, without calling any model.
  run    --task KIND [--config FILE] [--ledger DIR] [--max-output-tokens N] PROMPT
         One routed call end to end. The answer goes to stdout, a JSON summary line to stderr.
         Keys come from OPENAI_API_KEY / ANTHROPIC_API_KEY (or the config's keyFile), never the command line.
  spend  [--ledger DIR] [--config FILE] [--json]
         Today's and this month's spend, by tier and by model, and savings versus frontier-only.
  bench  Decision latency, ledger append rate with 3 processes, totals-query time on a 50,000-record month.
  gateway [--port N] [--config FILE] [--ledger DIR] [--log-prompts]
         Serve agent clients (Claude Code, Codex) on 127.0.0.1, routed and capped like the editor. Prints one
         JSON line {"url", "token"} once listening; runs until SIGINT/SIGTERM. Claude Code:
         ANTHROPIC_BASE_URL=<url> ANTHROPIC_API_KEY=<token>; OpenAI clients: base URL <url>/v1, key <token>.

Options:
  --config FILE   JSON config, the same shape as the tierwise.* VS Code settings (default: built-in defaults)
  --ledger DIR    Spend ledger folder (default: ~/.tierwise/ledger, shared with VS Code)
  --help, --version
`;

const VALUED_OPTIONS = ['config', 'ledger', 'task', 'max-output-tokens', 'port'] as const;

function openRouter(args: ParsedArgs, config: TierwiseConfig): { router: Router; ledger: Ledger } {
  const ledger = new Ledger({ dir: stringOption(args, 'ledger') ?? defaultLedgerDir() });
  const router = new Router({
    config: () => config,
    ledger,
    providers: createProviderRegistry(),
    keys: environmentKeyResolver(process.env, config.keyFile),
    client: 'cli',
    log: process.env.TIERWISE_VERBOSE ? (line) => process.stderr.write(`tierwise: ${line}\n`) : undefined,
  });
  return { router, ledger };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const args = parseArgs(rest, VALUED_OPTIONS);
  switch (command) {
    case 'route': {
      const { router, ledger } = openRouter(args, loadConfigFile(stringOption(args, 'config')));
      try {
        return await routeCommand(router, process.stdin, process.stdout);
      } finally {
        ledger.close();
      }
    }
    case 'run': {
      const task = stringOption(args, 'task');
      if (!task) throw new UsageError('run needs --task KIND (commitMessage, explainDiagnostic, findFiles, refactor, plan, planStep, ask)');
      const prompt = args.positionals.length > 0 ? args.positionals.join(' ') : process.stdin.isTTY ? '' : await readStdin();
      if (prompt.trim() === '') throw new UsageError('run needs a PROMPT (as arguments or on stdin)');
      const { router, ledger } = openRouter(args, loadConfigFile(stringOption(args, 'config')));
      const abort = new AbortController();
      const onSignal = () => abort.abort(new Error('interrupted'));
      process.once('SIGINT', onSignal);
      try {
        return await runCommand(router, { task, prompt, maxOutputTokens: integerOption(args, 'max-output-tokens'), signal: abort.signal }, process.stdout, process.stderr);
      } finally {
        process.off('SIGINT', onSignal);
        ledger.close();
      }
    }
    case 'spend': {
      const config = loadConfigFile(stringOption(args, 'config'));
      const ledger = new Ledger({ dir: stringOption(args, 'ledger') ?? defaultLedgerDir() });
      try {
        const totals = ledger.totals();
        process.stdout.write(args.options.has('json') ? `${JSON.stringify(spendReport(totals, config.budgets), null, 2)}\n` : formatSpend(totals, config.budgets));
      } finally {
        ledger.close();
      }
      return 0;
    }
    case 'bench':
      return benchCommand(process.stdout);
    case 'gateway':
      return gatewayCommand({
        port: parsePort(stringOption(args, 'port')),
        configPath: stringOption(args, 'config'),
        ledgerDir: stringOption(args, 'ledger') ?? defaultLedgerDir(),
        logPrompts: args.options.has('log-prompts'),
        stdout: process.stdout,
        stderr: process.stderr,
      });
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** Errors the user can act on print their message alone; anything else is a bug and keeps its stack. */
function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`tierwise: ${error.message}. Run "tierwise --help".\n`);
    return 2;
  }
  const actionable = [ConfigFileError, BudgetBlockedError, OverCapDeclinedError, NoEndpointError, TierExhaustedError, ProviderError];
  if (actionable.some((type) => error instanceof type)) {
    process.stderr.write(`tierwise: ${(error as Error).message}\n`);
    return error instanceof ConfigFileError ? 2 : 1;
  }
  process.stderr.write(`tierwise: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  return 70;
}

// SDKs print notices (model deprecations) with console.warn; stderr carries exactly one JSON line for `run`.
console.warn = (...args: unknown[]) => {
  if (process.env.TIERWISE_VERBOSE) process.stderr.write(`tierwise: ${args.map(String).join(' ')}\n`);
};

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => (process.exitCode = exitCodeFor(error)),
);
