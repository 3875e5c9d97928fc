import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { MonthSpend } from './aggregate';
import type { LedgerCalendar } from './calendar';
import { parseCompleteLines } from './codec';

/** Bytes read per pass on a cold load; a larger line grows the buffer. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * One month's file, read incrementally: it remembers how far it has read and, on each refresh, reads only the
 * bytes appended since. A partial last line (a record still being written, or torn) is left unread.
 */
export class MonthFile {
  private inode = -1;
  private offset = 0;
  private spendSoFar: MonthSpend;
  /** Unreadable stretches skipped so far (torn writes). */
  skippedStretches = 0;

  constructor(
    readonly path: string,
    readonly month: string,
    private readonly calendar: LedgerCalendar,
  ) {
    this.spendSoFar = new MonthSpend(month, calendar);
  }

  get spend(): MonthSpend {
    return this.spendSoFar;
  }

  /** Bytes of the file consumed so far. */
  get bytesRead(): number {
    return this.offset;
  }

  /** Reads what was appended since the last refresh. Returns whether the aggregates changed. */
  refresh(): boolean {
    const stat = statSync(this.path, { throwIfNoEntry: false });
    if (!stat) {
      if (this.inode === -1) return false;
      this.reset(-1);
      return true;
    }
    let changed = false;
    // A different file under the same name, or a shorter one, was not appended to: start over.
    if (this.inode !== -1 && (stat.ino !== this.inode || stat.size < this.offset)) {
      this.reset(stat.ino);
      changed = true;
    }
    this.inode = stat.ino;
    if (stat.size <= this.offset) return changed;
    return this.readFrom(stat.size) || changed;
  }

  private reset(inode: number): void {
    this.inode = inode;
    this.offset = 0;
    this.skippedStretches = 0;
    this.spendSoFar = new MonthSpend(this.month, this.calendar);
  }

  private readFrom(size: number): boolean {
    const spend = this.spendSoFar;
    const apply = spend.apply.bind(spend);
    const recordsBefore = spend.recordCount;
    let buffer = Buffer.allocUnsafe(Math.min(size - this.offset, READ_CHUNK_BYTES));
    const fd = openSync(this.path, 'r');
    try {
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
    } finally {
      closeSync(fd);
    }
    return spend.recordCount !== recordsBefore;
  }
}
