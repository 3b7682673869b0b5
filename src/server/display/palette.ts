/**
 * The colours of a region, when there are few: a palette (at most 256 RGB entries, in order of
 * first appearance) and one index per pixel, row-major. Flat HMI graphics and text use a handful
 * of colours, and a palette PNG of them is a fraction of the RGB one (docs/display.md "Palette").
 * Photos and gradients run out of entries quickly and give up early.
 */
import { checkRegion } from './region.js';

export interface IndexedRegion {
  /** n x 3 bytes, R G B. */
  palette: Uint8Array;
  /** n, 1..256. */
  size: number;
  /** w x h palette indices. */
  indices: Uint8Array;
}

export const MAX_PALETTE = 256;
/** Open-addressing table: 4 slots per possible entry keeps probe chains short. */
const SLOTS = MAX_PALETTE * 4;

/** The region's palette and indices, or undefined when it has more than 256 colours. */
export function indexRegion(fb: Uint8Array, fbWidth: number, x: number, y: number, w: number, h: number): IndexedRegion | undefined {
  checkRegion(fb, fbWidth, x, y, w, h);
  // Whole pixels as 32-bit words where the buffer allows (RGBX in memory: the colour is the low
  // 24 bits on little-endian machines, the high 24 on big-endian ones); else byte by byte.
  const aligned = fb.byteOffset % 4 === 0;
  const words = new Uint32Array(fb.buffer, aligned ? fb.byteOffset : 0, aligned ? fb.length >>> 2 : 0);
  const shift = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 8;
  const keys = new Int32Array(SLOTS).fill(-1);
  const values = new Uint8Array(SLOTS);
  const palette = new Uint8Array(MAX_PALETTE * 3);
  const indices = new Uint8Array(w * h);
  let size = 0;
  // The last two colours seen (text alternates between two): no lookup for them.
  let c1 = -1;
  let i1 = 0;
  let c2 = -1;
  let i2 = 0;
  for (let row = 0; row < h; row++) {
    const p0 = (y + row) * fbWidth + x;
    const o = row * w;
    for (let i = 0; i < w; i++) {
      const p = p0 + i;
      const rgb = aligned ? (words[p]! >>> shift) & 0xffffff : (fb[p * 4]! << 16) | (fb[p * 4 + 1]! << 8) | fb[p * 4 + 2]!;
      if (rgb === c1) {
        indices[o + i] = i1;
        continue;
      }
      let index: number;
      if (rgb === c2) index = i2;
      else {
        let slot = (Math.imul(rgb, 0x9e3779b1) >>> 22) & (SLOTS - 1);
        while (keys[slot] !== -1 && keys[slot] !== rgb) slot = (slot + 1) & (SLOTS - 1);
        if (keys[slot] === -1) {
          if (size === MAX_PALETTE) return undefined;
          keys[slot] = rgb;
          values[slot] = size;
          palette[size * 3] = fb[p * 4]!;
          palette[size * 3 + 1] = fb[p * 4 + 1]!;
          palette[size * 3 + 2] = fb[p * 4 + 2]!;
          size++;
        }
        index = values[slot]!;
      }
      c2 = c1;
      i2 = i1;
      c1 = rgb;
      i1 = index;
      indices[o + i] = index;
    }
  }
  return { palette: palette.subarray(0, size * 3), size, indices };
}

/** The smallest PNG bit depth for a palette of n entries: 1, 2, 4 or 8. */
export function paletteDepth(n: number): 1 | 2 | 4 | 8 {
  return n <= 2 ? 1 : n <= 4 ? 2 : n <= 16 ? 4 : 8;
}

/** PNG scanlines of indices at `depth` bits: per row a filter byte (0, none), then packed indices, high bits first. */
export function packIndices(indices: Uint8Array, w: number, h: number, depth: 1 | 2 | 4 | 8): Buffer {
  const rowBytes = Math.ceil((w * depth) / 8);
  const raw = Buffer.alloc(h * (rowBytes + 1));
  const perByte = 8 / depth;
  const whole = Math.floor(w / perByte); // bytes filled by perByte pixels
  for (let row = 0; row < h; row++) {
    let o = row * (rowBytes + 1) + 1;
    let s = row * w;
    if (depth === 8) {
      raw.set(indices.subarray(s, s + w), o);
      continue;
    }
    if (depth === 4) for (let b = 0; b < whole; b++, s += 2) raw[o++] = (indices[s]! << 4) | indices[s + 1]!;
    else if (depth === 2) for (let b = 0; b < whole; b++, s += 4) raw[o++] = (indices[s]! << 6) | (indices[s + 1]! << 4) | (indices[s + 2]! << 2) | indices[s + 3]!;
    else {
      for (let b = 0; b < whole; b++, s += 8) {
        raw[o++] = (indices[s]! << 7) | (indices[s + 1]! << 6) | (indices[s + 2]! << 5) | (indices[s + 3]! << 4) | (indices[s + 4]! << 3) | (indices[s + 5]! << 2) | (indices[s + 6]! << 1) | indices[s + 7]!;
      }
    }
    // The last, partly filled byte (its padding bits stay 0).
    const left = w - whole * perByte;
    if (left > 0) {
      let v = 0;
      for (let k = 0; k < left; k++) v |= indices[s + k]! << (8 - depth * (k + 1));
      raw[o] = v;
    }
  }
  return raw;
}
