/**
 * A software Guacamole display for tests: the gateway's own recording canvas (GuacCanvas, the one
 * the MP4 export draws with) fed with what a browser would receive, plus counters of what came
 * (opcodes, image types, frames, markers) and pixel checks.
 */
import { GuacCanvas } from '../../src/server/recording/video/render.js';

export class GuacScreen {
  readonly opcodes = new Map<string, number>();
  readonly mimetypes = new Set<string>();
  readonly syncs: number[] = [];
  readonly markers: string[] = [];
  private readonly canvas = new GuacCanvas(
    (ts) => this.syncs.push(ts),
    (opcode, args) => {
      this.opcodes.set(opcode, (this.opcodes.get(opcode) ?? 0) + 1);
      if (opcode === 'img') this.mimetypes.add(args[3] ?? '');
      if (opcode === 'marker') this.markers.push(args[1] ?? '');
    },
  );

  get width(): number {
    return this.canvas.width;
  }
  get height(): number {
    return this.canvas.height;
  }
  get rgba(): Uint8Array {
    return this.canvas.rgba;
  }

  /** Feeds instruction text (one or more complete or partial instructions). */
  feed(text: string | Buffer): void {
    this.canvas.feed(text);
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
    const px = this.rgba;
    for (let i = 0; i < total; i++) {
      const p = i * 4;
      if (Math.abs(px[p]! - r!) <= tolerance && Math.abs(px[p + 1]! - g!) <= tolerance && Math.abs(px[p + 2]! - b!) <= tolerance) hit++;
    }
    return total ? hit / total : 0;
  }
}
