/**
 * Local calendar days and months for ledger timestamps. The ledger files and the "today" bucket follow the
 * user's local calendar, so a call at 23:59 and one at 00:01 count on different days.
 */

/** Every UTC offset in use is a whole number of quarter hours, so a local day always starts on a UTC quarter hour. */
const QUARTER_HOUR_MS = 15 * 60_000;

export class LedgerCalendar {
  private readonly formatter: Intl.DateTimeFormat | undefined;
  private cachedQuarter = Number.NaN;
  private cachedDay = '';

  /**
   * @param timeZone An IANA zone such as `America/New_York`; omitted, the process's local zone (the `TZ`
   * environment variable, else the system's). The process zone is read per lookup but cached per quarter hour.
   */
  /** The zone days are computed in, by IANA name; snapshots of per-day totals are only valid in the same zone. */
  readonly zoneId: string;

  constructor(readonly timeZone?: string) {
    this.zoneId = timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'local';
    this.formatter = timeZone
      ? new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
      : undefined;
  }

  /** Local calendar day of an epoch-millisecond time, `YYYY-MM-DD`. */
  dayOf(epochMs: number): string {
    const quarter = Math.floor(epochMs / QUARTER_HOUR_MS);
    if (quarter !== this.cachedQuarter) {
      this.cachedDay = this.formatter ? dayInZone(this.formatter, epochMs) : dayInProcessZone(epochMs);
      this.cachedQuarter = quarter;
    }
    return this.cachedDay;
  }

  /** Local calendar month of an epoch-millisecond time, `YYYY-MM`. */
  monthOf(epochMs: number): string {
    return this.dayOf(epochMs).slice(0, 7);
  }
}

export const MONTH_KEY_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;

function dayInProcessZone(epochMs: number): string {
  const date = new Date(epochMs);
  return formatDay(date.getFullYear(), date.getMonth() + 1, date.getDate());
}

function dayInZone(formatter: Intl.DateTimeFormat, epochMs: number): string {
  let year = 0;
  let month = 0;
  let day = 0;
  for (const part of formatter.formatToParts(epochMs)) {
    if (part.type === 'year') year = Number(part.value);
    else if (part.type === 'month') month = Number(part.value);
    else if (part.type === 'day') day = Number(part.value);
  }
  return formatDay(year, month, day);
}

function formatDay(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${month < 10 ? '0' : ''}${month}-${day < 10 ? '0' : ''}${day}`;
}
