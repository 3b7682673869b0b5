/**
 * ZRLE (RFC 6143 7.7.6): the rectangle's zlib-inflated bytes are 64x64 tiles, left to right, top
 * to bottom, each a subencoding byte and its data. With our pixel format a CPIXEL is 3 bytes
 * R, G, B (32 bpp, depth 24: the colour fits in the low three bytes).
 *
 *   0        raw CPIXELs
 *   1        solid colour
 *   2..16    packed palette (1, 2 or 4 bits per index, rows padded to a byte)
 *   128      plain RLE: CPIXEL + run length
 *   130..255 palette RLE: palette of (n - 128) colours, then indices, bit 7 = a run length follows
 *
 * Every read is bounds-checked against the inflated data, every run against the tile, every index
 * against the palette; anything else throws ZrleError. Decoding writes straight into the
 * framebuffer (the caller checked the rectangle against its bounds).
 */
import { type Framebuffer, packRGB } from './framebuffer.js';

export class ZrleError extends Error {
  override name = 'ZrleError';
}

const TILE = 64;

/** The most inflated bytes a w x h ZRLE rectangle can legitimately need (the zlib output cap). */
export function zrleMaxBytes(w: number, h: number): number {
  const tiles = Math.ceil(w / TILE) * Math.ceil(h / TILE);
  // per tile: subencoding byte, a 127-colour palette, and at worst 4 bytes per pixel (RLE runs of 1)
  return tiles * (1 + 127 * 3) + 4 * w * h;
}

export function decodeZrle(data: Buffer, fb: Framebuffer, x: number, y: number, w: number, h: number): void {
  const palette = new Uint32Array(128);
  const px = fb.px;
  const stride = fb.width;
  const len = data.length;
  let p = 0;

  for (let ty = 0; ty < h; ty += TILE) {
    const th = Math.min(TILE, h - ty);
    for (let tx = 0; tx < w; tx += TILE) {
      const tw = Math.min(TILE, w - tx);
      const tilePixels = tw * th;
      const base = (y + ty) * stride + x + tx;
      ensure(p + 1, len, 'a tile header');
      const sub = data[p++]!;

      if (sub === 0) {
        ensure(p + tilePixels * 3, len, 'a raw tile');
        for (let row = 0; row < th; row++) {
          fb.putRowRGB(x + tx, y + ty + row, tw, data, p);
          p += tw * 3;
        }
      } else if (sub === 1) {
        ensure(p + 3, len, 'a solid tile');
        const c = packRGB(data[p]!, data[p + 1]!, data[p + 2]!);
        p += 3;
        for (let row = 0; row < th; row++) px.fill(c, base + row * stride, base + row * stride + tw);
      } else if (sub <= 16) {
        const n = sub;
        ensure(p + n * 3, len, 'a tile palette');
        for (let i = 0; i < n; i++, p += 3) palette[i] = packRGB(data[p]!, data[p + 1]!, data[p + 2]!);
        const bits = n === 2 ? 1 : n <= 4 ? 2 : 4;
        const mask = (1 << bits) - 1;
        const rowBytes = (tw * bits + 7) >> 3;
        ensure(p + rowBytes * th, len, 'packed palette pixels');
        for (let row = 0; row < th; row++) {
          const o = base + row * stride;
          for (let col = 0; col < tw; col++) {
            const bit = col * bits;
            const idx = (data[p + (bit >> 3)]! >> (8 - bits - (bit & 7))) & mask;
            if (idx >= n) throw new ZrleError(`ZRLE palette index ${idx} out of a ${n}-colour palette`);
            px[o + col] = palette[idx]!;
          }
          p += rowBytes;
        }
      } else if (sub === 128 || sub >= 130) {
        // Hot loop: kept free of closures so `p` stays a register, every read still bounds-checked.
        const paletted = sub >= 130;
        const n = sub - 128;
        if (paletted) {
          ensure(p + n * 3, len, 'a tile palette');
          for (let i = 0; i < n; i++, p += 3) palette[i] = packRGB(data[p]!, data[p + 1]!, data[p + 2]!);
        }
        let col = 0;
        let row = 0;
        let left = tilePixels;
        while (left > 0) {
          let c: number;
          let run = 1;
          let hasRun: boolean;
          if (paletted) {
            if (p >= len) throw new ZrleError('ZRLE data ends inside a palette RLE run');
            const b = data[p++]!;
            const idx = b & 0x7f;
            if (idx >= n) throw new ZrleError(`ZRLE palette index ${idx} out of a ${n}-colour palette`);
            c = palette[idx]!;
            hasRun = b >= 0x80;
          } else {
            if (p + 3 > len) throw new ZrleError('ZRLE data ends inside an RLE run');
            c = packRGB(data[p]!, data[p + 1]!, data[p + 2]!);
            p += 3;
            hasRun = true;
          }
          if (hasRun) {
            let b = 255;
            while (b === 255) {
              if (p >= len) throw new ZrleError('ZRLE data ends inside a run length');
              b = data[p++]!;
              run += b;
              if (run > left) throw new ZrleError(`ZRLE run of ${run}${b === 255 ? '+' : ''} pixels overflows a ${tw}x${th} tile`);
            }
          }
          left -= run;
          // fill the run row segment by row segment
          while (run > 0) {
            const seg = run < tw - col ? run : tw - col;
            const o = base + row * stride + col;
            if (seg === 1) px[o] = c;
            else px.fill(c, o, o + seg);
            run -= seg;
            col += seg;
            if (col === tw) {
              col = 0;
              row++;
            }
          }
        }
      } else {
        throw new ZrleError(`invalid ZRLE subencoding ${sub}`);
      }
    }
  }
  if (p !== len) throw new ZrleError(`ZRLE data has ${len - p} bytes beyond the last tile`);
}

/** Not a closure over the read offset, so the decoder's hot loops keep it in a register. */
function ensure(end: number, len: number, what: string): void {
  if (end > len) throw new ZrleError(`ZRLE data ends inside ${what}`);
}
