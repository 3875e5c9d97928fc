// `npm run bench`: Tierwise's figures, printed, never gating CI. Builds the VSIX, then measures activation in the
// real VS Code server (median of 5 fresh starts), the VSIX size, and the engine's own bench (`tierwise bench`).
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { measureActivation } from './bench-activation';
import { benchGateway, formatGatewayBench } from './bench-gateway';
import { findVsix } from '../test/e2e/harness/vsix';

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

async function main(): Promise<void> {
  run('npm', ['run', 'package', '--silent']);
  const vsix = findVsix();
  if (!vsix) throw new Error('npm run package produced no VSIX');
  process.stdout.write(`VSIX size: ${statSync(vsix).size} bytes (${vsix})\n`);

  process.stdout.write('\nEngine (tierwise bench):\n');
  run(process.execPath, ['dist/cli.js', 'bench']);

  process.stdout.write('\nGateway (loopback; added latency versus calling the upstream directly, and a bare Node proxy as the floor):\n');
  process.stdout.write(`${formatGatewayBench(await benchGateway())}\n`);

  process.stdout.write('\nActivation in VS Code (code-server 4.117.0), 5 fresh starts:\n');
  const activation = await measureActivation(5);
  process.stdout.write(`activation time: median ${activation.medianMs.toFixed(1)} ms (samples: ${activation.samples.map((ms) => ms.toFixed(1)).join(', ')} ms)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
