import { LEDGER_RECORD_VERSION, type LedgerRecord } from './records';

/**
 * Every record line starts with these bytes. Inside a JSON string a `"` is always escaped, so the marker can only
 * occur where an object starts; a reader finds the next record after a torn one by searching for it.
 */
export const RECORD_START_MARKER = `{"v":${LEDGER_RECORD_VERSION},`;

const NEWLINE_BYTE = 0x0a;

/** One record as one line: the version key first, then the record's own keys, then a newline. */
export function encodeRecord(record: LedgerRecord): string {
  // Assigning onto an object that already has `v` keeps `v` the first key, whatever the record's key order.
  return JSON.stringify(Object.assign({ v: LEDGER_RECORD_VERSION }, record)) + '\n';
}

const RECORD_TYPES = new Set<string>(['decision', 'reserve', 'release', 'call']);

/** Checks what the aggregates rely on; other fields are trusted to match the schema. */
export function isLedgerRecord(value: unknown): value is LedgerRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  if (record.v !== LEDGER_RECORD_VERSION || typeof record.ts !== 'number' || !RECORD_TYPES.has(record.type as string)) {
    return false;
  }
  switch (record.type) {
    case 'call':
      return typeof record.costUsd === 'number' && typeof record.tier === 'string' && typeof record.model === 'string';
    case 'reserve':
      return typeof record.reservationId === 'string' && typeof record.amountUsd === 'number';
    case 'release':
      return typeof record.reservationId === 'string';
    default:
      return true;
  }
}

function tryParse(text: string): LedgerRecord | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isLedgerRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The records on one physical line (without its newline). Normally the whole line is one record. A writer killed
 * mid-write leaves a fragment with no newline, so the next writer's record continues the same line: then every
 * marker position is tried, and a fragment is skipped without swallowing the records after it.
 * Returns how many unreadable stretches were skipped.
 */
export function parseLine(line: string, onRecord: (record: LedgerRecord) => void): number {
  if (line.startsWith(RECORD_START_MARKER)) {
    const record = tryParse(line);
    if (record) {
      onRecord(record);
      return 0;
    }
  }
  if (line.length === 0) return 0;
  let skipped = 0;
  let start = line.indexOf(RECORD_START_MARKER);
  if (start !== 0) skipped++;
  while (start >= 0) {
    const next = line.indexOf(RECORD_START_MARKER, start + 1);
    // The rest of the line first: a record may itself hold a nested object that starts like the marker.
    const rest = start === 0 ? undefined : tryParse(line.slice(start));
    if (rest) {
      onRecord(rest);
      return skipped;
    }
    const segment = next < 0 ? undefined : tryParse(line.slice(start, next));
    if (segment) onRecord(segment);
    else skipped++;
    start = next;
  }
  return skipped;
}

/**
 * Parses the complete lines at the start of `bytes[0, end)` and reports how many bytes they took (up to and
 * including the last newline); a trailing partial line is left for the next read.
 */
export function parseCompleteLines(
  bytes: Buffer,
  end: number,
  onRecord: (record: LedgerRecord) => void,
): { consumedBytes: number; skipped: number } {
  const lastNewline = bytes.lastIndexOf(NEWLINE_BYTE, end - 1);
  if (lastNewline < 0) return { consumedBytes: 0, skipped: 0 };
  // Cutting at a newline byte never splits a UTF-8 sequence.
  const text = bytes.toString('utf8', 0, lastNewline);
  let skipped = 0;
  let lineStart = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    if (lineEnd > lineStart) skipped += parseLine(text.slice(lineStart, lineEnd), onRecord);
    lineStart = lineEnd + 1;
  }
  return { consumedBytes: lastNewline + 1, skipped };
}
