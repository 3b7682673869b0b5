/**
 * A Node client of the gateway's session WebSocket that behaves like the browser's
 * guacamole-common-js for flow-control purposes: it reads the Guacamole instructions as they
 * come and acknowledges every `sync` at once (`sync,<timestamp>`), so the gateway paces itself as
 * it would for a fast browser. It does not decode the images (a browser would, on its own cores):
 * it counts bytes, images, frames and when they arrived.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface GuacViewer {
  ws: WebSocket;
  /** performance.now() at `new WebSocket` (the user's "Connect"). */
  t0: number;
  /** ms after t0: the WebSocket upgrade completed, the `opened` event, the first complete frame. */
  openMs?: number;
  openedMs?: number;
  firstFrameMs?: number;
  session?: { id: string; cols: number; rows: number };
  ended?: { state: string; reason?: string; message?: string };
  /** Text bytes received (UTF-8, as on the wire without framing), JSON events excluded. */
  bytes: number;
  frames: number;
  images: number;
  mimetypes: Map<string, number>;
  /** performance.now() of every `sync` received. */
  syncTimes: number[];
  /** Resolves once the socket is closed. */
  closed: Promise<void>;
  close(): Promise<void>;
  waitFor(check: () => boolean, what: string, ms?: number): Promise<void>;
}

/**
 * Reads instructions out of one message. The gateway sends whole instructions per message; the
 * element lengths are in code points, equal to UTF-16 units here (base64, digits, ASCII names).
 */
function scan(text: string, on: (opcode: string, arg0: string, arg3: string) => void): void {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const elements: string[] = [];
    for (;;) {
      const dot = text.indexOf('.', i);
      if (dot < 0) return;
      const len = Number(text.slice(i, dot));
      if (!Number.isInteger(len)) return;
      // Only the opcode and the first four arguments are kept (sync ts, img mimetype).
      if (elements.length < 5) elements.push(text.slice(dot + 1, dot + 1 + len));
      else elements.push('');
      i = dot + 1 + len;
      const sep = text[i++];
      if (sep === ';') break;
      if (sep !== ',') return;
    }
    on(elements[0] ?? '', elements[1] ?? '', elements[4] ?? '');
  }
}

export function openViewer(url: string, cookie: string, origin: string, o: { ack?: boolean } = {}): GuacViewer {
  const ack = o.ack ?? true;
  const t0 = performance.now();
  const ws = new WebSocket(url, { headers: { cookie, origin }, perMessageDeflate: false });
  let sawImage = false;
  const v: GuacViewer = {
    ws,
    t0,
    bytes: 0,
    frames: 0,
    images: 0,
    mimetypes: new Map(),
    syncTimes: [],
    closed: new Promise((r) => ws.once('close', () => r())),
    async close() {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
      await v.closed;
    },
    async waitFor(check, what, ms = 30_000) {
      const start = Date.now();
      while (!check()) {
        if (v.ended) throw new Error(`the session ended while waiting for ${what}: ${JSON.stringify(v.ended)}`);
        if (Date.now() - start > ms) {
          const seen = `WebSocket ${v.openMs === undefined ? 'not open' : 'open'}, 'opened' ${v.openedMs === undefined ? 'not received' : `after ${v.openedMs.toFixed(0)} ms`}, ${v.bytes} bytes, ${v.images} images, ${v.frames} syncs`;
          throw new Error(`timed out after ${ms} ms waiting for ${what} (${seen})`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
  ws.on('open', () => (v.openMs = performance.now() - t0));
  ws.on('error', () => {});
  ws.on('message', (m: Buffer, binary) => {
    const text = m.toString('utf8');
    if (!binary && text.startsWith('{')) {
      const ev = JSON.parse(text) as { type: string; session?: GuacViewer['session']; state: string };
      if (ev.type === 'opened') {
        v.openedMs = performance.now() - t0;
        v.session = ev.session;
      }
      if (ev.type === 'ended') v.ended = ev;
      return;
    }
    v.bytes += m.length;
    const acks: string[] = [];
    scan(text, (opcode, arg0, arg3) => {
      if (opcode === 'img') {
        v.images++;
        sawImage = true;
        v.mimetypes.set(arg3, (v.mimetypes.get(arg3) ?? 0) + 1);
      } else if (opcode === 'sync') {
        const now = performance.now();
        v.frames++;
        v.syncTimes.push(now);
        if (sawImage && v.firstFrameMs === undefined) v.firstFrameMs = now - t0;
        acks.push(`4.sync,${arg0.length}.${arg0};`);
      }
    });
    if (ack && acks.length && ws.readyState === ws.OPEN) ws.send(acks.join(''));
  });
  return v;
}
