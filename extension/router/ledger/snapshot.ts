import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, readSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { MonthSpendJson } from './aggregate';

/**
 * A sidecar snapshot (`YYYY-MM.snapshot.json`) of a month's aggregates up to a byte offset, so a process that
 * starts cold parses only what was appended after it instead of the whole month (about 100 ms for 50,000 records).
 * It is only a cache: any mismatch and the month file is read from the start.
 */
const SNAPSHOT_FORMAT = 2;

/** A new snapshot is written once this many bytes were parsed past the last one: a cold start parses at most this. */
export const SNAPSHOT_EVERY_BYTES = 2 * 1024 * 1024;

/** The bytes before the snapshot's offset are hashed, so a file replaced or rewritten under the same inode is noticed. */
const PREFIX_CHECK_BYTES = 4096;

export interface MonthSnapshot {
  month: string;
  zoneId: string;
  inode: number;
  offset: number;
  skippedStretches: number;
  spend: MonthSpendJson;
}

interface MonthSnapshotFile extends MonthSnapshot {
  format: number;
  prefixSha256: string;
}

export function snapshotPathFor(monthPath: string): string {
  return monthPath.replace(/\.jsonl$/, '.snapshot.json');
}

function prefixHash(monthFd: number, offset: number): string {
  const length = Math.min(offset, PREFIX_CHECK_BYTES);
  const bytes = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const got = readSync(monthFd, bytes, filled, length - filled, offset - length + filled);
    if (got === 0) break;
    filled += got;
  }
  return createHash('sha256').update(bytes.subarray(0, filled)).digest('hex');
}

/** The snapshot if it describes this very file (same inode, same bytes before its offset) in the same zone. */
export function readSnapshot(
  path: string,
  monthFd: number,
  expected: { month: string; zoneId: string; inode: number; size: number },
): MonthSnapshot | undefined {
  let snapshot: MonthSnapshotFile;
  try {
    snapshot = JSON.parse(readFileSync(path, 'utf8')) as MonthSnapshotFile;
  } catch {
    return undefined;
  }
  const matches =
    snapshot.format === SNAPSHOT_FORMAT &&
    snapshot.month === expected.month &&
    snapshot.zoneId === expected.zoneId &&
    snapshot.inode === expected.inode &&
    Number.isInteger(snapshot.offset) &&
    snapshot.offset > 0 &&
    snapshot.offset <= expected.size &&
    typeof snapshot.spend === 'object' &&
    snapshot.spend !== null &&
    snapshot.prefixSha256 === prefixHash(monthFd, snapshot.offset);
  return matches ? snapshot : undefined;
}

/** Writes atomically (temporary file, then rename); a failure only costs the next cold start some time. */
export function writeSnapshot(path: string, monthFd: number, snapshot: MonthSnapshot): void {
  const file: MonthSnapshotFile = {
    format: SNAPSHOT_FORMAT,
    prefixSha256: prefixHash(monthFd, snapshot.offset),
    ...snapshot,
  };
  const temporary = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    writeFileSync(temporary, JSON.stringify(file), { mode: 0o600 });
    renameSync(temporary, path);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // Nothing was written.
    }
  }
}
