/**
 * Tight encoding (encoding 7, as specified in the community RFB protocol document): a sub-parser
 * for one rectangle, run inside the connection's byte parser.
 *
 * Compression-control byte: bits 0-3 reset zlib streams 0-3; the high nibble is
 *   0x8        fill: one TPIXEL for the whole rectangle
 *   0x9        JPEG: compact length + a baseline JPEG (decoded with jpeg-js)
 *   0b0FSS     basic compression on zlib stream SS, F = a filter id byte follows:
 *                0 copy (TPIXELs), 1 palette (1-byte count-1 + TPIXELs, then 1-bit or 8-bit
 *                indices), 2 gradient (prediction errors per colour component)
 *              data under 12 bytes is sent as is; longer data is a compact length + zlib bytes.
 * Anything else (0xA is TightPNG, which we never ask for) is an error.
 *
 * A TPIXEL is 3 bytes R, G, B with our pixel format (32 bpp, depth 24, 8-bit components).
 * Sizes are known before any payload is read: the expected data size is exact, so the compact
 * length is checked against deflateBound() of it and zlib output is capped at exactly that size.
 */
import jpeg from 'jpeg-js';
import { type Framebuffer, packRGB } from './framebuffer.js';
import { type ZStream } from './inflate.js';
import { deflateBound } from './limits.js';
import type { ByteParser } from './reader.js';

export class TightError extends Error {
  override name = 'TightError';
}

const MIN_TO_COMPRESS = 12;
const FILL = 0x8;
const JPEG = 0x9;
const FILTER_COPY = 0;
const FILTER_PALETTE = 1;
const FILTER_GRADIENT = 2;

/** A compact length is at most 3 bytes, 22 bits. */
function* compactLength(): ByteParser<number> {
  let b = (yield 1)[0]!;
  let len = b & 0x7f;
  if (b & 0x80) {
    b = (yield 1)[0]!;
    len |= (b & 0x7f) << 7;
    if (b & 0x80) {
      b = (yield 1)[0]!;
      len |= b << 14;
    }
  }
  return len;
}

/** Largest JPEG accepted for a w x h rectangle: more than raw RGB would be absurd. */
function jpegBound(w: number, h: number): number {
  return w * h * 4 + 64 * 1024;
}

/** Where the decoded pixels of one rectangle go, and the decoder state of the connection. */
export interface TightContext {
  fb: Framebuffer;
  streams: readonly [ZStream, ZStream, ZStream, ZStream];
}

/** Decodes one rectangle into the framebuffer; returns the JPEG bytes when it was a JPEG. */
export function* decodeTight(ctx: TightContext, x: number, y: number, w: number, h: number): ByteParser<Buffer | undefined> {
  const control = (yield 1)[0]!;
  for (let i = 0; i < 4; i++) if (control & (1 << i)) ctx.streams[i]!.reset();
  const kind = control >> 4;

  if (kind === FILL) {
    const c = yield 3;
    ctx.fb.fill(x, y, w, h, packRGB(c[0]!, c[1]!, c[2]!));
    return undefined;
  }

  if (kind === JPEG) {
    const len = yield* compactLength();
    if (len > jpegBound(w, h)) throw new TightError(`Tight JPEG of ${len} bytes for a ${w}x${h} rectangle`);
    const bytes = yield len;
    if (w === 0 || h === 0) return undefined;
    let img: { width: number; height: number; data: Uint8Array };
    try {
      img = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        // jpeg-js multiplies this back by 1e6: a hair over the exact size, so rounding never refuses
        // a rectangle that is exactly w x h (the size check below is the exact one).
        maxResolutionInMP: (w * h + 1) / 1e6,
        maxMemoryUsageInMB: Math.ceil((w * h * 16) / (1024 * 1024)) + 16,
      });
    } catch (err) {
      throw new TightError(`bad Tight JPEG: ${(err as Error).message}`);
    }
    if (img.width !== w || img.height !== h) {
      throw new TightError(`Tight JPEG is ${img.width}x${img.height} for a ${w}x${h} rectangle`);
    }
    ctx.fb.putRGBA(x, y, w, h, img.data);
    return bytes;
  }

  if (kind > JPEG) throw new TightError(`unsupported Tight compression type 0x${kind.toString(16)}`);

  // basic compression
  const stream = ctx.streams[kind & 0x3]!;
  const filter = kind & 0x4 ? (yield 1)[0]! : FILTER_COPY;
  let palette: Uint32Array | undefined;
  let dataSize: number;
  switch (filter) {
    case FILTER_COPY:
    case FILTER_GRADIENT:
      dataSize = w * h * 3;
      break;
    case FILTER_PALETTE: {
      const n = (yield 1)[0]! + 1;
      const colours = yield n * 3;
      palette = new Uint32Array(n);
      for (let i = 0; i < n; i++) palette[i] = packRGB(colours[i * 3]!, colours[i * 3 + 1]!, colours[i * 3 + 2]!);
      dataSize = n === 2 ? ((w + 7) >> 3) * h : w * h;
      break;
    }
    default:
      throw new TightError(`invalid Tight filter ${filter}`);
  }

  let data: Buffer;
  if (dataSize < MIN_TO_COMPRESS) {
    data = yield dataSize;
  } else {
    const len = yield* compactLength();
    if (len > deflateBound(dataSize)) throw new TightError(`Tight zlib data of ${len} bytes for ${dataSize} bytes of pixels`);
    const compressed = yield len;
    data = stream.inflate(compressed, dataSize);
    if (data.length !== dataSize) throw new TightError(`Tight zlib data inflates to ${data.length} bytes, the rectangle needs ${dataSize}`);
  }

  if (palette) writePalette(ctx.fb, x, y, w, h, palette, data);
  else if (filter === FILTER_GRADIENT) writeGradient(ctx.fb, x, y, w, h, data);
  else for (let row = 0; row < h; row++) ctx.fb.putRowRGB(x, y + row, w, data, row * w * 3);
  return undefined;
}

function writePalette(fb: Framebuffer, x: number, y: number, w: number, h: number, palette: Uint32Array, data: Buffer): void {
  const px = fb.px;
  const n = palette.length;
  if (n === 2) {
    const rowBytes = (w + 7) >> 3;
    const c0 = palette[0]!;
    const c1 = palette[1]!;
    for (let row = 0; row < h; row++) {
      const o = (y + row) * fb.width + x;
      const s = row * rowBytes;
      for (let col = 0; col < w; col++) px[o + col] = (data[s + (col >> 3)]! >> (7 - (col & 7))) & 1 ? c1 : c0;
    }
    return;
  }
  for (let row = 0; row < h; row++) {
    const o = (y + row) * fb.width + x;
    const s = row * w;
    for (let col = 0; col < w; col++) {
      const idx = data[s + col]!;
      if (idx >= n) throw new TightError(`Tight palette index ${idx} out of a ${n}-colour palette`);
      px[o + col] = palette[idx]!;
    }
  }
}

/**
 * Gradient filter: each component is predicted as left + above - above-left (clamped to 0..255,
 * zero outside the rectangle) and the data is the difference modulo 256.
 */
function writeGradient(fb: Framebuffer, x: number, y: number, w: number, h: number, data: Buffer): void {
  const rowLen = w * 3;
  let prev = new Uint8Array(rowLen); // the previous row's reconstructed components (zeros above row 0)
  let cur = new Uint8Array(rowLen);
  const d = fb.data;
  for (let row = 0; row < h; row++) {
    const s = row * rowLen;
    for (let i = 0; i < rowLen; i++) {
      // left and above-left are zero in the first column
      const est = i < 3 ? prev[i]! : cur[i - 3]! + prev[i]! - prev[i - 3]!;
      cur[i] = ((est < 0 ? 0 : est > 255 ? 255 : est) + data[s + i]!) & 0xff;
    }
    let o = ((y + row) * fb.width + x) * 4;
    for (let i = 0; i < rowLen; i += 3, o += 4) {
      d[o] = cur[i]!;
      d[o + 1] = cur[i + 1]!;
      d[o + 2] = cur[i + 2]!;
      d[o + 3] = 255;
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
}
