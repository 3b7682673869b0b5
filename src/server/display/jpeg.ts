/**
 * JPEG for photographic regions (camera views, gradient-filled trends) at the medium and low
 * quality settings. jpeg-js is pure JS (baseline, no chroma subsampling) and slow, which is why
 * it runs in the encoder pool's workers, never on the main thread: ~40-80 ms for 1280x800 with
 * the encoder reuse below, 90-160 ms without.
 *
 * jpeg-js's exported encode() builds a new JPEGEncoder per call, and the constructor fills its
 * Huffman and colour tables (two 65535-entry arrays): measured ~30 ms per call, which made a frame
 * of twenty 256x256 tiles cost 0.7-0.8 s against 0.1-0.16 s for the whole frame. The encoder
 * object is reusable (encode() resets its bit writer and DC predictors; quality only recomputes
 * the quantisation tables), but the package does not export the class. So the class is taken
 * from jpeg-js/lib/encoder.js by evaluating that file in a function scope, once per thread; if
 * that ever fails (another jpeg-js layout) we fall back to the exported encode(). The tests check
 * both give byte-identical files.
 *
 * jpeg-js reads 4 bytes per pixel and ignores the 4th, so the RGBA region is handed over as is
 * (a tight copy unless the region is whole framebuffer rows, which are already contiguous).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import jpeg from 'jpeg-js';
import { checkRegion } from './region.js';

/** Qualities accepted by encodeJpeg (jpeg-js clamps to 1-100; we reject instead of guessing). */
export const MIN_JPEG_QUALITY = 1;
export const MAX_JPEG_QUALITY = 100;

interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
}

interface ReusableEncoder {
  encode(image: RawImage, quality: number): Buffer;
}

type EncoderClass = new (quality: number) => ReusableEncoder;

function loadEncoderClass(): EncoderClass | null {
  try {
    const require = createRequire(import.meta.url);
    const source = readFileSync(require.resolve('jpeg-js/lib/encoder.js'), 'utf8');
    // The file assigns module.exports and reads Buffer/require; give it a throwaway module.
    const factory = new Function('module', 'require', `${source}\n;return typeof JPEGEncoder === 'function' ? JPEGEncoder : null;`) as (
      module: { exports: unknown },
      require: NodeJS.Require,
    ) => EncoderClass | null;
    return factory({ exports: {} }, require);
  } catch {
    return null;
  }
}

let encoderClass: EncoderClass | null | undefined;
let encoder: ReusableEncoder | null = null;

/** The thread's reused encoder, or null when only the per-call jpeg.encode() is available. */
function sharedEncoder(quality: number): ReusableEncoder | null {
  if (encoderClass === undefined) encoderClass = loadEncoderClass();
  if (!encoderClass) return null;
  encoder ??= new encoderClass(quality);
  return encoder;
}

export interface JpegOptions {
  /** Use jpeg-js's exported encode() (a new encoder per call). For tests and comparison. */
  fresh?: boolean;
}

/** Encodes the w x h region at (x, y) of `fb` as a baseline JPEG at `quality` (1-100). */
export function encodeJpeg(fb: Uint8Array, fbWidth: number, x: number, y: number, w: number, h: number, quality: number, opts: JpegOptions = {}): Buffer {
  checkRegion(fb, fbWidth, x, y, w, h);
  if (!Number.isInteger(quality) || quality < MIN_JPEG_QUALITY || quality > MAX_JPEG_QUALITY) {
    throw new RangeError(`JPEG quality must be an integer ${MIN_JPEG_QUALITY}-${MAX_JPEG_QUALITY}, got ${quality}`);
  }
  const image = { data: tight(fb, fbWidth, x, y, w, h), width: w, height: h };
  const shared = opts.fresh ? null : sharedEncoder(quality);
  return shared ? shared.encode(image, quality) : jpeg.encode(image, quality).data;
}

/** True when encodeJpeg reuses one encoder (the fast path); false if it fell back. */
export function jpegEncoderReused(): boolean {
  return sharedEncoder(75) !== null;
}

function tight(fb: Uint8Array, fbWidth: number, x: number, y: number, w: number, h: number): Uint8Array {
  const stride = fbWidth * 4;
  if (x === 0 && w === fbWidth) return fb.subarray(y * stride, (y + h) * stride);
  const out = new Uint8Array(w * h * 4);
  for (let row = 0; row < h; row++) {
    const s = (y + row) * stride + x * 4;
    out.set(fb.subarray(s, s + w * 4), row * w * 4);
  }
  return out;
}
