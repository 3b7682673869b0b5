/**
 * A software Guacamole display for tests: applies the instructions the gateway sends (size,
 * img/blob/end with PNG or JPEG, copy, cursor, sync) to an RGBA canvas of layer 0, so a test can
 * look at the pixels a browser would show. Uses the test PNG decoder and jpeg-js.
 */
import jpeg from 'jpeg-js';
import { GuacParser } from '../../src/server/display/guac.js';
import { decodePng } from '../display/png-decode.js';

interface OpenImage {
  layer: number;
  mimetype: string;
  x: number;
  y: number;
  parts: string[];
}

export class GuacScreen {
  width = 0;
  height = 0;
  rgba = new Uint8Array(0);
  readonly parser = new GuacParser({ maxInstructionLength: 1 << 20 });
  readonly opcodes = new Map<string, number>();
  readonly mimetypes = new Set<string>();
  readonly syncs: number[] = [];
  readonly markers: string[] = [];
  private readonly images = new Map<string, OpenImage>();

  /** Feeds instruction text (one or more complete or partial instructions). */
  feed(text: string | Buffer): void {
    for (const { opcode, args } of this.parser.receive(text)) this.apply(opcode, args);
  }

  private apply(opcode: string, a: string[]): void {
    this.opcodes.set(opcode, (this.opcodes.get(opcode) ?? 0) + 1);
    const n = (i: number) => Number(a[i]);
    switch (opcode) {
      case 'size':
        if (n(0) === 0) this.resize(n(1), n(2));
        break;
      case 'img':
        this.images.set(a[0]!, { layer: n(2), mimetype: a[3]!, x: n(4), y: n(5), parts: [] });
        this.mimetypes.add(a[3]!);
        break;
      case 'blob':
        this.images.get(a[0]!)?.parts.push(a[1]!);
        break;
      case 'end': {
        const im = this.images.get(a[0]!);
        this.images.delete(a[0]!);
        if (!im || im.layer !== 0) break;
        const data = Buffer.from(im.parts.join(''), 'base64');
        if (im.mimetype === 'image/png') {
          const pic = decodePng(data);
          this.blit(pic.rgba, pic.width, pic.height, im.x, im.y);
        } else {
          const pic = jpeg.decode(data, { useTArray: true, formatAsRGBA: true });
          this.blit(pic.data, pic.width, pic.height, im.x, im.y);
        }
        break;
      }
      case 'copy':
        if (n(0) === 0 && n(6) === 0) this.copy(n(1), n(2), n(3), n(4), n(7), n(8));
        break;
      case 'sync':
        this.syncs.push(n(0));
        break;
      case 'marker':
        this.markers.push(a[1] ?? '');
        break;
      default:
        break;
    }
  }

  private resize(w: number, h: number): void {
    const next = new Uint8Array(w * h * 4);
    for (let y = 0; y < Math.min(h, this.height); y++) next.set(this.rgba.subarray(y * this.width * 4, (y * this.width + Math.min(w, this.width)) * 4), y * w * 4);
    this.width = w;
    this.height = h;
    this.rgba = next;
  }

  private blit(src: Uint8Array, w: number, h: number, x: number, y: number): void {
    for (let row = 0; row < h && y + row < this.height; row++) {
      const n = Math.min(w, this.width - x);
      this.rgba.set(src.subarray(row * w * 4, row * w * 4 + n * 4), ((y + row) * this.width + x) * 4);
    }
  }

  private copy(sx: number, sy: number, w: number, h: number, dx: number, dy: number): void {
    const tmp = new Uint8Array(w * h * 4);
    for (let r = 0; r < h; r++) tmp.set(this.rgba.subarray(((sy + r) * this.width + sx) * 4, ((sy + r) * this.width + sx + w) * 4), r * w * 4);
    this.blit(tmp, w, h, dx, dy);
  }

  /** The pixel at x,y as '#rrggbb'. */
  pixel(x: number, y: number): string {
    const i = (y * this.width + x) * 4;
    return `#${[this.rgba[i]!, this.rgba[i + 1]!, this.rgba[i + 2]!].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  }

  /** Share of the screen within `tolerance` of a colour ('#rrggbb'). */
  share(hex: string, tolerance = 8): number {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    let hit = 0;
    const total = this.width * this.height;
    for (let i = 0; i < total; i++) {
      const p = i * 4;
      if (Math.abs(this.rgba[p]! - r!) <= tolerance && Math.abs(this.rgba[p + 1]! - g!) <= tolerance && Math.abs(this.rgba[p + 2]! - b!) <= tolerance) hit++;
    }
    return total ? hit / total : 0;
  }
}
