/**
 * JPEG encoder: outputs decode with jpeg-js to the right size, with a mean absolute error per
 * channel that stays under a bound for the quality, and that shrinks as quality rises.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import jpeg from 'jpeg-js';
import { encodeJpeg, jpegEncoderReused } from '../../src/server/display/jpeg.js';
import { copyRegion, RegionError } from '../../src/server/display/region.js';
import { flatFrame, hmiFrame, photoFrame } from './frames.js';

/** Mean absolute error over R, G and B between a decoded JPEG and the source region. */
function meanError(jpg: Buffer, fb: Uint8Array, fbWidth: number, x: number, y: number, w: number, h: number): number {
  const d = jpeg.decode(jpg, { useTArray: true, formatAsRGBA: true });
  assert.equal(d.width, w);
  assert.equal(d.height, h);
  const want = copyRegion(fb, fbWidth, x, y, w, h);
  let sum = 0;
  for (let i = 0; i < want.length; i += 4) {
    sum += Math.abs(d.data[i]! - want[i]!) + Math.abs(d.data[i + 1]! - want[i + 1]!) + Math.abs(d.data[i + 2]! - want[i + 2]!);
  }
  return sum / ((want.length / 4) * 3);
}

describe('encodeJpeg', () => {
  const W = 320;
  const H = 240;
  const photo = photoFrame(W, H, 31);

  test('photo regions decode close to the source, closer at higher quality', () => {
    const errs: number[] = [];
    for (const q of [45, 75, 95]) {
      const jpg = encodeJpeg(photo, W, 17, 9, 250, 201, q);
      assert.deepEqual([...jpg.subarray(0, 2)], [0xff, 0xd8], 'SOI');
      assert.deepEqual([...jpg.subarray(-2)], [0xff, 0xd9], 'EOI');
      errs.push(meanError(jpg, photo, W, 17, 9, 250, 201));
    }
    // Noise of +-12 per pixel is what the photo adds; q45 smooths part of it away.
    assert.ok(errs[0]! < 7, `q45 mean error ${errs[0]}`);
    assert.ok(errs[1]! < 6, `q75 mean error ${errs[1]}`);
    assert.ok(errs[2]! < 2.5, `q95 mean error ${errs[2]}`);
    assert.ok(errs[0]! > errs[1]! && errs[1]! > errs[2]!, `errors not decreasing: ${errs}`);
  });

  test('the whole frame and a region of whole rows (no copy path) encode the same pixels', () => {
    const full = encodeJpeg(photo, W, 0, 0, W, H, 80);
    assert.ok(meanError(full, photo, W, 0, 0, W, H) < 5.5);
    const rows = encodeJpeg(photo, W, 0, 100, W, 50, 80);
    assert.ok(meanError(rows, photo, W, 0, 100, W, 50) < 5.5);
  });

  test('flat colours and HMI graphics stay close (edges ring a little)', () => {
    const flat = flatFrame(64, 64, [200, 100, 50]);
    assert.ok(meanError(encodeJpeg(flat, 64, 0, 0, 64, 64, 75), flat, 64, 0, 0, 64, 64) < 1.5);
    const hmi = hmiFrame(W, H, 32);
    assert.ok(meanError(encodeJpeg(hmi, W, 0, 0, W, H, 75), hmi, W, 0, 0, W, H) < 6);
  });

  test('odd sizes (not multiples of 8) and 1x1', () => {
    for (const [w, h] of [
      [1, 1],
      [7, 13],
      [9, 1],
    ] as const) {
      assert.ok(meanError(encodeJpeg(photo, W, 3, 4, w, h, 90), photo, W, 3, 4, w, h) < 5);
    }
  });

  test('the reused encoder writes the same bytes as a fresh jpeg-js encoder, across qualities and sizes', () => {
    assert.equal(jpegEncoderReused(), true, 'fell back to jpeg.encode() per call (jpeg-js layout changed?)');
    const hmi = hmiFrame(W, H, 33);
    // Interleaved qualities and sizes: the shared encoder must not carry state between images.
    for (const [fb, x, y, w, h, q] of [
      [photo, 0, 0, W, H, 75],
      [hmi, 5, 7, 64, 64, 45],
      [photo, 10, 20, 33, 17, 75],
      [hmi, 0, 0, 256, 200, 90],
      [photo, 1, 1, 1, 1, 45],
      [photo, 0, 0, W, H, 75],
    ] as const) {
      assert.deepEqual(encodeJpeg(fb, W, x, y, w, h, q), encodeJpeg(fb, W, x, y, w, h, q, { fresh: true }), `${x},${y} ${w}x${h} q${q}`);
    }
  });

  test('bad regions and qualities are refused', () => {
    assert.throws(() => encodeJpeg(photo, W, W - 1, 0, 2, 2, 75), RegionError);
    for (const q of [0, 101, 50.5, Number.NaN]) assert.throws(() => encodeJpeg(photo, W, 0, 0, 8, 8, q), RangeError, `quality ${q}`);
  });
});
