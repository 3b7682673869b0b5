import { inflateSync } from 'node:zlib';

/**
 * A PNG reader for the images the gateway itself wrote into display recordings (8-bit RGB or
 * RGBA, or a palette of 1-8 bits per pixel; non-interlaced, any of the five row filters).
 * Anything else is refused with a clear error: the export renders only what display/png.ts
 * produces.
 */
export class PngReadError extends Error {
  constructor(message: string) {
    super(`PNG: ${message}`);
    this.name = 'PngReadError';
  }
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Refuses images larger than this (a hostile or corrupt recording must not exhaust memory). */
const MAX_PIXELS = 4096 * 4096;

export interface RgbaImage {
  width: number;
  height: number;
  /** width * height * 4 bytes. */
  rgba: Uint8Array;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function readPng(png: Uint8Array): RgbaImage {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) throw new PngReadError('not a PNG');
  let o = 8;
  let width = 0;
  let height = 0;
  let bpp = 0;
  let depth = 8;
  let palette: Buffer | undefined;
  const idat: Buffer[] = [];
  while (o + 8 <= buf.length) {
    const len = buf.readUInt32BE(o);
    const type = buf.toString('latin1', o + 4, o + 8);
    if (o + 12 + len > buf.length) throw new PngReadError(`truncated ${type} chunk`);
    const data = buf.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8]!;
      const colour = data[9];
      const ok = colour === 3 ? [1, 2, 4, 8].includes(depth) : (colour === 2 || colour === 6) && depth === 8;
      if (!ok || data[12] !== 0) throw new PngReadError(`unsupported format (depth ${depth}, colour type ${colour}, interlace ${data[12]})`);
      if (width < 1 || height < 1 || width * height > MAX_PIXELS) throw new PngReadError(`bad size ${width}x${height}`);
      bpp = colour === 6 ? 4 : colour === 2 ? 3 : -1;
    } else if (type === 'PLTE') {
      if (len === 0 || len % 3 !== 0 || len > 768) throw new PngReadError(`bad palette of ${len} bytes`);
      palette = data;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    o += 12 + len;
  }
  if (!bpp) throw new PngReadError('no IHDR');
  if (bpp === -1) return readIndexed(idat, width, height, depth, palette);
  const stride = width * bpp;
  const raw = inflateSync(Buffer.concat(idat), { maxOutputLength: (stride + 1) * height });
  if (raw.length !== (stride + 1) * height) throw new PngReadError('image data of the wrong size');
  const rgba = new Uint8Array(width * height * 4);
  const prev = new Uint8Array(stride);
  const cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      const x = row[i]!;
      cur[i] = f === 0 ? x : f === 1 ? x + a : f === 2 ? x + b : f === 3 ? x + ((a + b) >> 1) : f === 4 ? x + paeth(a, b, c) : -1;
      if (f > 4) throw new PngReadError(`bad row filter ${f}`);
    }
    for (let px = 0; px < width; px++) {
      const d = (y * width + px) * 4;
      const s = px * bpp;
      rgba[d] = cur[s]!;
      rgba[d + 1] = cur[s + 1]!;
      rgba[d + 2] = cur[s + 2]!;
      rgba[d + 3] = bpp === 4 ? cur[s + 3]! : 255;
    }
    prev.set(cur);
  }
  return { width, height, rgba };
}

/** Colour type 3: unfiltered or filtered rows of packed indices (1-8 bits) into PLTE. */
function readIndexed(idat: Buffer[], width: number, height: number, depth: number, palette: Buffer | undefined): RgbaImage {
  if (!palette) throw new PngReadError('palette image without PLTE');
  const entries = palette.length / 3;
  const stride = Math.ceil((width * depth) / 8);
  const raw = inflateSync(Buffer.concat(idat), { maxOutputLength: (stride + 1) * height });
  if (raw.length !== (stride + 1) * height) throw new PngReadError('image data of the wrong size');
  const rgba = new Uint8Array(width * height * 4);
  const prev = new Uint8Array(stride);
  const cur = new Uint8Array(stride);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    if (f > 4) throw new PngReadError(`bad row filter ${f}`);
    const row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    // Filters work on bytes, with a left neighbour one byte back (bits per pixel below 8).
    for (let i = 0; i < stride; i++) {
      const a = i >= 1 ? cur[i - 1]! : 0;
      const b = prev[i]!;
      const c = i >= 1 ? prev[i - 1]! : 0;
      const x = row[i]!;
      cur[i] = f === 0 ? x : f === 1 ? x + a : f === 2 ? x + b : f === 3 ? x + ((a + b) >> 1) : x + paeth(a, b, c);
    }
    for (let px = 0; px < width; px++) {
      const index = depth === 8 ? cur[px]! : (cur[Math.floor(px / perByte)]! >> (8 - depth * ((px % perByte) + 1))) & mask;
      if (index >= entries) throw new PngReadError(`palette index ${index} beyond its ${entries} entries`);
      const d = (y * width + px) * 4;
      rgba[d] = palette[index * 3]!;
      rgba[d + 1] = palette[index * 3 + 1]!;
      rgba[d + 2] = palette[index * 3 + 2]!;
      rgba[d + 3] = 255;
    }
    prev.set(cur);
  }
  return { width, height, rgba };
}
