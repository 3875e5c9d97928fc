import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG } from '../../extension/router/config';
import type { JsonSchema } from '../../extension/router/configSchema';
import { validateAgainstSchema } from '../../extension/router/configValidation';
import { settingsProperties } from '../../extension/router/settingsContribution';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const contributed: Record<string, JsonSchema> = manifest.contributes.configuration.properties;

/** What `npm run sync-settings` writes: the generated properties as JSON (undefined values dropped). */
const generated = (): Record<string, JsonSchema> => JSON.parse(JSON.stringify(settingsProperties()));

/** Settings contributed one per property so the Settings UI gives each its own editor. */
const FLATTENED_SETTINGS = [
  'tierwise.budgets.dailyUsd',
  'tierwise.budgets.monthlyUsd',
  'tierwise.budgets.perRequestUsd',
  'tierwise.budgets.perTierDailyUsd',
  'tierwise.budgets.softThresholdPercent',
  'tierwise.budgets.policy',
  'tierwise.budgets.unpricedFallback',
  'tierwise.escalation.maxEscalations',
  'tierwise.fallback.retriesPerEndpoint',
  'tierwise.fallback.maxRetryWaitMs',
  'tierwise.fallback.failuresBeforeCooldown',
  'tierwise.fallback.cooldownMs',
];
const WHOLE_OBJECT_SETTINGS = [
  'tierwise.tiers',
  'tierwise.routes',
  'tierwise.prices',
  'tierwise.savingsReference',
  'tierwise.localUnavailable',
  'tierwise.requestTimeoutMs',
];
const EXTENSION_ONLY_SETTINGS = ['tierwise.ledgerDirectory', 'tierwise.gateway.enabled', 'tierwise.gateway.port', 'tierwise.debug.logPrompts'];

describe('package.json contributes.configuration', () => {
  test('equals the settings generated from the config schema (run `npm run sync-settings` when this fails)', () => {
    const expected = generated();
    const drifted = [...new Set([...Object.keys(expected), ...Object.keys(contributed)])].filter(
      (key) => JSON.stringify(contributed[key]) !== JSON.stringify(expected[key]),
    );
    assert.deepStrictEqual(
      contributed,
      expected,
      `package.json's contributes.configuration.properties is out of date with extension/router/configSchema.ts ` +
        `(differs at: ${drifted.join(', ') || 'key order'}). Run \`npm run sync-settings\` and commit package.json.`,
    );
    // Same keys in the same order, so the Settings UI lists them as the schema does.
    assert.deepEqual(Object.keys(contributed), Object.keys(expected), 'Run `npm run sync-settings`: settings are out of order.');
  });

  test('contributes exactly the expected settings', () => {
    assert.deepEqual(Object.keys(contributed).sort(), [...FLATTENED_SETTINGS, ...WHOLE_OBJECT_SETTINGS, ...EXTENSION_ONLY_SETTINGS].sort());
  });

  test('flattened sections are not also contributed as a whole object', () => {
    for (const section of ['tierwise.budgets', 'tierwise.escalation', 'tierwise.fallback']) {
      assert.ok(!(section in contributed), `${section} should only be contributed as its flattened settings`);
    }
  });

  test('config-file-only keys are not settings (the extension keeps keys in secret storage)', () => {
    assert.ok(!('tierwise.keyFile' in contributed));
  });

  test('is titled Tierwise', () => assert.equal(manifest.contributes.configuration.title, 'Tierwise'));

  test('every setting has a description for the Settings UI', () => {
    for (const [key, schema] of Object.entries(contributed)) {
      const description = schema.markdownDescription ?? schema.description;
      assert.equal(typeof description, 'string', `${key} has no description or markdownDescription`);
      assert.ok(description!.trim().length >= 10, `${key}'s description is too short to help: "${description}"`);
    }
  });

  test('every setting has an order, so the Settings UI keeps related settings together', () => {
    for (const [key, schema] of Object.entries(contributed)) assert.equal(typeof schema.order, 'number', `${key} has no order`);
  });

  test('no Tierwise-only x-settings-* annotation leaks into package.json', () => {
    const leaks: string[] = [];
    const walk = (value: unknown, path: string) => {
      if (Array.isArray(value)) value.forEach((item, index) => walk(item, `${path}[${index}]`));
      else if (value !== null && typeof value === 'object') {
        for (const [key, child] of Object.entries(value)) {
          if (key.startsWith('x-settings-')) leaks.push(`${path}.${key}`);
          walk(child, `${path}.${key}`);
        }
      }
    };
    walk(manifest.contributes.configuration, 'contributes.configuration');
    assert.deepEqual(leaks, []);
  });

  test("each flattened setting's default is the built-in default for that key", () => {
    for (const key of FLATTENED_SETTINGS) {
      const [, section, name] = key.split('.');
      const builtIn = (DEFAULT_CONFIG as unknown as Record<string, Record<string, unknown>>)[section][name];
      assert.deepEqual(contributed[key].default, builtIn, `${key}: package.json default differs from DEFAULT_CONFIG.${section}.${name}`);
    }
  });

  test("each whole-object setting's default is the built-in default", () => {
    for (const key of WHOLE_OBJECT_SETTINGS) {
      const builtIn = (DEFAULT_CONFIG as unknown as Record<string, unknown>)[key.slice('tierwise.'.length)];
      assert.deepEqual(contributed[key].default, builtIn, `${key}: package.json default differs from DEFAULT_CONFIG`);
    }
  });

  test('the extension-only settings default to off / the standard ledger folder', () => {
    assert.equal(contributed['tierwise.ledgerDirectory'].default, null);
    assert.equal(contributed['tierwise.debug.logPrompts'].default, false);
  });

  test("every default passes its own setting's schema", () => {
    for (const [key, schema] of Object.entries(contributed)) {
      assert.deepEqual(validateAgainstSchema(schema.default, schema, [key]), [], `${key}'s default does not match its schema`);
    }
  });

  test('dollar caps accept null (no cap) and reject negative amounts', () => {
    for (const key of ['tierwise.budgets.dailyUsd', 'tierwise.budgets.monthlyUsd', 'tierwise.budgets.perRequestUsd']) {
      assert.deepEqual(contributed[key].type, ['number', 'null'], key);
      assert.equal(contributed[key].minimum, 0, key);
    }
  });
});

describe('scripts/sync-settings.ts', () => {
  test('rewrites a stale package.json with the generated settings and leaves the rest of the manifest alone', () => {
    // A copy of the script in a scratch folder, so the real package.json is never touched.
    const scratch = mkdtempSync(join(tmpdir(), 'tierwise-sync-settings-'));
    try {
      mkdirSync(join(scratch, 'scripts'));
      copyFileSync(join(repoRoot, 'scripts/sync-settings.ts'), join(scratch, 'scripts/sync-settings.ts'));
      symlinkSync(join(repoRoot, 'extension'), join(scratch, 'extension'), 'dir');
      const stale = structuredClone(manifest);
      stale.contributes.configuration.properties = { 'tierwise.removedSetting': { type: 'string', description: 'gone' } };
      writeFileSync(join(scratch, 'package.json'), JSON.stringify(stale));

      const run = spawnSync(process.execPath, ['--import', 'tsx', join(scratch, 'scripts/sync-settings.ts')], { cwd: repoRoot, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const count = FLATTENED_SETTINGS.length + WHOLE_OBJECT_SETTINGS.length + EXTENSION_ONLY_SETTINGS.length;
      assert.equal(run.stdout, `package.json: ${count} settings\n`);

      const written = readFileSync(join(scratch, 'package.json'), 'utf8');
      assert.ok(written.endsWith('}\n'), 'package.json should end with a newline');
      const synced = JSON.parse(written);
      assert.deepStrictEqual(synced.contributes.configuration.properties, generated());
      assert.deepStrictEqual({ ...synced, contributes: { ...synced.contributes, configuration: undefined } }, {
        ...manifest,
        contributes: { ...manifest.contributes, configuration: undefined },
      });
      assert.equal(synced.contributes.configuration.title, manifest.contributes.configuration.title);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
