/**
 * One encoding job, as the pool sends it to a worker: a tight RGBA copy of a region (its own
 * buffer, transferred) plus the format. Kept apart from the worker entry so the same code can run
 * inline (tests, bench, a pool of size 0) and in a thread.
 */
import { encodeJpeg } from './jpeg.js';
import { encodePng } from './png.js';

export interface EncodeJob {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
  /** Tight RGBA pixels of the region: width * height * 4 bytes. Transferred to the worker. */
  rgba: Uint8Array;
  /** JPEG quality 1-100 (default 75); ignored for PNG. */
  quality?: number;
  /** PNG only: keep the alpha channel (cursors). */
  alpha?: boolean;
}

export interface WorkerRequest {
  id: number;
  job: EncodeJob;
}

export type WorkerResponse = { id: number; ok: true; data: Uint8Array } | { id: number; ok: false; error: string };

/** Posted once by a worker after it loaded, before any response. */
export interface WorkerReady {
  ready: true;
}

export class EncodeJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodeJobError';
  }
}

/** Validates and encodes a job. Throws EncodeJobError (or RegionError/RangeError from the encoders). */
export function encodeJob(job: EncodeJob): Buffer {
  if (job === null || typeof job !== 'object') throw new EncodeJobError('job must be an object');
  const { format, width, height, rgba } = job;
  if (!(rgba instanceof Uint8Array)) throw new EncodeJobError('job.rgba must be a Uint8Array');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new EncodeJobError(`invalid job size ${width}x${height}`);
  }
  if (rgba.length !== width * height * 4) {
    throw new EncodeJobError(`job.rgba has ${rgba.length} bytes, ${width}x${height} RGBA needs ${width * height * 4}`);
  }
  if (format === 'png') return encodePng(rgba, width, 0, 0, width, height, { alpha: job.alpha ?? false });
  if (format === 'jpeg') return encodeJpeg(rgba, width, 0, 0, width, height, job.quality ?? 75);
  throw new EncodeJobError(`unknown format ${String(format)}`);
}
