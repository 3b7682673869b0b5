/**
 * The MP4 export's PNG reader against the gateway's own encoder: RGB, RGBA and palette images of
 * every bit depth read back to the exact pixels; malformed palette images are refused clearly.
 */
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { crc32 } from '../../src/server/display/crc32.js';
import { encodePng } from '../../src/server/display/png.js';
import { PngReadError, readPng } from '../../src/server/recording/video/png-read.js';
import { hmiFrame, noiseFrame, rng } from '../display/frames.js';

function opaque(fb: Uint8Array): Uint8Array {
  const out = fb.slice();
  for (let i = 3; i < out.length; i += 4) out[i] = 255;
  return out;
}

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function indexedPng(w: number, h: number, depth: number, plte: Buffer | null, rows: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = 3;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), ...(plte ? [chunk('PLTE', plte)] : []), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

describe('readPng (MP4 export)', () => {
  test("reads back every image the encoder writes: RGB, RGBA, palettes of 1-8 bits", () => {
    const r = rng(3);
    for (let k = 0; k < 40; k++) {
      const colours = [1, 2, 3, 4, 9, 16, 40, 256][k % 8]!;
      const w = 1 + Math.floor(r() * 90);
      const h = 1 + Math.floor(r() * 40);
      const fb = new Uint8Array(w * h * 4);
      for (let i = 0; i < w * h; i++) {
        const c = Math.floor(r() * colours);
        fb.set([c, 255 - c, (c * 7) & 255, 255], i * 4);
      }
      const img = readPng(encodePng(fb, w, 0, 0, w, h));
      assert.deepEqual([img.width, img.height], [w, h]);
      assert.ok(Buffer.from(img.rgba).equals(Buffer.from(fb)), `${colours} colours ${w}x${h}`);
    }
    const hmi = hmiFrame(300, 200, 4);
    assert.ok(Buffer.from(readPng(encodePng(hmi, 300, 0, 0, 300, 200)).rgba).equals(Buffer.from(opaque(hmi))));
    const noise = noiseFrame(64, 48, 5, true);
    assert.ok(Buffer.from(readPng(encodePng(noise, 64, 0, 0, 64, 48)).rgba).equals(Buffer.from(opaque(noise))));
    assert.ok(Buffer.from(readPng(encodePng(noise, 64, 0, 0, 64, 48, { alpha: true })).rgba).equals(Buffer.from(noise)));
  });

  test('refuses a palette image without PLTE, an index beyond the palette, and bad depths', () => {
    const rows = Buffer.from([0, 0b0001_0000]); // one row: filter 0, 4-bit indices 1 and 0
    assert.deepEqual([...readPng(indexedPng(2, 1, 4, Buffer.from([1, 2, 3, 4, 5, 6]), rows)).rgba], [4, 5, 6, 255, 1, 2, 3, 255]);
    assert.throws(() => readPng(indexedPng(2, 1, 4, null, rows)), /without PLTE/);
    assert.throws(() => readPng(indexedPng(2, 1, 4, Buffer.from([1, 2, 3]), rows)), /index 1 beyond its 1 entries/);
    assert.throws(() => readPng(indexedPng(2, 1, 3, Buffer.from([1, 2, 3]), rows)), PngReadError);
    assert.throws(() => readPng(indexedPng(2, 1, 4, Buffer.alloc(4), rows)), /bad palette of 4 bytes/);
  });
});
