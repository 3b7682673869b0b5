/**
 * Wall-clock times in a site's IANA time zone (requests are asked for, and shown, in the plant's
 * time): "2027-03-10T14:00" in Europe/Berlin <-> an instant, with Intl only (no library).
 */

export const BROWSER_ZONE = (() => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
})();

const partsFormat = new Map<string, Intl.DateTimeFormat>();
function partsIn(tz: string): Intl.DateTimeFormat {
  let f = partsFormat.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    partsFormat.set(tz, f);
  }
  return f;
}

/** The wall clock of `ms` in `tz` as numbers. */
function wallClock(ms: number, tz: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const p = Object.fromEntries(partsIn(tz).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { y: Number(p.year), mo: Number(p.month), d: Number(p.day), h: Number(p.hour) % 24, mi: Number(p.minute), s: Number(p.second) };
}

/** How far `tz` is ahead of UTC at the instant `ms` (milliseconds). */
function offsetAt(ms: number, tz: string): number {
  const w = wallClock(ms, tz);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(ms / 1000) * 1000;
}

export function isValidZone(tz: string): boolean {
  try {
    partsIn(tz);
    return true;
  } catch {
    return false;
  }
}

/**
 * "YYYY-MM-DDTHH:MM" read as the wall clock of `tz` -> the instant (null when not a date). In the
 * hour skipped by a spring-forward change the later offset wins (as the gateway does).
 */
export function zonedToUtc(local: string, tz: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (!m || !isValidZone(tz)) return null;
  const guess = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
  if (Number.isNaN(guess)) return null;
  let t = guess - offsetAt(guess, tz);
  // A second pass settles instants near a daylight-saving change.
  t = guess - offsetAt(t, tz);
  return new Date(t);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** An instant as "YYYY-MM-DDTHH:MM" on the wall clock of `tz` (the value of a datetime-local input). */
export function toZonedInput(iso: string | Date, tz: string): string {
  const w = wallClock(new Date(iso).getTime(), isValidZone(tz) ? tz : 'UTC');
  return `${w.y}-${pad(w.mo)}-${pad(w.d)}T${pad(w.h)}:${pad(w.mi)}`;
}

const shown = new Map<string, Intl.DateTimeFormat>();
/** "10.03.2027, 14:00" (the browser's locale) on the wall clock of `tz`. */
export function formatInZone(iso: string | Date | null | undefined, tz: string, withDate = true): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const zone = isValidZone(tz) ? tz : 'UTC';
  const key = `${zone}|${withDate}`;
  let f = shown.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(undefined, { timeZone: zone, ...(withDate ? { year: 'numeric', month: '2-digit', day: '2-digit' } : {}), hour: '2-digit', minute: '2-digit' });
    shown.set(key, f);
  }
  return f.format(d);
}

/** Same calendar day in `tz`? (a window shown as "10.03.2027, 14:00 – 15:30"). */
export function sameDayIn(a: string | Date, b: string | Date, tz: string): boolean {
  return toZonedInput(a, tz).slice(0, 10) === toZonedInput(b, tz).slice(0, 10);
}

/** "[start] – [end]" in `tz`, the end without its date when on the same day. */
export function formatRange(start: string | Date, end: string | Date, tz: string): string {
  return `${formatInZone(start, tz)} – ${formatInZone(end, tz, !sameDayIn(start, end, tz))}`;
}

/** Minutes -> "90 min (1 h 30 min)", "2 h", "3 d 4 h". */
export function formatMinutes(min: number): string {
  if (!Number.isFinite(min) || min <= 0) return '—';
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  const m = min % 60;
  return [d ? `${d} d` : '', h ? `${h} h` : '', m ? `${m} min` : ''].filter(Boolean).join(' ');
}

/** "10.03.2027" (the browser's locale): the calendar day of an instant in `tz`. */
export function formatDayInZone(iso: string | Date, tz: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(undefined, { timeZone: isValidZone(tz) ? tz : 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}
