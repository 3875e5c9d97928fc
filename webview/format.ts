// How amounts, tokens, durations and times read in the panel. No DOM.

/**
 * Dollars: cents from $1 up; below that up to four decimals, so cheap calls do not all read "$0.01"
 * ($0.0123, $0.425, $0.42, $0.00).
 */
export function usd(amountUsd: number): string {
  const abs = Math.abs(amountUsd);
  if (abs > 0 && abs < 0.00005) return amountUsd < 0 ? '−<$0.0001' : '<$0.0001';
  const text = abs >= 1 ? abs.toFixed(2) : abs.toFixed(4).replace(/(\.\d\d\d?)0+$/, '$1').replace(/(\.\d\d)0$/, '$1');
  return `${amountUsd < 0 ? '−' : ''}$${text}`;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function count(value: number): string {
  return integer.format(value);
}

export function plural(value: number, one: string, many = `${one}s`): string {
  return `${count(value)} ${value === 1 ? one : many}`;
}

export function percent(value: number): string {
  return `${Math.floor(value)}%`;
}

/** 850 ms, 2.3 s, 1 min 5 s. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function localDay(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** A request's time: "14:02" today, "Jun 3, 14:02" on another day. */
export function requestTime(epochMs: number, today: string): string {
  const date = new Date(epochMs);
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (localDay(date) === today) return time;
  return `${date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}, ${time}`;
}

export function fullTime(epochMs: number): string {
  return new Date(epochMs).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** A calendar day (YYYY-MM-DD, already local) as "Mon, Jun 3". Parsed as UTC so no time zone shifts it. */
export function dayLabel(day: string, options: Intl.DateTimeFormatOptions = { weekday: 'short', month: 'short', day: 'numeric' }): string {
  const [year, month, date] = day.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, date)).toLocaleDateString(undefined, { ...options, timeZone: 'UTC' });
}
