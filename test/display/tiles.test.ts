/**
 * DirtyRegion: clipping, merging of overlapping and touching rectangles (and not merging what
 * would waste area), the rectangle cap, intersects(), and take() producing clipped tiles that
 * cover exactly the changed pixels, checked against a per-pixel reference on random updates.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Rect } from '../../src/server/display/region.js';
import { DirtyRegion, MAX_RECTS, TILE_SIZE } from '../../src/server/display/tiles.js';
import { rng } from './frames.js';

const sorted = (rs: Rect[]) => [...rs].sort((a, b) => a.y - b.y || a.x - b.x);

describe('DirtyRegion', () => {
  test('clips to the framebuffer and ignores empty or outside rectangles', () => {
    const d = new DirtyRegion(100, 50);
    d.add(-10, -10, 20, 20);
    d.add(90, 40, 50, 50);
    d.add(200, 0, 10, 10);
    d.add(0, 0, 0, 10);
    d.add(5, 5, -3, 4);
    d.add(Number.NaN, 0, 1, 1);
    assert.deepEqual(sorted(d.peek()), [
      { x: 0, y: 0, w: 10, h: 10 },
      { x: 90, y: 40, w: 10, h: 10 },
    ]);
  });

  test('overlapping, contained and edge-adjacent rectangles merge into one', () => {
    const d = new DirtyRegion(1000, 1000);
    d.add(0, 0, 100, 100);
    d.add(50, 50, 100, 100); // overlaps; box waste 5000 of 22500 (22%)
    assert.equal(d.count, 1);
    d.add(60, 60, 10, 10); // contained
    assert.deepEqual(d.peek(), [{ x: 0, y: 0, w: 150, h: 150 }]);
    d.add(150, 0, 50, 150); // shares the right edge exactly
    assert.deepEqual(d.peek(), [{ x: 0, y: 0, w: 200, h: 150 }]);
    d.add(0, 150, 200, 10); // shares the bottom edge
    assert.deepEqual(d.peek(), [{ x: 0, y: 0, w: 200, h: 160 }]);
  });

  test('a merge that grows the box absorbs rectangles it now touches', () => {
    const d = new DirtyRegion(1000, 1000);
    d.add(0, 0, 100, 100);
    d.add(200, 0, 100, 100);
    assert.equal(d.count, 2);
    d.add(100, 0, 100, 100); // bridges both
    assert.deepEqual(d.peek(), [{ x: 0, y: 0, w: 300, h: 100 }]);
  });

  test('touching but wasteful (a diagonal chain, an L shape) stays separate', () => {
    const d = new DirtyRegion(2000, 2000);
    for (let i = 0; i < 5; i++) d.add(i * 100, i * 100, 100, 100); // corners touch only
    assert.equal(d.count, 5);
    const l = new DirtyRegion(2000, 2000);
    l.add(0, 0, 1000, 50); // a long bar
    l.add(0, 50, 50, 1000); // and a long column touching its edge: box would be 90% waste
    assert.equal(l.count, 2);
  });

  test('the count is capped: far-apart updates merge cheapest-first, nothing is lost', () => {
    const d = new DirtyRegion(4000, 4000, 8);
    const added: Rect[] = [];
    for (let i = 0; i < 100; i++) {
      const r = { x: (i % 10) * 400, y: Math.floor(i / 10) * 400, w: 10, h: 10 };
      added.push(r);
      d.add(r.x, r.y, r.w, r.h);
      assert.ok(d.count <= 8);
    }
    const held = d.peek();
    for (const r of added) assert.ok(held.some((h) => h.x <= r.x && h.y <= r.y && h.x + h.w >= r.x + r.w && h.y + h.h >= r.y + r.h), `lost ${JSON.stringify(r)}`);
    assert.equal(new DirtyRegion(10, 10).peek().length, 0);
    assert.equal(MAX_RECTS, 64);
    assert.throws(() => new DirtyRegion(10, 10, 0), RangeError);
  });

  test('intersects: overlap counts, touching does not', () => {
    const d = new DirtyRegion(500, 500);
    d.add(100, 100, 50, 50);
    assert.equal(d.intersects({ x: 120, y: 120, w: 5, h: 5 }), true);
    assert.equal(d.intersects({ x: 0, y: 0, w: 101, h: 101 }), true);
    assert.equal(d.intersects({ x: 0, y: 0, w: 100, h: 500 }), false);
    assert.equal(d.intersects({ x: 150, y: 100, w: 10, h: 10 }), false);
  });

  test('take: tiles of at most TILE_SIZE covering exactly the rectangles, then empty', () => {
    const d = new DirtyRegion(1280, 800);
    d.addAll();
    const tiles = d.take();
    assert.equal(TILE_SIZE, 256);
    assert.equal(tiles.length, 5 * 4);
    assert.ok(tiles.every((t) => t.w <= 256 && t.h <= 256 && t.w > 0 && t.h > 0));
    assert.equal(
      tiles.reduce((s, t) => s + t.w * t.h, 0),
      1280 * 800,
    );
    assert.deepEqual(tiles.at(-1), { x: 1024, y: 768, w: 256, h: 32 });
    assert.equal(d.isEmpty, true);
    assert.deepEqual(d.take(), []);
    d.add(10, 10, 5, 5);
    assert.deepEqual(d.take(64), [{ x: 10, y: 10, w: 5, h: 5 }]);
    assert.throws(() => d.take(0), RangeError);
  });

  test('random updates: every changed pixel is in some tile, tiles stay inside the frame', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const W = 300 + Math.floor(r() * 700);
      const H = 200 + Math.floor(r() * 500);
      const d = new DirtyRegion(W, H, 1 + Math.floor(r() * 20));
      const changed = new Uint8Array(W * H);
      for (let k = 0; k < 60; k++) {
        const x = Math.floor(r() * (W + 100)) - 50;
        const y = Math.floor(r() * (H + 100)) - 50;
        const w = Math.floor(r() * 200);
        const h = Math.floor(r() * 200);
        d.add(x, y, w, h);
        for (let yy = Math.max(0, y); yy < Math.min(H, y + h); yy++) for (let xx = Math.max(0, x); xx < Math.min(W, x + w); xx++) changed[yy * W + xx] = 1;
      }
      const tileSize = [64, 128, 256][seed % 3]!;
      const covered = new Uint8Array(W * H);
      for (const t of d.take(tileSize)) {
        assert.ok(t.x >= 0 && t.y >= 0 && t.x + t.w <= W && t.y + t.h <= H, `seed ${seed}: tile outside`);
        assert.ok(t.w <= tileSize && t.h <= tileSize);
        for (let yy = t.y; yy < t.y + t.h; yy++) covered.fill(1, yy * W + t.x, yy * W + t.x + t.w);
      }
      for (let i = 0; i < changed.length; i++) if (changed[i] && !covered[i]) assert.fail(`seed ${seed}: pixel ${i % W},${Math.floor(i / W)} changed but not in a tile`);
    }
  });

  test('resize clips what is held', () => {
    const d = new DirtyRegion(1000, 1000);
    d.add(900, 900, 100, 100);
    d.add(0, 0, 10, 10);
    d.resize(950, 920);
    assert.deepEqual(sorted(d.peek()), [
      { x: 0, y: 0, w: 10, h: 10 },
      { x: 900, y: 900, w: 50, h: 20 },
    ]);
  });
});
