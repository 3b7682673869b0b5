/**
 * What the RFB client accepts from a server. A VNC server on the OT side is untrusted input: every
 * size it announces is checked against these numbers before a byte of the payload is buffered or
 * a buffer is allocated, so one connection's memory stays bounded by roughly
 * 2 x (framebuffer) + (largest compressed rectangle).
 */
export interface RfbLimits {
  /** Largest framebuffer width and height accepted (ServerInit and DesktopSize). */
  maxWidth: number;
  maxHeight: number;
  /** Largest framebuffer area in pixels (the framebuffer costs 4 bytes per pixel). */
  maxArea: number;
  /** Desktop name bytes kept; a longer name is a protocol error. */
  maxNameBytes: number;
  /** Server clipboard text kept; longer text is read through and dropped (no event). */
  maxCutTextBytes: number;
  /** Largest cursor image (each side), in pixels. */
  maxCursorSize: number;
  /** Reason strings (security failure) kept; longer ones are a protocol error. */
  maxReasonBytes: number;
}

export const DEFAULT_LIMITS: Readonly<RfbLimits> = Object.freeze({
  maxWidth: 8192,
  maxHeight: 8192,
  maxArea: 4096 * 4096, // 64 MiB of RGBA; 8192x2048 or 4096x4096 fit, 8192x8192 does not
  maxNameBytes: 4096,
  maxCutTextBytes: 1024 * 1024,
  maxCursorSize: 512,
  maxReasonBytes: 4096,
});

/** Hard ceilings no option can raise: the protocol's own field widths and sane memory. */
const CEILING: Readonly<RfbLimits> = Object.freeze({
  maxWidth: 65535,
  maxHeight: 65535,
  maxArea: 8192 * 8192,
  maxNameBytes: 65536,
  maxCutTextBytes: 64 * 1024 * 1024,
  maxCursorSize: 1024,
  maxReasonBytes: 65536,
});

export function resolveLimits(partial: Partial<RfbLimits> | undefined): RfbLimits {
  const out = { ...DEFAULT_LIMITS };
  if (!partial) return out;
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof RfbLimits)[]) {
    const v = partial[key];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`RFB limit ${key} must be a non-negative integer`);
    out[key] = Math.min(v, CEILING[key]);
  }
  return out;
}

/** Why a desktop size is refused, or undefined when it is acceptable. */
export function desktopSizeProblem(width: number, height: number, limits: RfbLimits): string | undefined {
  if (width > limits.maxWidth || height > limits.maxHeight) {
    return `desktop size ${width}x${height} exceeds the limit of ${limits.maxWidth}x${limits.maxHeight}`;
  }
  if (width * height > limits.maxArea) {
    return `desktop size ${width}x${height} exceeds the limit of ${limits.maxArea} pixels`;
  }
  return undefined;
}

/** zlib's worst-case growth of incompressible data, plus the framing of a sync flush. */
export function deflateBound(rawBytes: number): number {
  return rawBytes + (rawBytes >>> 10) + 64;
}
