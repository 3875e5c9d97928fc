import { gatewayTokenPath, loadOrCreateGatewayToken, startGateway, type RunningGateway } from '../../gateway';
import { Ledger } from '../../router/ledger/ledger';
import { UsageError } from '../args';
import { loadConfigFile } from '../configFile';
import { environmentKeyResolver } from '../envKeys';

export interface GatewayCommandOptions {
  /** 0 picks a free port. */
  port: number;
  configPath: string | undefined;
  ledgerDir: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Prompt text in the log (off by default). */
  logPrompts: boolean;
}

/** `--port N`: 0 (any free port) to 65535. */
export function parsePort(value: string | undefined): number {
  if (value === undefined) return 0;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port expects a port number from 0 to 65535, got "${value}"`);
  return port;
}

/**
 * `tierwise gateway`: serves agent clients on 127.0.0.1 until SIGINT or SIGTERM. Once listening it prints one JSON
 * line, {"url", "token"}, to stdout; the log goes to stderr. Keys come from the environment or the config's keyFile.
 */
export async function gatewayCommand(options: GatewayCommandOptions): Promise<number> {
  const config = loadConfigFile(options.configPath);
  const ledger = new Ledger({ dir: options.ledgerDir });
  const token = loadOrCreateGatewayToken(gatewayTokenPath(options.ledgerDir));
  let gateway: RunningGateway;
  try {
    gateway = await startGateway({
      config: () => config,
      ledger,
      keys: environmentKeyResolver(process.env, config.keyFile),
      tokenValue: token,
      port: options.port,
      log: coalescedLog(options.stderr),
      debugLogPrompts: options.logPrompts,
    });
  } catch (error) {
    ledger.close();
    options.stderr.write(`tierwise: ${(error as Error).message}\n`);
    return 1;
  }
  options.stdout.write(`${JSON.stringify({ url: gateway.url, token: gateway.token })}\n`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  options.stderr.write(`tierwise gateway: ${signal}: finishing answers in flight, then stopping\n`);
  await gateway.close();
  ledger.close();
  return 0;
}

/**
 * Log lines written together: those logged in one turn of the event loop (a settlement batch logs several) go out
 * in one write, not one write each.
 */
function coalescedLog(stream: NodeJS.WritableStream): (line: string) => void {
  let pending = '';
  return (line) => {
    if (!pending) queueMicrotask(() => {
      const text = pending;
      pending = '';
      stream.write(text);
    });
    pending += `tierwise gateway: ${line}\n`;
  };
}
