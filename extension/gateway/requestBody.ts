import { ArrayElements, JsonScanError, objectFieldSpan, scanTopLevel, type ByteSpan, type TopLevelScan } from './jsonSpans';

/**
 * Read access to a request body, parsed only as far as asked. Agent bodies run to hundreds of kilobytes and
 * JSON.parse costs ~4.6 µs per KB, while classification needs a handful of small top-level fields: scanning the
 * structure (~1 µs per KB) and parsing those fields alone keeps the gateway's added latency flat as a
 * conversation grows. Each field is parsed at most once.
 */
export interface BodyView {
  /** A top-level field, parsed; undefined when absent. */
  get(key: string): unknown;
  /** Elements in a top-level array (0 when absent or not an array). */
  length(key: string): number;
  /** One element of a top-level array, parsed (a negative index counts from the end). */
  element(key: string, index: number): unknown;
  /** Whether the serialised body contains `text` (a cheap test before parsing deep fields). */
  contains(text: string): boolean;
  /** Whether the serialised form of the top-level field `key` contains `text` (false when absent). */
  fieldContains(key: string, text: string): boolean;
  /** The last element of the top-level array `key`, parsed (undefined when absent or empty). */
  lastElement(key: string): unknown;
  /** One field of that last element, when it is an object; only that field is parsed. */
  lastElementField(key: string, field: string): unknown;
  /** Whether the serialised last element of the top-level array `key` contains `text`. */
  lastElementContains(key: string, text: string): boolean;
  /** Whether the serialised last element of the top-level array `key` begins with `text` (ASCII), byte for byte. */
  lastElementOpensWith(key: string, text: string): boolean;
  /** A top-level field's serialised form, for digests (raw bytes as sent, or JSON.stringify of a parsed value). */
  serialized(key: string): string | Buffer | undefined;
  /** The serialised form of one element of a top-level array. */
  serializedElement(key: string, index: number): string | Buffer | undefined;
  /** The whole body parsed (translation needs it). */
  all(): Record<string, unknown>;
}

const QUOTE = 0x22;

/**
 * Whether `bytes` contain `text`. Needles such as '"base64"' open with a quote, the commonest byte in JSON, which
 * makes a plain search stop at every string; searching from the second character and checking the quote before is
 * several times quicker (~1 µs instead of ~6 µs on a 16 KB body).
 */
export function bytesInclude(bytes: Buffer | string, text: string, start = 0, end = bytes.length): boolean {
  if (typeof bytes === 'string') return (start === 0 && end === bytes.length ? bytes : bytes.slice(start, end)).includes(text);
  // Buffer.indexOf has no end bound: search a view of the range, or a field's search would run on to the body's end.
  const range = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  if (text.length < 2 || text.charCodeAt(0) !== QUOTE) return range.includes(text);
  const rest = text.slice(1);
  for (let at = range.indexOf(rest, 1); at > 0; at = range.indexOf(rest, at + 1)) {
    if (range[at - 1] === QUOTE) return true;
  }
  return false;
}

/** A body received as bytes: its top-level object is scanned once, fields parsed on demand. */
export class RawBody implements BodyView {
  readonly scan: TopLevelScan;
  private readonly fields = new Map<string, unknown>();
  private readonly arrays = new Map<string, ArrayElements | undefined>();
  private readonly parsedElements = new Map<string, unknown>();
  private whole: Record<string, unknown> | undefined;

  /** Throws JsonScanError when the body is not a JSON object. */
  constructor(readonly raw: Buffer) {
    this.scan = scanTopLevel(raw);
  }

  get(key: string): unknown {
    if (this.whole) return this.whole[key];
    if (this.fields.has(key)) return this.fields.get(key);
    const span = this.scan.values.get(key);
    const value = span ? this.parse(span, key) : undefined;
    this.fields.set(key, value);
    return value;
  }

  length(key: string): number {
    return this.scan.arrayLengths.get(key) ?? 0;
  }

  element(key: string, index: number): unknown {
    const span = this.arrayOf(key)?.get(index);
    if (!span) return undefined;
    const id = `${key}\u0000${span.start}`;
    if (!this.parsedElements.has(id)) this.parsedElements.set(id, this.parse(span, `${key}[${index}]`));
    return this.parsedElements.get(id);
  }

  contains(text: string): boolean {
    return bytesInclude(this.raw, text);
  }

  fieldContains(key: string, text: string): boolean {
    const span = this.scan.values.get(key);
    return span !== undefined && bytesInclude(this.raw, text, span.start, span.end);
  }

  lastElement(key: string): unknown {
    const span = this.scan.lastElements.get(key);
    return span ? this.parse(span, `${key}[-1]`) : undefined;
  }

  lastElementField(key: string, field: string): unknown {
    const span = this.scan.lastElements.get(key);
    // The field is found in the element's own top level: a long last message is skipped over, not parsed.
    const fieldSpan = span && objectFieldSpan(this.raw, span, field);
    return fieldSpan ? this.parse(fieldSpan, `${key}[-1].${field}`) : undefined;
  }

  lastElementContains(key: string, text: string): boolean {
    const span = this.scan.lastElements.get(key);
    return span !== undefined && bytesInclude(this.raw, text, span.start, span.end);
  }

  lastElementOpensWith(key: string, text: string): boolean {
    const span = this.scan.lastElements.get(key);
    if (span === undefined || span.end - span.start < text.length) return false;
    // Compared here, byte by byte: a handful of bytes is not worth a call into Buffer.compare.
    for (let index = 0; index < text.length; index++) if (this.raw[span.start + index] !== text.charCodeAt(index)) return false;
    return true;
  }

  serialized(key: string): Buffer | undefined {
    const span = this.scan.values.get(key);
    return span ? this.raw.subarray(span.start, span.end) : undefined;
  }

  serializedElement(key: string, index: number): Buffer | undefined {
    const span = this.arrayOf(key)?.get(index);
    return span ? this.raw.subarray(span.start, span.end) : undefined;
  }

  all(): Record<string, unknown> {
    this.whole ??= this.parse({ start: 0, end: this.raw.length }, 'the body') as Record<string, unknown>;
    return this.whole;
  }

  private parse(span: ByteSpan, where: string): unknown {
    try {
      return JSON.parse(this.raw.toString('utf8', span.start, span.end));
    } catch (error) {
      throw new JsonScanError(`${where} is not valid JSON: ${(error as Error).message}`);
    }
  }

  private arrayOf(key: string): ArrayElements | undefined {
    if (!this.arrays.has(key)) {
      const span = this.scan.values.get(key);
      this.arrays.set(key, span ? new ArrayElements(this.raw, span) : undefined);
    }
    return this.arrays.get(key);
  }
}

/** A view of an already parsed value (tests, and callers that hold an object). Anything that is not an object reads as {}. */
export class ParsedBody implements BodyView {
  private readonly record: Record<string, unknown>;
  private text: string | undefined;

  constructor(value: unknown) {
    this.record = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  }

  get(key: string): unknown {
    return Object.hasOwn(this.record, key) ? this.record[key] : undefined;
  }

  length(key: string): number {
    const value = this.get(key);
    return Array.isArray(value) ? value.length : 0;
  }

  element(key: string, index: number): unknown {
    const value = this.get(key);
    return Array.isArray(value) ? value.at(index) : undefined;
  }

  contains(text: string): boolean {
    this.text ??= JSON.stringify(this.record);
    return this.text.includes(text);
  }

  fieldContains(key: string, text: string): boolean {
    return this.serialized(key)?.includes(text) ?? false;
  }

  lastElement(key: string): unknown {
    const value = this.get(key);
    return Array.isArray(value) ? value.at(-1) : undefined;
  }

  lastElementField(key: string, field: string): unknown {
    const last = this.lastElement(key);
    return typeof last === 'object' && last !== null && !Array.isArray(last) && Object.hasOwn(last, field) ? (last as Record<string, unknown>)[field] : undefined;
  }

  lastElementContains(key: string, text: string): boolean {
    const last = this.lastElement(key);
    return last !== undefined && JSON.stringify(last).includes(text);
  }

  lastElementOpensWith(key: string, text: string): boolean {
    const last = this.lastElement(key);
    return last !== undefined && JSON.stringify(last).startsWith(text);
  }

  serialized(key: string): string | undefined {
    const value = this.get(key);
    return value === undefined ? undefined : JSON.stringify(value);
  }

  serializedElement(key: string, index: number): string | undefined {
    const value = this.element(key, index);
    return value === undefined ? undefined : JSON.stringify(value);
  }

  all(): Record<string, unknown> {
    return this.record;
  }
}

export function bodyView(value: unknown): BodyView {
  return value instanceof RawBody || value instanceof ParsedBody ? value : new ParsedBody(value);
}
