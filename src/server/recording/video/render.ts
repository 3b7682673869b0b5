import jpeg from 'jpeg-js';
import { GuacParser } from '../../display/guac.js';
import { readPng } from './png-read.js';

/** Largest screen a recording may declare for the export (bounded memory). */
const MAX_SIDE = 4096;

/**
 * Replays a display recording (Guacamole instructions) onto an RGBA canvas of the default layer,
 * as a browser would draw it: `size`, images (`img` + `blob`s + `end`, PNG or JPEG), `copy`.
 * Frames are the `sync` instructions, reported with their timestamps (epoch ms).
 */
export class GuacCanvas {
  width = 0;
  height = 0;
  rgba = new Uint8Array(0);
  private readonly parser = new GuacParser({ maxInstructionLength: 1 << 20, maxElements: 64 });
  private readonly images = new Map<string, { layer: number; mimetype: string; x: number; y: number; parts: string[] }>();

  constructor(
    private readonly onFrame: (timestamp: number) => void,
    /** Sees every instruction before it is drawn (tests count opcodes, markers...). */
    private readonly onInstruction?: (opcode: string, args: string[]) => void,
  ) {}

  /** Feeds recording text (any split). Throws on a malformed recording. */
  feed(chunk: string | Buffer): void {
    for (const { opcode, args } of this.parser.receive(chunk)) {
      this.onInstruction?.(opcode, args);
      this.apply(opcode, args);
    }
  }

  private apply(opcode: string, a: string[]): void {
    const n = (i: number) => Number(a[i]);
    switch (opcode) {
      case 'size':
        if (n(0) === 0) this.resize(n(1), n(2));
        return;
      case 'img':
        if (this.images.size > 4096) this.images.clear();
        this.images.set(a[0]!, { layer: n(2), mimetype: a[3]!, x: n(4), y: n(5), parts: [] });
        return;
      case 'blob':
        this.images.get(a[0]!)?.parts.push(a[1]!);
        return;
      case 'end': {
        const im = this.images.get(a[0]!);
        this.images.delete(a[0]!);
        if (!im || im.layer !== 0) return;
        const data = Buffer.from(im.parts.join(''), 'base64');
        if (im.mimetype === 'image/png') {
          const p = readPng(data);
          this.blit(p.rgba, p.width, p.height, im.x, im.y);
        } else if (im.mimetype === 'image/jpeg') {
          const p = jpeg.decode(data, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 17, maxMemoryUsageInMB: 256 });
          this.blit(p.data, p.width, p.height, im.x, im.y);
        }
        return;
      }
      case 'copy':
        if (n(0) === 0 && n(6) === 0) this.copy(n(1), n(2), n(3), n(4), n(7), n(8));
        return;
      case 'sync':
        this.onFrame(n(0));
        return;
      default:
        return;
    }
  }

  private resize(w: number, h: number): void {
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE) throw new RangeError(`bad display size ${w}x${h} in the recording`);
    const next = new Uint8Array(w * h * 4);
    for (let y = 0; y < Math.min(h, this.height); y++) next.set(this.rgba.subarray(y * this.width * 4, (y * this.width + Math.min(w, this.width)) * 4), y * w * 4);
    this.width = w;
    this.height = h;
    this.rgba = next;
  }

  private blit(src: Uint8Array, w: number, h: number, x: number, y: number): void {
    if (!(x >= 0 && y >= 0 && x < this.width && y < this.height)) return;
    const cols = Math.min(w, this.width - x);
    for (let row = 0; row < h && y + row < this.height; row++) this.rgba.set(src.subarray(row * w * 4, row * w * 4 + cols * 4), ((y + row) * this.width + x) * 4);
  }

  private copy(sx: number, sy: number, w: number, h: number, dx: number, dy: number): void {
    if (![sx, sy, w, h, dx, dy].every(Number.isInteger) || w < 1 || h < 1 || sx < 0 || sy < 0 || sx + w > this.width || sy + h > this.height) return;
    const tmp = new Uint8Array(w * h * 4);
    for (let r = 0; r < h; r++) tmp.set(this.rgba.subarray(((sy + r) * this.width + sx) * 4, ((sy + r) * this.width + sx + w) * 4), r * w * 4);
    this.blit(tmp, w, h, dx, dy);
  }

  /** The canvas as packed RGB (what the video encoder reads). */
  rgb(): Buffer {
    const out = Buffer.allocUnsafe(this.width * this.height * 3);
    for (let i = 0, j = 0; i < this.rgba.length; i += 4, j += 3) {
      out[j] = this.rgba[i]!;
      out[j + 1] = this.rgba[i + 1]!;
      out[j + 2] = this.rgba[i + 2]!;
    }
    return out;
  }
}
