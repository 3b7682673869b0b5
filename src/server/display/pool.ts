/**
 * EncoderPool: PNG/JPEG encoding on worker threads, so a burst of full-frame updates never stalls
 * the gateway's event loop (keystrokes, other sessions, the HTTP API all share it).
 *
 * - Each worker takes one job at a time; jobs wait in a FIFO queue, bounded by maxPending. When the
 *   bound is reached encode() rejects at once (code 'overload'): the caller is expected to watch
 *   `pending` and skip or coalesce frames before that happens, never to queue without limit.
 * - Results resolve when their job is done, which with several workers is NOT submission order.
 *   Callers that need order (img instructions must be sent as the frame was composed) keep it
 *   themselves, e.g. by awaiting the promises in submission order.
 * - A job the worker cannot encode rejects with code 'failed' and the worker keeps serving. A worker
 *   that dies (out of memory, native crash, exit) rejects only its current job (code 'crash') and is
 *   replaced; a job running longer than jobTimeoutMs is rejected (code 'timeout') and its worker
 *   terminated and replaced. Workers that die before they are ready (e.g. the worker file cannot
 *   be loaded) requeue their job; after MAX_START_FAILURES in a row the pool gives up and rejects
 *   everything with the last error instead of respawning forever.
 * - Workers hold the process open only while jobs are pending (ref'd then, unref'd when idle): a
 *   forgotten idle pool does not keep the process alive, a job waiting for a result does.
 *   close() terminates every worker and rejects what is left (code 'closed').
 *
 * Worker resolution: compiled, this file is dist/.../pool.js and the worker is the sibling
 * encode-worker.js. Run from source under tsx (`node --import tsx`), this file is pool.ts and the
 * worker is encode-worker.ts, but tsx 4.23 registers its loader hooks inside worker threads only
 * from Node 22.22.3 / 24.11.1 on; on Node 20 a plain `new Worker(url)` fails with "Unknown file
 * extension .ts". In that case the worker is started from a two-line eval bootstrap that
 * registers tsx's ESM API inside the worker and then imports the .ts entry.
 */
import { availableParallelism } from 'node:os';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import type { EncodeJob, WorkerReady, WorkerRequest, WorkerResponse } from './encode-job.js';

export type { EncodeJob } from './encode-job.js';

export type EncoderPoolErrorCode = 'overload' | 'closed' | 'failed' | 'crash' | 'timeout';

export class EncoderPoolError extends Error {
  constructor(
    readonly code: EncoderPoolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EncoderPoolError';
  }
}

export interface EncoderPoolOptions {
  /** Worker threads (default min(2, os.availableParallelism())). */
  size?: number;
  /** Jobs queued plus running before encode() rejects with 'overload' (default 64). */
  maxPending?: number;
  /** A job running longer is rejected and its worker replaced (default 10 s). */
  jobTimeoutMs?: number;
  /** Worker entry (default the sibling encode-worker.js/.ts). Tests use it to inject faults. */
  workerUrl?: URL;
  /** Per-worker V8 heap limits, to turn a runaway job into a 'crash' instead of a host OOM. */
  resourceLimits?: ResourceLimits;
  /**
   * Nice value the worker threads give themselves (Linux). Default 0: at a lower priority they
   * starved next to the RDP sessions' Xvnc and xfreerdp (first frames after 30 s under load).
   */
  nice?: number;
}

export const POOL_DEFAULTS = { maxPending: 64, jobTimeoutMs: 10_000, nice: 0 } as const;

/** Consecutive workers dying before ready after which the pool stops respawning. */
const MAX_START_FAILURES = 3;

interface Job {
  id: number;
  job: EncodeJob;
  resolve: (data: Buffer) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Being terminated (timed out): takes no new job; its exit spawns a replacement. */
  retiring: boolean;
  current: Job | null;
  timer: NodeJS.Timeout | null;
  lastError: Error | null;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');

function defaultWorkerUrl(): URL {
  return new URL(FROM_SOURCE ? './encode-worker.ts' : './encode-worker.js', import.meta.url);
}

function startWorker(url: URL, resourceLimits: ResourceLimits | undefined, nice: number): Worker {
  const workerData = { nice };
  if (url.pathname.endsWith('.ts')) {
    const tsx = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
    return new Worker(boot, { eval: true, resourceLimits, workerData });
  }
  return new Worker(url, { resourceLimits, workerData });
}

export class EncoderPool {
  readonly size: number;
  private readonly maxPending: number;
  private readonly jobTimeoutMs: number;
  private readonly workerUrl: URL;
  private readonly resourceLimits: ResourceLimits | undefined;
  private readonly nice: number;
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private running = 0;
  private startFailures = 0;
  private broken: Error | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(opts: EncoderPoolOptions = {}) {
    this.size = opts.size ?? Math.min(2, availableParallelism());
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError(`pool size must be a positive integer, got ${this.size}`);
    this.maxPending = opts.maxPending ?? POOL_DEFAULTS.maxPending;
    this.jobTimeoutMs = opts.jobTimeoutMs ?? POOL_DEFAULTS.jobTimeoutMs;
    this.workerUrl = opts.workerUrl ?? defaultWorkerUrl();
    this.resourceLimits = opts.resourceLimits;
    this.nice = opts.nice ?? POOL_DEFAULTS.nice;
    for (let i = 0; i < this.size; i++) this.spawn();
  }

  /** Jobs accepted and not settled yet (queued + running). */
  get pending(): number {
    return this.queue.length + this.running;
  }

  /** Worker threads currently alive (for tests and metrics). */
  get workers(): number {
    return this.slots.size;
  }

  /**
   * Encodes a tight RGBA region on a worker. `job.rgba`'s ArrayBuffer is transferred (detached
   * here) when the view covers all of it, which is the case for copyRegion()'s result; a view
   * into a larger buffer (a framebuffer, a pooled Buffer) is copied first, never detached.
   */
  encode(job: EncodeJob): Promise<Buffer> {
    if (this.closed) return Promise.reject(new EncoderPoolError('closed', 'encoder pool is closed'));
    if (this.broken) return Promise.reject(new EncoderPoolError('crash', `encoder workers cannot start: ${this.broken.message}`));
    if (this.pending >= this.maxPending) {
      return Promise.reject(new EncoderPoolError('overload', `encoder pool has ${this.pending} jobs pending (max ${this.maxPending})`));
    }
    if (!job || !(job.rgba instanceof Uint8Array)) return Promise.reject(new EncoderPoolError('failed', 'job.rgba must be a Uint8Array'));
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates all workers; pending jobs reject with code 'closed'. Idempotent (same promise). */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    const err = new EncoderPoolError('closed', 'encoder pool closed');
    for (const j of this.queue.splice(0)) j.reject(err);
    const slots = [...this.slots];
    for (const s of slots) this.settle(s, null, err);
    // An unref'd worker does not hold the loop open until its exit event, so terminate()'s promise
    // could be left pending while the process ends under the caller's await: ref first.
    for (const s of slots) s.worker.ref();
    await Promise.all(slots.map((s) => s.worker.terminate()));
    this.slots.clear();
  }

  private spawn(): void {
    let worker: Worker;
    try {
      worker = startWorker(this.workerUrl, this.resourceLimits, this.nice);
    } catch (err) {
      this.giveUp(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const slot: Slot = { worker, ready: false, retiring: false, current: null, timer: null, lastError: null };
    this.slots.add(slot);
    if (this.pending === 0) worker.unref();
    worker.on('message', (msg: WorkerResponse | WorkerReady) => this.onMessage(slot, msg));
    worker.on('error', (err) => {
      slot.lastError = err;
    });
    worker.on('messageerror', (err) => {
      slot.lastError = err;
      void worker.terminate();
    });
    worker.on('exit', (code) => this.onExit(slot, code));
  }

  private onMessage(slot: Slot, msg: WorkerResponse | WorkerReady): void {
    // After close() nothing may change refs: a late 'ready' would unref a worker being terminated.
    if (this.closed) return;
    if ('ready' in msg) {
      slot.ready = true;
      this.startFailures = 0;
      this.dispatch();
      return;
    }
    const job = slot.current;
    if (!job || job.id !== msg.id) return; // a job already timed out or rejected
    if (msg.ok) this.settle(slot, Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength), null);
    else this.settle(slot, null, new EncoderPoolError('failed', `encode failed: ${msg.error}`));
    this.dispatch();
  }

  private onExit(slot: Slot, code: number): void {
    this.slots.delete(slot);
    if (slot.timer) clearTimeout(slot.timer);
    if (this.closed) return;
    const why = slot.lastError ? slot.lastError.message : `exit code ${code}`;
    if (!slot.ready) {
      // Not the job's fault: put it back and count a start failure.
      if (slot.current) {
        this.queue.unshift(slot.current);
        slot.current = null;
        this.running--;
      }
      if (++this.startFailures >= MAX_START_FAILURES) {
        this.giveUp(slot.lastError ?? new Error(why));
        return;
      }
    } else if (slot.current) {
      this.settle(slot, null, new EncoderPoolError('crash', `encoder worker died during the job: ${why}`));
    }
    this.spawn();
    this.dispatch();
  }

  private giveUp(err: Error): void {
    this.broken = err;
    const e = new EncoderPoolError('crash', `encoder workers cannot start: ${err.message}`);
    for (const j of this.queue.splice(0)) j.reject(e);
    this.updateRefs();
  }

  /** Resolves or rejects the slot's current job and marks the slot idle. */
  private settle(slot: Slot, data: Buffer | null, err: Error | null): void {
    const job = slot.current;
    if (!job) return;
    slot.current = null;
    this.running--;
    if (slot.timer) {
      clearTimeout(slot.timer);
      slot.timer = null;
    }
    this.updateRefs();
    if (err) job.reject(err);
    else job.resolve(data!);
  }

  private dispatch(): void {
    this.assign();
    this.updateRefs();
  }

  /** Keeps the process alive exactly while there is work: a queued job waits for a worker start. */
  private updateRefs(): void {
    if (this.closed) return; // close() holds every worker ref'd until its exit
    const busy = this.pending > 0;
    for (const s of this.slots) {
      if (busy) s.worker.ref();
      else s.worker.unref();
    }
  }

  private assign(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.retiring || slot.current) continue;
      const job = this.queue.shift()!;
      slot.current = job;
      this.running++;
      const rgba = transferable(job.job.rgba);
      const req: WorkerRequest = { id: job.id, job: { ...job.job, rgba } };
      try {
        slot.worker.postMessage(req, [rgba.buffer as ArrayBuffer]);
      } catch (err) {
        this.settle(slot, null, new EncoderPoolError('failed', `cannot send the job to a worker: ${(err as Error).message}`));
        continue;
      }
      slot.timer = setTimeout(() => {
        slot.timer = null;
        slot.retiring = true;
        this.settle(slot, null, new EncoderPoolError('timeout', `encode took longer than ${this.jobTimeoutMs} ms`));
        void slot.worker.terminate();
      }, this.jobTimeoutMs);
      slot.timer.unref();
    }
  }
}

/** A view whose buffer can be transferred: the same one if it owns its buffer, else a copy. */
function transferable(rgba: Uint8Array): Uint8Array {
  const owns = rgba.buffer instanceof ArrayBuffer && rgba.byteOffset === 0 && rgba.byteLength === rgba.buffer.byteLength;
  return owns ? rgba : new Uint8Array(rgba);
}
