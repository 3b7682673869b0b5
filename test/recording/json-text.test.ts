import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { eventLine, MAX_EVENT_BYTES, Utf8Splitter } from '../../src/server/recording/json-text.js';

/** The line as the string path writes it: decode, JSON.stringify, encode. */
const reference = (t: number, code: string, bytes: Buffer) => Buffer.from(`[${t.toFixed(6)}, ${JSON.stringify(code)}, ${JSON.stringify(bytes.toString('utf8'))}]\n`);

/** A deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

const SAMPLES = ['a', 'é', '€', '😀', '\u2028', '\u0000', '\x1b', '"', '\\', '\n', '\r', '\t', '\b', '\f', '\x7f', '\x1f', ' ', '~'];

describe('asciicast event lines from bytes (WebAssembly escaper)', () => {
  it('ships the module compiled from its .wat source (scripts/build-wasm.mjs was rerun)', async () => {
    const build = (await import(new URL('../../scripts/build-wasm.mjs', import.meta.url).href)) as { compile(wat: string): Promise<string> };
    const committed = readFileSync(new URL('../../src/server/recording/wasm/json-escape.ts', import.meta.url), 'utf8');
    assert.equal(committed, await build.compile('json-escape.wat'));
  });

  it('writes every single byte below 0x80 exactly as JSON.stringify would', () => {
    for (let b = 0; b < 0x80; b++) {
      const bytes = Buffer.from([b]);
      assert.deepEqual(eventLine(0.5, 'o', bytes), reference(0.5, 'o', bytes), `byte 0x${b.toString(16)}`);
    }
  });

  it('is byte-identical to the string path for valid UTF-8 of every length around the 16-byte blocks', () => {
    const next = rng(42);
    for (let len = 0; len <= 80; len++) {
      for (let round = 0; round < 20; round++) {
        let s = '';
        while (Buffer.byteLength(s) < len) s += next(3) === 0 ? SAMPLES[next(SAMPLES.length)] : String.fromCharCode(0x20 + next(0x5f));
        const bytes = Buffer.from(s, 'utf8');
        assert.deepEqual(eventLine(12.25, 'i', bytes), reference(12.25, 'i', bytes), JSON.stringify(s));
      }
    }
    const big = Buffer.from('x'.repeat(MAX_EVENT_BYTES - 7) + '"\\\n\x1b[0m€😀', 'utf8');
    assert.deepEqual(eventLine(3, 'o', big), reference(3, 'o', big));
    // Larger than the memory first set aside: the module's memory grows.
    const huge = Buffer.from(`${'\x01'.repeat(200_000)}end`);
    assert.deepEqual(eventLine(3, 'o', huge), reference(3, 'o', huge));
  });

  it('replaces invalid UTF-8 with U+FFFD and still writes valid JSON', () => {
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x80, 0x41], [0xf4, 0x90, 0x80, 0x80]]) {
      const bytes = Buffer.from([0x61, ...bad, 0x22]);
      const line = eventLine(1, 'o', bytes);
      assert.deepEqual(line, reference(1, 'o', bytes));
      assert.ok((JSON.parse(line.toString()) as [number, string, string])[2].includes('\ufffd'));
    }
  });
});

describe('Utf8Splitter', () => {
  /** A stream of valid characters, C0 controls and (when `invalid`) stray or cut-off sequences. */
  function stream(next: (n: number) => number, bytes: number, invalid: boolean): Buffer {
    const parts: Buffer[] = [];
    let n = 0;
    while (n < bytes) {
      const r = next(10);
      const p = invalid && r === 0 ? Buffer.from([[0xff], [0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3]][next(5)]!) : Buffer.from(r < 4 ? SAMPLES[next(SAMPLES.length)]! : String.fromCharCode(0x20 + next(0x5f)), 'utf8');
      parts.push(p);
      n += p.length;
    }
    return Buffer.concat(parts);
  }

  /** Feeds `all` in random chunks; returns the pieces and what end() held back. */
  function split(next: (n: number) => number, all: Buffer, maxChunk: number) {
    const s = new Utf8Splitter();
    const pieces: Buffer[] = [];
    for (let i = 0; i < all.length; ) {
      const n = 1 + next(maxChunk);
      pieces.push(...s.write(all.subarray(i, i + n)).map((p) => Buffer.from(p)));
      i += n;
    }
    const tail = s.end();
    if (tail) pieces.push(tail);
    return pieces;
  }

  it('never cuts a character: the pieces decode to exactly what the whole stream decodes to', () => {
    const next = rng(7);
    for (let round = 0; round < 300; round++) {
      const invalid = round % 2 === 1;
      const all = stream(next, 1 + next(400), invalid);
      const pieces = split(next, all, 1 + next(12));
      assert.deepEqual(Buffer.concat(pieces), all, 'no byte lost or added');
      assert.equal(pieces.map((p) => p.toString('utf8')).join(''), all.toString('utf8'));
      if (!invalid) for (const p of pieces) assert.ok(p.length === 0 || (p[0]! & 0xc0) !== 0x80, 'a piece starts at a character');
    }
  });

  it(`cuts a large chunk into events of at most ${MAX_EVENT_BYTES} bytes on character boundaries`, () => {
    const text = Buffer.from('€'.repeat(50_000) + '😀'.repeat(20_000), 'utf8');
    const pieces = new Utf8Splitter().write(text);
    assert.ok(pieces.length >= Math.ceil(text.length / MAX_EVENT_BYTES));
    for (const p of pieces) {
      assert.ok(p.length <= MAX_EVENT_BYTES);
      assert.ok(!p.toString('utf8').includes('\ufffd'), 'no character was cut');
    }
    assert.deepEqual(Buffer.concat(pieces), text);
  });

  it('holds an incomplete last character back until it ends, and gives it up at the end', () => {
    const s = new Utf8Splitter();
    assert.deepEqual(s.write(Buffer.from([0x41, 0xe2, 0x82])), [Buffer.from('A')]);
    assert.deepEqual(s.write(Buffer.from([0xac])), [Buffer.from('€')]);
    assert.deepEqual(s.write(Buffer.from([0xf0, 0x9f])), []);
    assert.deepEqual(s.end(), Buffer.from([0xf0, 0x9f]));
    assert.equal(s.end(), null);
    // Random bytes never throw and never lose a byte.
    const r = randomBytes(4096);
    const t = new Utf8Splitter();
    assert.deepEqual(Buffer.concat([...t.write(r), t.end() ?? Buffer.alloc(0)]), r);
  });
});
