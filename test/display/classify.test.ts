/**
 * Format choice: the photographic test on synthetic and hand-made regions, the quality table, the
 * frame-rate caps, and that the test stays cheap (it runs on the main thread per tile).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chooseFormat, FRAME_RATE_CAP, frameInterval, isPhotographic, JPEG_QUALITY, MIN_JPEG_PIXELS } from '../../src/server/display/classify.js';
import { RegionError } from '../../src/server/display/region.js';
import { flatFrame, hmiFrame, noiseFrame, photoFrame } from './frames.js';

describe('isPhotographic', () => {
  const W = 1280;
  const H = 800;
  const hmi = hmiFrame(W, H, 41);
  const photo = photoFrame(W, H, 42);

  test('flat and HMI graphics are not photographic, in every 256 tile', () => {
    assert.equal(isPhotographic(flatFrame(W, H), W, 0, 0, W, H), false);
    assert.equal(isPhotographic(hmi, W, 0, 0, W, H), false);
    for (let y = 0; y < H; y += 256) {
      for (let x = 0; x < W; x += 256) {
        const w = Math.min(256, W - x);
        const h = Math.min(256, H - y);
        assert.equal(isPhotographic(hmi, W, x, y, w, h), false, `tile ${x},${y}`);
      }
    }
  });

  test('photos and noise are photographic, in every 256 tile', () => {
    assert.equal(isPhotographic(photo, W, 0, 0, W, H), true);
    assert.equal(isPhotographic(noiseFrame(512, 512, 43), 512, 0, 0, 512, 512), true);
    for (let y = 0; y < H; y += 256) {
      for (let x = 0; x < W; x += 256) {
        assert.equal(isPhotographic(photo, W, x, y, Math.min(256, W - x), Math.min(256, H - y)), true, `tile ${x},${y}`);
      }
    }
  });

  test('a smooth gradient (many colours, no two neighbours equal) is photographic', () => {
    const w = 256;
    const h = 128;
    const fb = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        fb[i] = x;
        fb[i + 1] = y * 2;
        fb[i + 2] = 255 - x;
        fb[i + 3] = 255;
      }
    }
    assert.equal(isPhotographic(fb, w, 0, 0, w, h), true);
  });

  test('many colours in flat blocks (a colourful HMI palette) is not photographic', () => {
    const w = 512;
    const h = 512;
    const fb = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        const block = (y >> 5) * 16 + (x >> 5); // 256 distinct colours, 32x32 blocks
        fb[i] = block;
        fb[i + 1] = (block * 7) & 255;
        fb[i + 2] = (block * 13) & 255;
        fb[i + 3] = 255;
      }
    }
    assert.equal(isPhotographic(fb, w, 0, 0, w, h), false);
  });

  test('regions smaller than MIN_JPEG_PIXELS are never photographic', () => {
    const noise = noiseFrame(128, 128, 44);
    assert.equal(isPhotographic(noise, 128, 0, 0, 63, 64), false);
    assert.ok(63 * 64 < MIN_JPEG_PIXELS);
    assert.equal(isPhotographic(noise, 128, 0, 0, 64, 64), true);
  });

  test('checks its region', () => {
    assert.throws(() => isPhotographic(photo, W, W - 10, 0, 20, 20), RegionError);
  });

  test('cheap: 1000 full-frame checks well under a second', () => {
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) isPhotographic(i % 2 ? photo : hmi, W, 0, 0, W, H);
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `${ms} ms`);
  });
});

describe('chooseFormat and frame caps', () => {
  test('high is always PNG; medium and low use JPEG only for photographic regions', () => {
    assert.deepEqual(chooseFormat('high', true), { format: 'png' });
    assert.deepEqual(chooseFormat('high', false), { format: 'png' });
    assert.deepEqual(chooseFormat('medium', true), { format: 'jpeg', jpegQuality: 75 });
    assert.deepEqual(chooseFormat('medium', false), { format: 'png' });
    assert.deepEqual(chooseFormat('low', true), { format: 'jpeg', jpegQuality: 45 });
    assert.deepEqual(chooseFormat('low', false), { format: 'png' });
    assert.ok(JPEG_QUALITY.low < JPEG_QUALITY.medium);
  });

  test('frame-rate caps rise with quality', () => {
    assert.deepEqual(FRAME_RATE_CAP, { low: 5, medium: 15, high: 30 });
    assert.equal(frameInterval('low'), 200);
    assert.equal(frameInterval('medium'), 67);
    assert.equal(frameInterval('high'), 34);
  });
});
