import type { LoginWindow } from '../inventory/assets.js';

/**
 * Wall-clock arithmetic for request windows in an IANA time zone: recurring maintenance windows
 * ("every Tuesday 14:00-18:00 Europe/Berlin") become real instants, one occurrence at a time, so
 * a daylight-saving change between two occurrences moves the UTC instants, not the local times.
 */

const DAY_KEYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const DAY = 86_400_000;

export interface Window {
  start: Date;
  end: Date;
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = fmtCache.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    fmtCache.set(timeZone, f);
  }
  return f;
}

function wallParts(at: number, timeZone: string): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const parts = formatter(timeZone).formatToParts(new Date(at));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return { y: get('year'), m: get('month'), d: get('day'), h: get('hour') % 24, mi: get('minute'), s: get('second') };
}

/** The zone's offset from UTC at an instant, in ms (Berlin in summer: +7_200_000). */
function offsetMs(at: number, timeZone: string): number {
  const p = wallParts(at, timeZone);
  return Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s) - Math.floor(at / 1000) * 1000;
}

/** The instant of a local date and time in a zone (a time skipped by spring-forward lands after the gap). */
export function zonedToUtc(date: string, hhmm: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const [h, mi] = hhmm.split(':').map(Number) as [number, number];
  const guess = Date.UTC(y, m - 1, d, h, mi);
  const o1 = offsetMs(guess, timeZone);
  let t = guess - o1;
  const o2 = offsetMs(t, timeZone);
  if (o2 !== o1) t = guess - o2;
  return new Date(t);
}

/** YYYY-MM-DD of an instant in a zone. */
export function localDate(at: Date | number, timeZone: string): string {
  const p = wallParts(typeof at === 'number' ? at : at.getTime(), timeZone);
  return `${String(p.y).padStart(4, '0')}-${String(p.m).padStart(2, '0')}-${String(p.d).padStart(2, '0')}`;
}

export function addDays(date: string, n: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
}

const weekday = (date: string) => DAY_KEYS[new Date(`${date}T12:00:00Z`).getUTCDay()]!;

/**
 * The occurrences of weekly windows inside a series [seriesStart, seriesEnd) that overlap
 * [from, to), in order. An occurrence must lie wholly inside the series.
 */
export function occurrences(windows: LoginWindow[], timeZone: string, seriesStart: Date, seriesEnd: Date, from: Date, to: Date, limit = 5000): Window[] {
  const lo = Math.max(from.getTime(), seriesStart.getTime());
  const hi = Math.min(to.getTime(), seriesEnd.getTime());
  if (lo >= hi) return [];
  const out: Window[] = [];
  const last = localDate(hi, timeZone);
  for (let date = addDays(localDate(lo, timeZone), -1); date <= last && out.length < limit; date = addDays(date, 1)) {
    const day = weekday(date);
    for (const w of windows) {
      if (!w.days.includes(day)) continue;
      const start = zonedToUtc(date, w.start, timeZone);
      const end = w.end === '24:00' ? zonedToUtc(addDays(date, 1), '00:00', timeZone) : zonedToUtc(date, w.end, timeZone);
      if (start < seriesStart || end > seriesEnd || end.getTime() <= start.getTime()) continue;
      if (end.getTime() > lo && start.getTime() < hi) out.push({ start, end });
    }
  }
  return out.sort((a, b) => a.start.getTime() - b.start.getTime());
}

/** Do two sorted lists of windows overlap anywhere? */
export function windowsOverlap(a: Window[], b: Window[]): Window | undefined {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x.start < y.end && y.start < x.end) return { start: x.start > y.start ? x.start : y.start, end: x.end < y.end ? x.end : y.end };
    if (x.end <= y.end) i++;
    else j++;
  }
  return undefined;
}
