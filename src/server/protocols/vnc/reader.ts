/**
 * The streaming byte reader under the RFB parser.
 *
 * The parser is a generator that yields how many bytes it needs next and receives exactly that
 * many (`const head = yield 4`). The driver feeds socket chunks in and resumes the generator only
 * when enough bytes are queued, so a message split across TCP segments simply waits, and nothing
 * is ever read "to the end of the message" before its sizes were validated: every request comes
 * from a length the parser has already checked against its limits (see limits.ts).
 *
 * Memory: the queue holds at most the bytes of the request in progress plus the chunk that
 * completed it; a request larger than `maxRequest` is a bug or a hostile length and throws.
 */

/** `yield n` asks for exactly n bytes (n >= 0) and resumes with a Buffer of that length. */
export type ByteParser<T = void> = Generator<number, T, Buffer>;

const EMPTY = Buffer.alloc(0);

export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Read offset in chunks[0]. */
  private offset = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Exactly n bytes (caller checked `length >= n`): a view when they lie in one chunk, else a copy. */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    const avail = first.length - this.offset;
    if (n <= avail) {
      const out = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      this.total -= n;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const count = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(out, filled, this.offset, this.offset + count);
      filled += count;
      this.offset += count;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.total -= n;
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.offset = 0;
    this.total = 0;
  }
}

/**
 * Runs a ByteParser over fed chunks. feed() throws whatever the parser throws (the caller turns
 * it into a protocol error); after that, or after the parser returned, the driver is done and
 * ignores further input.
 */
export class ParserDriver {
  private readonly queue = new ByteQueue();
  private need: number;
  private finished = false;
  private paused = false;

  constructor(
    private readonly parser: ByteParser,
    private readonly maxRequest: number,
  ) {
    this.need = this.check(parser.next().value);
  }

  get done(): boolean {
    return this.finished;
  }

  /** Bytes received and not yet consumed (for tests and memory accounting). */
  get buffered(): number {
    return this.queue.length;
  }

  feed(chunk: Buffer): void {
    if (this.finished) return;
    this.queue.push(chunk);
    this.pump();
  }

  /** Stops resuming the parser (after the current step) until resume(); input is queued meanwhile. */
  pause(): void {
    this.paused = true;
  }

  /** Goes on with queued input; throws like feed(). */
  resume(): void {
    this.paused = false;
    this.pump();
  }

  private pump(): void {
    try {
      while (!this.finished && !this.paused && this.queue.length >= this.need) {
        const r = this.parser.next(this.queue.take(this.need));
        if (r.done) {
          this.finished = true;
          this.queue.clear();
        } else {
          this.need = this.check(r.value);
        }
      }
    } catch (err) {
      this.finished = true;
      this.queue.clear();
      throw err;
    }
  }

  /** Stops the parser (runs its finally blocks) and drops queued bytes. */
  stop(): void {
    if (this.finished) return;
    this.finished = true;
    this.queue.clear();
    try {
      this.parser.return(undefined);
    } catch {
      // a parser's cleanup cannot fail the caller's close
    }
  }

  private check(n: number | void): number {
    if (typeof n !== 'number') {
      this.finished = true;
      return 0;
    }
    if (!Number.isInteger(n) || n < 0 || n > this.maxRequest) {
      throw new RangeError(`parser asked for ${n} bytes (limit ${this.maxRequest})`);
    }
    return n;
  }
}
