/**
 * An independent PNG decoder for the tests: walks the chunks, checks every CRC with a bitwise
 * CRC-32 (not the table version under test), inflates the IDATs with node:zlib and undoes all five
 * filter types. Supports what encodePng writes: 8-bit RGB and RGBA, and palettes of 1-8 bits per
 * pixel (read bit by bit, unlike the encoder's packing), no interlace.
 */
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';

/** Bitwise CRC-32, deliberately not the table version under test. */
export function slowCrc(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

export interface Decoded {
  width: number;
  height: number;
  colorType: number;
  /** RGBA, alpha 255 for colour type 2. */
  rgba: Uint8Array;
  filters: Set<number>;
  depth: number;
  /** Colour type 3: the number of palette entries. */
  paletteSize?: number;
}

export function decodePng(png: Buffer): Decoded {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'signature');
  let o = 8;
  let ihdr: Buffer | null = null;
  let plte: Buffer | null = null;
  const idat: Buffer[] = [];
  let sawEnd = false;
  const order: string[] = [];
  while (o < png.length) {
    const len = png.readUInt32BE(o);
    const type = png.toString('latin1', o + 4, o + 8);
    const data = png.subarray(o + 8, o + 8 + len);
    const crc = png.readUInt32BE(o + 8 + len);
    assert.equal(crc, slowCrc(png.subarray(o + 4, o + 8 + len)), `CRC of ${type}`);
    order.push(type);
    if (type === 'IHDR') ihdr = data;
    else if (type === 'PLTE') plte = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') sawEnd = true;
    o += 12 + len;
  }
  assert.equal(o, png.length, 'no trailing bytes');
  assert.ok(sawEnd && order[0] === 'IHDR' && order.at(-1) === 'IEND', `chunk order ${order}`);
  assert.ok(ihdr);
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const colorType = ihdr[9]!;
  const depth = ihdr[8]!;
  assert.deepEqual([ihdr[10], ihdr[11], ihdr[12]], [0, 0, 0]);
  if (colorType === 3) return decodeIndexed(idat, width, height, depth, plte, order);
  assert.equal(depth, 8, 'bit depth');
  assert.ok(colorType === 2 || colorType === 6);
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const rowLen = width * bpp;
  assert.equal(raw.length, height * (rowLen + 1), 'inflated size');
  const pix = new Uint8Array(height * rowLen);
  const filters = new Set<number>();
  for (let y = 0; y < height; y++) {
    const f = raw[y * (rowLen + 1)]!;
    filters.add(f);
    for (let i = 0; i < rowLen; i++) {
      const x = raw[y * (rowLen + 1) + 1 + i]!;
      const a = i >= bpp ? pix[y * rowLen + i - bpp]! : 0;
      const b = y > 0 ? pix[(y - 1) * rowLen + i]! : 0;
      const c = i >= bpp && y > 0 ? pix[(y - 1) * rowLen + i - bpp]! : 0;
      let v: number;
      if (f === 0) v = x;
      else if (f === 1) v = x + a;
      else if (f === 2) v = x + b;
      else if (f === 3) v = x + ((a + b) >> 1);
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      } else throw new Error(`bad filter type ${f}`);
      pix[y * rowLen + i] = v & 255;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    for (let k = 0; k < bpp; k++) rgba[p * 4 + k] = pix[p * bpp + k]!;
    if (bpp === 3) rgba[p * 4 + 3] = 255;
  }
  return { width, height, colorType, rgba, filters, depth: 8 };
}

/** Colour type 3, as encodePng writes it: PLTE before IDAT, unfiltered rows of packed indices. */
function decodeIndexed(idat: Buffer[], width: number, height: number, depth: number, plte: Buffer | null, order: string[]): Decoded {
  assert.ok([1, 2, 4, 8].includes(depth), `palette bit depth ${depth}`);
  assert.ok(plte && plte.length % 3 === 0 && plte.length >= 3 && plte.length <= 768, 'PLTE of 1-256 entries');
  assert.ok(order.indexOf('PLTE') < order.indexOf('IDAT'), 'PLTE before IDAT');
  const entries = plte.length / 3;
  assert.ok(entries <= 2 ** depth, `${entries} entries fit ${depth} bits`);
  const rowLen = Math.ceil((width * depth) / 8);
  const raw = inflateSync(Buffer.concat(idat));
  assert.equal(raw.length, height * (rowLen + 1), 'inflated size');
  const rgba = new Uint8Array(width * height * 4);
  const filters = new Set<number>();
  for (let y = 0; y < height; y++) {
    const base = y * (rowLen + 1);
    filters.add(raw[base]!);
    assert.equal(raw[base], 0, 'palette rows unfiltered');
    // Read the indices bit by bit, most significant first; the padding bits at the end must be 0.
    for (let px = 0; px < width; px++) {
      let index = 0;
      for (let b = 0; b < depth; b++) {
        const bit = px * depth + b;
        index = (index << 1) | ((raw[base + 1 + (bit >> 3)]! >> (7 - (bit & 7))) & 1);
      }
      assert.ok(index < entries, `index ${index} within the palette`);
      rgba.set([plte[index * 3]!, plte[index * 3 + 1]!, plte[index * 3 + 2]!, 255], (y * width + px) * 4);
    }
    for (let bit = width * depth; bit < rowLen * 8; bit++) assert.equal((raw[base + 1 + (bit >> 3)]! >> (7 - (bit & 7))) & 1, 0, 'padding bits are 0');
  }
  return { width, height, colorType: 3, rgba, filters, depth, paletteSize: entries };
}

