/**
 * The changed regions of one framebuffer update, as the display layer consumes them.
 *
 * Ops come in the server's order. A `pixels` op means "this region changed: take its pixels from
 * the framebuffer now"; a `copy` op means "copy this region from there", which the display layer
 * can forward as a Guacamole `copy` instead of pixels.
 *
 * The contract (tested): starting from the previous framebuffer, applying the ops in order, each
 * `pixels` op with the framebuffer's contents at the time of the event and each `copy` op as a
 * copy, reproduces the framebuffer exactly. Taking pixels at event time rather than at decode time
 * is only wrong for a copy whose source was changed earlier in the update and is changed again by
 * it or after it; finalizeOps() turns such copies (rare: servers send CopyRects first) into
 * `pixels` ops of their destination. Proof sketch in docs/vnc.md.
 */

export interface RfbPixelsOp {
  op: 'pixels';
  x: number;
  y: number;
  w: number;
  h: number;
  /** The encoding the server used ('raw', 'zrle', 'tight', 'copyrect' for a downgraded copy). */
  encoding: string;
  /**
   * Tight JPEG: the server's JPEG of exactly this rectangle (already decoded into the
   * framebuffer). A display layer may forward it as is instead of re-encoding the pixels: it is
   * the rectangle as it was when decoded, which applied in order is never wrong.
   */
  jpeg?: Buffer;
}

export interface RfbCopyOp {
  op: 'copy';
  srcX: number;
  srcY: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export type RfbUpdateOp = RfbPixelsOp | RfbCopyOp;

/** Above this many ops in one update, every copy is downgraded (keeps the check linear). */
export const MAX_OPS_FOR_COPY_CHECK = 256;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function intersects(a: Box, b: Box): boolean {
  return a.w > 0 && a.h > 0 && b.w > 0 && b.h > 0 && a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Applies the downgrade rule in place and returns the ops. */
export function finalizeOps(ops: RfbUpdateOp[]): RfbUpdateOp[] {
  const many = ops.length > MAX_OPS_FOR_COPY_CHECK;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.op !== 'copy') continue;
    if (many || !copySafe(ops, i)) {
      ops[i] = { op: 'pixels', x: op.x, y: op.y, w: op.w, h: op.h, encoding: 'copyrect' };
    }
  }
  return ops;
}

/** The copy's source was not written before it in this update, or is not written from it on. */
function copySafe(ops: readonly RfbUpdateOp[], i: number): boolean {
  const c = ops[i] as RfbCopyOp;
  const src: Box = { x: c.srcX, y: c.srcY, w: c.w, h: c.h };
  let writtenBefore = false;
  for (let j = 0; j < i && !writtenBefore; j++) writtenBefore = intersects(src, ops[j]!);
  if (!writtenBefore) return true;
  for (let j = i; j < ops.length; j++) if (intersects(src, ops[j]!)) return false;
  return true;
}
