/**
 * Test-side RFB *server* pieces for the RFB client tests and the fuzzer: an in-memory stream the
 * test writes server bytes into, and independent encoders (straight from the specification, not
 * sharing code with the client) for the handshake, Raw, CopyRect, ZRLE and Tight, with real
 * persistent zlib streams flushed per rectangle as servers do.
 */
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import jpeg from 'jpeg-js';
import { type RfbClient, type RfbConnectOptions, connectRfb } from '../../src/server/protocols/vnc/client.js';

// ---------------------------------------------------------------------------------------------
// streams

/** The client's end of a connection to a scripted server: `serve()` feeds it server bytes. */
export class ScriptedStream extends Duplex {
  readonly written: Buffer[] = [];

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written.push(Buffer.from(chunk));
    cb();
  }

  serve(bytes: Buffer): void {
    if (!this.destroyed) this.push(bytes);
  }

  hangUp(): void {
    if (!this.destroyed) this.push(null);
  }

  /** Everything the client wrote so far. */
  sent(): Buffer {
    return Buffer.concat(this.written);
  }
}

/** Feeds `bytes` in chunks of `chunk` bytes (1 = byte by byte), each on its own tick. */
export async function serveChunked(stream: ScriptedStream, bytes: Buffer, chunk: number): Promise<void> {
  for (let off = 0; off < bytes.length; off += chunk) {
    stream.serve(bytes.subarray(off, off + chunk));
    await new Promise<void>((r) => setImmediate(r));
  }
}

export interface Scripted {
  stream: ScriptedStream;
  connecting: Promise<RfbClient>;
}

/** A client connecting over a ScriptedStream that has already received `handshakeBytes`. */
export function scripted(handshakeBytes: Buffer, opts: RfbConnectOptions = {}): Scripted {
  const stream = new ScriptedStream();
  const connecting = connectRfb(stream, { autoRequest: false, ...opts });
  stream.serve(handshakeBytes);
  return { stream, connecting };
}

// ---------------------------------------------------------------------------------------------
// images

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rgba = Uint8Array;

/** A w x h RGBA image of random pixels (alpha 255). */
export function noiseImage(w: number, h: number, seed: number): Rgba {
  const r = rng(seed);
  const img = new Uint8Array(w * h * 4);
  for (let i = 0; i < img.length; i += 4) {
    img[i] = (r() * 256) | 0;
    img[i + 1] = (r() * 256) | 0;
    img[i + 2] = (r() * 256) | 0;
    img[i + 3] = 255;
  }
  return img;
}

/** A w x h image using only `colours` random colours, in random runs (good for RLE and palettes). */
export function paletteImage(w: number, h: number, colours: number, seed: number, maxRun = 9): Rgba {
  const r = rng(seed);
  const pal = Array.from({ length: colours }, () => [(r() * 256) | 0, (r() * 256) | 0, (r() * 256) | 0]);
  const img = new Uint8Array(w * h * 4);
  let i = 0;
  while (i < w * h) {
    const c = pal[(r() * colours) | 0]!;
    const run = 1 + ((r() * maxRun) | 0);
    for (let k = 0; k < run && i < w * h; k++, i++) {
      img[i * 4] = c[0]!;
      img[i * 4 + 1] = c[1]!;
      img[i * 4 + 2] = c[2]!;
      img[i * 4 + 3] = 255;
    }
  }
  return img;
}

/** A smooth w x h gradient (what JPEG and the gradient filter are for). */
export function gradientImage(w: number, h: number): Rgba {
  const img = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      img[o] = Math.round((x * 255) / Math.max(1, w - 1));
      img[o + 1] = Math.round((y * 255) / Math.max(1, h - 1));
      img[o + 2] = (x + y) & 0xff;
      img[o + 3] = 255;
    }
  }
  return img;
}

export function solidImage(w: number, h: number, rgb: [number, number, number]): Rgba {
  const img = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) img.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  return img;
}

/** The test's own model of the framebuffer, updated the obvious way. */
export class Canvas {
  data: Uint8Array;
  constructor(
    public width: number,
    public height: number,
  ) {
    this.data = new Uint8Array(width * height * 4);
    for (let i = 3; i < this.data.length; i += 4) this.data[i] = 255;
  }
  put(x: number, y: number, w: number, h: number, img: Rgba): void {
    for (let row = 0; row < h; row++) this.data.set(img.subarray(row * w * 4, (row + 1) * w * 4), ((y + row) * this.width + x) * 4);
  }
  region(x: number, y: number, w: number, h: number): Rgba {
    const out = new Uint8Array(w * h * 4);
    for (let row = 0; row < h; row++) out.set(this.data.subarray(((y + row) * this.width + x) * 4, ((y + row) * this.width + x + w) * 4), row * w * 4);
    return out;
  }
  copy(sx: number, sy: number, x: number, y: number, w: number, h: number): void {
    this.put(x, y, w, h, this.region(sx, sy, w, h));
  }
}

// ---------------------------------------------------------------------------------------------
// handshake

export interface HandshakeSpec {
  version?: string; // the 12-byte banner's "xxx.yyy", default 003.008
  /** Security types offered (3.7+) or the one imposed (3.3). Default [1]. */
  security?: number[];
  /** For VNC auth: the challenge sent. */
  challenge?: Buffer;
  /** SecurityResult sent (when one is due); default 0 = OK. */
  result?: number;
  reason?: string;
  width?: number;
  height?: number;
  name?: string;
  /** The server's native pixel format bytes (16); default 32bpp depth 24 BGRX. */
  pixelFormat?: Buffer;
}

export function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
export function s32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
}
export function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([u32(b.length), b]);
}

export const SERVER_PF = Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);

export function serverInit(width: number, height: number, name = 'test desktop', pf: Buffer = SERVER_PF): Buffer {
  return Buffer.concat([u16(width), u16(height), pf, str(name)]);
}

/** The server's bytes of a whole handshake, as scripted (the client's answers are not checked here). */
export function handshakeBytes(spec: HandshakeSpec = {}): Buffer {
  const version = spec.version ?? '003.008';
  const security = spec.security ?? [1];
  const parts: Buffer[] = [Buffer.from(`RFB ${version}\n`, 'latin1')];
  const minor = Number(version.slice(4));
  const major = Number(version.slice(0, 3));
  const v = major > 3 || minor >= 8 ? 8 : minor === 7 ? 7 : 3;
  const type = security.includes(1) ? 1 : security[0]!;
  if (v === 3) parts.push(u32(security[0]!));
  else parts.push(u8(security.length), Buffer.from(security));
  if (type === 2) parts.push(spec.challenge ?? Buffer.alloc(16, 7));
  if (type === 2 || v === 8) {
    parts.push(u32(spec.result ?? 0));
    if ((spec.result ?? 0) !== 0) {
      if (v === 8) parts.push(str(spec.reason ?? 'no'));
      return Buffer.concat(parts);
    }
  }
  parts.push(serverInit(spec.width ?? 64, spec.height ?? 48, spec.name, spec.pixelFormat));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// messages and rectangles

export function fbUpdate(rects: Buffer[], count = rects.length): Buffer {
  return Buffer.concat([Buffer.from([0, 0]), u16(count), ...rects]);
}

export function rectHeader(x: number, y: number, w: number, h: number, encoding: number): Buffer {
  return Buffer.concat([u16(x), u16(y), u16(w), u16(h), s32(encoding)]);
}

/** Raw: pixels in the client's format, R, G, B, pad (pad set to junk to prove alpha is forced). */
export function rawRect(x: number, y: number, w: number, h: number, img: Rgba): Buffer {
  const px = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    px[i * 4] = img[i * 4]!;
    px[i * 4 + 1] = img[i * 4 + 1]!;
    px[i * 4 + 2] = img[i * 4 + 2]!;
    px[i * 4 + 3] = 0x5a;
  }
  return Buffer.concat([rectHeader(x, y, w, h, 0), px]);
}

export function copyRect(srcX: number, srcY: number, x: number, y: number, w: number, h: number): Buffer {
  return Buffer.concat([rectHeader(x, y, w, h, 1), u16(srcX), u16(srcY)]);
}

export function desktopSizeRect(w: number, h: number): Buffer {
  return rectHeader(0, 0, w, h, -223);
}

/** ExtendedDesktopSize (-308): x is the reason, y the status; then the screens (id, x, y, w, h, flags). */
export function extDesktopSizeRect(reason: number, status: number, w: number, h: number, screens: { id: number; x: number; y: number; w: number; h: number; flags: number }[]): Buffer {
  return Buffer.concat([
    rectHeader(reason, status, w, h, -308),
    u8(screens.length),
    Buffer.alloc(3),
    ...screens.map((s) => Buffer.concat([u32(s.id), u16(s.x), u16(s.y), u16(s.w), u16(s.h), u32(s.flags)])),
  ]);
}

export function lastRect(): Buffer {
  return rectHeader(0, 0, 0, 0, -224);
}

/** Cursor: pixels R, G, B, pad then the 1-bit mask (alpha >= 128 = visible). */
export function cursorRect(hotX: number, hotY: number, w: number, h: number, img: Rgba): Buffer {
  const px = Buffer.alloc(w * h * 4);
  const maskRow = (w + 7) >> 3;
  const mask = Buffer.alloc(maskRow * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      px[i * 4] = img[i * 4]!;
      px[i * 4 + 1] = img[i * 4 + 1]!;
      px[i * 4 + 2] = img[i * 4 + 2]!;
      if (img[i * 4 + 3]! >= 128) mask[y * maskRow + (x >> 3)]! |= 0x80 >> (x & 7);
    }
  }
  return Buffer.concat([rectHeader(hotX, hotY, w, h, -239), px, mask]);
}

export function bell(): Buffer {
  return u8(2);
}

export function serverCutText(text: Buffer): Buffer {
  return Buffer.concat([Buffer.from([3, 0, 0, 0]), u32(text.length), text]);
}

export function colourMap(first: number, colours: number): Buffer {
  return Buffer.concat([Buffer.from([1, 0]), u16(first), u16(colours), Buffer.alloc(colours * 6, 0x11)]);
}

/** One zlib stream of a server: persistent, Z_SYNC_FLUSH at the end of each rectangle. */
export class ServerDeflate {
  private z = zlib.createDeflate({ level: 6 });
  private out: Buffer[] = [];
  constructor() {
    this.z.on('data', (c: Buffer) => this.out.push(c));
  }
  async compress(data: Buffer): Promise<Buffer> {
    await new Promise<void>((resolve) => {
      this.z.write(data);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve());
    });
    const res = Buffer.concat(this.out);
    this.out = [];
    return res;
  }
  /** A new stream (Tight's reset bit). */
  reset(): void {
    this.z.close();
    this.z = zlib.createDeflate({ level: 6 });
    this.z.on('data', (c: Buffer) => this.out.push(c));
  }
  close(): void {
    this.z.close();
  }
}

// ZRLE -------------------------------------------------------------------------------------------

export type ZrleSub = 'raw' | 'solid' | 'packed' | 'rle' | 'prle';

function tileColours(img: Rgba, w: number, tx: number, ty: number, tw: number, th: number): number[] {
  const set = new Map<number, number>();
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const o = ((ty + y) * w + tx + x) * 4;
      const c = (img[o]! << 16) | (img[o + 1]! << 8) | img[o + 2]!;
      if (!set.has(c)) set.set(c, set.size);
    }
  }
  return [...set.keys()];
}

function cpixel(c: number): number[] {
  return [(c >> 16) & 0xff, (c >> 8) & 0xff, c & 0xff];
}

function runLength(n: number): number[] {
  const out: number[] = [];
  let left = n - 1;
  while (left >= 255) {
    out.push(255);
    left -= 255;
  }
  out.push(left);
  return out;
}

/** The uncompressed ZRLE tile stream of an image; `choose` picks each tile's subencoding. */
export function zrleTiles(img: Rgba, w: number, h: number, choose: (tileIndex: number, colours: number) => ZrleSub): Buffer {
  const out: number[] = [];
  let index = 0;
  for (let ty = 0; ty < h; ty += 64) {
    const th = Math.min(64, h - ty);
    for (let tx = 0; tx < w; tx += 64) {
      const tw = Math.min(64, w - tx);
      const colours = tileColours(img, w, tx, ty, tw, th);
      let sub = choose(index++, colours.length);
      if (sub === 'solid' && colours.length !== 1) sub = 'raw';
      if (sub === 'packed' && colours.length > 16) sub = 'rle';
      if (sub === 'prle' && colours.length > 127) sub = 'rle';
      const pix: number[] = [];
      for (let y = 0; y < th; y++) {
        for (let x = 0; x < tw; x++) {
          const o = ((ty + y) * w + tx + x) * 4;
          pix.push((img[o]! << 16) | (img[o + 1]! << 8) | img[o + 2]!);
        }
      }
      const idx = new Map(colours.map((c, i) => [c, i]));
      switch (sub) {
        case 'raw':
          out.push(0);
          for (const c of pix) out.push(...cpixel(c));
          break;
        case 'solid':
          out.push(1, ...cpixel(colours[0]!));
          break;
        case 'packed': {
          const n = Math.max(2, colours.length);
          out.push(n);
          for (let i = 0; i < n; i++) out.push(...cpixel(colours[i] ?? 0));
          const bits = n === 2 ? 1 : n <= 4 ? 2 : 4;
          for (let y = 0; y < th; y++) {
            let byte = 0;
            let used = 0;
            for (let x = 0; x < tw; x++) {
              byte = (byte << bits) | idx.get(pix[y * tw + x]!)!;
              used += bits;
              if (used === 8) {
                out.push(byte);
                byte = 0;
                used = 0;
              }
            }
            if (used > 0) out.push(byte << (8 - used));
          }
          break;
        }
        case 'rle':
        case 'prle': {
          const pal = sub === 'prle';
          if (pal) {
            const n = Math.max(2, colours.length);
            out.push(128 + n);
            for (let i = 0; i < n; i++) out.push(...cpixel(colours[i] ?? 0));
          } else {
            out.push(128);
          }
          let i = 0;
          while (i < pix.length) {
            let j = i + 1;
            while (j < pix.length && pix[j] === pix[i]) j++;
            const run = j - i;
            if (pal) {
              if (run === 1) out.push(idx.get(pix[i]!)!);
              else out.push(idx.get(pix[i]!)! | 0x80, ...runLength(run));
            } else {
              out.push(...cpixel(pix[i]!), ...runLength(run));
            }
            i = j;
          }
          break;
        }
      }
    }
  }
  return Buffer.from(out);
}

export function zrleRectFromCompressed(x: number, y: number, w: number, h: number, compressed: Buffer): Buffer {
  return Buffer.concat([rectHeader(x, y, w, h, 16), u32(compressed.length), compressed]);
}

export async function zrleRect(z: ServerDeflate, x: number, y: number, w: number, h: number, img: Rgba, choose: (tile: number, colours: number) => ZrleSub = autoZrle): Promise<Buffer> {
  return zrleRectFromCompressed(x, y, w, h, await z.compress(zrleTiles(img, w, h, choose)));
}

export function autoZrle(_tile: number, colours: number): ZrleSub {
  if (colours === 1) return 'solid';
  if (colours <= 16) return 'packed';
  if (colours <= 127) return 'prle';
  return 'raw';
}

/** Cycles through every subencoding, tile after tile (falling back where the colours do not fit). */
export function cycleZrle(tile: number): ZrleSub {
  return (['raw', 'solid', 'packed', 'rle', 'prle'] as const)[tile % 5]!;
}

// Tight ------------------------------------------------------------------------------------------

export function compactLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x4000) return Buffer.from([(n & 0x7f) | 0x80, n >> 7]);
  return Buffer.from([(n & 0x7f) | 0x80, ((n >> 7) & 0x7f) | 0x80, n >> 14]);
}

export type TightMode =
  | { kind: 'fill' }
  | { kind: 'jpeg'; quality?: number }
  | { kind: 'copy'; stream?: number; explicitFilter?: boolean }
  | { kind: 'palette'; stream?: number }
  | { kind: 'gradient'; stream?: number };

function tpixels(img: Rgba, n: number): Buffer {
  const b = Buffer.alloc(n * 3);
  for (let i = 0; i < n; i++) {
    b[i * 3] = img[i * 4]!;
    b[i * 3 + 1] = img[i * 4 + 1]!;
    b[i * 3 + 2] = img[i * 4 + 2]!;
  }
  return b;
}

function gradientData(img: Rgba, w: number, h: number): Buffer {
  const out = Buffer.alloc(w * h * 3);
  const at = (x: number, y: number, c: number): number => (x < 0 || y < 0 ? 0 : img[(y * w + x) * 4 + c]!);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const est = Math.min(255, Math.max(0, at(x - 1, y, c) + at(x, y - 1, c) - at(x - 1, y - 1, c)));
        out[(y * w + x) * 3 + c] = (at(x, y, c) - est) & 0xff;
      }
    }
  }
  return out;
}

/** One Tight rectangle; `resetBits` sets the stream reset bits (and resets those server streams). */
export async function tightRect(
  zs: ServerDeflate[],
  x: number,
  y: number,
  w: number,
  h: number,
  img: Rgba,
  mode: TightMode,
  resetBits = 0,
): Promise<Buffer> {
  for (let i = 0; i < 4; i++) if (resetBits & (1 << i)) zs[i]!.reset();
  const head = rectHeader(x, y, w, h, 7);
  if (mode.kind === 'fill') return Buffer.concat([head, u8(0x80 | resetBits), Buffer.from([img[0]!, img[1]!, img[2]!])]);
  if (mode.kind === 'jpeg') {
    const data = jpeg.encode({ width: w, height: h, data: Buffer.from(img) }, mode.quality ?? 90).data;
    return Buffer.concat([head, u8(0x90 | resetBits), compactLength(data.length), data]);
  }
  const stream = mode.stream ?? 0;
  let control = (stream << 4) | resetBits;
  let filterPart: Buffer = Buffer.alloc(0);
  let data: Buffer;
  if (mode.kind === 'copy') {
    if (mode.explicitFilter) {
      control |= 0x40;
      filterPart = u8(0);
    }
    data = tpixels(img, w * h);
  } else if (mode.kind === 'gradient') {
    control |= 0x40;
    filterPart = u8(2);
    data = gradientData(img, w, h);
  } else {
    control |= 0x40;
    const colours: number[] = [];
    const index = new Map<number, number>();
    const idx: number[] = [];
    for (let i = 0; i < w * h; i++) {
      const c = (img[i * 4]! << 16) | (img[i * 4 + 1]! << 8) | img[i * 4 + 2]!;
      if (!index.has(c)) {
        index.set(c, colours.length);
        colours.push(c);
      }
      idx.push(index.get(c)!);
    }
    if (colours.length > 256) throw new Error('palette needs at most 256 colours');
    if (colours.length === 1) colours.push(0); // a 2-colour palette still describes a 1-colour image
    filterPart = Buffer.concat([u8(1), u8(colours.length - 1), Buffer.from(colours.flatMap(cpixel))]);
    if (colours.length === 2) {
      const rowBytes = (w + 7) >> 3;
      data = Buffer.alloc(rowBytes * h);
      for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) if (idx[yy * w + xx]) data[yy * rowBytes + (xx >> 3)]! |= 0x80 >> (xx & 7);
    } else {
      data = Buffer.from(idx);
    }
  }
  const body = data.length < 12 ? data : await zs[stream]!.compress(data).then((c) => Buffer.concat([compactLength(c.length), c]));
  return Buffer.concat([head, u8(control), filterPart, body]);
}

export function tightStreams(): ServerDeflate[] {
  return [new ServerDeflate(), new ServerDeflate(), new ServerDeflate(), new ServerDeflate()];
}

// ---------------------------------------------------------------------------------------------
// waiting

/** Resolves with the next `update` event's ops (or rejects when the client closes first). */
export function nextUpdate(client: RfbClient): Promise<import('../../src/server/protocols/vnc/updates.js').RfbUpdateOp[]> {
  return new Promise((resolve, reject) => {
    const onClose = (info: { message: string }): void => reject(new Error(`closed before an update: ${info.message}`));
    client.once('update', (ops) => {
      client.off('close', onClose);
      resolve(ops);
    });
    client.once('close', onClose);
  });
}

/** Resolves with the first 'error' (or undefined) once the client closed. */
export async function closedWith(client: RfbClient): Promise<{ error?: Error; how: string; message: string }> {
  let error: Error | undefined;
  client.on('error', (e) => {
    error ??= e;
  });
  const info = await client.ended;
  return { error, ...info };
}

/** Compares two RGBA buffers; returns the index of the first differing pixel or -1. */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i >> 2;
  return -1;
}
