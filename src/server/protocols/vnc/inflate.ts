/**
 * One logical zlib stream of an RFB connection (ZRLE has one, Tight has four), decoded
 * synchronously, rectangle by rectangle, with a hard cap on each rectangle's output.
 *
 * Why not a zlib.Inflate stream: it is asynchronous, and Node closes the handle after every
 * synchronous call, so it cannot carry state across rectangles synchronously. Instead we rely on
 * what every RFB server does at the end of each rectangle: a Z_SYNC_FLUSH, which ends the deflate
 * block and byte-aligns the stream. The next rectangle's bytes then start a fresh block whose
 * back-references reach at most 32 KiB into earlier output, so they inflate as raw deflate with
 * the last 32 KiB of output as the preset dictionary. The first rectangle after a (re)start
 * carries the 2-byte zlib header and inflates as zlib. Both use Node's public sync API.
 *
 * zlib bombs: `maxOutputLength` makes zlib stop and throw as soon as the output would exceed what
 * the rectangle can use, so a few KiB of input can never expand into memory we did not plan for.
 */
import zlib from 'node:zlib';

const WINDOW = 32 * 1024;
const OPTS = { finishFlush: zlib.constants.Z_SYNC_FLUSH } as const;

export class InflateError extends Error {
  override name = 'InflateError';
}

export class ZStream {
  /** The last <= 32 KiB of output, or null before the first rectangle (expects a zlib header). */
  private window: Buffer | null = null;

  /** Tight's reset bit: the server started a new zlib stream (header and empty history). */
  reset(): void {
    this.window = null;
  }

  /**
   * Inflates one rectangle's compressed bytes. Throws InflateError when the data is corrupt or
   * would produce more than maxOutput bytes. The result may be shorter than the caller expects
   * (the caller checks the exact size it needs).
   */
  inflate(data: Buffer, maxOutput: number): Buffer {
    if (data.length === 0) return Buffer.alloc(0); // nothing consumed, the stream state is unchanged
    const limit = Math.max(1, maxOutput); // zlib refuses a limit of 0
    let out: Buffer;
    try {
      out =
        this.window === null
          ? zlib.inflateSync(data, { ...OPTS, maxOutputLength: limit })
          : zlib.inflateRawSync(data, {
              ...OPTS,
              maxOutputLength: limit,
              ...(this.window.length > 0 ? { dictionary: this.window } : {}),
            });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_BUFFER_TOO_LARGE') throw new InflateError(`zlib data inflates to more than the ${maxOutput} bytes the rectangle needs`);
      throw new InflateError(`corrupt zlib data (${e.code ?? e.message})`);
    }
    if (out.length > maxOutput) throw new InflateError(`zlib data inflates to more than the ${maxOutput} bytes the rectangle needs`);
    this.remember(out);
    return out;
  }

  private remember(out: Buffer): void {
    const prev = this.window ?? Buffer.alloc(0);
    if (out.length >= WINDOW) {
      this.window = Buffer.from(out.subarray(out.length - WINDOW));
    } else {
      const keep = Math.min(prev.length, WINDOW - out.length);
      const next = Buffer.allocUnsafe(keep + out.length);
      prev.copy(next, 0, prev.length - keep);
      out.copy(next, keep);
      this.window = next;
    }
  }
}
