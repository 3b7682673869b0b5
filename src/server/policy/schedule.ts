import type { LoginWindow } from '../inventory/assets.js';

const DAY_KEYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const DAY_NAMES: Record<string, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

/** Weekday key and HH:MM of an instant in an IANA time zone. */
export function localTime(at: Date, timeZone: string): { day: (typeof DAY_KEYS)[number]; hhmm: string } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const day = get('weekday').toLowerCase().slice(0, 3) as (typeof DAY_KEYS)[number];
  return { day, hhmm: `${get('hour')}:${get('minute')}` };
}

/** Is the instant inside one of the weekly windows (in the site's time zone)? null windows = any time. */
export function withinWindows(windows: LoginWindow[] | null, at: Date, timeZone: string): boolean {
  if (!windows || windows.length === 0) return true;
  const { day, hhmm } = localTime(at, timeZone);
  return windows.some((w) => w.days.includes(day) && hhmm >= w.start && hhmm < w.end);
}

/** "Mon-Fri 06:00-18:00, Sat 08:00-12:00 Europe/Berlin" for messages a user can read. */
export function describeWindows(windows: LoginWindow[], timeZone: string): string {
  const order = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  const text = windows.map((w) => {
    const idx = w.days.map((d) => order.indexOf(d)).sort((a, b) => a - b);
    const runs: string[] = [];
    for (let i = 0; i < idx.length; i++) {
      let j = i;
      while (j + 1 < idx.length && idx[j + 1] === idx[j]! + 1) j++;
      const a = DAY_NAMES[order[idx[i]!]!]!;
      const b = DAY_NAMES[order[idx[j]!]!]!;
      runs.push(j - i >= 2 ? `${a}-${b}` : j > i ? `${a}, ${b}` : a);
      i = j;
    }
    return `${runs.join(', ')} ${w.start}-${w.end}`;
  });
  return `${text.join('; ')} ${timeZone}`;
}

/**
 * Overlapping windows on the same day ("Mon 06:00-12:00" and "Mon 11:00-18:00"), as messages;
 * touching windows (12:00-14:00, 14:00-18:00) are fine. Inverted windows are refused earlier by
 * the window schema (start must be before end).
 */
export function windowOverlaps(windows: LoginWindow[]): { index: number; message: string }[] {
  const out: { index: number; message: string }[] = [];
  for (const day of ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const) {
    const onDay = windows.map((w, index) => ({ w, index })).filter((x) => x.w.days.includes(day)).sort((a, b) => (a.w.start < b.w.start ? -1 : a.w.start > b.w.start ? 1 : a.index - b.index));
    for (let i = 1; i < onDay.length; i++) {
      const prev = onDay[i - 1]!;
      const cur = onDay[i]!;
      if (cur.w.start < prev.w.end) {
        out.push({ index: Math.max(prev.index, cur.index), message: `windows overlap on ${DAY_NAMES[day]} (${prev.w.start}-${prev.w.end} and ${cur.w.start}-${cur.w.end}): merge them into one` });
      }
    }
  }
  return out;
}

/**
 * When do the windows close, seen from `at`? Every set must allow the instant (the asset's login
 * times and each matching rule's windows, each in its own zone); the answer is the first minute
 * boundary after `at` where one of them no longer does, found by stepping through real instants
 * (so a daylight-saving change inside the window is counted right). Undefined: no windows, `at`
 * is outside already, or they stay open for the next 24 hours.
 */
export function windowsClose(sets: { windows: LoginWindow[] | null; timeZone: string }[], at: Date): Date | undefined {
  const restricting = sets.filter((s) => s.windows && s.windows.length > 0);
  if (!restricting.length) return undefined;
  const inside = (t: number) => restricting.every((s) => withinWindows(s.windows, new Date(t), s.timeZone));
  if (!inside(at.getTime())) return undefined;
  const base = Math.floor(at.getTime() / 60_000) * 60_000;
  let lo = base;
  for (let m = 15; m <= 24 * 60; m += 15) {
    const t = base + m * 60_000;
    if (!inside(t)) {
      for (let x = lo + 60_000; x <= t; x += 60_000) if (!inside(x)) return new Date(x);
      return new Date(t);
    }
    lo = t;
  }
  return undefined;
}
