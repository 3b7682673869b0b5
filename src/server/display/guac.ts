/**
 * The Guacamole protocol's wire format, and builders for the server->client instructions the
 * gateway sends to guacamole-common-js 1.5.0 (and writes to `.guac` recordings).
 *
 * An instruction is `LENGTH.VALUE` elements separated by ',' and terminated by ';', the first
 * element being the opcode: `4.size,1.0,4.1024,3.768;`. LENGTH is the number of Unicode code
 * points in VALUE: not UTF-8 bytes, not UTF-16 units. We count exactly as the browser side does
 * (Guacamole.Parser.codePointCount in 1.5.0): a well-formed surrogate pair is one code point, a
 * lone surrogate counts as one. Getting this wrong for a single emoji in a window title or a
 * clipboard shifts every later element and the client drops the connection.
 *
 * The parser is for what comes back (mouse, key, size, sync, clipboard streams) and for reading
 * recordings: it is a resumable state machine with hard limits, so a hostile or broken peer gets a
 * GuacProtocolError, never an unbounded buffer or a hang. After an error the parser stays failed:
 * the protocol has no way to find the next instruction boundary again.
 */
import { StringDecoder } from 'node:string_decoder';

export class GuacProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuacProtocolError';
  }
}

export interface GuacInstruction {
  opcode: string;
  args: string[];
}

/** Number of Unicode code points in `s`, as Guacamole counts them (lone surrogates count 1). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function element(value: string | number): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new GuacProtocolError(`cannot encode the number ${value}`);
    const s = String(value);
    return `${s.length}.${s}`;
  }
  return `${codePointLength(value)}.${value}`;
}

/**
 * The empty opcode is legal: guacamole-common-js's WebSocket tunnel uses it for its own messages
 * (`0.,36.<uuid>;` from the server at connect, `0.,4.ping,13.<ms>;` keep-alives from the browser).
 */
export const INTERNAL_OPCODE = '';

/** One complete instruction: `encodeInstruction('size', 0, 1024, 768)` -> `4.size,1.0,4.1024,3.768;`. */
export function encodeInstruction(opcode: string, ...args: (string | number)[]): string {
  let out = element(opcode);
  for (const a of args) out += ',' + element(a);
  return out + ';';
}

// ---------------------------------------------------------------------------------------------
// Parser

export interface GuacParserLimits {
  /** Longest instruction, in UTF-16 units of its encoded form (lengths, dots, commas included). */
  maxInstructionLength?: number;
  /** Most elements (opcode included) in one instruction. */
  maxElements?: number;
}

export const GUAC_PARSER_DEFAULTS = { maxInstructionLength: 16 * 1024, maxElements: 64 } as const;

/** Digits allowed in a LENGTH prefix: enough for any length under the limit, no more. */
const MAX_LENGTH_DIGITS = 9;

const enum Phase {
  Length,
  Value,
  Terminator,
}

/**
 * Streaming parser: receive() any split of the byte or character stream, get back the
 * instructions it completed. Buffer chunks go through a StringDecoder, so a UTF-8 sequence split
 * between two chunks is joined before counting.
 */
export class GuacParser {
  private readonly maxInstructionLength: number;
  private readonly maxElements: number;
  private readonly decoder = new StringDecoder('utf8');
  /** Unconsumed text; starts at the current instruction's first character. */
  private buf = '';
  /** Parse position in buf. */
  private pos = 0;
  private phase = Phase.Length;
  private lengthValue = 0;
  private lengthDigits = 0;
  /** Code points of the current element still to read, and where its value starts in buf. */
  private remaining = 0;
  private valueStart = 0;
  private elements: string[] = [];
  private failure: GuacProtocolError | null = null;

  constructor(limits: GuacParserLimits = {}) {
    this.maxInstructionLength = limits.maxInstructionLength ?? GUAC_PARSER_DEFAULTS.maxInstructionLength;
    this.maxElements = limits.maxElements ?? GUAC_PARSER_DEFAULTS.maxElements;
  }

  /** Parses a chunk; returns the instructions it completed, in order. Throws GuacProtocolError. */
  receive(chunk: string | Uint8Array): GuacInstruction[] {
    if (this.failure) throw this.failure;
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buf += text;
    const out: GuacInstruction[] = [];
    try {
      this.parse(out);
    } catch (err) {
      if (err instanceof GuacProtocolError) {
        this.failure = err;
        this.buf = '';
      }
      throw err;
    }
    return out;
  }

  /** True when no partial instruction is buffered (a clean place for the stream to end). */
  get idle(): boolean {
    return this.buf.length === 0 && this.phase === Phase.Length && this.lengthDigits === 0 && this.elements.length === 0;
  }

  private fail(message: string): never {
    throw new GuacProtocolError(message);
  }

  private parse(out: GuacInstruction[]): void {
    const buf = this.buf;
    let pos = this.pos;
    // Start of the current instruction in buf: everything before it is consumed.
    let start = 0;
    const limit = this.maxInstructionLength;
    while (pos < buf.length) {
      if (pos - start >= limit) this.fail(`instruction longer than ${limit} characters`);
      if (this.phase === Phase.Length) {
        const c = buf.charCodeAt(pos);
        if (c >= 0x30 && c <= 0x39) {
          if (++this.lengthDigits > MAX_LENGTH_DIGITS) this.fail('element length has too many digits');
          this.lengthValue = this.lengthValue * 10 + (c - 0x30);
          if (this.lengthValue > limit) this.fail(`element length ${this.lengthValue} exceeds the ${limit}-character instruction limit`);
          pos++;
        } else if (c === 0x2e /* . */) {
          if (this.lengthDigits === 0) this.fail('element length is empty');
          if (this.elements.length >= this.maxElements) this.fail(`more than ${this.maxElements} elements in one instruction`);
          pos++;
          this.remaining = this.lengthValue;
          this.valueStart = pos;
          this.lengthValue = 0;
          this.lengthDigits = 0;
          this.phase = this.remaining === 0 ? Phase.Terminator : Phase.Value;
        } else {
          this.fail(`expected a digit or '.' in element length, got ${describe(c)}`);
        }
      } else if (this.phase === Phase.Value) {
        // Count code points; a high surrogate needs the next unit to know if it pairs.
        let rem = this.remaining;
        const end = Math.min(buf.length, start + limit);
        while (rem > 0 && pos < end) {
          const c = buf.charCodeAt(pos);
          if (c >= 0xd800 && c <= 0xdbff) {
            if (pos + 1 >= buf.length) break;
            const d = buf.charCodeAt(pos + 1);
            pos += d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
          } else {
            pos++;
          }
          rem--;
        }
        this.remaining = rem;
        if (rem === 0) this.phase = Phase.Terminator;
        else if (pos - start >= limit) this.fail(`instruction longer than ${limit} characters`);
        else break; // need more data
      } else {
        const c = buf.charCodeAt(pos);
        if (c !== 0x2c /* , */ && c !== 0x3b /* ; */) {
          this.fail(`expected ',' or ';' after an element, got ${describe(c)} (element length wrong?)`);
        }
        this.elements.push(buf.slice(this.valueStart, pos));
        pos++;
        this.phase = Phase.Length;
        if (c === 0x3b) {
          const [opcode = '', ...args] = this.elements;
          out.push({ opcode, args });
          this.elements = [];
          start = pos;
        }
      }
    }
    // Keep only the unfinished instruction; indices become relative to it.
    this.buf = buf.slice(start);
    this.pos = pos - start;
    this.valueStart -= start;
  }
}

function describe(c: number): string {
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Builders for what the gateway sends. Argument orders follow the Guacamole protocol reference
// and the instruction handlers of guacamole-common-js 1.5.0's Guacamole.Client.

/** Channel masks (Porter-Duff compositing) for img/copy. OVER is what guacd uses for images. */
export const GUAC_COMPOSITE = {
  ROUT: 0x2,
  ATOP: 0x6,
  XOR: 0xa,
  ROVER: 0xb,
  OVER: 0xe,
  PLUS: 0xf,
  RIN: 0x1,
  IN: 0x4,
  OUT: 0x8,
  RATOP: 0x9,
  SRC: 0xc,
} as const;

/** Status codes for `error` (and `ack`), from the protocol reference. */
export const GUAC_STATUS = {
  SUCCESS: 0x0000,
  UNSUPPORTED: 0x0100,
  SERVER_ERROR: 0x0200,
  SERVER_BUSY: 0x0201,
  UPSTREAM_TIMEOUT: 0x0202,
  UPSTREAM_ERROR: 0x0203,
  RESOURCE_NOT_FOUND: 0x0204,
  RESOURCE_CONFLICT: 0x0205,
  RESOURCE_CLOSED: 0x0206,
  UPSTREAM_NOT_FOUND: 0x0207,
  UPSTREAM_UNAVAILABLE: 0x0208,
  SESSION_CONFLICT: 0x0209,
  SESSION_TIMEOUT: 0x020a,
  SESSION_CLOSED: 0x020b,
  CLIENT_BAD_REQUEST: 0x0300,
  CLIENT_UNAUTHORIZED: 0x0301,
  CLIENT_FORBIDDEN: 0x0303,
  CLIENT_TIMEOUT: 0x0308,
  CLIENT_OVERRUN: 0x030d,
  CLIENT_BAD_TYPE: 0x030f,
  CLIENT_TOO_MANY: 0x031d,
} as const;

/** Layer 0 is the visible default layer; positive indices are other layers, negative are buffers. */
export const DEFAULT_LAYER = 0;

/**
 * Largest base64 payload per `blob`. guacd sends at most 6048 raw bytes (8064 base64 characters)
 * per blob; 6144 characters (4608 bytes) keeps each instruction well under an 8 KiB parser limit
 * and is a multiple of 4, so every blob decodes on its own (the browser runs atob() per blob).
 */
export const BLOB_MAX_BASE64 = 6144;

/** `size,layer,width,height;` resizes a layer (layer 0: the whole display). */
export const size = (layer: number, width: number, height: number): string => encodeInstruction('size', layer, width, height);

/**
 * `img,stream,mask,layer,mimetype,x,y;` opens an image stream whose blobs, once `end` arrives, are
 * decoded and drawn at (x, y) of `layer` with compositing `mask`.
 */
export const img = (stream: number, mask: number, layer: number, mimetype: string, x: number, y: number): string =>
  encodeInstruction('img', stream, mask, layer, mimetype, x, y);

/** `blob,stream,data;` one piece of a stream, base64. */
export const blob = (stream: number, base64: string): string => encodeInstruction('blob', stream, base64);

/** `end,stream;` closes a stream (for img: draw it now). */
export const end = (stream: number): string => encodeInstruction('end', stream);

/**
 * `copy,srclayer,srcx,srcy,srcwidth,srcheight,mask,dstlayer,dstx,dsty;` copies a rectangle
 * between (or within) layers: what RFB CopyRect becomes.
 */
export const copy = (
  srcLayer: number,
  srcX: number,
  srcY: number,
  srcWidth: number,
  srcHeight: number,
  mask: number,
  dstLayer: number,
  dstX: number,
  dstY: number,
): string => encodeInstruction('copy', srcLayer, srcX, srcY, srcWidth, srcHeight, mask, dstLayer, dstX, dstY);

/**
 * `cursor,x,y,srclayer,srcx,srcy,srcwidth,srcheight;` sets the mouse cursor to a rectangle of
 * `srcLayer` (usually a buffer, negative index, drawn with an RGBA PNG first) with hotspot (x, y).
 */
export const cursor = (hotspotX: number, hotspotY: number, srcLayer: number, srcX: number, srcY: number, srcWidth: number, srcHeight: number): string =>
  encodeInstruction('cursor', hotspotX, hotspotY, srcLayer, srcX, srcY, srcWidth, srcHeight);

/**
 * `sync,timestamp;` ends a frame: the client flushes its drawing and answers with the same
 * timestamp (ms), which is how the server measures the client's lag. Recordings use these
 * timestamps for playback timing. (`frames` is an optional second argument newer clients read.)
 */
export const sync = (timestampMs: number, frames?: number): string =>
  frames === undefined ? encodeInstruction('sync', Math.floor(timestampMs)) : encodeInstruction('sync', Math.floor(timestampMs), frames);

/** `error,text,status;` the client shows `text` and disconnects. */
export const error = (text: string, status: number): string => encodeInstruction('error', text, status);

/** `disconnect;` */
export const disconnect = (): string => encodeInstruction('disconnect');

/** `name,name;` the connection's display name (window title). */
export const name = (displayName: string): string => encodeInstruction('name', displayName);

/** `clipboard,stream,mimetype;` opens a clipboard stream; data follows as blobs, then `end`. */
export const clipboard = (stream: number, mimetype: string): string => encodeInstruction('clipboard', stream, mimetype);

/** Splits base64 into `blob` instructions of at most `max` characters (a multiple of 4). */
export function blobs(stream: number, base64: string, max: number = BLOB_MAX_BASE64): string[] {
  if (!Number.isInteger(max) || max < 4 || max % 4 !== 0) throw new RangeError(`blob size must be a positive multiple of 4, got ${max}`);
  if (base64.length % 4 !== 0) throw new RangeError('base64 length must be a multiple of 4');
  const out: string[] = [];
  for (let i = 0; i < base64.length; i += max) out.push(blob(stream, base64.slice(i, i + max)));
  return out;
}

/**
 * The instruction sequence that draws an encoded image: `img`, its data as `blob`s, `end`.
 * `mask` defaults to OVER (14), what guacd uses; for opaque RGB images OVER and SRC draw alike.
 */
export function imageInstructions(
  stream: number,
  layer: number,
  mimetype: 'image/png' | 'image/jpeg' | 'image/webp',
  x: number,
  y: number,
  data: Uint8Array,
  mask: number = GUAC_COMPOSITE.OVER,
): string[] {
  const base64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  return [img(stream, mask, layer, mimetype, x, y), ...blobs(stream, base64), end(stream)];
}

/**
 * Clipboard text as `clipboard`, `blob`s, `end`. The UTF-8 is cut between characters, never inside
 * one, so each blob is valid UTF-8 by itself (the 1.5.0 StringReader copes with split sequences,
 * older readers and log tools do not).
 */
export function clipboardText(stream: number, text: string, maxBytes: number = (BLOB_MAX_BASE64 / 4) * 3): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const out = [clipboard(stream, 'text/plain')];
  let i = 0;
  while (i < bytes.length) {
    let j = Math.min(bytes.length, i + maxBytes);
    // Back off to a character start: continuation bytes are 10xxxxxx.
    while (j < bytes.length && j > i && (bytes[j]! & 0xc0) === 0x80) j--;
    if (j === i) j = Math.min(bytes.length, i + maxBytes); // maxBytes < 4: cannot respect boundaries
    out.push(blob(stream, bytes.subarray(i, j).toString('base64')));
    i = j;
  }
  out.push(end(stream));
  return out;
}
