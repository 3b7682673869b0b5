/**
 * PNG encoder: every output is decoded by an independent decoder written here (chunk walk, CRC
 * with a bitwise CRC-32, inflate, all five filter types undone) and compared pixel for pixel with
 * the source region, for random and flat framebuffers, RGB and RGBA, every filter choice. A real
 * browser (Debian's Chromium via playwright-core) decodes a few too when it is installed.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { crc32 } from '../../src/server/display/crc32.js';
import { encodePng, type PngFilter } from '../../src/server/display/png.js';
import { copyRegion, RegionError } from '../../src/server/display/region.js';
import { launchChromium } from '../helpers/browser.js';
import { type Decoded, decodePng, slowCrc } from './png-decode.js';
import { flatFrame, hmiFrame, noiseFrame, photoFrame, rng } from './frames.js';

function assertRegionEqual(decoded: Decoded, fb: Uint8Array, fbWidth: number, x: number, y: number, w: number, h: number, alpha: boolean): void {
  assert.equal(decoded.width, w);
  assert.equal(decoded.height, h);
  if (alpha) assert.equal(decoded.colorType, 6);
  else assert.ok(decoded.colorType === 2 || decoded.colorType === 3, `colour type ${decoded.colorType}`);
  const want = copyRegion(fb, fbWidth, x, y, w, h);
  if (!alpha) for (let i = 3; i < want.length; i += 4) want[i] = 255;
  // Compare as a whole first (fast), then find the first differing pixel for the message.
  if (Buffer.compare(Buffer.from(decoded.rgba), Buffer.from(want)) !== 0) {
    const i = decoded.rgba.findIndex((v, k) => v !== want[k]);
    assert.fail(`pixel ${Math.floor(i / 4) % w},${Math.floor(i / 4 / w)} channel ${i % 4}: got ${decoded.rgba[i]}, want ${want[i]}`);
  }
}

describe('crc32', () => {
  test('matches the check value and a bitwise CRC on random data, any start/end', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
    const r = rng(5);
    const data = new Uint8Array(5000).map(() => Math.floor(r() * 256));
    for (let k = 0; k < 50; k++) {
      const s = Math.floor(r() * 2500);
      const e = s + Math.floor(r() * 2500);
      assert.equal(crc32(data, 0, s, e), slowCrc(data.subarray(s, e)));
    }
    assert.equal(crc32(data, crc32(data, 0, 0, 1234), 1234), slowCrc(data));
  });
});

describe('encodePng', () => {
  const W = 200;
  const H = 150;
  const frames: Record<string, Uint8Array> = {
    noise: noiseFrame(W, H, 11),
    noiseAlpha: noiseFrame(W, H, 12, true),
    flat: flatFrame(W, H, [1, 2, 3]),
    hmi: hmiFrame(W, H, 13),
    photo: photoFrame(W, H, 14),
  };
  const filters: (PngFilter | undefined)[] = [undefined, 'none', 'sub', 'up', 'paeth', 'auto'];

  test('random regions of random and flat framebuffers decode to the exact pixels (RGB and RGBA, every filter)', () => {
    const r = rng(21);
    let checked = 0;
    for (const [label, fb] of Object.entries(frames)) {
      for (const filter of filters) {
        for (const [alpha, palette] of [[false, false], [false, true], [true, false]] as const) {
          for (let k = 0; k < 4; k++) {
            const w = 1 + Math.floor(r() * W);
            const h = 1 + Math.floor(r() * H);
            const x = Math.floor(r() * (W - w + 1));
            const y = Math.floor(r() * (H - h + 1));
            const png = encodePng(fb, W, x, y, w, h, { alpha, filter, palette });
            try {
              const d = decodePng(png);
              if (!palette) assert.equal(d.colorType, alpha ? 6 : 2);
              assertRegionEqual(d, fb, W, x, y, w, h, alpha);
            } catch (err) {
              throw new Error(`${label} filter=${filter} alpha=${alpha} palette=${palette} region ${x},${y} ${w}x${h}: ${(err as Error).message}`);
            }
            checked++;
          }
        }
      }
    }
    assert.equal(checked, 5 * 6 * 3 * 4);
  });

  test('few colours make a palette PNG of the smallest bit depth; more than 256 stay RGB', () => {
    // A w x h frame cycling through n colours (plus a pattern, so rows differ): n=257 needs RGB.
    const ofColours = (n: number, w: number, h: number) => {
      const fb = new Uint8Array(w * h * 4);
      for (let i = 0; i < w * h; i++) {
        const c = i % n;
        fb.set([c & 255, (c * 37) & 255, c >> 8, 255], i * 4);
      }
      return fb;
    };
    for (const [n, depth] of [[1, 1], [2, 1], [3, 2], [4, 2], [5, 4], [16, 4], [17, 8], [256, 8]] as const) {
      // Widths that end inside a byte at every depth, and a single column.
      for (const w of [1, 3, 13, 67]) {
        const h = Math.max(3, Math.ceil(n / w) + 2);
        const fb = ofColours(n, w, h);
        const d = decodePng(encodePng(fb, w, 0, 0, w, h));
        assert.equal(d.colorType, 3, `${n} colours, width ${w}`);
        assert.equal(d.depth, depth, `${n} colours`);
        assert.equal(d.paletteSize, Math.min(n, w * h));
        assertRegionEqual(d, fb, w, 0, 0, w, h, false);
      }
    }
    const many = ofColours(257, 40, 40);
    const rgb = decodePng(encodePng(many, 40, 0, 0, 40, 40));
    assert.equal(rgb.colorType, 2, '257 colours');
    assertRegionEqual(rgb, many, 40, 0, 0, 40, 40, false);
    // A region of a larger frame: only its own colours count.
    const d = decodePng(encodePng(many, 40, 3, 5, 2, 2));
    assert.equal(d.colorType, 3);
    assertRegionEqual(d, many, 40, 3, 5, 2, 2, false);
  });

  test('text and flat graphics shrink as palette PNGs; photos are not slowed down', () => {
    const fb = hmiFrame(1280, 800, 7);
    const pal = encodePng(fb, 1280, 0, 0, 1280, 800);
    const rgb = encodePng(fb, 1280, 0, 0, 1280, 800, { palette: false });
    assert.equal(decodePng(pal).colorType, 3);
    assert.ok(pal.length < rgb.length * 0.6, `palette ${pal.length} vs RGB ${rgb.length} bytes`);
    // A photo gives up within its first rows and is the same RGB PNG as without the option.
    const photo = photoFrame(640, 400, 3);
    assert.deepEqual(encodePng(photo, 640, 0, 0, 640, 400), encodePng(photo, 640, 0, 0, 640, 400, { palette: false }));
  });

  test('edge shapes: 1x1, one row, one column, the whole frame, the last pixel', () => {
    const fb = frames.noiseAlpha!;
    for (const [x, y, w, h] of [
      [0, 0, 1, 1],
      [W - 1, H - 1, 1, 1],
      [0, 7, W, 1],
      [9, 0, 1, H],
      [0, 0, W, H],
    ] as const) {
      for (const alpha of [false, true]) assertRegionEqual(decodePng(encodePng(fb, W, x, y, w, h, { alpha })), fb, W, x, y, w, h, alpha);
    }
  });

  test("'auto' uses Up on rows that repeat the row above and Sub elsewhere", () => {
    const fb = frames.hmi!;
    const d = decodePng(encodePng(fb, W, 0, 0, W, H, { filter: 'auto', palette: false }));
    assert.deepEqual([...d.filters].sort(), [1, 2]);
    const n = decodePng(encodePng(frames.noise!, W, 0, 0, W, H, { filter: 'auto' }));
    assert.deepEqual([...n.filters], [1]);
  });

  test('flat content compresses to almost nothing', () => {
    const fb = flatFrame(1280, 800);
    const png = encodePng(fb, 1280, 0, 0, 1280, 800);
    // 4 MB of pixels in one colour: a 1-bit palette PNG of ~1 KiB (RGB with zlib's default
    // strategy was ~15 KiB).
    assert.ok(png.length < 2 * 1024, `flat 1280x800 is ${png.length} bytes`);
    assertRegionEqual(decodePng(png), fb, 1280, 0, 0, 1280, 800, false);
  });

  test('regions outside the framebuffer, empty or fractional are RegionErrors', () => {
    const fb = frames.flat!;
    for (const [x, y, w, h] of [
      [0, 0, 0, 10],
      [0, 0, 10, 0],
      [-1, 0, 10, 10],
      [0, 0, W + 1, 10],
      [W - 5, 0, 10, 10],
      [0, H - 5, 10, 10],
      [0.5, 0, 10, 10],
      [0, 0, Number.NaN, 10],
    ]) {
      assert.throws(() => encodePng(fb, W, x!, y!, w!, h!), RegionError, `${x},${y} ${w}x${h}`);
    }
    assert.throws(() => encodePng(fb.subarray(0, fb.length - 4), W, 0, 0, 1, 1), RegionError, 'not whole rows');
    assert.throws(() => encodePng(fb, 0, 0, 0, 1, 1), RegionError);
  });
});

describe('encodePng in a real browser', { skip: existsSync(process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium') ? false : 'Chromium not installed' }, () => {
  let browser: Browser;
  let page: Page;
  before(async () => {
    browser = await launchChromium();
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
  });

  /** Decodes an image in the page and returns its RGBA pixels (canvas, no colour conversion). */
  async function browserDecode(mime: string, data: Buffer): Promise<{ width: number; height: number; rgba: Uint8Array }> {
    const out = await page.evaluate(
      async ({ mime, b64 }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const bitmap = await createImageBitmap(new Blob([bytes], { type: mime }), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(bitmap, 0, 0);
        const px = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
        let s = '';
        for (let i = 0; i < px.length; i++) s += String.fromCharCode(px[i]!);
        return { width: bitmap.width, height: bitmap.height, b64: btoa(s) };
      },
      { mime, b64: data.toString('base64') },
    );
    return { width: out.width, height: out.height, rgba: new Uint8Array(Buffer.from(out.b64, 'base64')) };
  }

  test('RGB PNGs of HMI and noise regions decode to the same pixels', async () => {
    for (const [fb, x, y, w, h] of [
      [hmiFrame(300, 200, 3), 10, 20, 257, 131],
      [noiseFrame(300, 200, 4), 0, 0, 300, 200],
    ] as const) {
      const got = await browserDecode('image/png', encodePng(fb, 300, x, y, w, h));
      assert.equal(got.width, w);
      assert.equal(got.height, h);
      const want = copyRegion(fb, 300, x, y, w, h);
      assert.equal(Buffer.compare(Buffer.from(got.rgba), Buffer.from(want)), 0);
    }
  });

  test('RGBA PNG (cursor-like: alpha 0 or 255) decodes with its transparency', async () => {
    const w = 32;
    const h = 32;
    const fb = noiseFrame(w, h, 8, true);
    for (let i = 3; i < fb.length; i += 4) fb[i] = fb[i]! < 128 ? 0 : 255;
    const got = await browserDecode('image/png', encodePng(fb, w, 0, 0, w, h, { alpha: true }));
    for (let p = 0; p < w * h; p++) {
      assert.equal(got.rgba[p * 4 + 3], fb[p * 4 + 3], `alpha of pixel ${p}`);
      if (fb[p * 4 + 3] === 255) for (let k = 0; k < 3; k++) assert.equal(got.rgba[p * 4 + k], fb[p * 4 + k], `pixel ${p}`);
    }
  });
});
