/**
 * The encoder pool's worker thread: receives one job at a time, encodes it, posts the image back
 * with its buffer transferred (no copy). A job that fails (bad size, bad quality) is answered with
 * an error message; this thread keeps serving. Anything that kills the thread (out of memory,
 * a crash in zlib) is the pool's business: it rejects the job and starts a new worker.
 *
 * Loaded as `encode-worker.js` from dist/, or as `encode-worker.ts` under tsx (see pool.ts).
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { encodeJob, type WorkerRequest, type WorkerResponse } from './encode-job.js';

if (!parentPort) throw new Error('encode-worker must run in a worker thread');
const port = parentPort;

lowerPriority((workerData as { nice?: number } | undefined)?.nice ?? 0);

/**
 * Encoding saturates the cores it gets; the main thread must still win the CPU the moment it has
 * an event to handle. On Linux setpriority() with a thread id renices just that thread, and
 * /proc/thread-self names our thread id. Measured (docs/display.md): with 2 workers on 2 cores the
 * main loop's worst stall went from 75-215 ms to the idle machine's level. Elsewhere: no-op.
 */
function lowerPriority(nice: number): void {
  if (nice <= 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // Not Linux, or not permitted: run at normal priority.
  }
}

port.on('message', (req: WorkerRequest) => {
  let res: WorkerResponse;
  const transfer: ArrayBuffer[] = [];
  try {
    const data = encodeJob(req.job);
    // A Buffer from zlib or jpeg-js may sit in a shared pool slab; only transfer a buffer we own.
    const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : new Uint8Array(data);
    res = { id: req.id, ok: true, data: own };
    transfer.push(own.buffer as ArrayBuffer);
  } catch (err) {
    res = { id: req.id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
  port.postMessage(res, transfer);
});

// Tells the pool this thread loaded: a worker that dies before this is a start failure.
port.postMessage({ ready: true });
