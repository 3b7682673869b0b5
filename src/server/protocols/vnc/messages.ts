/**
 * Server-to-client messages after ServerInit (RFC 6143 7.6), as a byte sub-parser that never
 * returns: FramebufferUpdate (Raw, CopyRect, ZRLE, Tight; DesktopSize, ExtendedDesktopSize,
 * LastRect, Cursor),
 * SetColourMapEntries (read and ignored: we asked for true colour), Bell, ServerCutText.
 *
 * Every rectangle is checked against the framebuffer before its payload is read, every length
 * against its bound before it is buffered; a violation throws (the client ends the connection).
 * Results go out through the MessageSink as they are decoded.
 */
import { ConnectError } from '../types.js';
import { cursorDataLength, decodeCursor, type RfbCursor } from './cursor.js';
import { Framebuffer } from './framebuffer.js';
import { ZStream } from './inflate.js';
import { deflateBound, desktopSizeProblem, type RfbLimits } from './limits.js';
import type { ByteParser } from './reader.js';
import { decodeTight } from './tight.js';
import { finalizeOps, type RfbUpdateOp } from './updates.js';
import { ENCODING, encodingName, type RfbScreen, SERVER_MSG } from './wire.js';
import { decodeZrle, zrleMaxBytes } from './zrle.js';

export interface MessageSink {
  /** A batch of changed regions: at the end of each update, and before a resize inside one. */
  update(ops: RfbUpdateOp[]): void;
  /** The framebuffer was replaced by one of another size (already in place). */
  resize(width: number, height: number): void;
  cursor(cursor: RfbCursor): void;
  clipboard(text: string): void;
  bell(): void;
  /** An ExtendedDesktopSize rectangle: the layout now (status 0), or why a request failed. */
  layout(layout: RfbLayout): void;
  /** A FramebufferUpdate message was fully processed (`resized`: it contained a DesktopSize). */
  updateDone(resized: boolean): void;
}

/** What an ExtendedDesktopSize rectangle says (rfbproto: x is the reason, y the status). */
export interface RfbLayout {
  /** 0 the server changed it, 1 this client asked, 2 another client asked. */
  reason: number;
  /** 0 done; 1 prohibited, 2 out of resources, 3 invalid layout (then the size is unchanged). */
  status: number;
  width: number;
  height: number;
  screens: RfbScreen[];
}

/** Server clipboard text over the limit is read through in pieces of this size, never kept. */
const SKIP_CHUNK = 64 * 1024;

function protocol(message: string): ConnectError {
  return new ConnectError('protocol', message);
}

export class MessageParser {
  fb: Framebuffer;
  private readonly zrle = new ZStream();
  private readonly tight = [new ZStream(), new ZStream(), new ZStream(), new ZStream()] as const;

  constructor(
    width: number,
    height: number,
    private readonly limits: RfbLimits,
    private readonly sink: MessageSink,
  ) {
    this.fb = new Framebuffer(width, height);
  }

  /** The largest single read this parser can ask for (the reader's safety net). */
  static maxRequest(limits: RfbLimits): number {
    const tiles = Math.ceil(limits.maxWidth / 64) * Math.ceil(limits.maxHeight / 64);
    const zrle = deflateBound(4 * limits.maxArea + tiles * 382);
    const jpeg = 4 * limits.maxArea + 64 * 1024;
    return Math.max(zrle, jpeg, limits.maxCutTextBytes, SKIP_CHUNK, 65535 * 6, cursorDataLength(limits.maxCursorSize, limits.maxCursorSize));
  }

  *run(): ByteParser {
    for (;;) {
      const type = (yield 1)[0]!;
      switch (type) {
        case SERVER_MSG.FRAMEBUFFER_UPDATE:
          yield* this.framebufferUpdate();
          break;
        case SERVER_MSG.SET_COLOUR_MAP_ENTRIES: {
          const head = yield 5;
          yield head.readUInt16BE(3) * 6; // colour map entries mean nothing in true colour
          break;
        }
        case SERVER_MSG.BELL:
          this.sink.bell();
          break;
        case SERVER_MSG.SERVER_CUT_TEXT:
          yield* this.serverCutText();
          break;
        default:
          throw protocol(`unknown server message type ${type}`);
      }
    }
  }

  /** A size change inside an update: the ops decoded so far go out first, then the new framebuffer. */
  private resizeTo(w: number, h: number, ops: RfbUpdateOp[]): void {
    const problem = desktopSizeProblem(w, h, this.limits);
    if (problem) throw protocol(problem);
    if (ops.length > 0) this.sink.update(finalizeOps(ops));
    this.fb = this.fb.resized(w, h);
    this.sink.resize(w, h);
  }

  private *serverCutText(): ByteParser {
    const len = (yield 7).readUInt32BE(3);
    if (len <= this.limits.maxCutTextBytes) {
      this.sink.clipboard((yield len).toString('latin1'));
      return;
    }
    for (let left = len; left > 0; left -= SKIP_CHUNK) yield Math.min(left, SKIP_CHUNK);
  }

  private *framebufferUpdate(): ByteParser {
    const count = (yield 3).readUInt16BE(1);
    let ops: RfbUpdateOp[] = [];
    let resized = false;
    for (let i = 0; i < count; i++) {
      const r = yield 12;
      const x = r.readUInt16BE(0);
      const y = r.readUInt16BE(2);
      const w = r.readUInt16BE(4);
      const h = r.readUInt16BE(6);
      const encoding = r.readInt32BE(8);

      if (encoding === ENCODING.LAST_RECT) break;
      if (encoding === ENCODING.DESKTOP_SIZE) {
        this.resizeTo(w, h, ops);
        ops = [];
        resized = true;
        continue;
      }
      if (encoding === ENCODING.EXTENDED_DESKTOP_SIZE) {
        const count = (yield 4)[0]!;
        const body = count > 0 ? yield 16 * count : Buffer.alloc(0);
        const screens: RfbScreen[] = [];
        for (let s = 0; s < count; s++) {
          const o = 16 * s;
          screens.push({ id: body.readUInt32BE(o), x: body.readUInt16BE(o + 4), y: body.readUInt16BE(o + 6), width: body.readUInt16BE(o + 8), height: body.readUInt16BE(o + 10), flags: body.readUInt32BE(o + 12) });
        }
        const layout: RfbLayout = { reason: x, status: y, width: w, height: h, screens };
        if (y === 0 && (w !== this.fb.width || h !== this.fb.height)) {
          this.resizeTo(w, h, ops);
          ops = [];
          resized = true;
        }
        this.sink.layout(layout);
        continue;
      }
      if (encoding === ENCODING.CURSOR) {
        if (w > this.limits.maxCursorSize || h > this.limits.maxCursorSize) {
          throw protocol(`cursor of ${w}x${h} exceeds the limit of ${this.limits.maxCursorSize} pixels a side`);
        }
        this.sink.cursor(decodeCursor(x, y, w, h, yield cursorDataLength(w, h)));
        continue;
      }

      if (!this.fb.contains(x, y, w, h)) {
        throw protocol(`${encodingName(encoding)} rectangle ${w}x${h} at ${x},${y} is outside the ${this.fb.width}x${this.fb.height} framebuffer`);
      }
      let jpeg: Buffer | undefined;
      switch (encoding) {
        case ENCODING.RAW:
          if (w > 0) for (let row = 0; row < h; row++) this.fb.putRowRGBX(x, y + row, w, yield w * 4, 0);
          break;
        case ENCODING.COPYRECT: {
          const s = yield 4;
          const srcX = s.readUInt16BE(0);
          const srcY = s.readUInt16BE(2);
          if (!this.fb.contains(srcX, srcY, w, h)) {
            throw protocol(`CopyRect source ${w}x${h} at ${srcX},${srcY} is outside the ${this.fb.width}x${this.fb.height} framebuffer`);
          }
          this.fb.copy(srcX, srcY, x, y, w, h);
          if (w > 0 && h > 0) ops.push({ op: 'copy', srcX, srcY, x, y, w, h });
          continue;
        }
        case ENCODING.ZRLE: {
          const len = (yield 4).readUInt32BE(0);
          const max = zrleMaxBytes(w, h);
          if (len > deflateBound(max)) throw protocol(`ZRLE data of ${len} bytes for a ${w}x${h} rectangle`);
          const data = this.zrle.inflate(yield len, max);
          decodeZrle(data, this.fb, x, y, w, h);
          break;
        }
        case ENCODING.TIGHT:
          jpeg = yield* decodeTight({ fb: this.fb, streams: this.tight }, x, y, w, h);
          break;
        default:
          throw protocol(`the server used encoding ${encoding}, which was not offered`);
      }
      if (w > 0 && h > 0) ops.push(jpeg ? { op: 'pixels', x, y, w, h, encoding: 'tight', jpeg } : { op: 'pixels', x, y, w, h, encoding: encodingName(encoding) });
    }
    if (ops.length > 0) this.sink.update(finalizeOps(ops));
    this.sink.updateDone(resized);
  }
}
