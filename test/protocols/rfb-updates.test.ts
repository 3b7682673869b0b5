/**
 * The `update` event contract: replaying the ops in order on a "browser" canvas, pixels taken
 * from the client's framebuffer at event time and copies done as copies, reproduces the client's
 * framebuffer exactly. Checked on random updates mixing Raw and CopyRect, and on the case that
 * needs a copy downgraded to pixels.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RfbClient } from '../../src/server/protocols/vnc/client.js';
import { finalizeOps, MAX_OPS_FOR_COPY_CHECK, type RfbUpdateOp } from '../../src/server/protocols/vnc/updates.js';
import { Canvas, copyRect, fbUpdate, firstDiff, handshakeBytes, noiseImage, rawRect, rng, scripted, solidImage } from './rfb-fixtures.js';

/** A browser-side canvas fed only by `update` events. */
function browser(client: RfbClient, w: number, h: number): { canvas: Canvas; updates: RfbUpdateOp[][] } {
  const canvas = new Canvas(w, h);
  const updates: RfbUpdateOp[][] = [];
  client.on('update', (ops) => {
    updates.push(ops.map((o) => ({ ...o })));
    const fb = client.framebuffer;
    for (const op of ops) {
      if (op.op === 'copy') canvas.copy(op.srcX, op.srcY, op.x, op.y, op.w, op.h);
      else {
        for (let row = 0; row < op.h; row++) {
          const o = ((op.y + row) * w + op.x) * 4;
          canvas.data.set(fb.subarray(o, o + op.w * 4), o);
        }
      }
    }
  });
  return { canvas, updates };
}

describe('update ops', () => {
  test('random Raw + CopyRect updates replay exactly', async () => {
    const W = 48;
    const H = 40;
    const { stream, connecting } = scripted(handshakeBytes({ width: W, height: H }));
    const client = await connecting;
    const { canvas, updates } = browser(client, W, H);
    const r = rng(7);
    const int = (n: number) => Math.floor(r() * n);
    let copies = 0;
    for (let u = 0; u < 300; u++) {
      const rects: Buffer[] = [];
      const n = 1 + int(6);
      for (let i = 0; i < n; i++) {
        const w = 1 + int(W / 2);
        const h = 1 + int(H / 2);
        const x = int(W - w + 1);
        const y = int(H - h + 1);
        if (r() < 0.5) rects.push(copyRect(int(W - w + 1), int(H - h + 1), x, y, w, h));
        else rects.push(rawRect(x, y, w, h, r() < 0.5 ? noiseImage(w, h, u * 10 + i) : solidImage(w, h, [int(256), int(256), int(256)])));
      }
      const done = new Promise((res) => client.once('update', res));
      stream.serve(fbUpdate(rects));
      await done;
      const d = firstDiff(canvas.data, client.framebuffer);
      assert.equal(d, -1, `update ${u}: browser differs at pixel ${d}`);
    }
    for (const ops of updates) copies += ops.filter((o) => o.op === 'copy').length;
    assert.ok(copies > 100, `most copies stay copies (${copies})`);
    client.close();
  });

  test('a copy whose source is written before and after it is downgraded to pixels', () => {
    const ops: RfbUpdateOp[] = [
      { op: 'pixels', x: 0, y: 0, w: 10, h: 10, encoding: 'raw' },
      { op: 'copy', srcX: 0, srcY: 0, x: 20, y: 0, w: 10, h: 10 },
      { op: 'pixels', x: 5, y: 5, w: 2, h: 2, encoding: 'raw' },
    ];
    assert.deepEqual(finalizeOps(ops)[1], { op: 'pixels', x: 20, y: 0, w: 10, h: 10, encoding: 'copyrect' });
  });

  test('copies that are safe stay copies: scrolls (overlapping self-copy), sources untouched before', () => {
    const scroll: RfbUpdateOp[] = [
      { op: 'copy', srcX: 0, srcY: 10, x: 0, y: 0, w: 100, h: 90 },
      { op: 'pixels', x: 0, y: 90, w: 100, h: 10, encoding: 'zrle' },
    ];
    assert.equal(finalizeOps(scroll)[0]!.op, 'copy');
    const later: RfbUpdateOp[] = [
      { op: 'pixels', x: 50, y: 50, w: 10, h: 10, encoding: 'raw' },
      { op: 'copy', srcX: 0, srcY: 0, x: 50, y: 50, w: 10, h: 10 },
    ];
    assert.equal(finalizeOps(later)[1]!.op, 'copy');
    // source written before, never after: the final pixels are the ones the copy read
    const before: RfbUpdateOp[] = [
      { op: 'pixels', x: 0, y: 0, w: 10, h: 10, encoding: 'raw' },
      { op: 'copy', srcX: 0, srcY: 0, x: 20, y: 0, w: 10, h: 10 },
    ];
    assert.equal(finalizeOps(before)[1]!.op, 'copy');
  });

  test('huge updates downgrade every copy (the check stays linear)', () => {
    const ops: RfbUpdateOp[] = Array.from({ length: MAX_OPS_FOR_COPY_CHECK + 1 }, (_, i) => ({ op: 'copy', srcX: 0, srcY: 0, x: i, y: 0, w: 1, h: 1 }));
    assert.ok(finalizeOps(ops).every((o) => o.op === 'pixels'));
  });
});
