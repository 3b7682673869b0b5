import type { Clock } from '../../src/server/broker/clock.js';

/** A clock the test moves by hand: timers fire in order when advance() passes them. */
export class ManualClock implements Clock {
  private t = Date.now();
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return () => {
      this.timers = this.timers.filter((x) => x.id !== id);
    };
  }
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = until;
  }
}

/**
 * Real time that a test can also jump ahead: timers run on their own, and jump() fires the ones it
 * passes at once (the broker's idle timer, the request workflow's windows). Recordings and
 * timestamps move with it.
 */
export class JumpClock implements Clock {
  private offset = 0;
  private timers = new Set<{ at: number; fn: () => void; handle: ReturnType<typeof setTimeout> }>();
  now(): number {
    return Date.now() + this.offset;
  }
  setTimer(ms: number, fn: () => void): () => void {
    const t = { at: this.now() + ms, fn, handle: setTimeout(() => this.timers.delete(t) && fn(), ms) };
    t.handle.unref?.();
    this.timers.add(t);
    return () => {
      clearTimeout(t.handle);
      this.timers.delete(t);
    };
  }
  jump(ms: number): void {
    this.offset += ms;
    for (const t of [...this.timers].sort((a, b) => a.at - b.at)) {
      if (t.at > this.now() || !this.timers.delete(t)) continue;
      clearTimeout(t.handle);
      t.fn();
    }
  }
}

/** An instant as the wall clock of `tz` ("YYYY-MM-DDTHH:MM", the value of a datetime-local input). */
export function wallClock(ms: number, tz: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}
