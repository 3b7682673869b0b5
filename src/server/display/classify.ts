/**
 * Which image format a changed region should travel in, and how often frames may go out.
 *
 * OT screens are mostly flat: few colours, long runs, sharp text that JPEG would smear and that
 * PNG compresses to almost nothing. Camera views and gradient-filled trends are the exception, and
 * PNG makes them huge (a 1280x800 photo is ~2 MB as PNG, ~160 KB as JPEG 75). The test here is
 * cheap on purpose, it runs on the main thread for every tile: look at a sparse grid of at most
 * SAMPLE_GRID x SAMPLE_GRID pixels, count distinct colours and how often a sampled pixel equals its
 * right neighbour, and stop as soon as the answer is clear.
 */
import { checkRegion } from './region.js';

export type DisplayQuality = 'low' | 'medium' | 'high';
export type ImageFormat = 'png' | 'jpeg';

export interface FormatChoice {
  format: ImageFormat;
  /** Set when format is 'jpeg'. */
  jpegQuality?: number;
}

/** Frame-rate caps per quality setting: the most `sync`-terminated frames per second we send. */
export const FRAME_RATE_CAP: Readonly<Record<DisplayQuality, number>> = { low: 5, medium: 15, high: 30 };

/** JPEG qualities used for photographic regions (high never uses JPEG). */
export const JPEG_QUALITY: Readonly<Record<Exclude<DisplayQuality, 'high'>, number>> = { medium: 75, low: 45 };

/** Regions smaller than this many pixels are always PNG: JPEG's headers and 8x8 blocks dominate. */
export const MIN_JPEG_PIXELS = 64 * 64;

/** At most this many samples per side (32 x 32 = 1024 pixels looked at, whatever the region). */
const SAMPLE_GRID = 32;
/** More distinct sampled colours than this (of up to 1024) and the region may be photographic... */
const DISTINCT_LIMIT = 64;
/** ...unless at least this share of sampled pixels equal their right neighbour (flat areas). */
const FLAT_SHARE = 0.5;

/**
 * True when the region looks like a photo or a gradient (many colours, few flat runs), which JPEG
 * encodes far smaller than PNG without visible loss. Flat HMI graphics and text give false.
 */
export function isPhotographic(fb: Uint8Array, fbWidth: number, x: number, y: number, w: number, h: number): boolean {
  checkRegion(fb, fbWidth, x, y, w, h);
  if (w * h < MIN_JPEG_PIXELS) return false;
  const stepX = Math.max(1, Math.floor(w / SAMPLE_GRID));
  const stepY = Math.max(1, Math.floor(h / SAMPLE_GRID));
  // Open-addressing set of 24-bit colours; 4x the distinct limit keeps probes short.
  const set = new Int32Array(DISTINCT_LIMIT * 4).fill(-1);
  const mask = set.length - 1;
  let distinct = 0;
  let samples = 0;
  let flat = 0;
  const stride = fbWidth * 4;
  for (let sy = y; sy < y + h; sy += stepY) {
    for (let sx = x; sx < x + w; sx += stepX) {
      const p = sy * stride + sx * 4;
      const rgb = (fb[p]! << 16) | (fb[p + 1]! << 8) | fb[p + 2]!;
      samples++;
      // The right neighbour (or the left one at the region's edge).
      const q = sx + 1 < x + w ? p + 4 : p - 4;
      if (q >= 0 && fb[q] === fb[p] && fb[q + 1] === fb[p + 1] && fb[q + 2] === fb[p + 2]) flat++;
      if (distinct <= DISTINCT_LIMIT) {
        let slot = Math.imul(rgb, 0x9e3779b1) >>> 24 & mask;
        while (set[slot] !== -1 && set[slot] !== rgb) slot = (slot + 1) & mask;
        if (set[slot] === -1) {
          set[slot] = rgb;
          distinct++;
        }
      }
    }
  }
  if (distinct <= DISTINCT_LIMIT) return false;
  return flat < samples * FLAT_SHARE;
}

/**
 * The format for a region at a quality setting: high is always lossless PNG; medium and low use
 * JPEG (75 and 45) for photographic regions and PNG for everything else.
 */
export function chooseFormat(quality: DisplayQuality, photographic: boolean): FormatChoice {
  if (quality === 'high' || !photographic) return { format: 'png' };
  return { format: 'jpeg', jpegQuality: JPEG_QUALITY[quality] };
}

/** Minimum milliseconds between two frames at a quality setting (1000 / FRAME_RATE_CAP). */
export function frameInterval(quality: DisplayQuality): number {
  return Math.ceil(1000 / FRAME_RATE_CAP[quality]);
}
