import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { MonthSpend } from './aggregate';
import type { LedgerCalendar } from './calendar';
import { parseCompleteLines } from './codec';
import { SNAPSHOT_EVERY_BYTES, readSnapshot, snapshotPathFor, writeSnapshot } from './snapshot';

/** Bytes read per pass on a cold load; a longer line grows the buffer. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * One month's file, read incrementally: it remembers how far it has read and, on each refresh, reads only the
 * bytes appended since. A partial last line (a record still being written, or torn) is left unread.
 */
export class MonthFile {
  private inode = -1;
  private offset = 0;
  private snapshotOffset = 0;
  private spendSoFar: MonthSpend;
  private readonly snapshotPath: string;
  /** Unreadable stretches skipped so far (torn writes). */
  skippedStretches = 0;

  constructor(
    readonly path: string,
    readonly month: string,
    private readonly calendar: LedgerCalendar,
    private readonly useSnapshots: boolean,
  ) {
    this.spendSoFar = new MonthSpend(month, calendar);
    this.snapshotPath = snapshotPathFor(path);
  }

  get spend(): MonthSpend {
    return this.spendSoFar;
  }

  /** Bytes of the file accounted for so far. */
  get bytesRead(): number {
    return this.offset;
  }

  /** Reads what was appended since the last refresh. Returns whether the aggregates changed. */
  refresh(): boolean {
    const stat = statSync(this.path, { throwIfNoEntry: false });
    if (!stat) {
      if (this.inode === -1) return false;
      this.reset();
      this.inode = -1;
      return true;
    }
    let changed = false;
    // A different file under the same name, or a shorter one, was not appended to: start over.
    if (this.inode !== -1 && (stat.ino !== this.inode || stat.size < this.offset)) {
      this.reset();
      changed = true;
    }
    this.inode = stat.ino;
    if (stat.size <= this.offset) return changed;

    const fd = openSync(this.path, 'r');
    try {
      if (this.offset === 0 && this.useSnapshots && this.spendSoFar.recordCount === 0) {
        changed = this.loadSnapshot(fd, stat) || changed;
      }
      changed = this.readFrom(fd, stat.size) || changed;
      if (this.useSnapshots && this.offset - this.snapshotOffset >= SNAPSHOT_EVERY_BYTES) this.saveSnapshot(fd);
    } finally {
      closeSync(fd);
    }
    return changed;
  }

  private reset(): void {
    this.offset = 0;
    this.snapshotOffset = 0;
    this.skippedStretches = 0;
    this.spendSoFar = new MonthSpend(this.month, this.calendar);
  }

  private loadSnapshot(fd: number, stat: Stats): boolean {
    // Reservations carried over from the previous month are not in the snapshot; then read the file instead.
    if (this.spendSoFar.openReservations.size > 0) return false;
    const snapshot = readSnapshot(this.snapshotPath, fd, {
      month: this.month,
      zoneId: this.calendar.zoneId,
      inode: stat.ino,
      size: stat.size,
    });
    if (!snapshot) return false;
    try {
      this.spendSoFar = MonthSpend.fromJson(this.month, this.calendar, snapshot.spend);
    } catch {
      this.spendSoFar = new MonthSpend(this.month, this.calendar);
      return false;
    }
    this.offset = snapshot.offset;
    this.snapshotOffset = snapshot.offset;
    this.skippedStretches = snapshot.skippedStretches;
    return true;
  }

  private saveSnapshot(fd: number): void {
    writeSnapshot(this.snapshotPath, fd, {
      month: this.month,
      zoneId: this.calendar.zoneId,
      inode: this.inode,
      offset: this.offset,
      skippedStretches: this.skippedStretches,
      spend: this.spendSoFar.toJson(),
    });
    this.snapshotOffset = this.offset;
  }

  private readFrom(fd: number, size: number): boolean {
    const spend = this.spendSoFar;
    const apply = spend.apply.bind(spend);
    const recordsBefore = spend.recordCount;
    let buffer = Buffer.allocUnsafe(Math.min(size - this.offset, READ_CHUNK_BYTES));
    while (this.offset < size) {
      const wanted = Math.min(size - this.offset, buffer.length);
      let filled = 0;
      while (filled < wanted) {
        const got = readSync(fd, buffer, filled, wanted - filled, this.offset + filled);
        if (got === 0) break;
        filled += got;
      }
      const { consumedBytes, skipped } = parseCompleteLines(buffer, filled, apply);
      this.skippedStretches += skipped;
      this.offset += consumedBytes;
      if (consumedBytes === 0) {
        // No newline in a full buffer: a line longer than the buffer. Otherwise it is the unfinished last line.
        if (filled === buffer.length && this.offset + filled < size) buffer = Buffer.allocUnsafe(buffer.length * 2);
        else break;
      }
    }
    return spend.recordCount !== recordsBefore;
  }
}
