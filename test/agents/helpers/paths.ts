// Where the agent-client tests keep things: the repo they test, the client install cache and failure artefacts.
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '..', '..', '..');

/** The installed agent clients survive between runs; override with TIERWISE_AGENTS_CACHE. */
export const agentsCacheDir = process.env.TIERWISE_AGENTS_CACHE ? resolve(process.env.TIERWISE_AGENTS_CACHE) : join(repoRoot, '.cache', 'agents');

/** Client output, gateway log and the fakes' recorded requests of failed scenarios (ignored by git). */
export const agentResultsDir = join(repoRoot, 'test-results', 'agents');

/** The bundled CLI (`npm run build`) that serves `tierwise gateway`. */
export const cliBundle = join(repoRoot, 'dist', 'cli.js');
