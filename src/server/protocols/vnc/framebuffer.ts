/**
 * The client's copy of the remote desktop: one RGBA buffer (width x height x 4 bytes, alpha always
 * 255) and the few primitives the decoders need. Decoders only write through these methods and
 * only after checking the rectangle with contains(), so a hostile rectangle can never write out of
 * bounds. A 32-bit view (`px`) lets fills and palette writes store one pixel per operation.
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A pixel value for `px` (native byte order) with alpha 255. */
export function packRGB(r: number, g: number, b: number): number {
  return LITTLE_ENDIAN ? (r | (g << 8) | (b << 16) | 0xff000000) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 0xff) >>> 0;
}

/** The opaque black every new framebuffer starts as. */
const BLACK = packRGB(0, 0, 0);

export class Framebuffer {
  readonly data: Uint8Array;
  readonly px: Uint32Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.px = new Uint32Array(width * height);
    this.px.fill(BLACK);
    this.data = new Uint8Array(this.px.buffer);
  }

  /** True when the rectangle lies inside the framebuffer (empty rectangles included). */
  contains(x: number, y: number, w: number, h: number): boolean {
    return x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= this.width && y + h <= this.height;
  }

  /** A new framebuffer of another size, keeping the overlapping top-left content (like a canvas resize). */
  resized(width: number, height: number): Framebuffer {
    const next = new Framebuffer(width, height);
    const w = Math.min(width, this.width);
    const h = Math.min(height, this.height);
    for (let row = 0; row < h; row++) {
      next.px.set(this.px.subarray(row * this.width, row * this.width + w), row * width);
    }
    return next;
  }

  fill(x: number, y: number, w: number, h: number, pixel: number): void {
    const stride = this.width;
    for (let row = y; row < y + h; row++) this.px.fill(pixel, row * stride + x, row * stride + x + w);
  }

  /** CopyRect: overlapping source and destination are fine (row order chosen like memmove). */
  copy(srcX: number, srcY: number, x: number, y: number, w: number, h: number): void {
    const stride = this.width;
    if (srcY < y) {
      for (let row = h - 1; row >= 0; row--) {
        const s = (srcY + row) * stride + srcX;
        this.px.copyWithin((y + row) * stride + x, s, s + w);
      }
    } else {
      for (let row = 0; row < h; row++) {
        const s = (srcY + row) * stride + srcX;
        this.px.copyWithin((y + row) * stride + x, s, s + w);
      }
    }
  }

  /** One row of w pixels from 4-byte R, G, B, pad source bytes. */
  putRowRGBX(x: number, y: number, w: number, src: Uint8Array, srcOff: number): void {
    const d = this.data;
    let o = (y * this.width + x) * 4;
    d.set(src.subarray(srcOff, srcOff + w * 4), o);
    const end = o + w * 4;
    for (o += 3; o < end; o += 4) d[o] = 255;
  }

  /** One row of w pixels from 3-byte R, G, B source bytes (ZRLE CPIXEL, Tight TPIXEL). */
  putRowRGB(x: number, y: number, w: number, src: Uint8Array, srcOff: number): void {
    const d = this.data;
    let o = (y * this.width + x) * 4;
    let s = srcOff;
    const end = o + w * 4;
    while (o < end) {
      d[o] = src[s]!;
      d[o + 1] = src[s + 1]!;
      d[o + 2] = src[s + 2]!;
      d[o + 3] = 255;
      o += 4;
      s += 3;
    }
  }

  /** A w x h block of RGBA pixels (alpha forced to 255). */
  putRGBA(x: number, y: number, w: number, h: number, src: Uint8Array): void {
    for (let row = 0; row < h; row++) this.putRowRGBX(x, y + row, w, src, row * w * 4);
  }
}
