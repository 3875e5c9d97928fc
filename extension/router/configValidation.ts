import { DEFAULT_CONFIG, type TierwiseConfig } from './config';
import { CONFIG_SCHEMA, type JsonSchema } from './configSchema';

/** One problem in a configuration value, located by its key path (`budgets.dailyUsd`, `tiers.local.endpoints[0].provider`). */
export interface ConfigProblem {
  path: string;
  /** The path as keys and indexes, so keys that contain dots (`gpt-4.1`, `agent.review`) stay whole. */
  segments: (string | number)[];
  message: string;
}

export function formatProblem(problem: ConfigProblem, keyPrefix = ''): string {
  return `${keyPrefix}${problem.path}: ${problem.message}`;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isInteger(value)) return 'integer';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

function describeExpected(schema: JsonSchema): string {
  if (schema.enum) return `one of ${schema.enum.map((option) => JSON.stringify(option)).join(', ')}`;
  const types = ([] as string[]).concat(schema.type ?? []);
  const bounds = [
    schema.minimum !== undefined ? `≥ ${schema.minimum}` : '',
    schema.maximum !== undefined ? `≤ ${schema.maximum}` : '',
  ].filter(Boolean);
  const article = (type: string) => (/^[aeiou]/.test(type) ? 'an' : 'a');
  const typeText = types.map((type) => (type === 'integer' ? 'a whole number' : type === 'null' ? 'null' : `${article(type)} ${type}`));
  return `${typeText.join(' or ')}${bounds.length ? ` (${bounds.join(', ')})` : ''}`;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Closest known key by edit distance, for "did you mean" hints on typos. */
function closestKey(key: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** Validates a value against the JSON-schema subset Tierwise uses; returns every problem found. */
export function validateAgainstSchema(value: unknown, schema: JsonSchema, segments: (string | number)[] = []): ConfigProblem[] {
  const path = pathText(segments);
  const problems: ConfigProblem[] = [];
  const at = (child: string | number) => [...segments, child];

  if (schema.type !== undefined) {
    const types = ([] as string[]).concat(schema.type);
    if (!types.some((type) => matchesType(value, type))) {
      return [{ path, segments, message: `expected ${describeExpected(schema)}, got ${shown(value)}` }];
    }
  }
  if (schema.enum && !schema.enum.includes(value as string)) {
    return [{ path, segments, message: `expected ${describeExpected(schema)}, got ${shown(value)}` }];
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) problems.push({ path, segments, message: `expected a finite number, got ${shown(value)}` });
    if ((schema.minimum !== undefined && value < schema.minimum) || (schema.maximum !== undefined && value > schema.maximum)) {
      problems.push({ path, segments, message: `expected ${describeExpected(schema)}, got ${value}` });
    }
  }
  if (typeof value === 'string' && schema.minLength !== undefined && value.length < schema.minLength) {
    problems.push({ path, segments, message: 'must not be empty' });
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      problems.push({ path, segments, message: `needs at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}` });
    }
    if (schema.items) value.forEach((item, index) => problems.push(...validateAgainstSchema(item, schema.items!, at(index))));
  }
  if (typeOf(value) === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (record[key] === undefined) problems.push({ path: pathText(at(key)), segments: at(key), message: 'is required' });
    }
    const known = Object.keys(schema.properties ?? {});
    for (const [key, child] of Object.entries(record)) {
      const childSchema = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
      if (childSchema) {
        problems.push(...validateAgainstSchema(child, childSchema, at(key)));
      } else if (typeof schema.additionalProperties === 'object') {
        problems.push(...validateAgainstSchema(child, schema.additionalProperties, at(key)));
      } else if (schema.additionalProperties === false) {
        const hint = closestKey(key, known);
        problems.push({
          path: pathText(at(key)),
          segments: at(key),
          message: `unknown key${hint ? ` (did you mean "${hint}"?)` : known.length ? ` (known keys: ${known.join(', ')})` : ''}`,
        });
      }
    }
  }
  return problems;
}

function pathText(segments: (string | number)[]): string {
  return segments.reduce<string>((text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : text ? `${text}.${segment}` : segment), '');
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeOf(value) === 'object';

/** Deep-merges `override` over `base`; arrays and scalars replace, objects merge key by key. */
function mergeOver<T>(base: T, override: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(override)) return (override === undefined ? base : override) as T;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value !== undefined) merged[key] = mergeOver((base as Record<string, unknown>)[key], value);
  }
  return merged as T;
}

export interface ParsedConfig {
  config: TierwiseConfig;
  problems: ConfigProblem[];
}

/**
 * Validates a user's partial configuration (settings or a config file) and merges it over the defaults.
 * A value with problems keeps its default (at the second key level: `tiers.local`, `budgets.dailyUsd`), so one
 * bad value never disables the rest.
 */
export function parseConfig(raw: unknown, defaults: TierwiseConfig = DEFAULT_CONFIG): ParsedConfig {
  if (raw === undefined || raw === null) return { config: structuredClone(defaults), problems: [] };
  const problems = validateAgainstSchema(raw, CONFIG_SCHEMA);
  if (!isPlainObject(raw)) return { config: structuredClone(defaults), problems };
  const rejectedTopLevel = new Set(problems.filter((problem) => problem.segments.length <= 1).map((problem) => String(problem.segments[0])));
  const rejectedChildren = new Map<string, Set<string>>();
  for (const { segments } of problems) {
    if (segments.length < 2) continue;
    const children = rejectedChildren.get(String(segments[0])) ?? new Set<string>();
    children.add(String(segments[1]));
    rejectedChildren.set(String(segments[0]), children);
  }
  const accepted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (rejectedTopLevel.has(key)) continue;
    const rejected = rejectedChildren.get(key);
    accepted[key] = isPlainObject(value) && rejected ? Object.fromEntries(Object.entries(value).filter(([child]) => !rejected.has(child))) : value;
  }
  return { config: mergeOver(structuredClone(defaults), accepted), problems };
}
