/**
 * Rectangles and framebuffer regions shared by the encoders. A framebuffer here is what the RFB
 * client keeps: RGBA bytes, 4 per pixel, row-major, `fbWidth` pixels per row, no padding.
 *
 * Every encoder checks its region with checkRegion() before touching pixels, so a bad rectangle
 * (negative, fractional, past the edge, or a buffer shorter than the frame claims) is a typed
 * RegionError rather than a read of undefined bytes that would be encoded as black.
 */

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Largest width or height any encoder accepts (PNG allows 2^31-1; no desktop needs more). */
export const MAX_DIMENSION = 16384;

export class RegionError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'RegionError';
  }
}

const isDim = (n: number): boolean => Number.isInteger(n) && n >= 0;

/** Throws RegionError unless (x, y, w, h) is a non-empty region inside the framebuffer. */
export function checkRegion(fb: Uint8Array, fbWidth: number, x: number, y: number, w: number, h: number): void {
  if (!(fb instanceof Uint8Array)) throw new RegionError('framebuffer must be a Uint8Array');
  if (!isDim(fbWidth) || fbWidth === 0 || fbWidth > MAX_DIMENSION) throw new RegionError(`invalid framebuffer width ${fbWidth}`);
  if (!isDim(x) || !isDim(y) || !isDim(w) || !isDim(h)) throw new RegionError(`invalid region ${x},${y} ${w}x${h}`);
  if (w === 0 || h === 0) throw new RegionError(`empty region ${x},${y} ${w}x${h}`);
  if (w > MAX_DIMENSION || h > MAX_DIMENSION) throw new RegionError(`region ${w}x${h} exceeds ${MAX_DIMENSION} pixels per side`);
  if (x + w > fbWidth) throw new RegionError(`region ${x},${y} ${w}x${h} is past the framebuffer width ${fbWidth}`);
  if (fb.length % 4 !== 0 || (fb.length / 4) % fbWidth !== 0) {
    throw new RegionError(`framebuffer of ${fb.length} bytes is not whole rows of ${fbWidth} RGBA pixels`);
  }
  const fbHeight = fb.length / 4 / fbWidth;
  if (y + h > fbHeight) throw new RegionError(`region ${x},${y} ${w}x${h} is past the framebuffer height ${fbHeight}`);
}

/**
 * A tight RGBA copy of the region (w*h*4 bytes, in its own ArrayBuffer so it can be transferred to
 * a worker without detaching the framebuffer). Rows are copied with set(), not pixel by pixel.
 */
export function copyRegion(fb: Uint8Array, fbWidth: number, x: number, y: number, w: number, h: number): Uint8Array {
  checkRegion(fb, fbWidth, x, y, w, h);
  const out = new Uint8Array(w * h * 4);
  const rowBytes = w * 4;
  const stride = fbWidth * 4;
  if (x === 0 && w === fbWidth) {
    out.set(fb.subarray(y * stride, (y + h) * stride));
    return out;
  }
  for (let row = 0; row < h; row++) {
    const s = (y + row) * stride + x * 4;
    out.set(fb.subarray(s, s + rowBytes), row * rowBytes);
  }
  return out;
}

/** Intersection of two rectangles, or null when they do not overlap (touching is not overlapping). */
export function intersection(a: Rect, b: Rect): Rect | null {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.w, b.x + b.w);
  const y1 = Math.min(a.y + a.h, b.y + b.h);
  return x1 > x && y1 > y ? { x, y, w: x1 - x, h: y1 - y } : null;
}

/** Smallest rectangle containing both. */
export function union(a: Rect, b: Rect): Rect {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

export const area = (r: Rect): number => r.w * r.h;
