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
