/**
 * RFB wire constants (RFC 6143 and the registered extensions we speak) and the encoders of the
 * messages the client sends. Decoding lives with the parser (client.ts and the encoding modules).
 */

export const SECURITY = { INVALID: 0, NONE: 1, VNC_AUTH: 2 } as const;

/** Server-to-client message types. */
export const SERVER_MSG = {
  FRAMEBUFFER_UPDATE: 0,
  SET_COLOUR_MAP_ENTRIES: 1,
  BELL: 2,
  SERVER_CUT_TEXT: 3,
} as const;

/** Client-to-server message types. */
export const CLIENT_MSG = {
  SET_PIXEL_FORMAT: 0,
  SET_ENCODINGS: 2,
  FRAMEBUFFER_UPDATE_REQUEST: 3,
  KEY_EVENT: 4,
  POINTER_EVENT: 5,
  CLIENT_CUT_TEXT: 6,
  /** ExtendedDesktopSize extension (rfbproto): the client asks for a new desktop size. */
  SET_DESKTOP_SIZE: 251,
} as const;

export const ENCODING = {
  RAW: 0,
  COPYRECT: 1,
  TIGHT: 7,
  ZRLE: 16,
  /** Pseudo-encodings. */
  DESKTOP_SIZE: -223,
  LAST_RECT: -224,
  CURSOR: -239,
  /** The server can change the desktop size on the client's request (SetDesktopSize). */
  EXTENDED_DESKTOP_SIZE: -308,
  /** -32 = JPEG quality 0 ... -23 = quality 9 (Tight JPEG). */
  JPEG_QUALITY_0: -32,
  /** -256 = compression level 0 ... -247 = level 9. */
  COMPRESS_LEVEL_0: -256,
} as const;

export type RfbEncodingName = 'raw' | 'copyrect' | 'zrle' | 'tight';

export const ENCODING_BY_NAME: Readonly<Record<RfbEncodingName, number>> = {
  raw: ENCODING.RAW,
  copyrect: ENCODING.COPYRECT,
  zrle: ENCODING.ZRLE,
  tight: ENCODING.TIGHT,
};

export function encodingName(code: number): string {
  for (const [name, value] of Object.entries(ENCODING_BY_NAME)) if (value === code) return name;
  return String(code);
}

/** Default preference: Tight (JPEG when a quality is set), ZRLE, CopyRect, Raw. */
export const DEFAULT_ENCODINGS: readonly RfbEncodingName[] = ['tight', 'zrle', 'copyrect', 'raw'];

export interface EncodingChoice {
  encodings: readonly RfbEncodingName[];
  /** 0..9; adds the JPEG quality pseudo-encoding, which is what lets a server use Tight JPEG. */
  jpegQuality?: number;
  /** 0..9; the zlib effort hint for Tight and ZRLE. */
  compressLevel?: number;
  /** Ask for the cursor as an image (Cursor pseudo-encoding) instead of drawn into the frame. */
  cursor: boolean;
  /** Offer ExtendedDesktopSize, so the client may ask the server to resize (SetDesktopSize). */
  extendedDesktopSize?: boolean;
}

/** The SetEncodings list: real encodings in preference order (Raw always last), then pseudo. */
export function encodingList(choice: EncodingChoice): number[] {
  const out: number[] = [];
  for (const name of choice.encodings) {
    const code = ENCODING_BY_NAME[name];
    if (code === undefined) throw new RangeError(`unknown RFB encoding: ${String(name)}`);
    if (!out.includes(code)) out.push(code);
  }
  if (!out.includes(ENCODING.RAW)) out.push(ENCODING.RAW); // every server must be able to fall back
  out.push(ENCODING.DESKTOP_SIZE, ENCODING.LAST_RECT);
  if (choice.extendedDesktopSize) out.push(ENCODING.EXTENDED_DESKTOP_SIZE);
  if (choice.cursor) out.push(ENCODING.CURSOR);
  if (choice.jpegQuality !== undefined) out.push(ENCODING.JPEG_QUALITY_0 + level(choice.jpegQuality, 'jpegQuality'));
  if (choice.compressLevel !== undefined) out.push(ENCODING.COMPRESS_LEVEL_0 + level(choice.compressLevel, 'compressLevel'));
  return out;
}

function level(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 9) throw new RangeError(`${what} must be an integer 0..9`);
  return v;
}

export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

/**
 * The one format the client asks for: 32 bpp little-endian true colour, depth 24, red in the
 * lowest byte. In memory a pixel is then R, G, B, pad, so Raw is a copy plus an alpha byte, and
 * both ZRLE's CPIXEL and Tight's TPIXEL are 3 bytes R, G, B.
 */
export const CLIENT_PIXEL_FORMAT: Readonly<PixelFormat> = Object.freeze({
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 0,
  greenShift: 8,
  blueShift: 16,
});

export function encodePixelFormat(pf: PixelFormat): Buffer {
  const b = Buffer.alloc(16);
  b[0] = pf.bitsPerPixel;
  b[1] = pf.depth;
  b[2] = pf.bigEndian ? 1 : 0;
  b[3] = pf.trueColour ? 1 : 0;
  b.writeUInt16BE(pf.redMax, 4);
  b.writeUInt16BE(pf.greenMax, 6);
  b.writeUInt16BE(pf.blueMax, 8);
  b[10] = pf.redShift;
  b[11] = pf.greenShift;
  b[12] = pf.blueShift;
  return b;
}

export function decodePixelFormat(b: Buffer, offset = 0): PixelFormat {
  return {
    bitsPerPixel: b[offset]!,
    depth: b[offset + 1]!,
    bigEndian: b[offset + 2] !== 0,
    trueColour: b[offset + 3] !== 0,
    redMax: b.readUInt16BE(offset + 4),
    greenMax: b.readUInt16BE(offset + 6),
    blueMax: b.readUInt16BE(offset + 8),
    redShift: b[offset + 10]!,
    greenShift: b[offset + 11]!,
    blueShift: b[offset + 12]!,
  };
}

export function setPixelFormatMsg(pf: PixelFormat): Buffer {
  return Buffer.concat([Buffer.from([CLIENT_MSG.SET_PIXEL_FORMAT, 0, 0, 0]), encodePixelFormat(pf)]);
}

export function setEncodingsMsg(codes: readonly number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * codes.length);
  b[0] = CLIENT_MSG.SET_ENCODINGS;
  b.writeUInt16BE(codes.length, 2);
  codes.forEach((c, i) => b.writeInt32BE(c, 4 + 4 * i));
  return b;
}

export function updateRequestMsg(incremental: boolean, x: number, y: number, w: number, h: number): Buffer {
  const b = Buffer.alloc(10);
  b[0] = CLIENT_MSG.FRAMEBUFFER_UPDATE_REQUEST;
  b[1] = incremental ? 1 : 0;
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  b.writeUInt16BE(w, 6);
  b.writeUInt16BE(h, 8);
  return b;
}

export function keyEventMsg(keysym: number, down: boolean): Buffer {
  const b = Buffer.alloc(8);
  b[0] = CLIENT_MSG.KEY_EVENT;
  b[1] = down ? 1 : 0;
  b.writeUInt32BE(keysym >>> 0, 4);
  return b;
}

export function pointerEventMsg(mask: number, x: number, y: number): Buffer {
  const b = Buffer.alloc(6);
  b[0] = CLIENT_MSG.POINTER_EVENT;
  b[1] = mask & 0xff;
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  return b;
}

/** One screen of an ExtendedDesktopSize layout. */
export interface RfbScreen {
  id: number;
  x: number;
  y: number;
  width: number;
  height: number;
  flags: number;
}

/** SetDesktopSize: the whole desktop becomes width x height, laid out as `screens`. */
export function setDesktopSizeMsg(width: number, height: number, screens: readonly RfbScreen[]): Buffer {
  const b = Buffer.alloc(8 + 16 * screens.length);
  b[0] = CLIENT_MSG.SET_DESKTOP_SIZE;
  b.writeUInt16BE(width, 2);
  b.writeUInt16BE(height, 4);
  b[6] = screens.length;
  screens.forEach((s, i) => {
    const o = 8 + 16 * i;
    b.writeUInt32BE(s.id >>> 0, o);
    b.writeUInt16BE(s.x, o + 4);
    b.writeUInt16BE(s.y, o + 6);
    b.writeUInt16BE(s.width, o + 8);
    b.writeUInt16BE(s.height, o + 10);
    b.writeUInt32BE(s.flags >>> 0, o + 12);
  });
  return b;
}

/** RFB cut text is Latin-1; characters outside it become '?'. */
export function latin1(text: string): Buffer {
  const b = Buffer.alloc(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    b[i] = c < 256 ? c : 0x3f;
  }
  return b;
}

export function clientCutTextMsg(text: Buffer): Buffer {
  const b = Buffer.alloc(8 + text.length);
  b[0] = CLIENT_MSG.CLIENT_CUT_TEXT;
  b.writeUInt32BE(text.length, 4);
  text.copy(b, 8);
  return b;
}

/** A desktop name or reason string: UTF-8 when it is valid UTF-8, else Latin-1 (older servers). */
export function decodeText(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}
