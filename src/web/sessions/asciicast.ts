/**
 * asciicast v2 as the gateway records it (src/server/recording): a JSON header line, then one
 * `[time, code, data]` line per event: o (output), i (input), r (resize "COLSxROWS"), m (marker).
 */
export interface CastEvent {
  /** Seconds on the playback timeline (idle pauses possibly shortened). */
  t: number;
  code: 'o' | 'i' | 'r' | 'm';
  data: string;
}

export interface Cast {
  cols: number;
  rows: number;
  title: string | null;
  /** Unix seconds of the start, when the header has it. */
  timestamp: number | null;
  events: CastEvent[];
  /** Length of the timeline in seconds. */
  duration: number;
  markers: { t: number; label: string }[];
  /** Lines that are not events (a torn last line after a crash, or worse). */
  skipped: number;
}

/** Parses a recording; with `idleLimit` every pause longer than that many seconds is shortened to it. */
export function parseCast(text: string, idleLimit: number | null = null): Cast {
  const lines = text.split('\n');
  let header: { width?: unknown; height?: unknown; version?: unknown; title?: unknown; timestamp?: unknown };
  try {
    header = JSON.parse(lines[0] ?? '') as typeof header;
  } catch {
    throw new Error('not an asciicast recording (the first line is not a JSON header)');
  }
  if (header.version !== 2) throw new Error('not an asciicast v2 recording');
  const events: CastEvent[] = [];
  let skipped = 0;
  let last = 0;
  let shifted = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (!Array.isArray(e) || typeof e[0] !== 'number' || typeof e[2] !== 'string' || !['o', 'i', 'r', 'm'].includes(e[1] as string)) {
      skipped++;
      continue;
    }
    const raw = e[0];
    const gap = raw - last;
    if (idleLimit !== null && gap > idleLimit) shifted += gap - idleLimit;
    last = Math.max(last, raw);
    events.push({ t: Math.max(0, raw - shifted), code: e[1] as CastEvent['code'], data: e[2] });
  }
  const cols = typeof header.width === 'number' && header.width > 0 ? header.width : 80;
  const rows = typeof header.height === 'number' && header.height > 0 ? header.height : 24;
  return {
    cols,
    rows,
    title: typeof header.title === 'string' ? header.title : null,
    timestamp: typeof header.timestamp === 'number' ? header.timestamp : null,
    events,
    duration: events.length ? (events[events.length - 1]?.t ?? 0) : 0,
    markers: events.filter((e) => e.code === 'm').map((e) => ({ t: e.t, label: e.data })),
    skipped,
  };
}

/** "120x40" -> {cols, rows}. */
export function parseSize(data: string): { cols: number; rows: number } | null {
  const m = /^(\d+)x(\d+)$/.exec(data);
  if (!m) return null;
  const cols = Number(m[1]);
  const rows = Number(m[2]);
  return cols > 0 && rows > 0 ? { cols, rows } : null;
}
