/**
 * Cursor pseudo-encoding (-239): the rectangle's x, y are the hotspot, w x h the image; the data is
 * w*h pixels in our pixel format (R, G, B, pad) followed by a 1-bit mask, rows padded to a byte,
 * most significant bit first. The result is an RGBA image (mask bit -> alpha 255 or 0) the display
 * layer can send to the browser as its cursor.
 */

export interface RfbCursor {
  /** Hotspot inside the image. */
  hotX: number;
  hotY: number;
  width: number;
  height: number;
  /** width * height * 4 bytes RGBA; empty for an invisible (0x0) cursor. */
  rgba: Uint8Array;
}

/** Bytes of cursor data that follow the rectangle header. */
export function cursorDataLength(w: number, h: number): number {
  return w * h * 4 + ((w + 7) >> 3) * h;
}

export function decodeCursor(hotX: number, hotY: number, w: number, h: number, data: Uint8Array): RfbCursor {
  const rgba = new Uint8Array(w * h * 4);
  const maskOff = w * h * 4;
  const maskRow = (w + 7) >> 3;
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      const o = (row * w + col) * 4;
      rgba[o] = data[o]!;
      rgba[o + 1] = data[o + 1]!;
      rgba[o + 2] = data[o + 2]!;
      rgba[o + 3] = (data[maskOff + row * maskRow + (col >> 3)]! >> (7 - (col & 7))) & 1 ? 255 : 0;
    }
  }
  // A hotspot outside the image is clamped onto it rather than refused: harmless, and a browser
  // cursor needs it inside.
  return {
    hotX: w === 0 ? 0 : Math.min(hotX, w - 1),
    hotY: h === 0 ? 0 : Math.min(hotY, h - 1),
    width: w,
    height: h,
    rgba,
  };
}
