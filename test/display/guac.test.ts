/**
 * Guacamole wire format: encoding against the protocol reference's own examples, code-point
 * lengths (emoji, CJK, lone surrogates), the streaming parser under every possible split (by
 * character and by UTF-8 byte), hostile input that must fail fast with GuacProtocolError, and the
 * builders' argument orders as guacamole-common-js 1.5.0 reads them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BLOB_MAX_BASE64,
  blob,
  blobs,
  clipboardText,
  codePointLength,
  copy,
  cursor,
  disconnect,
  encodeInstruction,
  end,
  error,
  GUAC_COMPOSITE,
  GUAC_STATUS,
  type GuacInstruction,
  GuacParser,
  GuacProtocolError,
  imageInstructions,
  img,
  name,
  size,
  sync,
} from '../../src/server/display/guac.js';
import { rng } from './frames.js';

const parseAll = (input: string | Buffer, parser = new GuacParser()): GuacInstruction[] => parser.receive(input);

describe('encodeInstruction', () => {
  test('examples from the protocol documentation', () => {
    assert.equal(encodeInstruction('size', 0, 1024, 768), '4.size,1.0,4.1024,3.768;');
    assert.equal(encodeInstruction('select', 'vnc'), '6.select,3.vnc;');
    assert.equal(encodeInstruction('disconnect'), '10.disconnect;');
    assert.equal(encodeInstruction('key', 65307, 1), '3.key,5.65307,1.1;');
  });

  test('lengths count code points, not bytes or UTF-16 units', () => {
    const emoji = '🔥'; // U+1F525: 4 UTF-8 bytes, 2 UTF-16 units, 1 code point
    assert.equal(emoji.length, 2);
    assert.equal(codePointLength(emoji), 1);
    assert.equal(encodeInstruction('name', emoji), `4.name,1.${emoji};`);
    const cjk = '制御盤'; // 3 code points, 9 UTF-8 bytes
    assert.equal(encodeInstruction('name', cjk), `4.name,3.${cjk};`);
    const mixed = 'Tank 🛢️ 液位 ✓'; // includes U+FE0F variation selector: its own code point
    assert.equal(codePointLength(mixed), [...mixed].length);
    assert.equal(encodeInstruction('name', mixed), `4.name,${[...mixed].length}.${mixed};`);
    assert.equal(encodeInstruction('name', ''), '4.name,0.;');
  });

  test('lone surrogates count one each, as Guacamole.Parser.codePointCount does', () => {
    assert.equal(codePointLength('\ud83d'), 1);
    assert.equal(codePointLength('a\ude00b'), 3);
    assert.equal(codePointLength('\ude00\ud83d'), 2); // low then high: not a pair
    assert.equal(codePointLength('\ud83d\ud83d\ude00'), 2); // lone high, then a pair
  });

  test('numbers are written in plain decimal; non-finite numbers are refused', () => {
    assert.equal(encodeInstruction('x', -1, 0.5), '1.x,2.-1,3.0.5;');
    assert.throws(() => encodeInstruction('x', Number.NaN), GuacProtocolError);
    assert.throws(() => encodeInstruction('x', Number.POSITIVE_INFINITY), GuacProtocolError);
  });

  test('the empty opcode (the WebSocket tunnel internal instruction) round-trips', () => {
    const uuid = '9a6c3b58-6f1c-4dd1-a1a3-5b1a9a7e1f10';
    const wire = encodeInstruction('', uuid);
    assert.equal(wire, `0.,36.${uuid};`);
    assert.deepEqual(parseAll(wire), [{ opcode: '', args: [uuid] }]);
  });
});

describe('builders: argument orders of the protocol reference', () => {
  test('drawing and stream instructions', () => {
    assert.equal(size(0, 1280, 800), '4.size,1.0,4.1280,3.800;');
    assert.equal(img(3, GUAC_COMPOSITE.OVER, 0, 'image/png', 10, 20), '3.img,1.3,2.14,1.0,9.image/png,2.10,2.20;');
    assert.equal(blob(3, 'AAAA'), '4.blob,1.3,4.AAAA;');
    assert.equal(end(3), '3.end,1.3;');
    assert.equal(copy(0, 1, 2, 3, 4, GUAC_COMPOSITE.SRC, -1, 5, 6), '4.copy,1.0,1.1,1.2,1.3,1.4,2.12,2.-1,1.5,1.6;');
    assert.equal(cursor(1, 2, -1, 0, 0, 16, 24), '6.cursor,1.1,1.2,2.-1,1.0,1.0,2.16,2.24;');
    assert.equal(sync(1712345678901.7), '4.sync,13.1712345678901;');
    assert.equal(sync(5, 2), '4.sync,1.5,1.2;');
    assert.equal(error('Upstream gone', GUAC_STATUS.UPSTREAM_UNAVAILABLE), '5.error,13.Upstream gone,3.520;');
    assert.equal(disconnect(), '10.disconnect;');
    assert.equal(name('PLC-01 HMI'), '4.name,10.PLC-01 HMI;');
    assert.equal(GUAC_COMPOSITE.OVER, 14);
  });

  test('blob splitting: chunks <= the limit, multiples of 4, concatenation is the original', () => {
    const data = Buffer.alloc(50_000);
    const r = rng(9);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * 256);
    const b64 = data.toString('base64');
    const parts = blobs(7, b64);
    assert.equal(parts.length, Math.ceil(b64.length / BLOB_MAX_BASE64));
    const parsed = parts.flatMap((p) => parseAll(p));
    for (const ins of parsed) {
      assert.equal(ins.opcode, 'blob');
      assert.equal(ins.args[0], '7');
      assert.ok(ins.args[1]!.length <= BLOB_MAX_BASE64);
      assert.equal(ins.args[1]!.length % 4, 0);
      // Each blob decodes on its own (the browser calls atob() per blob).
      assert.equal(Buffer.from(ins.args[1]!, 'base64').toString('base64'), ins.args[1]);
    }
    assert.equal(parsed.map((i) => i.args[1]).join(''), b64);
    assert.deepEqual(Buffer.concat(parsed.map((i) => Buffer.from(i.args[1]!, 'base64'))), data);
    assert.deepEqual(blobs(1, ''), []);
    assert.throws(() => blobs(1, 'AAA'), RangeError);
    assert.throws(() => blobs(1, 'AAAA', 6), RangeError);
  });

  test('imageInstructions: img, blobs, end on one stream, reassembling to the image', () => {
    const image = Buffer.alloc(20_000, 0xab);
    const seq = imageInstructions(5, 0, 'image/jpeg', 64, 128, image);
    const parsed = parseAll(seq.join(''));
    assert.deepEqual(parsed[0], { opcode: 'img', args: ['5', '14', '0', 'image/jpeg', '64', '128'] });
    assert.deepEqual(parsed.at(-1), { opcode: 'end', args: ['5'] });
    const mid = parsed.slice(1, -1);
    assert.ok(mid.length >= 2 && mid.every((i) => i.opcode === 'blob' && i.args[0] === '5'));
    assert.deepEqual(Buffer.from(mid.map((i) => i.args[1]).join(''), 'base64'), image);
  });

  test('clipboardText: blobs cut between characters, text reassembles exactly', () => {
    const text = 'Setpoint 42 °C ✓ 液位 🔥 '.repeat(400);
    const seq = clipboardText(2, text, 1000);
    const parsed = parseAll(seq.join(''));
    assert.deepEqual(parsed[0], { opcode: 'clipboard', args: ['2', 'text/plain'] });
    assert.deepEqual(parsed.at(-1), { opcode: 'end', args: ['2'] });
    const pieces = parsed.slice(1, -1).map((i) => Buffer.from(i.args[1]!, 'base64'));
    assert.ok(pieces.length > 10);
    for (const p of pieces) {
      assert.ok(p.length <= 1000);
      assert.equal(new TextDecoder('utf-8', { fatal: true }).decode(p).length > 0, true); // valid UTF-8 alone
    }
    assert.equal(Buffer.concat(pieces).toString('utf8'), text);
  });
});

describe('GuacParser', () => {
  const stream = [
    encodeInstruction('size', 0, 1024, 768),
    encodeInstruction('name', 'Pump 🔥 制御盤'),
    encodeInstruction('', 'ping', 1234),
    encodeInstruction('clipboard', 1, 'text/plain'),
    encodeInstruction('blob', 1, 'w7bDpMO8'),
    encodeInstruction('end', 1),
    encodeInstruction('x', '', 'a,b;c.d', '\ud83d'), // separators inside values, a lone surrogate
    encodeInstruction('sync', 99),
  ];
  const expected: GuacInstruction[] = [
    { opcode: 'size', args: ['0', '1024', '768'] },
    { opcode: 'name', args: ['Pump 🔥 制御盤'] },
    { opcode: '', args: ['ping', '1234'] },
    { opcode: 'clipboard', args: ['1', 'text/plain'] },
    { opcode: 'blob', args: ['1', 'w7bDpMO8'] },
    { opcode: 'end', args: ['1'] },
    { opcode: 'x', args: ['', 'a,b;c.d', '\ud83d'] },
    { opcode: 'sync', args: ['99'] },
  ];
  const whole = stream.join('');

  test('whole input at once', () => {
    const p = new GuacParser();
    assert.deepEqual(p.receive(whole), expected);
    assert.equal(p.idle, true);
  });

  test('fed one UTF-16 unit at a time (splits surrogate pairs)', () => {
    const p = new GuacParser();
    const got: GuacInstruction[] = [];
    for (let i = 0; i < whole.length; i++) got.push(...p.receive(whole[i]!));
    assert.deepEqual(got, expected);
  });

  test('fed one UTF-8 byte at a time (splits multi-byte characters)', () => {
    // The lone surrogate cannot survive UTF-8; leave that instruction out here.
    const text = stream.filter((s) => !s.startsWith('1.x')).join('');
    const bytes = Buffer.from(text, 'utf8');
    const p = new GuacParser();
    const got: GuacInstruction[] = [];
    for (let i = 0; i < bytes.length; i++) got.push(...p.receive(bytes.subarray(i, i + 1)));
    assert.deepEqual(
      got,
      expected.filter((i) => i.opcode !== 'x'),
    );
  });

  test('random splits, strings and bytes, 300 seeds', () => {
    const text = stream.filter((s) => !s.startsWith('1.x')).join('');
    const bytes = Buffer.from(text, 'utf8');
    const want = expected.filter((i) => i.opcode !== 'x');
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const p = new GuacParser();
      const got: GuacInstruction[] = [];
      const useBytes = seed % 2 === 0;
      const total = useBytes ? bytes.length : whole.length;
      let i = 0;
      while (i < total) {
        const n = 1 + Math.floor(r() * 40);
        got.push(...(useBytes ? p.receive(bytes.subarray(i, i + n)) : p.receive(whole.slice(i, i + n))));
        i += n;
      }
      assert.deepEqual(got, useBytes ? want : expected, `seed ${seed}`);
    }
  });

  test('an incomplete instruction is held, not returned', () => {
    const p = new GuacParser();
    assert.deepEqual(p.receive('4.size,1.0,4.10'), []);
    assert.equal(p.idle, false);
    assert.deepEqual(p.receive('24,3.768;4.s'), [{ opcode: 'size', args: ['0', '1024', '768'] }]);
    assert.deepEqual(p.receive('ync,1.1;'), [{ opcode: 'sync', args: ['1'] }]);
    assert.equal(p.idle, true);
  });

  const malformed: [string, string, RegExp][] = [
    ['non-digit in length', '4.size,1x.0;', /expected a digit or '\.'/],
    ['negative length', '-1.a;', /expected a digit/],
    ['empty length', '.a;', /element length is empty/],
    ['length shorter than value', '3.size,1.0;', /expected ',' or ';'/],
    ['length longer than value (value eats the terminator)', '4.sync,5.1;4.end,1.1;', /expected ',' or ';'/],
    ['wrong terminator', '4.sync,1.1:', /expected ',' or ';'/],
    ['length past the instruction limit', '99999999.x', /exceeds the 16384-character instruction limit/],
    ['too many digits', '0000000000001.a;', /too many digits/],
    ['space before length', ' 4.sync,1.1;', /expected a digit/],
  ];
  for (const [label, input, message] of malformed) {
    test(`malformed: ${label}`, () => {
      assert.throws(() => new GuacParser().receive(input), (err: unknown) => err instanceof GuacProtocolError && message.test(err.message));
    });
  }

  test('too many elements', () => {
    const many = encodeInstruction('x', ...Array.from({ length: 64 }, (_, i) => i));
    assert.throws(() => new GuacParser().receive(many), /more than 64 elements/);
    const ok = encodeInstruction('x', ...Array.from({ length: 63 }, (_, i) => i));
    assert.equal(new GuacParser().receive(ok).length, 1);
  });

  test('missing terminator: fails at the limit instead of buffering forever', () => {
    const p = new GuacParser({ maxInstructionLength: 1024 });
    // A valid-looking stream of elements with no ';' ever: fails once 1024 characters are held.
    let threw: unknown = null;
    let fed = 0;
    try {
      for (let i = 0; i < 10_000; i++) {
        p.receive('1.a,');
        fed += 4;
      }
    } catch (err) {
      threw = err;
    }
    assert.ok(threw instanceof GuacProtocolError, 'must throw');
    assert.ok(fed <= 1024, `threw after ${fed} characters`);
    // One element whose declared length fits but whose instruction cannot: fails at the limit,
    // while the value is still arriving.
    const q = new GuacParser({ maxInstructionLength: 1024 });
    let held = 0;
    assert.throws(() => {
      q.receive('1020.');
      for (let i = 0; i < 200; i++) {
        q.receive('x'.repeat(10));
        held += 10;
      }
    }, /longer than 1024/);
    assert.ok(held <= 1024 && held >= 1010, `held ${held}`);
  });

  test('an instruction of exactly the limit passes, one character more fails', () => {
    const limit = 100;
    const mk = (n: number) => `1.x,${n}.${'a'.repeat(n)};`;
    const fit = Array.from({ length: 100 }, (_, n) => n).find((n) => mk(n).length === limit)!;
    assert.equal(new GuacParser({ maxInstructionLength: limit }).receive(mk(fit)).length, 1);
    assert.throws(() => new GuacParser({ maxInstructionLength: limit }).receive(mk(fit + 1)), GuacProtocolError);
  });

  test('after an error the parser stays failed', () => {
    const p = new GuacParser();
    assert.throws(() => p.receive('x'), GuacProtocolError);
    assert.throws(() => p.receive('4.sync,1.1;'), GuacProtocolError);
  });

  test('a long random garbage stream ends in an error quickly, never a hang', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const p = new GuacParser({ maxInstructionLength: 4096 });
      const t0 = performance.now();
      let failed = false;
      try {
        for (let i = 0; i < 2000; i++) {
          let chunk = '';
          for (let k = 0; k < 16; k++) chunk += '0123456789.,;a🔥'[Math.floor(r() * 15)];
          p.receive(chunk);
        }
      } catch (err) {
        assert.ok(err instanceof GuacProtocolError, String(err));
        failed = true;
      }
      assert.ok(failed, `seed ${seed}: 32000 random characters parsed without error`);
      assert.ok(performance.now() - t0 < 1000);
    }
  });
});
