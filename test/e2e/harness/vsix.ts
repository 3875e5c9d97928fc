// Finds the Tierwise VSIX the e2e tests install, or builds one for the demo.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { progress } from './install';
import { repoRoot } from './paths';
import { runToCompletion } from './processes';
import { installTimeoutMs } from './timeouts';

/** `publisher.name` from the repo's package.json, e.g. "tierwise.tierwise". */
export function tierwiseExtensionId(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { publisher: string; name: string };
  return `${manifest.publisher}.${manifest.name}`;
}

/** TIERWISE_VSIX if set, else the newest tierwise-*.vsix in the repo root. */
export function findVsix(): string {
  const fromEnv = process.env.TIERWISE_VSIX;
  if (fromEnv) {
    const vsixPath = path.resolve(fromEnv);
    if (!fs.existsSync(vsixPath)) throw new Error(`TIERWISE_VSIX points at ${vsixPath}, which does not exist.`);
    return vsixPath;
  }
  const newest = newestRepoVsix();
  if (!newest) throw new Error(`No tierwise-*.vsix in ${repoRoot}: run \`npm run package\` first (or set TIERWISE_VSIX).`);
  warnIfOlderThanBundle(newest);
  return newest;
}

/** The VSIX to use, running `npm run package` first if there is none. */
export async function findOrBuildVsix(): Promise<string> {
  if (process.env.TIERWISE_VSIX || newestRepoVsix()) return findVsix();
  progress('no VSIX yet: running `npm run package`');
  await runToCompletion('npm', ['run', 'package'], { name: 'npm run package', cwd: repoRoot, timeoutMs: installTimeoutMs });
  return findVsix();
}

function newestRepoVsix(): string | undefined {
  return fs
    .readdirSync(repoRoot)
    .filter((name) => /^tierwise-.*\.vsix$/.test(name))
    .map((name) => path.join(repoRoot, name))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
}

function warnIfOlderThanBundle(vsixPath: string): void {
  const bundle = path.join(repoRoot, 'dist', 'extension.js');
  if (fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs > fs.statSync(vsixPath).mtimeMs + 1000) {
    progress(`warning: ${path.basename(vsixPath)} is older than dist/extension.js; run \`npm run package\` to test the current code`);
  }
}
