/**
 * The private X server of one RDP session: display numbers, the xauth cookie, and a minimal RFB
 * peek at its Unix socket (banner check, and "has anything been drawn yet?").
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';

export const DEFAULT_DISPLAY_RANGE: readonly [number, number] = [300, 899];

/** Display numbers picked by this process and not yet released. */
const reserved = new Set<number>();

function abstractSockets(): string {
  try {
    return readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return '';
  }
}

export function displayTaken(n: number, netUnix = abstractSockets()): boolean {
  return (
    reserved.has(n) ||
    existsSync(`/tmp/.X${n}-lock`) ||
    existsSync(`/tmp/.X11-unix/X${n}`) ||
    netUnix.includes(`@/tmp/.X11-unix/X${n}\n`)
  );
}

/**
 * Reserves a free display number in [from, to]: from a random point (spreads concurrent sessions)
 * or the first free one ('first', the lab's fixed-looking numbers). One bookkeeping for the
 * gateway and the lab, which share a process in the demo and the tests.
 */
export function reserveDisplay(range: readonly [number, number] = DEFAULT_DISPLAY_RANGE, order: 'random' | 'first' = 'random'): number {
  const [from, to] = range;
  const span = to - from + 1;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || span < 1) throw new Error(`invalid X display range ${from}-${to}`);
  const netUnix = abstractSockets();
  const start = order === 'first' ? 0 : randomBytes(2).readUInt16BE() % span;
  for (let i = 0; i < span; i++) {
    const n = from + ((start + i) % span);
    if (!displayTaken(n, netUnix)) {
      reserved.add(n);
      return n;
    }
  }
  throw new Error(`no free X display number in ${from}-${to}`);
}

export function releaseDisplay(n: number): void {
  reserved.delete(n);
}

/**
 * Xauthority file (mode 0600) with one MIT-MAGIC-COOKIE-1 entry for display `n`, any host. A
 * session's is new ('wx'); the lab rewrites its own on every start (`overwrite`).
 */
export function writeXauthority(file: string, display: number, o: { overwrite?: boolean } = {}): void {
  const field = (b: Buffer): Buffer => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const family = Buffer.alloc(2);
  family.writeUInt16BE(0xffff); // FamilyWild
  writeFileSync(
    file,
    Buffer.concat([family, field(Buffer.alloc(0)), field(Buffer.from(String(display))), field(Buffer.from('MIT-MAGIC-COOKIE-1')), field(randomBytes(16))]),
    { mode: 0o600, flag: o.overwrite ? 'w' : 'wx' },
  );
}

/** Connects to an RFB Unix socket once; resolves with the 12-byte banner, or rejects. */
export function readRfbBanner(socketPath: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path: socketPath });
    let got = Buffer.alloc(0);
    const done = (err?: Error, banner?: string): void => {
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve(banner as string);
    };
    const timer = setTimeout(() => done(new Error('no RFB banner')), timeoutMs);
    s.on('error', (e) => done(e));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 12) done(undefined, got.subarray(0, 12).toString('latin1'));
    });
    s.on('close', () => done(new Error('closed before the RFB banner')));
  });
}

/**
 * Watches the framebuffer of an Xvnc (security type None) over its Unix socket and resolves with
 * true as soon as a pixel that is not black has been drawn, or false when `until` resolves first
 * or the socket fails. Raw encoding only, 32 bpp; the bytes it accepts are bounded by the
 * declared desktop size. Shared connection: other viewers are not disturbed.
 */
export function waitForNonBlack(socketPath: string, until: Promise<unknown>): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ path: socketPath });
    let buf: Buffer = Buffer.alloc(0);
    let finished = false;
    const finish = (v: boolean): void => {
      if (finished) return;
      finished = true;
      s.destroy();
      resolve(v);
    };
    void until.then(
      () => finish(false),
      () => finish(false),
    );
    s.on('error', () => finish(false));
    s.on('close', () => finish(false));
    let width = 0;
    let height = 0;
    // A tiny state machine over the RFB 3.8 handshake and FramebufferUpdate messages.
    let stage: 'version' | 'sectypes' | 'secresult' | 'init' | 'msg' = 'version';
    let rects = 0; // rectangles left in the current update
    const take = (n: number): Buffer | undefined => {
      if (buf.length < n) return undefined;
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    };
    const request = (incremental: boolean): void => {
      const m = Buffer.alloc(10);
      m[0] = 3;
      m[1] = incremental ? 1 : 0;
      m.writeUInt16BE(width, 6);
      m.writeUInt16BE(height, 8);
      s.write(m);
    };
    const step = (): boolean => {
      switch (stage) {
        case 'version': {
          const v = take(12);
          if (!v) return false;
          if (!v.toString('latin1').startsWith('RFB 003.')) return (finish(false), false);
          s.write('RFB 003.008\n');
          stage = 'sectypes';
          return true;
        }
        case 'sectypes': {
          if (buf.length < 1) return false;
          const n = buf[0] ?? 0;
          if (n === 0) return (finish(false), false);
          const t = take(1 + n);
          if (!t) return false;
          if (!t.subarray(1).includes(1)) return (finish(false), false);
          s.write(Buffer.from([1]));
          stage = 'secresult';
          return true;
        }
        case 'secresult': {
          const r = take(4);
          if (!r) return false;
          if (r.readUInt32BE(0) !== 0) return (finish(false), false);
          s.write(Buffer.from([1])); // ClientInit, shared
          stage = 'init';
          return true;
        }
        case 'init': {
          if (buf.length < 24) return false;
          const nameLen = buf.readUInt32BE(20);
          if (nameLen > 4096) return (finish(false), false);
          const init = take(24 + nameLen);
          if (!init) return false;
          width = init.readUInt16BE(0);
          height = init.readUInt16BE(2);
          if (width === 0 || height === 0 || width > 8192 || height > 8192) return (finish(false), false);
          // SetPixelFormat: 32 bpp, depth 24, little endian, true colour, rgb max 255, shifts 16/8/0
          const pf = Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
          // SetEncodings: Raw only
          const enc = Buffer.from([2, 0, 0, 1, 0, 0, 0, 0]);
          s.write(Buffer.concat([pf, enc]));
          request(false);
          stage = 'msg';
          return true;
        }
        case 'msg': {
          if (rects === 0) {
            if (buf.length < 1) return false;
            const type = buf[0];
            if (type === 0) {
              const h = take(4);
              if (!h) return false;
              rects = h.readUInt16BE(2);
              if (rects === 0) request(true);
              return true;
            }
            if (type === 2) return (take(1), true); // Bell
            if (type === 1 || type === 3) return (finish(false), false); // colour map / cut text: unexpected here
            return (finish(false), false);
          }
          if (buf.length < 12) return false;
          const w = buf.readUInt16BE(4);
          const h = buf.readUInt16BE(6);
          const encoding = buf.readInt32BE(8);
          if (encoding !== 0) return (finish(false), false);
          const size = w * h * 4;
          if (w > width || h > height) return (finish(false), false);
          if (buf.length < 12 + size) return false;
          const pixels = buf.subarray(12, 12 + size);
          buf = buf.subarray(12 + size);
          for (let i = 0; i < pixels.length; i += 4) {
            if ((pixels[i] ?? 0) | (pixels[i + 1] ?? 0) | (pixels[i + 2] ?? 0)) return (finish(true), false);
          }
          rects--;
          if (rects === 0) request(true);
          return true;
        }
      }
    };
    s.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      while (!finished && step()) {
        /* keep parsing */
      }
    });
  });
}
