/**
 * Changed-area bookkeeping between two frames. The RFB client reports every rectangle it decodes;
 * DirtyRegion keeps them clipped to the framebuffer and merged, and at frame time take() hands out
 * tiles to encode. Merging trades a few unchanged pixels re-sent for fewer, larger images (each
 * image costs an img/blob/end triple, a PNG header and a decode in the browser).
 *
 * Two rectangles merge into their bounding box when they overlap or touch and the box wastes at
 * most MERGE_WASTE of its area (or MERGE_SLACK pixels). Always merging touching rectangles would
 * turn a diagonal chain of small updates into one screen-sized box. When more than maxRects remain
 * the cheapest pair (least added area) is merged until the count fits, so the cost per add() is
 * bounded whatever the server sends.
 */
import { area, intersection, type Rect, union } from './region.js';

/**
 * Default tile side. Measured on a 1280x800 frame cut into tiles (bench/display-encode.ts,
 * docs/display.md): 256 costs +22% bytes over one whole-frame PNG of an HMI screen and +7% for a
 * JPEG photo, at the same encode time; 128 costs +50% / +27% and 64 +120% / +100% (each image has
 * its own headers and Huffman tables, and deflate restarts). 512 saves only 4-10% more but leaves
 * a second worker idle on most updates, and makes each img instruction's blob train longer.
 */
export const TILE_SIZE = 256;

/** Default cap on separate rectangles kept between frames. */
export const MAX_RECTS = 64;

const MERGE_WASTE = 0.25;
const MERGE_SLACK = 32 * 32;

export class DirtyRegion {
  private rects: Rect[] = [];

  constructor(
    private width: number,
    private height: number,
    private readonly maxRects: number = MAX_RECTS,
  ) {
    if (!(maxRects >= 1)) throw new RangeError(`maxRects must be at least 1, got ${maxRects}`);
  }

  /** Number of rectangles currently held (after merging). */
  get count(): number {
    return this.rects.length;
  }

  get isEmpty(): boolean {
    return this.rects.length === 0;
  }

  /** The rectangles held, without clearing them (copies). */
  peek(): Rect[] {
    return this.rects.map((r) => ({ ...r }));
  }

  /** Marks a rectangle changed; clipped to the framebuffer, empty or outside ones ignored. */
  add(x: number, y: number, w: number, h: number): void {
    if (![x, y, w, h].every(Number.isFinite)) return;
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.ceil(x + w));
    const y1 = Math.min(this.height, Math.ceil(y + h));
    if (x1 <= x0 || y1 <= y0) return;
    let r: Rect = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    // Absorb every held rectangle the new one may merge with; a merge grows r, so rescan.
    let merged = true;
    while (merged) {
      merged = false;
      for (let i = 0; i < this.rects.length; i++) {
        const o = this.rects[i]!;
        if (touches(r, o) && mergeable(r, o)) {
          r = union(r, o);
          this.rects.splice(i, 1);
          merged = true;
          break;
        }
      }
    }
    this.rects.push(r);
    while (this.rects.length > this.maxRects) this.mergeCheapestPair();
  }

  /** Everything changed (a full-frame snapshot, e.g. for a watcher who just joined). */
  addAll(): void {
    this.rects = [];
    this.add(0, 0, this.width, this.height);
  }

  /** True when `rect` overlaps any changed area (e.g. the source of a CopyRect not yet sent). */
  intersects(rect: Rect): boolean {
    return this.rects.some((r) => intersection(r, rect) !== null);
  }

  /** New framebuffer size: held rectangles are clipped to it. */
  resize(width: number, height: number): void {
    this.width = width;
    this.height = height;
    const old = this.rects;
    this.rects = [];
    for (const r of old) this.add(r.x, r.y, r.w, r.h);
  }

  /**
   * The changed area as tiles of at most tileSize x tileSize, row by row within each rectangle,
   * and clears it. Tiles are aligned to the rectangle, not to a global grid, so an update never
   * turns into more tiles than its own size needs.
   */
  take(tileSize: number = TILE_SIZE): Rect[] {
    if (!(Number.isInteger(tileSize) && tileSize > 0)) throw new RangeError(`tile size must be a positive integer, got ${tileSize}`);
    const out: Rect[] = [];
    for (const r of this.rects) {
      for (let ty = r.y; ty < r.y + r.h; ty += tileSize) {
        const th = Math.min(tileSize, r.y + r.h - ty);
        for (let tx = r.x; tx < r.x + r.w; tx += tileSize) {
          out.push({ x: tx, y: ty, w: Math.min(tileSize, r.x + r.w - tx), h: th });
        }
      }
    }
    this.rects = [];
    return out;
  }

  private mergeCheapestPair(): void {
    let best = Infinity;
    let bi = 0;
    let bj = 1;
    for (let i = 0; i < this.rects.length; i++) {
      for (let j = i + 1; j < this.rects.length; j++) {
        const a = this.rects[i]!;
        const b = this.rects[j]!;
        const cost = area(union(a, b)) - area(a) - area(b);
        if (cost < best) {
          best = cost;
          bi = i;
          bj = j;
        }
      }
    }
    const m = union(this.rects[bi]!, this.rects[bj]!);
    this.rects.splice(bj, 1);
    this.rects.splice(bi, 1);
    // The box may now overlap others; add() merges what it can and keeps the invariants.
    this.add(m.x, m.y, m.w, m.h);
  }
}

/** Overlapping or sharing an edge (corner contact does not count). */
function touches(a: Rect, b: Rect): boolean {
  const xOverlap = a.x <= b.x + b.w && b.x <= a.x + a.w;
  const yOverlap = a.y <= b.y + b.h && b.y <= a.y + a.h;
  if (!xOverlap || !yOverlap) return false;
  // Exactly one axis touching at a point and the other only at a point: a corner.
  const xOpen = a.x < b.x + b.w && b.x < a.x + a.w;
  const yOpen = a.y < b.y + b.h && b.y < a.y + a.h;
  return xOpen || yOpen;
}

/** Merging into the bounding box wastes little (pixels in the box that neither covers). */
function mergeable(a: Rect, b: Rect): boolean {
  const box = area(union(a, b));
  const overlap = intersection(a, b);
  const covered = area(a) + area(b) - (overlap ? area(overlap) : 0);
  const waste = box - covered;
  return waste <= MERGE_SLACK || waste <= box * MERGE_WASTE;
}
