// Where the e2e harness keeps things: the repo it tests, the install cache and the screenshots.
import * as path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..');

/** Installs that survive between runs (Node 22, code-server); override with TIERWISE_E2E_CACHE. */
export const e2eCacheDir = process.env.TIERWISE_E2E_CACHE
  ? path.resolve(process.env.TIERWISE_E2E_CACHE)
  : path.join(repoRoot, '.cache', 'e2e');

/** Screenshots and server logs from failed runs (ignored by git). */
export const e2eResultsDir = path.join(repoRoot, 'test-results', 'e2e');

export const sampleWorkspaceTemplateDir = path.join(repoRoot, 'test', 'e2e', 'sample-workspace');
