// Activation time of the packaged extension in a real VS Code (code-server): starts it fresh `runs` times
// (new user data each time, the VSIX installed once) and reads the ms that activate() logs to its channel.
//   node --import tsx scripts/bench-activation.ts [runs]     prints {"samples":[…],"medianMs":…}
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installVsix } from '../test/e2e/harness/codeServer';
import { ensureE2eToolchain, progress } from '../test/e2e/harness/install';
import { createSampleWorkspace } from '../test/e2e/harness/sampleWorkspace';
import { extensionUiTimeoutMs } from '../test/e2e/harness/timeouts';
import { activationLinePattern, outputChannelName, spendStatusBarItemId } from '../test/e2e/harness/tierwiseUi';
import { VSCodeSession } from '../test/e2e/harness/vscode';
import { findVsix, tierwiseExtensionId } from '../test/e2e/harness/vsix';
import { waitUntil } from '../test/e2e/harness/waitUntil';

export interface ActivationBenchmark {
  samples: number[];
  medianMs: number;
}

export async function measureActivation(runs = 5): Promise<ActivationBenchmark> {
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, got ${runs}.`);
  const toolchain = await ensureE2eToolchain();
  const vsixPath = findVsix();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tierwise-bench-'));
  try {
    const extensionsDir = path.join(scratch, 'extensions');
    await installVsix(
      toolchain,
      vsixPath,
      { extensionsDir, userDataDir: path.join(scratch, 'install-user-data'), stateDir: path.join(scratch, 'install-state') },
      tierwiseExtensionId(),
    );
    const workspaceFolder = createSampleWorkspace(path.join(scratch, 'sample-scores'), { git: false });
    const samples: number[] = [];
    for (let run = 1; run <= runs; run++) {
      samples.push(await measureOneStart(workspaceFolder, extensionsDir, run));
      progress(`activation run ${run}/${runs}: ${samples.at(-1)} ms`);
    }
    return { samples, medianMs: median(samples) };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

async function measureOneStart(workspaceFolder: string, extensionsDir: string, run: number): Promise<number> {
  const session = await VSCodeSession.start({ workspaceFolder, extensionsDir, vsixPath: null, name: `bench-activation-${run}` });
  try {
    return await session.withScreenshotOnFailure('activation', async () => {
      await session.statusBarText(spendStatusBarItemId); // activation reached the UI
      // The channel's log file rather than the Output panel, so measuring does not click around the workbench.
      const match = await waitUntil(() => session.outputChannelLog(outputChannelName)?.match(activationLinePattern), {
        timeoutMs: extensionUiTimeoutMs,
        description: `"${outputChannelName}" output channel to log ${activationLinePattern}`,
      });
      return Number(match[1]);
    });
  } finally {
    await session.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  measureActivation(process.argv[2] ? Number(process.argv[2]) : undefined)
    .then((result) => console.log(JSON.stringify(result)))
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    });
}
