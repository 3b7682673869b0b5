/**
 * RFB client decoding on constructed server streams: Raw, CopyRect, ZRLE (every subencoding, one
 * zlib stream across rectangles), Tight (fill, JPEG, copy/palette/gradient filters, the four zlib
 * streams and their reset bits, uncompressed small data), Cursor, DesktopSize, LastRect, and the
 * other server messages. Each test compares the client's framebuffer with the test's own model.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { RfbClient } from '../../src/server/protocols/vnc/client.js';
import {
  bell,
  Canvas,
  colourMap,
  copyRect,
  cursorRect,
  cycleZrle,
  desktopSizeRect,
  extDesktopSizeRect,
  fbUpdate,
  firstDiff,
  gradientImage,
  handshakeBytes,
  lastRect,
  nextUpdate,
  noiseImage,
  paletteImage,
  rawRect,
  type ScriptedStream,
  ServerDeflate,
  scripted,
  serveChunked,
  serverCutText,
  solidImage,
  tightRect,
  tightStreams,
  zrleRect,
  zrleTiles,
} from './rfb-fixtures.js';

const deflaters: ServerDeflate[] = [];
after(() => {
  for (const d of deflaters) d.close();
});
function zlibStream(): ServerDeflate {
  const d = new ServerDeflate();
  deflaters.push(d);
  return d;
}
function tightZ(): ServerDeflate[] {
  const zs = tightStreams();
  deflaters.push(...zs);
  return zs;
}

async function open(width: number, height: number): Promise<{ client: RfbClient; stream: ScriptedStream; model: Canvas }> {
  const { stream, connecting } = scripted(handshakeBytes({ width, height }));
  const client = await connecting;
  return { client, stream, model: new Canvas(width, height) };
}

/** Serves an update and waits for its `update` event. */
async function apply(client: RfbClient, stream: ScriptedStream, bytes: Buffer, chunk = 0) {
  const got = nextUpdate(client);
  if (chunk > 0) await serveChunked(stream, bytes, chunk);
  else stream.serve(bytes);
  return got;
}

function assertSame(client: RfbClient, model: Canvas, what: string): void {
  const d = firstDiff(client.framebuffer, model.data);
  assert.equal(d, -1, `${what}: first differing pixel ${d} (x ${d % model.width}, y ${Math.floor(d / model.width)})`);
}

describe('Raw and CopyRect', () => {
  test('raw rectangles land where they belong; the pad byte never leaks into alpha', async () => {
    const { client, stream, model } = await open(64, 48);
    const a = noiseImage(20, 10, 1);
    const b = noiseImage(64, 1, 2);
    const ops = await apply(client, stream, fbUpdate([rawRect(5, 7, 20, 10, a), rawRect(0, 47, 64, 1, b)]));
    model.put(5, 7, 20, 10, a);
    model.put(0, 47, 64, 1, b);
    assertSame(client, model, 'raw');
    assert.deepEqual(ops, [
      { op: 'pixels', x: 5, y: 7, w: 20, h: 10, encoding: 'raw' },
      { op: 'pixels', x: 0, y: 47, w: 64, h: 1, encoding: 'raw' },
    ]);
    client.close();
  });

  test('raw arriving byte by byte decodes the same', async () => {
    const { client, stream, model } = await open(16, 16);
    const img = noiseImage(16, 16, 3);
    await apply(client, stream, fbUpdate([rawRect(0, 0, 16, 16, img)]), 1);
    model.put(0, 0, 16, 16, img);
    assertSame(client, model, 'raw bytewise');
    client.close();
  });

  test('CopyRect, overlapping in every direction, is a copy op', async () => {
    const { client, stream, model } = await open(64, 64);
    const img = noiseImage(64, 64, 4);
    await apply(client, stream, fbUpdate([rawRect(0, 0, 64, 64, img)]));
    model.put(0, 0, 64, 64, img);
    for (const [sx, sy, dx, dy] of [
      [0, 0, 3, 5],
      [3, 5, 0, 0],
      [10, 0, 0, 0],
      [0, 10, 0, 2],
      [0, 0, 40, 40],
    ] as const) {
      const ops = await apply(client, stream, fbUpdate([copyRect(sx, sy, dx, dy, 24, 24)]));
      model.copy(sx, sy, dx, dy, 24, 24);
      assertSame(client, model, `copy ${sx},${sy} -> ${dx},${dy}`);
      assert.deepEqual(ops, [{ op: 'copy', srcX: sx, srcY: sy, x: dx, y: dy, w: 24, h: 24 }]);
    }
    client.close();
  });
});

describe('ZRLE', () => {
  test('every subencoding (raw, solid, packed 1/2/4-bit, plain RLE, palette RLE) over partial tiles', async () => {
    const w = 200;
    const h = 150; // 4x3 tiles, the last column and row partial
    const { client, stream, model } = await open(w, h);
    const z = zlibStream();
    const images = [
      noiseImage(w, h, 10),
      paletteImage(w, h, 2, 11), // 1-bit packed
      paletteImage(w, h, 4, 12), // 2-bit packed
      paletteImage(w, h, 13, 13), // 4-bit packed
      paletteImage(w, h, 100, 14, 30), // palette RLE
      solidImage(w, h, [12, 34, 56]),
    ];
    for (const [i, img] of images.entries()) {
      for (const choose of [cycleZrle, (t: number) => (['rle', 'prle', 'packed', 'raw'] as const)[(t + i) % 4]!]) {
        await apply(client, stream, fbUpdate([await zrleRect(z, 0, 0, w, h, img, choose)]));
        model.put(0, 0, w, h, img);
        assertSame(client, model, `image ${i}`);
      }
    }
    client.close();
  });

  test('one zlib stream across rectangles: the second rectangle only makes sense with the first one history', async () => {
    const { client, stream, model } = await open(64, 64);
    const z = zlibStream();
    const img = noiseImage(64, 32, 20);
    const r1 = await zrleRect(z, 0, 0, 64, 32, img, () => 'raw');
    const r2 = await zrleRect(z, 0, 32, 64, 32, img, () => 'raw');
    assert.ok(r2.length < r1.length / 4, `second rect should be back-references (${r2.length} vs ${r1.length} bytes)`);
    await apply(client, stream, fbUpdate([r1]));
    await apply(client, stream, fbUpdate([r2]), 7);
    model.put(0, 0, 64, 32, img);
    model.put(0, 32, 64, 32, img);
    assertSame(client, model, 'zrle history');
    client.close();
  });

  test('a zero-area ZRLE rectangle keeps the stream in step', async () => {
    const { client, stream, model } = await open(32, 32);
    const z = zlibStream();
    const img = paletteImage(32, 32, 3, 5);
    const empty = await zrleRect(z, 5, 5, 0, 0, new Uint8Array(0));
    const full = await zrleRect(z, 0, 0, 32, 32, img);
    const ops = await apply(client, stream, fbUpdate([empty, full]));
    model.put(0, 0, 32, 32, img);
    assertSame(client, model, 'zrle after empty');
    assert.equal(ops.length, 1);
    client.close();
  });
});

describe('Tight', () => {
  test('fill, copy (implicit and explicit filter), palette (2 and n colours), gradient, on all four streams', async () => {
    const w = 120;
    const h = 70;
    const { client, stream, model } = await open(w, h);
    const zs = tightZ();
    const cases: [string, Uint8Array, Parameters<typeof tightRect>[6]][] = [
      ['fill', solidImage(w, h, [200, 100, 50]), { kind: 'fill' }],
      ['copy s0', noiseImage(w, h, 30), { kind: 'copy', stream: 0 }],
      ['copy s0 explicit', noiseImage(w, h, 31), { kind: 'copy', stream: 0, explicitFilter: true }],
      ['palette2 s1', paletteImage(w, h, 2, 32), { kind: 'palette', stream: 1 }],
      ['palette1 s1', solidImage(w, h, [9, 9, 9]), { kind: 'palette', stream: 1 }],
      ['palette200 s2', paletteImage(w, h, 200, 33), { kind: 'palette', stream: 2 }],
      ['gradient s3', gradientImage(w, h), { kind: 'gradient', stream: 3 }],
      ['gradient noise s3', noiseImage(w, h, 34), { kind: 'gradient', stream: 3 }],
    ];
    for (const [name, img, mode] of cases) {
      await apply(client, stream, fbUpdate([await tightRect(zs, 0, 0, w, h, img, mode)]));
      model.put(0, 0, w, h, img);
      assertSame(client, model, name);
    }
    // again on warmed-up streams, and partial rectangles
    for (const [name, img, mode] of cases) {
      const sub = img.subarray(0, 50 * 30 * 4);
      await apply(client, stream, fbUpdate([await tightRect(zs, 7, 9, 50, 30, sub, mode)]), 13);
      model.put(7, 9, 50, 30, sub);
      assertSame(client, model, `${name} partial`);
    }
    client.close();
  });

  test('reset bits start fresh zlib streams', async () => {
    const { client, stream, model } = await open(40, 40);
    const zs = tightZ();
    const a = noiseImage(40, 20, 40);
    const r1 = await tightRect(zs, 0, 0, 40, 20, a, { kind: 'copy', stream: 2 });
    // second rect on a reset stream 2 (and stream 0 reset too, which was never used)
    const r2 = await tightRect(zs, 0, 20, 40, 20, a, { kind: 'copy', stream: 2 }, 0b0101);
    await apply(client, stream, fbUpdate([r1, r2]));
    model.put(0, 0, 40, 20, a);
    model.put(0, 20, 40, 20, a);
    assertSame(client, model, 'tight reset');
    client.close();
  });

  test('data under 12 bytes goes uncompressed', async () => {
    const { client, stream, model } = await open(8, 8);
    const zs = tightZ();
    const img = noiseImage(3, 1, 50); // 9 bytes
    const r = await tightRect(zs, 2, 2, 3, 1, img, { kind: 'copy' });
    assert.equal(r.length, 12 + 1 + 9);
    await apply(client, stream, fbUpdate([r]));
    model.put(2, 2, 3, 1, img);
    assertSame(client, model, 'small');
    client.close();
  });

  test('JPEG rectangles of every awkward size decode (no rounding in the size limit)', async () => {
    // 1x21 and friends: (w*h)/1e6*1e6 rounds below w*h in floating point.
    for (const [w, h] of [[1, 21], [3, 7], [7, 3], [21, 1], [13, 11]] as const) {
      const { client, stream } = await open(32, 32);
      const ops = await apply(client, stream, fbUpdate([await tightRect(tightZ(), 0, 0, w, h, gradientImage(w, h), { kind: 'jpeg', quality: 90 })]));
      assert.equal(ops.length, 1, `${w}x${h}`);
      client.close();
    }
  });

  test('JPEG decodes close to the source', async () => {
    const w = 96;
    const h = 64;
    const { client, stream } = await open(w, h);
    const zs = tightZ();
    const img = gradientImage(w, h);
    const ops = await apply(client, stream, fbUpdate([await tightRect(zs, 0, 0, w, h, img, { kind: 'jpeg', quality: 95 })]));
    const op = ops[0]!;
    assert.ok(op.op === 'pixels' && op.jpeg, 'the JPEG bytes ride along for pass-through');
    assert.deepEqual([...op.jpeg.subarray(0, 2)], [0xff, 0xd8]);
    let sum = 0;
    for (let i = 0; i < img.length; i++) {
      if (i % 4 === 3) assert.equal(client.framebuffer[i], 255);
      else sum += Math.abs(client.framebuffer[i]! - img[i]!);
    }
    const mean = sum / (w * h * 3);
    assert.ok(mean < 4, `mean absolute error ${mean.toFixed(2)}`);
    client.close();
  });
});

describe('pseudo-encodings and other messages', () => {
  test('Cursor becomes an RGBA image with hotspot; a 0x0 cursor hides it', async () => {
    const { client, stream } = await open(32, 32);
    const img = noiseImage(5, 3, 60);
    for (let i = 3; i < img.length; i += 8) img[i] = 0; // every other pixel transparent
    const got = new Promise<import('../../src/server/protocols/vnc/client.js').RfbCursor[]>((resolve) => {
      const all: import('../../src/server/protocols/vnc/client.js').RfbCursor[] = [];
      client.on('cursor', (c) => {
        all.push(c);
        if (all.length === 2) resolve(all);
      });
    });
    // A cursor-only update changes no pixels: no 'update', but 'updateDone' (a paced client asks again).
    let updates = 0;
    client.on('update', () => updates++);
    const done = new Promise((resolve) => client.once('updateDone', resolve));
    stream.serve(fbUpdate([cursorRect(2, 1, 5, 3, img), cursorRect(0, 0, 0, 0, new Uint8Array(0))]));
    const [c, hidden] = await got;
    assert.deepEqual(await done, { resized: false });
    assert.equal(updates, 0);
    assert.equal(c!.width, 5);
    assert.equal(c!.hotX, 2);
    assert.equal(c!.hotY, 1);
    assert.deepEqual([...c!.rgba], [...img].map((v, i) => (i % 4 === 3 ? (v >= 128 ? 255 : 0) : v)));
    assert.equal(hidden!.width, 0);
    assert.equal(hidden!.rgba.length, 0);
    client.close();
  });

  test('DesktopSize: new framebuffer keeps the overlap, ops before and after are split around resize', async () => {
    const { client, stream } = await open(32, 32);
    const img = noiseImage(32, 32, 70);
    const events: string[] = [];
    client.on('update', (ops) => events.push(`update ${ops.map((o) => `${o.x},${o.y},${o.w}x${o.h}`).join(' ')}`));
    client.on('resize', (s) => events.push(`resize ${s.width}x${s.height}`));
    const small = solidImage(4, 4, [1, 2, 3]);
    const done = new Promise<void>((r) => client.on('update', (ops) => ops.some((o) => o.x === 40) && r()));
    stream.serve(fbUpdate([rawRect(0, 0, 32, 32, img), desktopSizeRect(48, 16), rawRect(40, 10, 4, 4, small)]));
    await done;
    assert.deepEqual(events, ['update 0,0,32x32', 'resize 48x16', 'update 40,10,4x4']);
    assert.equal(client.width, 48);
    assert.equal(client.framebuffer.length, 48 * 16 * 4);
    const model = new Canvas(48, 16);
    model.put(0, 0, 32, 16, img.subarray(0, 32 * 16 * 4));
    model.put(40, 10, 4, 4, small);
    assertSame(client, model, 'after resize');
    client.close();
  });

  test('DesktopSize is followed by a full update request when autoRequest is on', async () => {
    const { stream, connecting } = scripted(handshakeBytes({ width: 10, height: 10 }), { autoRequest: true });
    const client = await connecting;
    const before = stream.sent().length;
    const resized = new Promise((r) => client.once('resize', r));
    stream.serve(fbUpdate([desktopSizeRect(20, 30)]));
    await resized;
    await new Promise((r) => setImmediate(r));
    const req = stream.sent().subarray(before);
    assert.deepEqual([...req], [3, 0, 0, 0, 0, 0, 0, 20, 0, 30]);
    client.close();
  });

  test('after an update, autoRequest asks for an incremental one', async () => {
    const { stream, connecting } = scripted(handshakeBytes({ width: 4, height: 4 }), { autoRequest: true });
    const client = await connecting;
    const before = stream.sent().length;
    await apply(client, stream, fbUpdate([rawRect(0, 0, 1, 1, solidImage(1, 1, [1, 1, 1]))]));
    assert.deepEqual([...stream.sent().subarray(before)], [3, 1, 0, 0, 0, 0, 0, 4, 0, 4]);
    client.close();
  });

  test('LastRect ends an update announced with 65535 rectangles', async () => {
    const { client, stream, model } = await open(8, 8);
    const img = noiseImage(8, 8, 80);
    const ops = await apply(client, stream, fbUpdate([rawRect(0, 0, 8, 8, img), lastRect()], 0xffff));
    model.put(0, 0, 8, 8, img);
    assertSame(client, model, 'lastrect');
    assert.equal(ops.length, 1);
    // the next message is parsed normally
    const rang = new Promise<void>((r) => client.once('bell', () => r()));
    stream.serve(bell());
    await rang;
    client.close();
  });

  test('Bell, ServerCutText (Latin-1), SetColourMapEntries (skipped)', async () => {
    const { client, stream } = await open(8, 8);
    const texts: string[] = [];
    let bells = 0;
    client.on('clipboard', (t) => texts.push(t));
    client.on('bell', () => bells++);
    stream.serve(Buffer.concat([bell(), serverCutText(Buffer.from([0x53, 0xfc, 0x64])), colourMap(0, 256), bell()]));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(texts, ['Süd']);
    assert.equal(bells, 2);
    assert.ok(!client.closed);
    client.close();
  });

  test('clipboard text over the limit is read through and dropped', async () => {
    const { stream, connecting } = scripted(handshakeBytes(), { autoRequest: false, limits: { maxCutTextBytes: 10 } });
    const client = await connecting;
    const texts: string[] = [];
    client.on('clipboard', (t) => texts.push(t));
    const rang = new Promise<void>((r) => client.once('bell', () => r()));
    stream.serve(Buffer.concat([serverCutText(Buffer.alloc(200_000, 0x41)), serverCutText(Buffer.from('ok')), bell()]));
    await rang;
    assert.deepEqual(texts, ['ok']);
    client.close();
  });

  test('client messages: key, pointer (clamped), clipboard (Latin-1), update request', async () => {
    const { client, stream } = await open(100, 50);
    const before = stream.sent().length;
    client.key(0xff0d, true);
    client.key(0xff0d, false);
    client.pointer(500, -3, 1);
    client.clipboard('aé€');
    client.requestUpdate(true, { x: 90, y: 40, w: 50, h: 50 });
    const sent = stream.sent().subarray(before);
    assert.deepEqual(
      [...sent],
      [
        ...[4, 1, 0, 0, 0, 0, 0xff, 0x0d],
        ...[4, 0, 0, 0, 0, 0, 0xff, 0x0d],
        ...[5, 1, 0, 99, 0, 0],
        ...[6, 0, 0, 0, 0, 0, 0, 3, 0x61, 0xe9, 0x3f],
        ...[3, 1, 0, 90, 0, 40, 0, 10, 0, 10],
      ],
    );
    assert.throws(() => client.key(-1, true), RangeError);
    client.close();
    client.key(1, true); // after close: ignored
    assert.equal(stream.sent().length, before + sent.length);
  });

  test('ExtendedDesktopSize: offered only on request; SetDesktopSize waits for the server, which may refuse', async () => {
    // Not offered by default (a VNC asset keeps its own size).
    const plain = scripted(handshakeBytes({ width: 8, height: 8 }));
    const c0 = await plain.connecting;
    assert.ok(!plain.stream.sent().includes(Buffer.from([0xff, 0xff, 0xfe, 0xcc])), '-308 not offered');
    await assert.rejects(c0.setDesktopSize(16, 16), /does not support resizing/);
    c0.close();

    const { stream, connecting } = scripted(handshakeBytes({ width: 64, height: 48 }), { desktopResize: true });
    const client = await connecting;
    assert.ok(stream.sent().includes(Buffer.from([0xff, 0xff, 0xfe, 0xcc])), '-308 offered in SetEncodings');
    assert.equal(client.canResize, false);
    // The server announces its layout (reason 0: the server's own); no size change.
    const screen = { id: 0x01020304, x: 0, y: 0, w: 64, h: 48, flags: 0 };
    let done = new Promise((r) => client.once('updateDone', r));
    stream.serve(fbUpdate([extDesktopSizeRect(0, 0, 64, 48, [screen])]));
    await done;
    assert.equal(client.canResize, true);
    const sizes: string[] = [];
    client.on('resize', (s) => sizes.push(`${s.width}x${s.height}`));

    // Accepted: one screen with the server's id, then an update request; resolves on reason 1, status 0.
    const before = stream.sent().length;
    const ok = client.setDesktopSize(100, 40);
    const msg = stream.sent().subarray(before);
    assert.deepEqual([...msg.subarray(0, 24)], [251, 0, 0, 100, 0, 40, 1, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 100, 0, 40, 0, 0, 0, 0]);
    assert.equal(msg[24], 3, 'an update request follows');
    stream.serve(fbUpdate([extDesktopSizeRect(1, 0, 100, 40, [{ ...screen, w: 100, h: 40 }])]));
    await ok;
    assert.deepEqual(sizes, ['100x40']);
    assert.deepEqual([client.width, client.height, client.framebuffer.length], [100, 40, 100 * 40 * 4]);

    // Refused (status 1, prohibited): rejects with the reason, the size stays.
    const refused = client.setDesktopSize(200, 100);
    stream.serve(fbUpdate([extDesktopSizeRect(1, 1, 100, 40, [{ ...screen, w: 100, h: 40 }])]));
    await assert.rejects(refused, /prohibits resizing/);
    assert.deepEqual([client.width, client.height], [100, 40]);
    // Another client's resize (reason 2) resizes us without settling a request of ours.
    const mine = client.setDesktopSize(300, 200);
    done = new Promise((r) => client.once('updateDone', r));
    stream.serve(fbUpdate([extDesktopSizeRect(2, 0, 120, 60, [{ ...screen, w: 120, h: 60 }])]));
    await done;
    assert.deepEqual(sizes, ['100x40', '120x60']);
    // A newer request supersedes it; bad sizes are refused before anything is sent.
    const newer = client.setDesktopSize(320, 200);
    await assert.rejects(mine, /superseded/);
    await assert.rejects(client.setDesktopSize(0, 10), RangeError);
    await assert.rejects(client.setDesktopSize(9000, 10), /exceeds the limit/);
    // ...and leave the pending one alone, which closing the connection rejects.
    client.close();
    await assert.rejects(newer, /connection closed/);
  });

  test('close() ends with how closed and a close event', async () => {
    const { client, stream } = await open(8, 8);
    const closed = new Promise((r) => client.once('close', r));
    client.close('bye');
    assert.deepEqual(await closed, { how: 'closed', message: 'bye' });
    assert.deepEqual(await client.ended, { how: 'closed', message: 'bye' });
    assert.ok(stream.destroyed);
  });

  test('the server hanging up ends with how closed', async () => {
    const { client, stream } = await open(8, 8);
    stream.hangUp();
    assert.deepEqual(await client.ended, { how: 'closed', message: 'the VNC server closed the connection' });
  });
});

describe('ZRLE tile stream (fixture self-check)', () => {
  test('the test encoder produces the sizes the spec implies', () => {
    const img = solidImage(64, 64, [1, 2, 3]);
    assert.deepEqual([...zrleTiles(img, 64, 64, () => 'solid')], [1, 1, 2, 3]);
    assert.equal(zrleTiles(img, 64, 64, () => 'raw').length, 1 + 64 * 64 * 3);
    // one run of 4096 pixels: 255 x 16 + 15 -> 16 bytes of 255 then 15
    assert.deepEqual([...zrleTiles(img, 64, 64, () => 'rle')], [128, 1, 2, 3, ...Array(16).fill(255), 15]);
  });
});
