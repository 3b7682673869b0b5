/**
 * JPEG for photographic regions (camera views, trends drawn as gradients) at the medium and low
 * quality settings. jpeg-js is pure JS (baseline, no chroma subsampling) and slow, which is why it
 * runs in the encoder pool's workers, never on the main thread: ~60-100 ms for a 1280x800 frame.
 *
 * jpeg-js reads 4 bytes per pixel and ignores the 4th, so the RGBA region is handed over as is
 * (a tight copy unless the region is whole framebuffer rows, which are already contiguous).
 */
import jpeg from 'jpeg-js';
import { checkRegion } from './region.js';

/** Qualities accepted by encodeJpeg (jpeg-js clamps to 1-100; we reject instead of guessing). */
export const MIN_JPEG_QUALITY = 1;
export const MAX_JPEG_QUALITY = 100;

/** Encodes the w x h region at (x, y) of `fb` as a baseline JPEG at `quality` (1-100). */
export function encodeJpeg(fb: Uint8Array, fbWidth: number, x: number, y: number, w: number, h: number, quality: number): Buffer {
  checkRegion(fb, fbWidth, x, y, w, h);
  if (!Number.isInteger(quality) || quality < MIN_JPEG_QUALITY || quality > MAX_JPEG_QUALITY) {
    throw new RangeError(`JPEG quality must be an integer ${MIN_JPEG_QUALITY}-${MAX_JPEG_QUALITY}, got ${quality}`);
  }
  const data = tight(fb, fbWidth, x, y, w, h);
  return jpeg.encode({ data, width: w, height: h }, quality).data;
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
