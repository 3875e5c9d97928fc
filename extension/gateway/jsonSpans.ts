/**
 * Byte-level editing of a JSON request body, so that pass-through keeps every other byte as the client sent it:
 * prompt caching matches on the exact bytes of system blocks, tools and cache_control breakpoints, and a parse →
 * stringify round trip would reorder nothing but could still change escapes and number formatting.
 *
 * UTF-8 never uses bytes below 0x80 inside a multi-byte character, so scanning for the ASCII structure characters
 * byte by byte is safe; string contents are skipped with Buffer.indexOf.
 */

/** A value's bytes: [start, end) in the body. */
export interface ByteSpan {
  start: number;
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

export class JsonScanError extends Error {
  override readonly name = 'JsonScanError';
}

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

function skipSpace(bytes: Buffer, at: number): number {
  while (at < bytes.length && isSpace(bytes[at])) at++;
  return at;
}

/** The index after the last non-space byte before `end`. */
function trimEnd(bytes: Buffer, end: number): number {
  while (end > 0 && isSpace(bytes[end - 1])) end--;
  return end;
}

/** `at` is on an opening quote; returns the index after the closing one. */
function skipString(bytes: Buffer, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote < 0) throw new JsonScanError('unterminated string');
    let backslashes = 0;
    for (let index = quote - 1; index > at && bytes[index] === BACKSLASH; index--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Set by skipValue: the commas directly inside the last container skipped (elements − 1 for a non-empty array). */
let lastContainerCommas = 0;
/** Set by skipValue: where the last container's last element begins (after its opening bracket or last comma). */
let lastContainerElementAt = 0;

/** The index after the value starting at `at`. */
function skipValue(bytes: Buffer, at: number): number {
  const first = bytes[at];
  if (first === QUOTE) return skipString(bytes, at);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    let commas = 0;
    let elementAt = at + 1;
    for (let index = at; index < bytes.length; index++) {
      const byte = bytes[index];
      if (byte === QUOTE) {
        index = skipString(bytes, index) - 1;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        depth++;
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (--depth === 0) {
          lastContainerCommas = commas;
          lastContainerElementAt = elementAt;
          return index + 1;
        }
      } else if (byte === COMMA && depth === 1) {
        commas++;
        elementAt = index + 1;
      }
    }
    throw new JsonScanError('unterminated object or array');
  }
  let index = at;
  while (index < bytes.length) {
    const byte = bytes[index];
    if (byte === COMMA || byte === CLOSE_BRACE || byte === CLOSE_BRACKET || isSpace(byte)) break;
    index++;
  }
  if (index === at) throw new JsonScanError(`unexpected byte at ${at}`);
  return index;
}

export interface TopLevelScan {
  /** Index of the object's opening brace. */
  open: number;
  /** Value spans by key; for a repeated key the last one, which is the one JSON.parse keeps. */
  values: Map<string, ByteSpan>;
  /** Element counts of the values that are arrays, found on the same pass. */
  arrayLengths: Map<string, number>;
  /** The last element of each non-empty array value, found on the same pass (a request's last message). */
  lastElements: Map<string, ByteSpan>;
}

/** The spans of the top-level object's values. Throws JsonScanError when the body is not a JSON object. */
export function scanTopLevel(bytes: Buffer): TopLevelScan {
  const values = new Map<string, ByteSpan>();
  const arrayLengths = new Map<string, number>();
  const lastElements = new Map<string, ByteSpan>();
  const open = skipSpace(bytes, 0);
  if (bytes[open] !== OPEN_BRACE) throw new JsonScanError('not a JSON object');
  let at = skipSpace(bytes, open + 1);
  if (bytes[at] === CLOSE_BRACE) return { open, values, arrayLengths, lastElements };
  for (;;) {
    if (bytes[at] !== QUOTE) throw new JsonScanError(`expected a key at ${at}`);
    const keyEnd = skipString(bytes, at);
    const rawKey = bytes.toString('utf8', at, keyEnd);
    const key = rawKey.includes('\\') ? (JSON.parse(rawKey) as string) : rawKey.slice(1, -1);
    at = skipSpace(bytes, keyEnd);
    if (bytes[at] !== COLON) throw new JsonScanError(`expected ":" at ${at}`);
    const start = skipSpace(bytes, at + 1);
    const end = skipValue(bytes, start);
    values.set(key, { start, end });
    if (bytes[start] === OPEN_BRACKET) {
      const empty = skipSpace(bytes, start + 1) === end - 1;
      arrayLengths.set(key, empty ? 0 : lastContainerCommas + 1);
      if (empty) lastElements.delete(key);
      else lastElements.set(key, { start: skipSpace(bytes, lastContainerElementAt), end: trimEnd(bytes, end - 1) });
    } else {
      arrayLengths.delete(key);
      lastElements.delete(key);
    }
    at = skipSpace(bytes, end);
    if (bytes[at] === COMMA) {
      at = skipSpace(bytes, at + 1);
      continue;
    }
    if (bytes[at] === CLOSE_BRACE) return { open, values, arrayLengths, lastElements };
    throw new JsonScanError(`expected "," or "}" at ${at}`);
  }
}

const UNICODE_ESCAPE = Buffer.from('\\u', 'latin1');

/**
 * The span of `key`'s value in the object at `span` (the last one when repeated, as JSON.parse keeps), or undefined
 * when the object has no such key or `span` is not an object. Keys are compared as bytes: nothing is allocated for
 * the keys passed over. A key written with escapes is compared decoded.
 */
export function objectFieldSpan(bytes: Buffer, span: ByteSpan, key: string): ByteSpan | undefined {
  let at = skipSpace(bytes, span.start);
  if (bytes[at] !== OPEN_BRACE) return undefined;
  at = skipSpace(bytes, at + 1);
  if (bytes[at] === CLOSE_BRACE) return undefined;
  const wanted = Buffer.from(JSON.stringify(key), 'utf8');
  const plainWord = /^\w+$/.test(key);
  let found: ByteSpan | undefined;
  for (;;) {
    if (bytes[at] !== QUOTE) throw new JsonScanError(`expected a key at ${at}`);
    const keyEnd = skipString(bytes, at);
    const length = keyEnd - at;
    // An escaped key is longer than its decoded form: only then is it decoded to compare.
    const matches =
      length === wanted.length
        ? bytes.compare(wanted, 0, length, at, keyEnd) === 0
        : length > wanted.length && bytes.subarray(at, keyEnd).includes(BACKSLASH) && JSON.parse(bytes.toString('utf8', at, keyEnd)) === key;
    at = skipSpace(bytes, keyEnd);
    if (bytes[at] !== COLON) throw new JsonScanError(`expected ":" at ${at}`);
    const start = skipSpace(bytes, at + 1);
    const end = skipValue(bytes, start);
    if (matches) {
      found = { start, end };
      // Repeated keys are rare: when the key occurs no more in the rest of the object, written plainly or (a word's
      // only other spelling) with \u escapes, this was its last occurrence.
      const rest = bytes.subarray(end, span.end);
      if (plainWord && !rest.includes(wanted) && !rest.includes(UNICODE_ESCAPE)) return found;
    }
    at = skipSpace(bytes, end);
    if (bytes[at] === COMMA) {
      at = skipSpace(bytes, at + 1);
      continue;
    }
    if (bytes[at] === CLOSE_BRACE) return found;
    throw new JsonScanError(`expected "," or "}" at ${at}`);
  }
}

/** The elements of the array at `span`, found only as far as they are asked for. */
export class ArrayElements {
  private readonly spans: ByteSpan[] = [];
  private at: number;
  private done: boolean;

  constructor(
    private readonly bytes: Buffer,
    private readonly span: ByteSpan,
  ) {
    this.done = bytes[span.start] !== OPEN_BRACKET;
    this.at = this.done ? span.end : skipSpace(bytes, span.start + 1);
  }

  /** The element at `index` (negative counts from the end, which finds them all). */
  get(index: number): ByteSpan | undefined {
    if (index < 0) {
      this.extendTo(Infinity);
      return this.spans[this.spans.length + index];
    }
    this.extendTo(index + 1);
    return this.spans[index];
  }

  count(): number {
    this.extendTo(Infinity);
    return this.spans.length;
  }

  private extendTo(wanted: number): void {
    const bytes = this.bytes;
    while (!this.done && this.spans.length < wanted) {
      if (this.at >= this.span.end || bytes[this.at] === CLOSE_BRACKET) {
        this.done = true;
        break;
      }
      const end = skipValue(bytes, this.at);
      this.spans.push({ start: this.at, end });
      this.at = skipSpace(bytes, end);
      if (bytes[this.at] === COMMA) this.at = skipSpace(bytes, this.at + 1);
    }
  }
}

/** Spans of the first `limit` elements of the array at `span`. */
export function arrayElementSpans(bytes: Buffer, span: ByteSpan, limit = Infinity): ByteSpan[] {
  const elements = new ArrayElements(bytes, span);
  const spans: ByteSpan[] = [];
  for (let index = 0; index < limit; index++) {
    const element = elements.get(index);
    if (!element) break;
    spans.push(element);
  }
  return spans;
}

/**
 * The body with the top-level `model` set to `model`, as chunks to write in order (no copy of the rest): the
 * value's bytes are replaced, or the key is added first when the body has none.
 */
export function withModel(bytes: Buffer, scan: TopLevelScan, model: string): Buffer[] {
  const value = Buffer.from(JSON.stringify(model), 'utf8');
  const span = scan.values.get('model');
  if (span) return [bytes.subarray(0, span.start), value, bytes.subarray(span.end)];
  const separator = scan.values.size > 0 ? ',' : '';
  return [bytes.subarray(0, scan.open + 1), Buffer.from(`"model":${value.toString('utf8')}${separator}`, 'utf8'), bytes.subarray(scan.open + 1)];
}
