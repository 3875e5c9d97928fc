// Bundles the three programs Tierwise ships: the extension (Node, CommonJS, `vscode` external),
// the sidebar webview app (browser) and the `tierwise` CLI (Node, with a shebang).
import * as esbuild from 'esbuild';
import { chmodSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  minify: production,
  sourcemap: production ? false : 'linked',
  logLevel: 'info',
  legalComments: 'none',
};

/** @type {esbuild.BuildOptions[]} */
const builds = [
  {
    ...common,
    entryPoints: { extension: 'extension/extension.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // The TypeScript compiler is its own bundle (below), required only on the first TS/JS syntax check.
    external: ['vscode', 'typescript'],
  },
  {
    ...common,
    entryPoints: { typescript: 'node_modules/typescript/lib/typescript.js' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: false,
  },
  {
    ...common,
    // The append-rate benchmark runs the ledger child script in several processes.
    entryPoints: { cli: 'extension/cli/main.ts', ledgerAppendChild: 'extension/router/ledger/appendBenchChild.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    external: ['typescript'],
  },
  {
    ...common,
    entryPoints: { webview: 'webview/main.ts' },
    outdir: 'dist',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
];

if (watch) {
  const contexts = await Promise.all(builds.map((options) => esbuild.context(options)));
  await Promise.all(contexts.map((context) => context.watch()));
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
  // The CLI is the package's `bin`: runnable as `./dist/cli.js` too.
  chmodSync('dist/cli.js', 0o755);
}
