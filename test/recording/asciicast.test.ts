/** The asciicast v2 writer: exact format, UTF-8 reassembly, flush/fsync cadence, bounded buffer. */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openRecording } from '../../src/server/recording/asciicast.js';
import { readRecording } from '../../src/server/recording/reader.js';
import { verifyRecording } from '../../src/server/recording/seal.js';
import { countingIo, fakeClock, lines, type TmpEnv, tmpEnv } from './helpers.js';

describe('asciicast v2 writer', () => {
  let env: TmpEnv;
  before(() => {
    env = tmpEnv();
  });
  after(() => env.cleanup());

  it('writes the header at once and events exactly as the asciicast v2 spec shows them', async () => {
    const c = fakeClock();
    const rec = await openRecording({ dir: env.dir, id: 'format', width: 80, height: 24, title: 'Demo', env: { SHELL: '/bin/zsh' }, clock: c.clock, signer: env.signer });
    const path = join(env.dir, 'format.cast');
    // the header is on disk before any event
    assert.deepEqual(await lines(path), ['{"version":2,"width":80,"height":24,"timestamp":1700000000,"title":"Demo","env":{"TERM":"xterm-256color","SHELL":"/bin/zsh"}}', '']);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(env.dir).mode & 0o777, 0o700);

    c.now += 248.848;
    rec.output(Buffer.from('\x1b[1;31mHello \x1b[32mWorld!\x1b[0m\n'));
    c.now += 1001.376 - 248.848;
    rec.output('That was ok\rThis is better.');
    c.now += 498.624;
    rec.marker('');
    c.now += 643.733;
    rec.input('ls\r');
    c.now += 1906.267;
    rec.resize(80, 24);
    c.now += 2491.828;
    rec.output('Bye!');
    rec.marker('terminated by alice: "maintenance window over"');
    const result = await rec.close();

    const all = await lines(path);
    assert.equal(all.at(-1), '', 'every line, the last included, ends with a newline');
    assert.deepEqual(all.slice(1, -1), [
      '[0.248848, "o", "\\u001b[1;31mHello \\u001b[32mWorld!\\u001b[0m\\n"]',
      '[1.001376, "o", "That was ok\\rThis is better."]',
      '[1.500000, "m", ""]',
      '[2.143733, "i", "ls\\r"]',
      '[4.050000, "r", "80x24"]',
      '[6.541828, "o", "Bye!"]',
      '[6.541828, "m", "terminated by alice: \\"maintenance window over\\""]',
    ]);
    // each line is plain JSON of the spec's shape
    const header = JSON.parse(all[0] as string);
    assert.deepEqual(Object.keys(header), ['version', 'width', 'height', 'timestamp', 'title', 'env']);
    for (const l of all.slice(1, -1)) {
      const e = JSON.parse(l);
      assert.ok(Array.isArray(e) && e.length === 3 && typeof e[0] === 'number' && ['o', 'i', 'r', 'm'].includes(e[1]) && typeof e[2] === 'string');
    }
    assert.equal(result.path, path);
    assert.equal(result.events, 7);
    assert.equal(result.bytes, statSync(path).size);
    assert.equal(result.durationSeconds, 6.541828);
    assert.match(result.sha256, /^[0-9a-f]{64}$/);
    assert.equal(result.manifestPath, `${path}.manifest.json`);
    assert.equal(result.startedAt, '2023-11-14T22:13:20.123Z');

    const parsed = await readRecording(path);
    assert.equal(parsed.header.title, 'Demo');
    assert.equal(parsed.events.length, 7);
    assert.deepEqual(parsed.events[3], [2.143733, 'i', 'ls\r']);
    assert.equal(parsed.torn, null);
    assert.equal((await verifyRecording(path, env.signer.publicKeyPem)).ok, true);
  });

  it('leaves title out when not given, keeps times monotonic, refuses unsafe ids and overwrites', async () => {
    const c = fakeClock();
    const rec = await openRecording({ dir: env.dir, id: 'minimal', width: 132, height: 43, clock: c.clock, signer: env.signer });
    c.now += 500;
    rec.output('a');
    c.now -= 400; // a clock that steps back must not make time run backwards in the file
    rec.output('b');
    await rec.close();
    const { header, events } = await readRecording(join(env.dir, 'minimal.cast'));
    assert.deepEqual(header, { version: 2, width: 132, height: 43, timestamp: 1700000000, env: { TERM: 'xterm-256color' } });
    assert.deepEqual(events.map((e) => e[0]), [0.5, 0.5]);
    await assert.rejects(openRecording({ dir: env.dir, id: 'minimal', width: 80, height: 24, signer: env.signer }), /EEXIST/);
    for (const id of ['../evil', 'a/b', '', '.hidden', 'x..y']) {
      await assert.rejects(openRecording({ dir: env.dir, id, width: 80, height: 24, signer: env.signer }), /unsafe recording id/);
    }
    await assert.rejects(openRecording({ dir: env.dir, id: 'zero', width: 0, height: 24, signer: env.signer }), /bad terminal width/);
  });

  it('reassembles UTF-8 split across chunks at every byte boundary; invalid bytes become U+FFFD', async () => {
    const text = 'añ€😀 Grüße ✓\n';
    const bytes = Buffer.from(text, 'utf8');
    const rec = await openRecording({ dir: env.dir, id: 'utf8', width: 80, height: 24, signer: env.signer });
    // byte by byte
    for (const b of bytes) rec.output(Buffer.from([b]));
    // every two-way split
    for (let i = 1; i < bytes.length; i++) {
      rec.output(bytes.subarray(0, i));
      rec.output(bytes.subarray(i));
    }
    rec.input(Buffer.from([0xe2, 0x82])); // half of € typed ...
    rec.input(Buffer.from([0xac, 0x0d])); // ... and the rest
    rec.output(Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x28])); // invalid bytes
    rec.output(Buffer.from([0xf0, 0x9f])); // an incomplete character left at the end
    await rec.close();
    const { events } = await readRecording(join(env.dir, 'utf8.cast'));
    const out = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    assert.equal(out, text.repeat(bytes.length) + 'a\ufffdb\ufffd(' + '\ufffd');
    assert.equal(events.filter((e) => e[1] === 'i').map((e) => e[2]).join(''), '€\r');
    assert.ok(events.every((e) => e[2] !== ''), 'no empty events for chunks that only hold part of a character');
  });

  it('splits very large chunks into several events', async () => {
    const rec = await openRecording({ dir: env.dir, id: 'large', width: 80, height: 24, signer: env.signer });
    const big = '😀'.repeat(50_000); // 100k UTF-16 units
    rec.output(big);
    await rec.close();
    const { events } = await readRecording(join(env.dir, 'large.cast'));
    assert.ok(events.length >= 3);
    assert.equal(events.map((e) => e[2]).join(''), big);
    assert.ok(events.every((e) => !/[\ud800-\udbff]$/.test(e[2])), 'no surrogate pair is split');
  });

  it('flushes at least every second of the (injectable) clock and when the buffer passes 64 KiB, with fsync at most a second apart', async () => {
    const c = fakeClock();
    const io = countingIo();
    // Only the injected clock drives this test: the real-time safety-net timer stays out of the way.
    const rec = await openRecording({ dir: env.dir, id: 'cadence', width: 80, height: 24, clock: c.clock, io, signer: env.signer, tickIntervalMs: 3_600_000 });
    const path = join(env.dir, 'cadence.cast');
    assert.deepEqual([io.writes, io.syncs], [1, 1], 'header written and synced at once');
    c.advance(300);
    rec.output('a');
    c.advance(300);
    rec.output('b');
    c.advance(399);
    rec.output('c');
    await rec.idle();
    assert.equal((await lines(path)).length, 2, 'nothing flushed within the first second');
    assert.deepEqual([io.writes, io.syncs], [1, 1]);
    c.advance(1);
    rec.output('d'); // 1.000 s after the last flush
    await rec.idle();
    assert.deepEqual((await readRecording(path)).events.map((e) => e[2]), ['a', 'b', 'c', 'd']);
    assert.deepEqual([io.writes, io.syncs], [2, 2], 'flushed and fsynced');

    c.advance(100);
    rec.output('x'.repeat(70 * 1024)); // past the size threshold (as 3 events of <= 32 Ki chars): written at once ...
    await rec.idle();
    assert.equal((await readRecording(path)).events.length, 4 + 3);
    assert.ok(io.writes > 2);
    assert.equal(io.syncs, 2, '... but not fsynced again within the second');
    const writes = io.writes;
    c.advance(500);
    rec.output('e');
    await rec.idle();
    assert.equal(io.writes, writes);
    c.advance(500);
    rec.output('f');
    await rec.idle();
    assert.deepEqual([io.writes, io.syncs], [writes + 1, 3]);
    rec.output('g');
    await rec.close();
    assert.equal(io.syncs, 4, 'close writes and syncs what is left');
    assert.deepEqual((await readRecording(path)).events.map((e) => e[2]).slice(-3), ['e', 'f', 'g']);
  });

  it('flushes on its timer when the session goes quiet', async () => {
    const c = fakeClock(); // frozen: only the real timer can trigger the flush
    const io = countingIo();
    const rec = await openRecording({ dir: env.dir, id: 'quiet', width: 80, height: 24, clock: c.clock, io, signer: env.signer, flushIntervalMs: 100 });
    rec.output('$ ');
    assert.equal(rec.bufferedBytes > 0, true);
    await sleep(250);
    await rec.idle();
    assert.equal(rec.bufferedBytes, 0);
    assert.deepEqual((await readRecording(join(env.dir, 'quiet.cast'))).events.map((e) => e[2]), ['$ ']);
    assert.equal(io.syncs, 2);
    await rec.close();
  });

  it('keeps a bounded buffer under a slow disk, signals pressure, marks the gap and recovers', async () => {
    const io = countingIo();
    const maxBufferBytes = 256 * 1024;
    const rec = await openRecording({ dir: env.dir, id: 'slow', width: 80, height: 24, io, signer: env.signer, flushBytes: 16 * 1024, pressureBytes: 64 * 1024, maxBufferBytes });
    const signals: string[] = [];
    rec.on('pressure', (on: boolean) => signals.push(on ? 'pressure' : 'relief'));
    rec.on('drain', () => signals.push('drain'));
    io.pause(); // the disk stalls
    const chunk = Buffer.alloc(1024, 'y');
    let peak = 0;
    let refused = 0;
    let firstRefusal = -1;
    for (let i = 0; i < 1000; i++) {
      if (!rec.output(chunk)) {
        refused++;
        if (firstRefusal < 0) firstRefusal = i;
      }
      peak = Math.max(peak, rec.bufferedBytes);
    }
    assert.ok(peak <= maxBufferBytes, `buffer peaked at ${peak}`);
    assert.ok(peak > maxBufferBytes - 2 * 1024, 'it filled up to the limit');
    assert.equal(rec.pressure, true);
    assert.deepEqual(signals, ['pressure']);
    assert.ok(firstRefusal > 55 && firstRefusal < 70, `pressure reported from about 64 KiB (at chunk ${firstRefusal})`);
    assert.ok(rec.droppedEvents > 700, `events past the hard limit are dropped (${rec.droppedEvents})`);
    io.resume(); // the disk catches up
    await rec.idle();
    assert.equal(rec.bufferedBytes, 0);
    assert.equal(rec.pressure, false);
    assert.deepEqual(signals, ['pressure', 'relief', 'drain']);
    assert.equal(rec.output('after the stall'), true);
    const result = await rec.close();
    const { events } = await readRecording(result.path);
    const kept = events.filter((e) => e[2] === 'y'.repeat(1024)).length;
    assert.equal(kept + result.droppedEvents, 1000);
    const gap = events.findIndex((e) => e[1] === 'm');
    assert.ok(gap > 0);
    assert.match(events[gap]![2], new RegExp(`^recording gap: ${result.droppedEvents} events \\(\\d+ bytes\\) lost`));
    assert.equal(events[gap + 1]![2], 'after the stall');
    assert.equal(result.manifest.droppedEvents, result.droppedEvents);
    assert.equal(result.events, events.length);
    assert.equal((await verifyRecording(result.path, env.signer.publicKeyPem)).ok, true);
  });

  it('reports a failing disk as a fault (not an unhandled error) and rejects close', async () => {
    const io = countingIo();
    const rec = await openRecording({ dir: env.dir, id: 'broken', width: 80, height: 24, io, signer: env.signer });
    io.write = async () => { throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }); };
    const faults: Error[] = [];
    rec.on('fault', (e: Error) => faults.push(e));
    rec.output('x');
    await assert.rejects(rec.flush(), /ENOSPC/);
    assert.equal(faults.length, 1);
    assert.equal(rec.output('more'), false);
    await assert.rejects(rec.close(), /ENOSPC/);
    await assert.rejects(readFile(`${rec.path}.manifest.json`), /ENOENT/);
  });
});
