// `npm test`: type-check, build the VSIX the end-to-end suite installs, then run every test file
// (unit, wire, e2e) in one `node --test` run so the closing summary counts them all.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const SUITES = ['test/unit', 'test/wire', 'test/gateway', 'test/agents', 'test/e2e'];

/**
 * Loopback HTTPS fakes in the tests use a self-signed certificate, trusted through NODE_EXTRA_CA_CERTS (read at
 * start-up). The variable takes one file, and the machine may already name one (a proxy's CA, which npm needs to
 * install the agent CLIs): the tests get both, in one file under .cache/.
 */
function testCaFile() {
  const fixture = readFileSync(join('test', 'fixtures', 'tls', 'loopback.crt'), 'utf8');
  const existing = process.env.NODE_EXTRA_CA_CERTS && existsSync(process.env.NODE_EXTRA_CA_CERTS) ? readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8') : '';
  mkdirSync('.cache', { recursive: true });
  const path = resolve('.cache', 'test-ca.pem');
  writeFileSync(path, `${existing.trimEnd()}${existing ? '\n' : ''}${fixture}`);
  return path;
}

function run(command, args, env = process.env) {
  process.stderr.write(`\n> ${[command, ...args].join(' ')}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.status !== 0) {
    process.stderr.write(`\nnpm test: "${[command, ...args].join(' ')}" failed (exit ${result.status ?? result.signal}).\n`);
    process.exit(result.status ?? 1);
  }
}

const only = process.argv.slice(2);
const suites = only.length > 0 ? SUITES.filter((suite) => only.some((name) => suite.endsWith(name))) : SUITES;
const testFiles = suites.flatMap((dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.endsWith('.test.ts'))
        .sort()
        .map((name) => join(dir, name))
    : [],
);
if (testFiles.length === 0) {
  process.stderr.write(`npm test: no test files found in ${suites.join(', ')}\n`);
  process.exit(1);
}

run('npx', ['tsc', '-p', '.', '--noEmit']);
run('npx', ['tsc', '-p', 'webview', '--noEmit']);
if (suites.includes('test/e2e')) run('npm', ['run', 'package']);
else run('npm', ['run', 'build']);
run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...testFiles], { ...process.env, NODE_EXTRA_CA_CERTS: testCaFile() });
