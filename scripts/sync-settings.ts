// Writes package.json's contributes.configuration.properties from the engine's config schema, so settings and
// config files share one schema. The unit test settingsContribution.test.ts fails when they drift.
import { readFileSync, writeFileSync } from 'node:fs';
import { settingsProperties } from '../extension/router/settingsContribution';

const manifestPath = new URL('../package.json', import.meta.url);
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
manifest.contributes.configuration.properties = settingsProperties();
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
process.stdout.write(`package.json: ${Object.keys(manifest.contributes.configuration.properties).length} settings\n`);
