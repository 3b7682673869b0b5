import { createHash, type Hash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmod, type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { SigningKey } from './keys.js';
import { type RecordingManifest, syncDir, writeManifest } from './seal.js';

/**
 * The append-only recording file every session recorder writes through (asciicast for terminals,
 * Guacamole instructions for displays): one file per session (<dir>/<id>.<ext>, 0600, folder
 * 0700), sealed on close with a signed manifest (seal.ts).
 *
 * Durability: events are complete lines in an in-memory buffer written to the file at least every
 * `flushIntervalMs` (1 s) and as soon as it holds `flushBytes` (64 KiB), with an fdatasync at
 * least every second beside the writes; a crash (kill -9) therefore loses at most about a second,
 * and every line on disk is a complete event (readers tolerate a torn last line after power loss).
 *
 * Backpressure: while the disk is slower than the session the buffer grows up to
 * `maxBufferBytes` (8 MiB). Past `pressureBytes` (1 MiB) `pressure` turns true, the write methods
 * return false and a 'pressure' event (true) fires: the broker should pause the asset, and
 * resume on 'pressure' (false) / 'drain'. If it does not, events past the hard limit are dropped
 * (counted, and marked in the recording with a format-specific gap marker) rather than letting
 * memory grow without bound.
 *
 * Events: 'pressure' (on: boolean), 'drain', 'fault' (err: Error: a write failed; the recording
 * is dead, `close()` rejects; the broker should end the session). 'fault' is used instead of
 * 'error' so an unhandled failure cannot crash the gateway.
 */

export interface RecordingIo {
  write(fh: FileHandle, data: Buffer): Promise<void>;
  sync(fh: FileHandle): Promise<void>;
}

export const fileIo: RecordingIo = {
  async write(fh, data) {
    let off = 0;
    while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
  },
  sync: (fh) => fh.datasync(),
};

export interface JournalOptions {
  dir: string;
  /** File name stem: letters, digits, '.', '_', '-' (a session id). */
  id: string;
  /** Wall clock in epoch milliseconds (default: monotonic, anchored at Date.now()). */
  clock?: () => number;
  /** Seals the recording on close (loadSigningKey). */
  signer: Pick<SigningKey, 'sign' | 'keyId'>;
  flushIntervalMs?: number;
  /**
   * Real-time safety net: every this many ms a timer flushes what a quiet session left buffered
   * (default flushIntervalMs). Tests driving an injected clock set it out of the way.
   */
  tickIntervalMs?: number;
  flushBytes?: number;
  pressureBytes?: number;
  maxBufferBytes?: number;
  /** Disk access; replaceable for tests (a slow disk). */
  io?: RecordingIo;
}

export interface RecordingResult {
  path: string;
  manifestPath: string;
  bytes: number;
  events: number;
  durationSeconds: number;
  sha256: string;
  startedAt: string;
  endedAt: string;
  droppedEvents: number;
  droppedBytes: number;
  manifest: RecordingManifest;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const defaultClock = (): (() => number) => {
  const base = Date.now() - performance.now();
  return () => base + performance.now();
};

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

/** A recorder's file: the write pipeline, pressure, gap accounting and the seal. */
export abstract class JournalRecorder extends EventEmitter {
  readonly path: string;
  readonly id: string;
  readonly startedAt: string;
  protected readonly clock: () => number;
  protected readonly startMs: number;
  private readonly io: RecordingIo;
  private readonly flushIntervalMs: number;
  private readonly tickIntervalMs: number;
  private readonly flushBytes: number;
  private readonly pressureBytes: number;
  private readonly maxBufferBytes: number;
  private readonly signer: Pick<SigningKey, 'sign' | 'keyId'>;
  private readonly hash: Hash = createHash('sha256');
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private inFlightBytes = 0;
  private written = 0;
  private eventCount = 0;
  private lastT = 0;
  private lastFlushAt: number;
  private lastSyncAt: number;
  private unsynced = false;
  private syncWanted = false;
  private pumping: Promise<void> | null = null;
  /** An fsync in flight: it runs beside the writes, so a slow disk sync never holds data back. */
  private syncing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private underPressure = false;
  private dropped = { events: 0, bytes: 0 };
  private gap = { events: 0, bytes: 0 };
  private failure: Error | null = null;
  private closing: Promise<RecordingResult> | null = null;

  constructor(
    private readonly fh: FileHandle,
    path: string,
    opts: JournalOptions & { clock: () => number },
  ) {
    super();
    this.path = path;
    this.id = opts.id;
    this.clock = opts.clock;
    this.startMs = this.clock();
    this.startedAt = new Date(this.startMs).toISOString();
    this.lastFlushAt = this.startMs;
    this.lastSyncAt = this.startMs;
    this.io = opts.io ?? fileIo;
    this.flushIntervalMs = opts.flushIntervalMs ?? 1000;
    this.tickIntervalMs = opts.tickIntervalMs ?? this.flushIntervalMs;
    this.flushBytes = opts.flushBytes ?? 64 * 1024;
    this.maxBufferBytes = opts.maxBufferBytes ?? 8 * 1024 * 1024;
    this.pressureBytes = Math.min(opts.pressureBytes ?? 1024 * 1024, this.maxBufferBytes);
    this.signer = opts.signer;
  }

  /** The format's marker for events lost to a slow disk, at time t (seconds). */
  protected abstract gapLine(t: number, events: number, bytes: number): Buffer;
  /** Called once before the final flush: the format writes what it still holds (force-append). */
  protected beforeClose(): void {}

  /** Writes and syncs the format's header, starts the flush timer. */
  protected async begin(header: Buffer): Promise<void> {
    await this.io.write(this.fh, header);
    this.hash.update(header);
    this.written += header.length;
    await this.io.sync(this.fh);
    this.timer = setInterval(() => this.tick(), this.tickIntervalMs);
    this.timer.unref();
  }

  /** True while the buffer is past `pressureBytes`: pause the asset until 'drain'. */
  get pressure(): boolean {
    return this.underPressure;
  }
  /** Bytes accepted but not yet on disk (queued plus being written). */
  get bufferedBytes(): number {
    return this.queuedBytes + this.inFlightBytes;
  }
  /** Bytes written to the file so far. */
  get bytes(): number {
    return this.written;
  }
  get events(): number {
    return this.eventCount;
  }
  /** Time (seconds since start) of the latest event. */
  get lastEventTime(): number {
    return this.lastT;
  }
  get droppedEvents(): number {
    return this.dropped.events;
  }
  get closed(): boolean {
    return this.closing !== null;
  }
  get failed(): Error | null {
    return this.failure;
  }

  protected accepting(): boolean {
    return !this.closing && !this.failure && !this.underPressure;
  }

  /** Seconds since the start, never going back. */
  protected now(): number {
    const t = round6(Math.max(this.lastT, (this.clock() - this.startMs) / 1000));
    this.lastT = t;
    return t;
  }

  /**
   * Appends one event built for the current time. Returns false under pressure (pause the
   * source) or when it had to be dropped. `force` (closing) bypasses the limits.
   */
  protected append(build: (t: number) => Buffer, force = false): boolean {
    if ((this.closing && !force) || this.failure) return false;
    const t = this.now();
    const buf = build(t);
    if (this.gap.events) {
      const marker = this.gapLine(t, this.gap.events, this.gap.bytes);
      if (!force && this.bufferedBytes + marker.length + buf.length > this.maxBufferBytes) return this.drop(buf);
      this.enqueue(marker);
      this.gap = { events: 0, bytes: 0 };
    }
    if (!force && this.bufferedBytes + buf.length > this.maxBufferBytes) return this.drop(buf);
    this.enqueue(buf);
    this.maybeFlush();
    return !this.underPressure;
  }

  private drop(buf: Buffer): false {
    this.dropped.events++;
    this.dropped.bytes += buf.length;
    this.gap.events++;
    this.gap.bytes += buf.length;
    return false;
  }

  private enqueue(buf: Buffer): void {
    this.queue.push(buf);
    this.queuedBytes += buf.length;
    this.eventCount++;
    this.updatePressure();
  }

  private updatePressure(): void {
    const b = this.bufferedBytes;
    if (!this.underPressure && b >= this.pressureBytes) {
      this.underPressure = true;
      this.emit('pressure', true);
    } else if (this.underPressure && b <= this.pressureBytes / 2) {
      this.underPressure = false;
      this.emit('pressure', false);
      this.emit('drain');
    }
  }

  private maybeFlush(): void {
    if (this.queuedBytes >= this.flushBytes || this.clock() - this.lastFlushAt >= this.flushIntervalMs) this.kick(false);
  }

  private tick(): void {
    if (this.queuedBytes > 0 || this.unsynced) this.kick(true);
  }

  private kick(sync: boolean): void {
    if (this.failure) return;
    if (sync) this.syncWanted = true;
    if (!this.pumping) this.pumping = this.pump().finally(() => { this.pumping = null; });
  }

  private async pump(): Promise<void> {
    try {
      do {
        while (this.queue.length) {
          const data = this.queue.length === 1 ? (this.queue[0] as Buffer) : Buffer.concat(this.queue);
          this.queue = [];
          this.queuedBytes = 0;
          this.inFlightBytes = data.length;
          this.lastFlushAt = this.clock();
          await this.io.write(this.fh, data);
          this.hash.update(data);
          this.written += data.length;
          this.inFlightBytes = 0;
          this.unsynced = true;
          this.updatePressure();
        }
        if (this.unsynced && !this.syncing && (this.syncWanted || this.clock() - this.lastSyncAt >= this.flushIntervalMs)) {
          this.syncWanted = false;
          this.unsynced = false;
          this.lastSyncAt = this.clock();
          // In the background: what a crash loses depends on the writes, which go on meanwhile.
          this.syncing = this.io
            .sync(this.fh)
            .catch((e) => this.fail(e))
            .finally(() => {
              this.syncing = null;
            });
        }
      } while (this.queue.length);
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    if (this.failure) return;
    this.failure = e instanceof Error ? e : new Error(String(e));
    this.stopTimer();
    this.emit('fault', this.failure);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Resolves when no write is in progress (does not force one). */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /** Writes everything buffered and fsyncs. */
  async flush(): Promise<void> {
    this.kick(true);
    await this.idle();
    while (this.syncing) await this.syncing;
    if (this.unsynced && !this.failure) {
      this.unsynced = false;
      this.lastSyncAt = this.clock();
      await this.io.sync(this.fh).catch((e) => this.fail(e));
    }
    if (this.failure) throw this.failure;
  }

  /** Flushes, closes the file and seals it with a signed manifest. Idempotent. */
  close(): Promise<RecordingResult> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<RecordingResult> {
    this.stopTimer();
    try {
      this.beforeClose();
      if (this.gap.events && !this.failure) {
        this.enqueue(this.gapLine(this.now(), this.gap.events, this.gap.bytes));
        this.gap = { events: 0, bytes: 0 };
      }
      await this.flush();
    } finally {
      await this.fh.close().catch(() => {});
    }
    const endMs = Math.max(this.clock(), this.startMs);
    const durationSeconds = round6(Math.max(this.lastT, (endMs - this.startMs) / 1000));
    const sha256 = this.hash.digest('hex');
    const endedAt = new Date(endMs).toISOString();
    const { manifest, manifestPath } = await writeManifest(this.path, {
      sha256,
      bytes: this.written,
      events: this.eventCount,
      startedAt: this.startedAt,
      endedAt,
      ...(this.dropped.events ? { droppedEvents: this.dropped.events, droppedBytes: this.dropped.bytes } : {}),
    }, this.signer);
    return {
      path: this.path,
      manifestPath,
      bytes: this.written,
      events: this.eventCount,
      durationSeconds,
      sha256,
      startedAt: this.startedAt,
      endedAt,
      droppedEvents: this.dropped.events,
      droppedBytes: this.dropped.bytes,
      manifest,
    };
  }
}

/**
 * Creates <dir>/<id>.<ext> (never overwriting, 0600 in a 0700 folder), builds the recorder over
 * it, lets it write its header, and syncs the folder so the new file survives a crash.
 */
export async function createJournal<R extends JournalRecorder>(
  opts: JournalOptions,
  ext: string,
  build: (fh: FileHandle, path: string, clock: () => number) => R,
  start: (rec: R) => Promise<void>,
): Promise<R> {
  if (!ID.test(opts.id) || opts.id.includes('..')) throw new RangeError(`unsafe recording id ${JSON.stringify(opts.id)}`);
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  await chmod(opts.dir, 0o700);
  const path = join(opts.dir, `${opts.id}.${ext}`);
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.chmod(0o600);
    const rec = build(fh, path, opts.clock ?? defaultClock());
    await start(rec);
    await syncDir(opts.dir);
    return rec;
  } catch (e) {
    await fh.close().catch(() => {});
    throw e;
  }
}
