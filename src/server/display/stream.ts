/**
 * The display stream of one graphical session: turns the RFB client's framebuffer changes into
 * Guacamole instructions, in order, for every subscriber (the owner's browser, watchers, the
 * `.guac` recording).
 *
 * - Changed rectangles accumulate in a DirtyRegion; at most `fps` times a second they are cut into
 *   tiles, each copied out of the framebuffer at once and encoded (PNG, or JPEG for photographic
 *   regions at low/medium quality) in the encoder pool, off the event loop. A frame ends with
 *   `sync`.
 * - CopyRect becomes a Guacamole `copy` when its source is already up to date on the client (no
 *   pending change inside it); otherwise its destination is simply marked changed.
 * - Output is an ordered queue: an item is sent once every item before it is, so an image encoded
 *   faster never overtakes an earlier one.
 * - Flow control: the next RFB update is asked for only while `canSend()` holds (the owner keeps
 *   up, the disk keeps up) and the pool is not backed up, so a slow browser makes the server
 *   coalesce changes instead of the gateway buffering frames.
 * - A late watcher gets a full-frame snapshot as its own item in the queue and everything after
 *   it: what it draws is exactly the framebuffer at that point plus the changes since.
 */
import { EventEmitter } from 'node:events';
import type { RfbClient, RfbCursor, RfbUpdateOp } from '../protocols/vnc/client.js';
import { chooseFormat, type DisplayQuality, frameInterval, isPhotographic } from './classify.js';
import * as guac from './guac.js';
import { copyRegion, type Rect } from './region.js';
import type { EncodeJob } from './encode-job.js';
import { EncoderPoolError } from './pool.js';
import { DirtyRegion } from './tiles.js';

/** What the stream needs of the encoder pool. */
export interface Encoder {
  encode(job: EncodeJob): Promise<Buffer>;
  readonly pending: number;
}

export interface DisplayStreamOptions {
  quality: DisplayQuality;
  /** Milliseconds for `sync` timestamps (the session clock). */
  now: () => number;
  /** False while the owner or the recorder is behind: no new frames are asked for. */
  canSend: () => boolean;
  /** Encodes queued beyond this stop new frame requests (default 8). */
  maxPendingEncodes?: number;
}

export type SubscriberId = number;

interface Item {
  seq: number;
  /** Only for this subscriber (a snapshot); undefined: for everyone subscribed by then. */
  target?: SubscriberId;
  text?: string;
  pending?: Promise<string>;
}

interface Subscriber {
  id: SubscriberId;
  fromSeq: number;
  send: (text: string) => void;
}

/** Layer the cursor image is drawn into (a buffer: negative index). */
const CURSOR_LAYER = -1;

export class DisplayStream extends EventEmitter<{ error: [err: Error]; frame: [syncTimestamp: number] }> {
  private dirty: DirtyRegion;
  private readonly queue: Item[] = [];
  private nextSeq = 0;
  private streamIndex = 0;
  private readonly subscribers = new Map<SubscriberId, Subscriber>();
  private nextSubscriber = 1;
  private cursorText = '';
  private awaitingUpdate = false;
  private frameTimer: NodeJS.Timeout | undefined;
  private lastFrameAt = 0;
  private stopped = false;
  private flushing = false;
  /** The latest `sync` timestamp put in the stream. */
  lastSync = 0;
  frames = 0;
  readonly interval: number;

  constructor(
    private readonly rfb: RfbClient,
    private readonly encoder: Encoder,
    private readonly o: DisplayStreamOptions,
  ) {
    super();
    this.interval = frameInterval(o.quality);
    this.dirty = new DirtyRegion(rfb.width, rfb.height);
    rfb.on('update', (ops) => this.onUpdate(ops));
    // Every complete update (also a cursor-only one) frees the request slot.
    rfb.on('updateDone', () => {
      this.awaitingUpdate = false;
      this.requestNext();
    });
    rfb.on('resize', ({ width, height }) => this.onResize(width, height));
    rfb.on('cursor', (c) => this.onCursor(c));
  }

  get width(): number {
    return this.rfb.width;
  }
  get height(): number {
    return this.rfb.height;
  }

  /**
   * Starts the flow: asks for the first full frame. Call once the owner is there (what the asset
   * shows before is not lost: the first frame is the whole screen).
   */
  start(): void {
    this.push({ text: guac.size(guac.DEFAULT_LAYER, this.rfb.width, this.rfb.height) });
    this.awaitingUpdate = true;
    this.rfb.requestUpdate(false);
  }

  /** Adds a subscriber. `snapshot`: it first gets the whole current screen (late watchers). */
  subscribe(send: (text: string) => void, o: { snapshot: boolean }): () => void {
    const id = this.nextSubscriber++;
    const sub: Subscriber = { id, fromSeq: this.nextSeq, send };
    this.subscribers.set(id, sub);
    if (o.snapshot) this.push({ target: id, pending: this.snapshot() });
    return () => this.subscribers.delete(id);
  }

  /** Someone caught up (an acknowledged frame, a drained socket): a held frame may go, then more. */
  resume(): void {
    this.scheduleFrame();
    this.requestNext();
  }

  /** True while a frame may be encoded now: everyone keeps up and the encoders are not backed up. */
  private mayEncode(): boolean {
    return this.o.canSend() && this.encoder.pending < (this.o.maxPendingEncodes ?? 8);
  }

  /** Asks the server for more when nothing is outstanding and everyone keeps up. */
  requestNext(): void {
    if (this.stopped || this.awaitingUpdate || this.rfb.closed) return;
    if (!this.mayEncode()) return;
    this.awaitingUpdate = true;
    this.rfb.requestUpdate(true);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.frameTimer);
  }

  private onUpdate(ops: RfbUpdateOp[]): void {
    for (const op of ops) {
      if (op.op === 'pixels') {
        this.dirty.add(op.x, op.y, op.w, op.h);
        continue;
      }
      const src: Rect = { x: op.srcX, y: op.srcY, w: op.w, h: op.h };
      if (this.dirty.intersects(src)) this.dirty.add(op.x, op.y, op.w, op.h);
      else this.push({ text: guac.copy(guac.DEFAULT_LAYER, op.srcX, op.srcY, op.w, op.h, guac.GUAC_COMPOSITE.SRC, guac.DEFAULT_LAYER, op.x, op.y) });
    }
    this.scheduleFrame();
  }

  private onResize(width: number, height: number): void {
    this.dirty.resize(width, height);
    this.dirty.add(0, 0, width, height);
    this.push({ text: guac.size(guac.DEFAULT_LAYER, width, height) });
    this.scheduleFrame();
  }

  private onCursor(c: RfbCursor): void {
    if (c.width === 0 || c.height === 0 || c.rgba.length === 0) {
      // Invisible cursor: a 1x1 transparent image.
      this.cursorText = [guac.size(CURSOR_LAYER, 1, 1), guac.cursor(0, 0, CURSOR_LAYER, 0, 0, 1, 1)].join('');
      this.push({ text: this.cursorText });
      return;
    }
    const stream = this.nextStream();
    const rgba = new Uint8Array(c.rgba);
    const pending = this.encoder.encode({ format: 'png', width: c.width, height: c.height, rgba, alpha: true }).then((png) => {
      const text = [
        guac.size(CURSOR_LAYER, c.width, c.height),
        ...guac.imageInstructions(stream, CURSOR_LAYER, 'image/png', 0, 0, png, guac.GUAC_COMPOSITE.SRC),
        guac.cursor(c.hotX, c.hotY, CURSOR_LAYER, 0, 0, c.width, c.height),
      ].join('');
      this.cursorText = text;
      return text;
    });
    this.push({ pending });
  }

  private scheduleFrame(): void {
    if (this.frameTimer || this.stopped || this.dirty.isEmpty) return;
    const wait = Math.max(0, this.lastFrameAt + this.interval - Date.now());
    this.frameTimer = setTimeout(() => {
      this.frameTimer = undefined;
      this.frame();
    }, wait);
  }

  /**
   * Encodes what changed since the last frame and ends the frame with `sync`. While the owner is
   * behind or the encoders are backed up the changes stay pending (merged with later ones) until
   * resume(): frames are skipped, never queued without bound.
   */
  private frame(): void {
    if (this.stopped || !this.mayEncode()) return;
    this.lastFrameAt = Date.now();
    for (const tile of this.dirty.take()) this.push({ pending: this.encodeTile(tile) });
    const ts = Math.floor(this.o.now());
    this.lastSync = Math.max(ts, this.lastSync + 1);
    this.push({ text: guac.sync(this.lastSync) });
    this.frames++;
    this.emit('frame', this.lastSync);
    this.requestNext();
  }

  private encodeTile(r: Rect, fb = this.rfb.framebuffer, fbWidth = this.rfb.width): Promise<string> {
    const choice = chooseFormat(this.o.quality, isPhotographic(fb, fbWidth, r.x, r.y, r.w, r.h));
    const rgba = copyRegion(fb, fbWidth, r.x, r.y, r.w, r.h);
    const stream = this.nextStream();
    return this.encoder
      .encode({ format: choice.format, width: r.w, height: r.h, rgba, ...(choice.jpegQuality ? { quality: choice.jpegQuality } : {}) })
      .then(
        (data) => guac.imageInstructions(stream, guac.DEFAULT_LAYER, choice.format === 'png' ? 'image/png' : 'image/jpeg', r.x, r.y, data).join(''),
        (err: unknown) => {
          // The shared pool is full (other sessions are busy): backpressure, not a failure. The
          // region is drawn again, from the framebuffer as it is then, in a later frame.
          if (err instanceof EncoderPoolError && err.code === 'overload' && fb === this.rfb.framebuffer) {
            this.dirty.add(r.x, r.y, r.w, r.h);
            setTimeout(() => this.scheduleFrame(), this.interval);
            return '';
          }
          throw err;
        },
      );
  }

  /** The whole screen as of now, plus the cursor: a late watcher's first picture. */
  private snapshot(): Promise<string> {
    const fb = this.rfb.framebuffer;
    const w = this.rfb.width;
    const h = this.rfb.height;
    const whole = new DirtyRegion(w, h);
    whole.add(0, 0, w, h);
    const tiles = whole.take().map((t) => this.encodeTile(t, fb, w));
    const cursor = this.cursorText;
    return Promise.all(tiles).then((parts) => [guac.size(guac.DEFAULT_LAYER, w, h), ...parts, cursor, guac.sync(Math.max(this.lastSync, Math.floor(this.o.now())))].join(''));
  }

  private nextStream(): number {
    // Each image stream is ended right after its data: indices can be reused, kept small.
    this.streamIndex = (this.streamIndex + 1) % 4096;
    return this.streamIndex;
  }

  private push(item: Omit<Item, 'seq'>): void {
    const it: Item = { ...item, seq: this.nextSeq++ };
    this.queue.push(it);
    it.pending?.then(
      (text) => {
        it.text = text;
        it.pending = undefined;
        this.flush();
      },
      (err: unknown) => {
        it.text = '';
        it.pending = undefined;
        if (!this.stopped) this.emit('error', err instanceof Error ? err : new Error(String(err)));
        this.flush();
      },
    );
    this.flush();
  }

  /** Sends every finished item at the head of the queue, in order. */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length && this.queue[0]!.pending === undefined) {
        const it = this.queue.shift()!;
        if (!it.text) continue;
        for (const s of this.subscribers.values()) {
          if (it.target !== undefined ? it.target === s.id : it.seq >= s.fromSeq) s.send(it.text);
        }
      }
    } finally {
      this.flushing = false;
    }
    // Encodes finished: a frame held back for the pool may go now.
    if (!this.queue.length) this.resume();
  }
}
