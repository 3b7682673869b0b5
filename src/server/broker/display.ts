import type { DisplayQuality } from '../display/classify.js';
import { GuacParser, GuacProtocolError, type GuacInstruction } from '../display/guac.js';
import * as guac from '../display/guac.js';
import { DisplayStream, type Encoder } from '../display/stream.js';
import type { DisplayConnection } from '../protocols/types.js';
import type { GuacRecorder } from '../recording/guac.js';
import type { Clock } from './clock.js';
import { type Attached, type EndRequest, SessionCore, type SessionLimits, type SessionMeta } from './core.js';

export interface ClipboardPolicy {
  /** Browser -> asset. */
  toAsset: boolean;
  /** Asset -> browser. */
  fromAsset: boolean;
}

/** Frames the owner's browser may have unacknowledged: at this many, no new frame is encoded or asked for. */
const MAX_UNACKED_FRAMES = 2;
/**
 * A key pressed again this soon after its release waits: RDP clients (xfreerdp on the private
 * Xvnc) take a release and press of the same key with the same X timestamp for autorepeat and
 * drop the press ("hello" typed fast became "helo").
 */
const KEY_GAP_MS = 20;
/** Key events queued beyond this are dropped (a stuck or hostile browser). */
const MAX_KEY_QUEUE = 1000;
/** Clipboard text accepted from the browser per transfer. */
const MAX_CLIPBOARD_BYTES = 256 * 1024;
/**
 * A new browser size is acted on once the window has kept it this long: an RDP resize is a
 * reconnect, not something to do for every step of a window being dragged.
 */
export const RESIZE_SETTLE_MS = 1000;
/** The display sizes a browser may ask for (the same bounds as at connect). */
const SIZE_BOUNDS = { minWidth: 320, maxWidth: 4096, minHeight: 200, maxHeight: 4096 } as const;

/**
 * A live graphical session (VNC, RDP): the RFB client's framebuffer goes out as Guacamole
 * instructions (display/stream.ts) to the owner, watchers and the `.guac` recording; the owner's
 * Guacamole key, mouse and clipboard instructions go to the asset. Flow control: a new frame is
 * asked for only while the owner's browser has acknowledged all but MAX_UNACKED_FRAMES frames, its
 * socket is not full and the recorder keeps up.
 */
export class DisplaySession extends SessionCore {
  readonly kind = 'display' as const;
  private readonly stream: DisplayStream;
  private readonly parser = new GuacParser();
  private readonly subscriptions = new Map<Attached, () => void>();
  /** `sync` timestamps sent to the owner and not acknowledged yet. */
  private unacked: number[] = [];
  private ownerSub: Attached | undefined;
  private readonly clipIn = new Map<string, Buffer[]>();
  private buttons = 0;
  private readonly keyQueue: { keysym: number; down: boolean }[] = [];
  private keyTimer: NodeJS.Timeout | undefined;
  private readonly releasedAt = new Map<number, number>();
  /** The size the owner's browser asked for last, and the timer that acts on it. */
  private wantedSize: { width: number; height: number } | undefined;
  private sizeTimer: NodeJS.Timeout | undefined;
  private resizing = false;

  constructor(
    meta: SessionMeta,
    private readonly conn: DisplayConnection,
    private readonly recorder: GuacRecorder,
    encoder: Encoder,
    quality: DisplayQuality,
    private readonly clipboard: ClipboardPolicy,
    clock: Clock,
    limits: SessionLimits,
    onEnd: (s: SessionCore, end: EndRequest) => Promise<void>,
  ) {
    super(meta, recorder, clock, limits, onEnd);
    this.stream = new DisplayStream(conn.rfb, encoder, {
      quality,
      now: () => clock.now(),
      canSend: () => !this.held() && this.unacked.length < MAX_UNACKED_FRAMES,
    });
    // The recording gets the whole stream from the start.
    this.stream.subscribe((text) => {
      this.bytesOut += text.length;
      this.recorder.instructions(text);
    }, { snapshot: false });
    recorder.on('pressure', (on: boolean) => {
      if (!on) this.maybeResume();
    });
    this.stream.on('error', (err) => void this.end({ state: 'failed', reason: 'display_error', message: `the display could not be encoded (${err.message})` }));
    this.stream.on('frame', (ts) => {
      if (this.ownerSub) this.unacked.push(ts);
    });
    conn.rfb.on('clipboard', (text) => {
      if (!this.clipboard.fromAsset || this.state !== 'active') return;
      const stream = 4095; // a fixed index outside the image range of display/stream.ts
      const out = guac.clipboardText(stream, text.slice(0, MAX_CLIPBOARD_BYTES)).join('');
      this.ownerSub?.p.output(Buffer.from(out, 'utf8'));
    });
    void conn.ended.then((e) => this.end({ state: 'ended', reason: e.how === 'error' ? 'asset_error' : 'closed', message: e.message }));
  }

  protected onFlowStart(): void {
    this.stream.start();
  }

  protected maybeResume(): void {
    if (!this.held()) this.stream.resume();
  }

  protected joined(a: Attached, late: boolean): void {
    const unsubscribe = this.stream.subscribe((text) => {
      if (!a.p.output(Buffer.from(text, 'utf8'))) a.blocked = true;
    }, { snapshot: late || a.p.role === 'watcher' });
    this.subscriptions.set(a, unsubscribe);
    if (a.p.role === 'owner') {
      this.ownerSub = a;
      this.unacked = [];
    }
  }

  protected override left(a: Attached): void {
    this.subscriptions.get(a)?.();
    this.subscriptions.delete(a);
    if (this.ownerSub === a) {
      this.ownerSub = undefined;
      this.unacked = [];
    }
  }

  protected closeAsset(message: string): void {
    clearTimeout(this.keyTimer);
    clearTimeout(this.sizeTimer);
    this.keyQueue.length = 0;
    this.stream.stop();
    this.conn.close(message);
  }

  protected notice(): undefined {
    return undefined;
  }

  protected currentSize(): { cols: number; rows: number } {
    return { cols: this.stream.width, rows: this.stream.height };
  }

  /** Guacamole instructions from the owner's browser (text). */
  input(data: Buffer): void {
    if (this.state !== 'active' || data.length === 0) return;
    this.bytesIn += data.length;
    let instructions: GuacInstruction[];
    try {
      instructions = this.parser.receive(data);
    } catch (err) {
      const why = err instanceof GuacProtocolError ? err.message : 'unreadable input';
      void this.end({ state: 'ended', reason: 'client_error', message: `the browser sent malformed display input (${why})` });
      return;
    }
    for (const ins of instructions) this.instruction(ins);
  }

  private instruction({ opcode, args }: GuacInstruction): void {
    const rfb = this.conn.rfb;
    const int = (s: string | undefined) => (s !== undefined && /^-?\d{1,9}$/.test(s) ? Number(s) : Number.NaN);
    switch (opcode) {
      case 'key': {
        if (!this.accepting()) return;
        const keysym = int(args[0]);
        if (!Number.isInteger(keysym) || keysym < 0 || keysym > 0xffffffff) return;
        this.queueKey(keysym, args[1] === '1');
        this.recorder.instructions(guac.encodeInstruction('key', keysym, args[1] === '1' ? 1 : 0));
        this.touched();
        return;
      }
      case 'mouse': {
        if (!this.accepting()) return;
        const [x, y, mask] = [int(args[0]), int(args[1]), int(args[2])];
        if (![x, y, mask].every(Number.isInteger)) return;
        rfb.pointer(Math.max(0, Math.min(x, this.stream.width - 1)), Math.max(0, Math.min(y, this.stream.height - 1)), mask & 0x1f);
        // Moving is not activity on its own; pressing, releasing and scrolling are.
        if ((mask & 0x1f) !== this.buttons) this.touched();
        this.buttons = mask & 0x1f;
        return;
      }
      case 'sync': {
        const ts = int(args[0]);
        this.unacked = this.unacked.filter((t) => t > ts);
        this.maybeResume();
        return;
      }
      case 'clipboard': {
        if (!this.accepting() || !this.clipboard.toAsset || args[1] !== 'text/plain' || this.clipIn.size >= 4) return;
        this.clipIn.set(args[0] ?? '', []);
        return;
      }
      case 'blob': {
        const parts = this.clipIn.get(args[0] ?? '');
        if (!parts) return;
        const bytes = Buffer.from(args[1] ?? '', 'base64');
        if (parts.reduce((n, b) => n + b.length, 0) + bytes.length > MAX_CLIPBOARD_BYTES) {
          this.clipIn.delete(args[0] ?? '');
          return;
        }
        parts.push(bytes);
        this.ownerSub?.p.output(Buffer.from(guac.encodeInstruction('ack', args[0] ?? '', 'OK', guac.GUAC_STATUS.SUCCESS)));
        return;
      }
      case 'end': {
        const parts = this.clipIn.get(args[0] ?? '');
        if (!parts) return;
        this.clipIn.delete(args[0] ?? '');
        const text = Buffer.concat(parts).toString('utf8');
        rfb.clipboard(text);
        this.recorder.marker(`clipboard to the asset: ${text.length} characters`);
        this.touched();
        return;
      }
      case 'size': {
        // The owner's window changed: where the protocol can (RDP), the desktop follows it.
        if (!this.accepting() || !this.conn.resize) return;
        const [w, h] = [int(args[0]), int(args[1])];
        if (!Number.isInteger(w) || !Number.isInteger(h)) return;
        this.wantSize(w, h);
        return;
      }
      case 'disconnect':
        void this.close('the user disconnected');
        return;
      default:
        // nop, ack...: nothing to do for the asset.
        return;
    }
  }

  /** Keys go to the asset in order; a quick re-press of a just-released key waits KEY_GAP_MS. */
  private queueKey(keysym: number, down: boolean): void {
    if (this.keyQueue.length >= MAX_KEY_QUEUE) return;
    this.keyQueue.push({ keysym, down });
    this.pumpKeys();
  }

  private pumpKeys(): void {
    if (this.keyTimer || this.state !== 'active') return;
    while (this.keyQueue.length) {
      const k = this.keyQueue[0]!;
      const since = Date.now() - (this.releasedAt.get(k.keysym) ?? Number.NEGATIVE_INFINITY);
      if (k.down && since < KEY_GAP_MS) {
        this.keyTimer = setTimeout(() => {
          this.keyTimer = undefined;
          this.pumpKeys();
        }, KEY_GAP_MS - since);
        return;
      }
      this.keyQueue.shift();
      this.conn.rfb.key(k.keysym, k.down);
      if (!k.down) this.releasedAt.set(k.keysym, Date.now());
    }
  }

  /** Waits for the window to settle, then resizes the remote desktop (at most one at a time). */
  private wantSize(width: number, height: number): void {
    const even = (v: number, lo: number, hi: number) => Math.round(Math.min(hi, Math.max(lo, v)) / 2) * 2;
    this.wantedSize = { width: even(width, SIZE_BOUNDS.minWidth, SIZE_BOUNDS.maxWidth), height: even(height, SIZE_BOUNDS.minHeight, SIZE_BOUNDS.maxHeight) };
    clearTimeout(this.sizeTimer);
    this.sizeTimer = setTimeout(() => void this.applySize(), RESIZE_SETTLE_MS);
  }

  private async applySize(): Promise<void> {
    const want = this.wantedSize;
    if (!want || this.resizing || this.state !== 'active' || !this.conn.resize) return;
    if (want.width === this.stream.width && want.height === this.stream.height) return;
    this.resizing = true;
    this.recorder.marker(`display resized to ${want.width}x${want.height} (the browser window changed)`);
    try {
      await this.conn.resize(want.width, want.height);
    } catch (err) {
      // The asset connection may have ended with it (its own end reason follows); else say so.
      if (this.state === 'active') this.recorder.marker(`display resize to ${want.width}x${want.height} failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.resizing = false;
    }
    // The window changed again meanwhile: follow it.
    const now = this.wantedSize;
    if (now && (now.width !== want.width || now.height !== want.height)) void this.applySize();
  }

  /** Display sizes follow the asset (VNC) or the owner's browser window (RDP, `size` instructions). */
  resize(): void {}

  endInput(): void {}
}
