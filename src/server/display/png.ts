/**
 * PNG encoder for a region of an RGBA framebuffer, fast enough to run per frame: a JS pass that
 * drops alpha (colour type 2) or keeps it (colour type 6, cursors) and applies one PNG filter per
 * row, then native zlib (deflateSync) and a table CRC-32. The pure-JS PNG tried first took
 * 90-160 ms per 1280x800 frame (LAB-RECIPES); here JS only filters, touching each byte once, and
 * compression is native.
 *
 * Filter and zlib settings were measured on 1280x800 flat HMI screens and photos (docs/display.md):
 *  - filter 'auto' (Up when >= 3/4 of a row's sampled pixels equal the row above, else Sub) with
 *    zlib's Z_RLE strategy gave the smallest HMI frames (36 KiB) in ~7 ms; Sub alone with Z_RLE
 *    doubles the size (long horizontal runs become zeros but vertical repetition is lost); the
 *    default strategy at level 1 is as fast on HMI but 15% larger and 2x slower on photos; Paeth
 *    costs 2-3x the JS time for no gain on flat graphics.
 *  - Regions of at most 256 colours (text, flat HMI graphics) go out as palette PNGs (palette.ts):
 *    one index of 1-8 bits per pixel instead of 3 bytes, unfiltered, as the PNG spec advises.
 *  - Z_RLE only looks for matches at distance 1 (the previous byte), which is exactly what a
 *    filtered flat screen is made of, and it never searches a hash chain, so its time barely
 *    depends on the content: 30-40 ms for a full-frame photo vs 60-90 ms with level 1 default.
 */
import { constants, deflateSync } from 'node:zlib';
import { crc32 } from './crc32.js';
import { indexRegion, packIndices, paletteDepth } from './palette.js';
import { checkRegion } from './region.js';

export interface PngOptions {
  /** Keep the alpha channel (colour type 6). Default false: colour type 2, alpha dropped. */
  alpha?: boolean;
  /** zlib level 1-9 (0 would store uncompressed). With Z_RLE the level hardly matters. */
  level?: number;
  /** zlib strategy (zlib.constants.Z_*). */
  strategy?: number;
  /** Row filter; 'auto' picks Sub or Up per row. Palette images are never filtered. */
  filter?: PngFilter;
  /**
   * Without alpha, write a palette PNG (colour type 3, 1-8 bits per pixel) when the region has at
   * most 256 colours. Default true: text and flat graphics shrink to a fraction of RGB.
   */
  palette?: boolean;
}

export type PngFilter = 'none' | 'sub' | 'up' | 'paeth' | 'auto';

/**
 * What encodePng uses unless told otherwise. Z_RLE with row filters gave the smallest flat HMI
 * screens, but screens of text (terminals, alarm lists) came out 4-5x larger than zlib's default
 * strategy without filters, which is also faster (bench/display.ts part 5, docs/performance.md):
 * text-heavy OT screens are common, so the default strategy wins.
 */
export const PNG_DEFAULTS: Readonly<{ level: number; strategy: number; filter: PngFilter }> = Object.freeze({ level: 1, strategy: constants.Z_DEFAULT_STRATEGY, filter: 'none' });

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const FILTER_CODE: Record<PngFilter, number> = { none: 0, sub: 1, up: 2, paeth: 4, auto: -1 };

/**
 * Encodes the w x h region at (x, y) of `fb` (fbWidth pixels per row) as a PNG file.
 * Throws RegionError when the region is not inside the framebuffer.
 */
export function encodePng(fb: Uint8Array, fbWidth: number, x: number, y: number, w: number, h: number, opts: PngOptions = {}): Buffer {
  checkRegion(fb, fbWidth, x, y, w, h);
  const alpha = opts.alpha ?? false;
  const indexed = !alpha && (opts.palette ?? true) ? indexRegion(fb, fbWidth, x, y, w, h) : undefined;
  const depth = indexed ? paletteDepth(indexed.size) : 8;
  const raw = indexed ? packIndices(indexed.indices, w, h, depth) : filterRows(fb, fbWidth, x, y, w, h, alpha ? 4 : 3, opts.filter ?? PNG_DEFAULTS.filter);
  const idat = deflateSync(raw, {
    level: opts.level ?? PNG_DEFAULTS.level,
    strategy: opts.strategy ?? PNG_DEFAULTS.strategy,
    memLevel: 9,
  });

  const plte = indexed ? indexed.palette : undefined;
  const out = Buffer.allocUnsafe(SIGNATURE.length + 25 + (plte ? 12 + plte.length : 0) + 12 + idat.length + 12);
  SIGNATURE.copy(out, 0);
  let o = SIGNATURE.length;
  // IHDR: width, height, bit depth, colour type, compression 0, filter method 0, no interlace.
  const ihdr = Buffer.allocUnsafe(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = indexed ? 3 : alpha ? 6 : 2;
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  o = writeChunk(out, o, 'IHDR', ihdr);
  if (plte) o = writeChunk(out, o, 'PLTE', plte);
  o = writeChunk(out, o, 'IDAT', idat);
  o = writeChunk(out, o, 'IEND', Buffer.alloc(0));
  return out;
}

function writeChunk(out: Buffer, o: number, type: string, data: Uint8Array): number {
  out.writeUInt32BE(data.length, o);
  out.write(type, o + 4, 'latin1');
  out.set(data, o + 8);
  // The CRC covers the type and the data, not the length.
  const crc = crc32(out, 0, o + 4, o + 8 + data.length);
  out.writeUInt32BE(crc, o + 8 + data.length);
  return o + 12 + data.length;
}

/** The PNG scanlines: per row one filter byte then w*bpp filtered bytes. */
function filterRows(fb: Uint8Array, fbWidth: number, x: number, y: number, w: number, h: number, bpp: number, filter: PngFilter): Buffer {
  const rowLen = 1 + w * bpp;
  const raw = Buffer.allocUnsafe(h * rowLen);
  const stride = fbWidth * 4;
  for (let row = 0; row < h; row++) {
    const s = (y + row) * stride + x * 4;
    const o = row * rowLen;
    // Up on the first row would subtract a row outside the region; Sub is what it means there.
    let f = filter;
    if (f === 'auto') f = row > 0 && rowMostlyEqualsAbove(fb, s, stride, w) ? 'up' : 'sub';
    else if ((f === 'up' || f === 'paeth') && row === 0) f = 'sub';
    raw[o] = FILTER_CODE[f];
    if (bpp === 3) {
      if (f === 'sub') sub3(fb, s, w, raw, o + 1);
      else if (f === 'up') up3(fb, s, stride, w, raw, o + 1);
      else if (f === 'paeth') paeth(fb, s, stride, w, raw, o + 1, 3);
      else none3(fb, s, w, raw, o + 1);
    } else {
      if (f === 'sub') sub4(fb, s, w, raw, o + 1);
      else if (f === 'up') up4(fb, s, stride, w, raw, o + 1);
      else if (f === 'paeth') paeth(fb, s, stride, w, raw, o + 1, 4);
      else raw.set(fb.subarray(s, s + w * 4), o + 1);
    }
  }
  return raw;
}

/** Cheap Up-vs-Sub choice: sample every 8th pixel and count the ones equal to the pixel above. */
function rowMostlyEqualsAbove(fb: Uint8Array, s: number, stride: number, w: number): boolean {
  let same = 0;
  let n = 0;
  for (let i = 0; i < w; i += 8, n++) {
    const p = s + i * 4;
    if (fb[p] === fb[p - stride] && fb[p + 1] === fb[p + 1 - stride] && fb[p + 2] === fb[p + 2 - stride]) same++;
  }
  return same * 4 > n * 3;
}

// Uint8Array stores wrap modulo 256, which is exactly PNG's filter arithmetic, so no "& 255".
function none3(fb: Uint8Array, s: number, w: number, raw: Buffer, o: number): void {
  for (let i = 0; i < w; i++, s += 4, o += 3) {
    raw[o] = fb[s]!;
    raw[o + 1] = fb[s + 1]!;
    raw[o + 2] = fb[s + 2]!;
  }
}

function sub3(fb: Uint8Array, s: number, w: number, raw: Buffer, o: number): void {
  let pr = 0;
  let pg = 0;
  let pb = 0;
  for (let i = 0; i < w; i++, s += 4, o += 3) {
    const r = fb[s]!;
    const g = fb[s + 1]!;
    const b = fb[s + 2]!;
    raw[o] = r - pr;
    raw[o + 1] = g - pg;
    raw[o + 2] = b - pb;
    pr = r;
    pg = g;
    pb = b;
  }
}

function sub4(fb: Uint8Array, s: number, w: number, raw: Buffer, o: number): void {
  raw[o] = fb[s]!;
  raw[o + 1] = fb[s + 1]!;
  raw[o + 2] = fb[s + 2]!;
  raw[o + 3] = fb[s + 3]!;
  for (let i = 4, n = w * 4; i < n; i++) raw[o + i] = fb[s + i]! - fb[s + i - 4]!;
}

function up3(fb: Uint8Array, s: number, stride: number, w: number, raw: Buffer, o: number): void {
  for (let i = 0; i < w; i++, s += 4, o += 3) {
    raw[o] = fb[s]! - fb[s - stride]!;
    raw[o + 1] = fb[s + 1]! - fb[s + 1 - stride]!;
    raw[o + 2] = fb[s + 2]! - fb[s + 2 - stride]!;
  }
}

function up4(fb: Uint8Array, s: number, stride: number, w: number, raw: Buffer, o: number): void {
  for (let i = 0, n = w * 4; i < n; i++) raw[o + i] = fb[s + i]! - fb[s + i - stride]!;
}

function paeth(fb: Uint8Array, s: number, stride: number, w: number, raw: Buffer, o: number, bpp: number): void {
  for (let i = 0; i < w; i++) {
    for (let c = 0; c < bpp; c++) {
      const p = s + i * 4 + c;
      const cur = fb[p]!;
      const b = fb[p - stride]!;
      const a = i > 0 ? fb[p - 4]! : 0;
      const cc = i > 0 ? fb[p - 4 - stride]! : 0;
      const pa = Math.abs(b - cc);
      const pb = Math.abs(a - cc);
      const pc = Math.abs(a + b - 2 * cc);
      const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : cc;
      raw[o + i * bpp + c] = cur - pred;
    }
  }
}
