import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG, type TierwiseConfig } from '../router/config';
import { formatProblem, parseConfig } from '../router/configValidation';

/** A config file that cannot be used; the message names the file and each offending key. */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

/** Reads a config file (the same JSON shape as the `tierwise.*` settings); no file means the defaults. */
export function loadConfigFile(path: string | undefined): TierwiseConfig {
  if (path === undefined) return structuredClone(DEFAULT_CONFIG);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigFileError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigFileError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const { config, problems } = parseConfig(raw);
  if (problems.length > 0) {
    throw new ConfigFileError(`config file ${path} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((problem) => `  ${formatProblem(problem)}`).join('\n')}`);
  }
  return config;
}
