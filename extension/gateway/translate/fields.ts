/** Reading untrusted JSON bodies: each reader names the field it rejects, as a path like `messages[2].content`. */
import { TranslationError } from './errors';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.slice(0, 60))}` : `a ${typeof value}`;
}

export function requireObject(value: unknown, field: string): JsonObject {
  if (!isObject(value)) throw new TranslationError(field, `expected an object, got ${describe(value)}`);
  return value;
}

export function requireArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new TranslationError(field, `expected an array, got ${describe(value)}`);
  return value;
}

export function optionalArray(value: unknown, field: string): unknown[] {
  return value === undefined || value === null ? [] : requireArray(value, field);
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new TranslationError(field, `expected a string, got ${describe(value)}`);
  return value;
}

export function requireNonEmptyString(value: unknown, field: string): string {
  const text = requireString(value, field);
  if (text === '') throw new TranslationError(field, 'must not be empty');
  return text;
}

export function optionalString(value: unknown, field: string): string | undefined {
  return value === undefined || value === null ? undefined : requireString(value, field);
}

export function optionalNumber(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TranslationError(field, `expected a number, got ${describe(value)}`);
  }
  return value;
}

export function optionalPositiveInteger(value: unknown, field: string): number | undefined {
  const number = optionalNumber(value, field);
  if (number !== undefined && (!Number.isInteger(number) || number < 1)) {
    throw new TranslationError(field, `expected a positive integer, got ${number}`);
  }
  return number;
}

export function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new TranslationError(field, `expected a boolean, got ${describe(value)}`);
  return value;
}

/** `stop` fields take one string or a list. */
export function optionalStringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return [value];
  return requireArray(value, field).map((item, index) => requireString(item, `${field}[${index}]`));
}

/** The top-level fields the codec did not read, kept for a codec of the same protocol. */
export function unreadFields(body: JsonObject, read: readonly string[]): JsonObject | undefined {
  const rest = Object.fromEntries(Object.entries(body).filter(([key]) => !read.includes(key)));
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/** A data: URL's media type and base64 payload, or undefined for any other URL. */
export function parseDataUrl(url: string): { mediaType: string; dataBase64: string } | undefined {
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return match ? { mediaType: match[1]!, dataBase64: match[2]! } : undefined;
}

export function dataUrl(mediaType: string, dataBase64: string): string {
  return `data:${mediaType};base64,${dataBase64}`;
}

/** Drops undefined values, so built bodies only carry the fields that are set. */
export function compact<T extends JsonObject>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

/** A token count from a usage object: a finite number, else 0 (a field the server left out). */
export function tokenCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
