/**
 * Failed SSH sign-ins per source address over a sliding minute (on top of the per-account lockout,
 * which login() and secondFactor() already count): past the limit, every attempt from that address
 * is refused until the window slides. In memory, per gateway process.
 */
export class FailureLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly maxPerWindow: number,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(ip: string): number[] {
    const since = this.now() - this.windowMs;
    const list = (this.hits.get(ip) ?? []).filter((t) => t > since);
    if (list.length) this.hits.set(ip, list);
    else this.hits.delete(ip);
    return list;
  }

  fail(ip: string | null): void {
    const key = ip ?? '?';
    const list = this.recent(key);
    list.push(this.now());
    this.hits.set(key, list);
    // Bounded memory under a spray of addresses: forget the oldest entries.
    if (this.hits.size > 10_000) this.hits.delete(this.hits.keys().next().value!);
  }

  blocked(ip: string | null): boolean {
    return this.recent(ip ?? '?').length >= this.maxPerWindow;
  }
}
