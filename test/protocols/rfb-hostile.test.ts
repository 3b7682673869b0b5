/**
 * The RFB client against a hostile or broken server: truncated messages wait, out-of-bounds and
 * oversized rectangles are refused from their header (before the payload is sent), bad
 * subencodings, palette indices and runs, zlib bombs, corrupt zlib and JPEG, absurd desktop
 * sizes, unknown encodings and message types. Each ends only that connection, with an 'error'
 * event (ConnectError 'protocol') and a 'close'; nothing is thrown.
 */
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import jpeg from 'jpeg-js';
import { after, describe, test } from 'node:test';
import type { RfbClient, RfbConnectOptions } from '../../src/server/protocols/vnc/client.js';
import { ByteQueue, type ByteParser, ParserDriver } from '../../src/server/protocols/vnc/reader.js';
import { ConnectError } from '../../src/server/protocols/types.js';
import {
  closedWith,
  compactLength,
  copyRect,
  cursorRect,
  desktopSizeRect,
  extDesktopSizeRect,
  fbUpdate,
  handshakeBytes,
  nextUpdate,
  noiseImage,
  rawRect,
  rectHeader,
  type ScriptedStream,
  ServerDeflate,
  scripted,
  solidImage,
  tightRect,
  tightStreams,
  u16,
  u32,
  u8,
  zrleRectFromCompressed,
} from './rfb-fixtures.js';

const deflaters: ServerDeflate[] = [];
after(() => {
  for (const d of deflaters) d.close();
});

async function open(width = 64, height = 48, limits?: RfbConnectOptions['limits']): Promise<{ client: RfbClient; stream: ScriptedStream }> {
  const { stream, connecting } = scripted(handshakeBytes({ width, height }), { limits });
  return { client: await connecting, stream };
}

/** Serves bytes and expects the connection to end with a protocol error matching `re`. */
async function expectViolation(bytes: Buffer, re: RegExp, size: [number, number] = [64, 48]): Promise<void> {
  const { client, stream } = await open(...size);
  const ending = closedWith(client);
  stream.serve(bytes);
  let timer: NodeJS.Timeout | undefined;
  const end = await Promise.race([
    ending,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no violation detected within 3 s (expected ${re})`)), 3000);
    }),
  ]).finally(() => clearTimeout(timer));
  assert.ok(end.error instanceof ConnectError, `expected a ConnectError, got ${String(end.error)} (${end.message})`);
  assert.equal(end.error.failure, 'protocol');
  assert.match(end.error.message, re);
  assert.equal(end.how, 'error');
  assert.ok(stream.destroyed, 'the connection is closed');
}

/** A ZRLE rectangle whose inflated tile data is `tiles` (compressed on a fresh stream). */
function zrleWithTiles(x: number, y: number, w: number, h: number, tiles: number[] | Buffer): Buffer {
  return zrleRectFromCompressed(x, y, w, h, zlib.deflateSync(Buffer.from(tiles), { finishFlush: zlib.constants.Z_SYNC_FLUSH }));
}

describe('truncation and chunking', () => {
  test('a truncated update waits for the rest without error or event', async () => {
    const { client, stream } = await open(16, 16);
    const msg = fbUpdate([rawRect(0, 0, 16, 16, noiseImage(16, 16, 1))]);
    let updates = 0;
    client.on('update', () => updates++);
    stream.serve(msg.subarray(0, 700));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(updates, 0);
    assert.ok(!client.closed);
    const got = nextUpdate(client);
    stream.serve(msg.subarray(700));
    await got;
    assert.equal(updates, 1);
    client.close();
  });

  test('ByteQueue hands out exact lengths across chunk boundaries, views when it can', () => {
    const q = new ByteQueue();
    q.push(Buffer.from([1, 2, 3]));
    q.push(Buffer.from([4, 5]));
    q.push(Buffer.from([6]));
    assert.deepEqual([...q.take(2)], [1, 2]);
    assert.deepEqual([...q.take(3)], [3, 4, 5]);
    assert.equal(q.length, 1);
    assert.deepEqual([...q.take(1)], [6]);
    assert.equal(q.take(0).length, 0);
  });

  test('ParserDriver refuses a request above its limit and stops', () => {
    function* p(): ByteParser {
      yield 4;
      yield 1000;
    }
    const d = new ParserDriver(p(), 100);
    assert.throws(() => d.feed(Buffer.alloc(4)), /asked for 1000 bytes/);
    assert.ok(d.done);
    d.feed(Buffer.alloc(10)); // ignored
    assert.equal(d.buffered, 0);
  });
});

describe('rectangles and sizes', () => {
  test('rectangles outside the framebuffer are refused from their header alone', async () => {
    for (const [hdr, re] of [
      [rectHeader(60, 0, 10, 10, 0), /raw rectangle 10x10 at 60,0 is outside the 64x48/],
      [rectHeader(0, 40, 10, 10, 16), /zrle rectangle .* outside/],
      [rectHeader(65535, 65535, 65535, 65535, 7), /tight rectangle .* outside/],
      [rectHeader(0, 0, 65, 1, 1), /copyrect rectangle .* outside/],
    ] as const) {
      // only the header (and the message header) is served: the refusal cannot depend on payload
      await expectViolation(fbUpdate([hdr]), re);
    }
  });

  test('a CopyRect source outside the framebuffer is refused', async () => {
    await expectViolation(fbUpdate([copyRect(60, 40, 0, 0, 10, 10)]), /CopyRect source 10x10 at 60,40 is outside/);
  });

  test('DesktopSize 65535x65535, 8193 wide, or over the area limit is refused', async () => {
    await expectViolation(fbUpdate([desktopSizeRect(65535, 65535)]), /exceeds the limit of 8192x8192/);
    await expectViolation(fbUpdate([desktopSizeRect(8193, 1)]), /exceeds the limit/);
    await expectViolation(fbUpdate([desktopSizeRect(8192, 8192)]), /16777216 pixels/);
    // The same limits for an ExtendedDesktopSize layout (even unoffered); 255 screens are read through.
    const many = Array.from({ length: 255 }, (_, i) => ({ id: i, x: 0, y: 0, w: 1, h: 1, flags: 0 }));
    await expectViolation(fbUpdate([extDesktopSizeRect(0, 0, 65535, 65535, many)]), /exceeds the limit of 8192x8192/);
  });

  test('a cursor over the size limit is refused before its pixels', async () => {
    await expectViolation(fbUpdate([rectHeader(0, 0, 2000, 2000, -239)]), /cursor of 2000x2000 exceeds/);
  });

  test('a hotspot outside the cursor is clamped onto it', async () => {
    const { client, stream } = await open();
    const got = new Promise<{ hotX: number; hotY: number }>((r) => client.once('cursor', r));
    stream.serve(fbUpdate([cursorRect(40, 40, 4, 4, solidImage(4, 4, [1, 1, 1]))]));
    assert.deepEqual(await got.then((c) => [c.hotX, c.hotY]), [3, 3]);
    client.close();
  });

  test('unknown encodings and message types end the connection', async () => {
    await expectViolation(fbUpdate([rectHeader(0, 0, 1, 1, 5)]), /encoding 5, which was not offered/);
    await expectViolation(fbUpdate([rectHeader(0, 0, 1, 1, -260)]), /encoding -260/);
    await expectViolation(u8(150), /unknown server message type 150/);
    await expectViolation(Buffer.from('HTTP/1.1 200 OK\r\n'), /unknown server message type 72/);
  });
});

describe('ZRLE abuse', () => {
  test('invalid subencodings 17..127 and 129', async () => {
    await expectViolation(fbUpdate([zrleWithTiles(0, 0, 8, 8, [17])]), /invalid ZRLE subencoding 17/);
    await expectViolation(fbUpdate([zrleWithTiles(0, 0, 8, 8, [129])]), /invalid ZRLE subencoding 129/);
  });

  test('palette index beyond the palette (packed and RLE)', async () => {
    // 3 colours, 2-bit indices, first pixel index 3
    await expectViolation(fbUpdate([zrleWithTiles(0, 0, 1, 1, [3, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0xc0])]), /palette index 3 out of a 3-colour/);
    await expectViolation(fbUpdate([zrleWithTiles(0, 0, 1, 1, [130, 1, 1, 1, 2, 2, 2, 5])]), /palette index 5 out of a 2-colour/);
  });

  test('a run longer than the tile, and data ending inside a tile', async () => {
    await expectViolation(fbUpdate([zrleWithTiles(0, 0, 2, 2, [128, 9, 9, 9, 4])]), /run of 5 pixels overflows a 2x2 tile/);
    await expectViolation(fbUpdate([zrleWithTiles(0, 0, 2, 2, [0, 1, 2, 3])]), /ends inside a raw tile/);
    await expectViolation(fbUpdate([zrleWithTiles(0, 0, 2, 2, [128, 9, 9, 9, 255, 255])]), /run of 256\+ pixels overflows a 2x2 tile/);
  });

  test('bytes left after the last tile', async () => {
    await expectViolation(fbUpdate([zrleWithTiles(0, 0, 1, 1, [1, 5, 5, 5, 0])]), /1 bytes beyond the last tile/);
  });

  test('a compressed length over the bound is refused before the data arrives', async () => {
    await expectViolation(fbUpdate([Buffer.concat([rectHeader(0, 0, 2, 2, 16), u32(0x7fffffff)])]), /ZRLE data of 2147483647 bytes for a 2x2/);
  });

  test('zlib bomb: output is capped at what the rectangle can use', async () => {
    const bomb = zlib.deflateSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }); // 64 MiB of zeros
    assert.ok(bomb.length < 100_000);
    const rss = process.memoryUsage().rss;
    const t0 = performance.now();
    // 300x200 needs at most ~250 KB: the compressed bomb is within the length bound, its output is not
    await expectViolation(fbUpdate([zrleRectFromCompressed(0, 0, 300, 200, bomb)]), /inflates to more than the \d+ bytes/, [300, 200]);
    assert.ok(performance.now() - t0 < 2000, 'stopped early');
    assert.ok(process.memoryUsage().rss - rss < 48 * 1024 * 1024, 'did not inflate 64 MiB');
  });

  test('corrupt zlib data', async () => {
    await expectViolation(fbUpdate([zrleRectFromCompressed(0, 0, 4, 4, Buffer.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff]))]), /corrupt zlib data/);
  });
});

describe('Tight abuse', () => {
  const head = (w = 8, h = 8) => rectHeader(0, 0, w, h, 7);

  test('compression types 0xA (TightPNG, never offered) to 0xF', async () => {
    await expectViolation(fbUpdate([Buffer.concat([head(), u8(0xa0)])]), /unsupported Tight compression type 0xa/);
    await expectViolation(fbUpdate([Buffer.concat([head(), u8(0xf0)])]), /type 0xf/);
  });

  test('an unknown filter id', async () => {
    await expectViolation(fbUpdate([Buffer.concat([head(), u8(0x40), u8(3)])]), /invalid Tight filter 3/);
  });

  test('a palette index beyond the palette (uncompressed small data)', async () => {
    // 3 colours, 2x2 pixels = 4 index bytes (< 12: sent raw), one index is 7
    const body = Buffer.concat([head(2, 2), u8(0x40), u8(1), u8(2), Buffer.alloc(9, 1), Buffer.from([0, 1, 2, 7])]);
    await expectViolation(fbUpdate([body]), /palette index 7 out of a 3-colour/);
  });

  test('a compact length over the bound of the data size', async () => {
    await expectViolation(fbUpdate([Buffer.concat([head(), u8(0x00), compactLength(4_000_000)])]), /zlib data of 4000000 bytes for 192 bytes/);
  });

  test('zlib bomb on a Tight stream', async () => {
    const bomb = zlib.deflateSync(Buffer.alloc(1024 * 1024));
    await expectViolation(fbUpdate([Buffer.concat([head(32, 32), u8(0x00), compactLength(bomb.length), bomb])]), /inflates to more than the 3072 bytes/, [64, 64]);
  });

  test('zlib data that inflates to too little', async () => {
    const short = zlib.deflateSync(Buffer.alloc(100), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    await expectViolation(fbUpdate([Buffer.concat([head(), u8(0x00), compactLength(short.length), short])]), /inflates to 100 bytes, the rectangle needs 192/);
  });

  test('JPEG: garbage, wrong dimensions, over-large declared size', async () => {
    const garbage = Buffer.from('this is not a jpeg at all, not even close');
    await expectViolation(fbUpdate([Buffer.concat([head(), u8(0x90), compactLength(garbage.length), garbage])]), /bad Tight JPEG/);
    const big = jpeg.encode({ width: 16, height: 8, data: Buffer.from(solidImage(16, 8, [9, 9, 9])) }, 50).data;
    await expectViolation(fbUpdate([Buffer.concat([head(), u8(0x90), compactLength(big.length), big])]), /bad Tight JPEG: maxResolutionInMP|16x8 for a 8x8/);
    const small = jpeg.encode({ width: 4, height: 4, data: Buffer.from(solidImage(4, 4, [9, 9, 9])) }, 50).data;
    await expectViolation(fbUpdate([Buffer.concat([head(), u8(0x90), compactLength(small.length), small])]), /JPEG is 4x4 for a 8x8 rectangle/);
  });

  test('a JPEG length over the bound is refused before the data arrives', async () => {
    await expectViolation(fbUpdate([Buffer.concat([head(1, 1), u8(0x90), compactLength(4_000_000)])]), /Tight JPEG of 4000000 bytes for a 1x1/);
  });

  test('a stream used without its zlib header after a reset is corrupt data, not a crash', async () => {
    const zs = tightStreams();
    deflaters.push(...zs);
    const img = noiseImage(8, 8, 3);
    await tightRect(zs, 0, 0, 8, 8, img, { kind: 'copy' }); // consumed by "nobody": the client never sees the header
    const second = await tightRect(zs, 0, 0, 8, 8, img, { kind: 'copy' });
    await expectViolation(fbUpdate([second]), /corrupt zlib data|inflates to/);
  });
});

describe('containment', () => {
  test('without an error listener a violation still only closes the connection', async () => {
    const { client, stream } = await open();
    stream.serve(u8(99));
    const info = await client.ended;
    assert.equal(info.how, 'error');
    assert.match(info.message, /unknown server message type 99/);
  });

  test('a throwing listener ends that connection, not the process', async () => {
    const { client, stream } = await open(8, 8);
    client.on('bell', () => {
      throw new Error('listener bug');
    });
    stream.serve(u8(2));
    const info = await client.ended;
    assert.equal(info.how, 'error');
    assert.match(info.message, /listener bug/);
  });

  test('ServerCutText of 4 GiB announced: read through in pieces, nothing buffered beyond one piece', async () => {
    const { client, stream } = await open(8, 8);
    stream.serve(Buffer.concat([Buffer.from([3, 0, 0, 0]), u32(0xffffffff), Buffer.alloc(1024 * 1024)]));
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(!client.closed);
    client.close();
  });

  test('SetColourMapEntries of 65535 colours is skipped', async () => {
    const { client, stream } = await open(8, 8);
    const rang = new Promise<void>((r) => client.once('bell', () => r()));
    stream.serve(Buffer.concat([Buffer.from([1, 0]), u16(0), u16(65535), Buffer.alloc(65535 * 6), u8(2)]));
    await rang;
    client.close();
  });
});
