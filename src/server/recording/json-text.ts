import { isUtf8 } from 'node:buffer';
import { WASM } from './wasm/json-escape.js';

/**
 * Terminal bytes to asciicast event lines without a detour through JavaScript strings.
 *
 * The recorder sees every byte a session shows. Decoding it to a string, JSON.stringify-ing that
 * and encoding the line back to UTF-8 cost about as much CPU as the rest of the relay. Here valid
 * UTF-8 (checked natively with buffer.isUtf8) is escaped straight into the line by a small
 * WebAssembly SIMD loop (wasm/json-escape.wat), with output byte-identical to the string path. Text
 * holding invalid UTF-8 takes the string path, where each invalid sequence becomes U+FFFD.
 */

/** A chunk is cut into events of at most this many bytes, never inside a UTF-8 sequence. */
export const MAX_EVENT_BYTES = 32 * 1024;

/** Where the text goes in the module's memory; the tables of json-escape.wat sit below. */
const SRC = 1024;

interface Escaper {
  escape(src: number, n: number, dst: number): number;
  memory: WebAssembly.Memory;
}

const escaper = new WebAssembly.Instance(new WebAssembly.Module(WASM)).exports as unknown as Escaper;
let view = Buffer.from(escaper.memory.buffer);

/** Makes room for a source of n bytes and a line of up to 6n + 64; returns where the line starts. */
function room(n: number): number {
  const dst = SRC + n + 16;
  const need = dst + 6 * n + 64;
  if (need > view.length) {
    escaper.memory.grow(Math.ceil((need - view.length) / 65536));
    view = Buffer.from(escaper.memory.buffer);
  }
  return dst;
}

/** `[t, "code", "text"]\n` with text given as UTF-8 bytes (U+FFFD for invalid sequences). */
export function eventLine(t: number, code: string, text: Buffer): Buffer {
  const head = `[${t.toFixed(6)}, ${JSON.stringify(code)}, "`;
  if (!isUtf8(text)) return Buffer.from(`${head}${JSON.stringify(text.toString('utf8')).slice(1)}]\n`);
  const dst = room(text.length);
  view.set(text, SRC);
  let o = dst + view.write(head, dst, 'latin1');
  o = escaper.escape(SRC, text.length, o);
  view[o++] = 0x22; // "
  view[o++] = 0x5d; // ]
  view[o++] = 0x0a; // \n
  return Buffer.from(view.subarray(dst, o));
}

/** `[t, "code", "text"]\n` for text already a string. */
export function eventLineOf(t: number, code: string, text: string): Buffer {
  return Buffer.from(`[${t.toFixed(6)}, ${JSON.stringify(code)}, ${JSON.stringify(text)}]\n`);
}

const isContinuation = (b: number) => (b & 0xc0) === 0x80;

/** Bytes in the UTF-8 sequence a lead byte starts (0 for a byte that cannot start one). */
function sequenceLength(b: number): number {
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/**
 * One direction of a session's bytes cut into event texts: a UTF-8 sequence split across chunks is
 * held back until its end arrives, so no event starts or ends inside a character, and the events,
 * decoded one by one, give exactly what decoding the whole stream at once would.
 */
export class Utf8Splitter {
  private carry: Buffer | null = null;

  /** The complete text of this chunk (and what was held back before it), in event-sized pieces. */
  write(chunk: Buffer): Buffer[] {
    let data = chunk;
    if (this.carry) {
      data = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    const end = data.length - heldBack(data);
    if (end < data.length) this.carry = Buffer.from(data.subarray(end));
    const out: Buffer[] = [];
    let i = 0;
    while (i < end) {
      let j = Math.min(i + MAX_EVENT_BYTES, end);
      if (j < end) {
        // Step back to the start of the character the cut falls in (at most three bytes).
        let k = j;
        while (k > j - 3 && k > i + 1 && isContinuation(data[k]!)) k--;
        if (!isContinuation(data[k]!)) j = k;
      }
      out.push(data.subarray(i, j));
      i = j;
    }
    return out;
  }

  /** What is still held back (an incomplete character at the end of the stream), or null. */
  end(): Buffer | null {
    const c = this.carry;
    this.carry = null;
    return c;
  }
}

/** How many bytes at the end of data are the start of a character still missing bytes (0-3). */
function heldBack(data: Buffer): number {
  for (let k = 1; k <= 3 && k <= data.length; k++) {
    const b = data[data.length - k]!;
    if (b < 0x80) return 0;
    if (!isContinuation(b)) return sequenceLength(b) > k ? k : 0;
  }
  return 0;
}
