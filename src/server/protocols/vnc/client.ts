/**
 * The RFB (VNC) client engine: the gateway is the VNC client of an OT asset (or of the private
 * Xvnc that shows an RDP session) and keeps the framebuffer the display layer relays to browsers.
 *
 *   handshake.ts  versions 3.3/3.7/3.8, security None and VNC Authentication (des.ts), ServerInit
 *   messages.ts   server messages; encodings in zrle.ts, tight.ts, cursor.ts; zlib in inflate.ts
 *   reader.ts     the streaming byte reader every parser runs on
 *   updates.ts    what an `update` event carries (pixels and copy ops) and its guarantee
 *   limits.ts     what a hostile server may announce
 *
 * connectRfb() works over any Duplex (a TCP socket to an asset, a Unix socket to a private Xvnc)
 * and resolves after ServerInit, once the client has asked for its pixel format and encodings.
 * Everything the server sends is untrusted: any violation ends this connection with an 'error'
 * event (ConnectError 'protocol') and a 'close'; nothing is thrown past this module, and nothing
 * here logs (the password only ever goes through DES to the stream).
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { ConnectError } from '../types.js';
import type { RfbCursor } from './cursor.js';
import { type HandshakeStage, handshake, type RfbVersion, type ServerInit } from './handshake.js';
import { desktopSizeProblem, type RfbLimits, resolveLimits } from './limits.js';
import { MessageParser, type RfbLayout } from './messages.js';
import { type ByteParser, ParserDriver } from './reader.js';
import type { RfbUpdateOp } from './updates.js';
import {
  CLIENT_PIXEL_FORMAT,
  clientCutTextMsg,
  DEFAULT_ENCODINGS,
  encodingList,
  keyEventMsg,
  latin1,
  type PixelFormat,
  pointerEventMsg,
  type RfbEncodingName,
  setEncodingsMsg,
  setDesktopSizeMsg,
  setPixelFormatMsg,
  updateRequestMsg,
} from './wire.js';

export type { RfbCursor } from './cursor.js';
export type { RfbLayout } from './messages.js';
export type { RfbVersion } from './handshake.js';
export type { RfbLimits } from './limits.js';
export { DEFAULT_LIMITS } from './limits.js';
export type { RfbCopyOp, RfbPixelsOp, RfbUpdateOp } from './updates.js';
export type { RfbEncodingName } from './wire.js';

export const DEFAULT_TIMEOUT_MS = 15_000;

export interface RfbConnectOptions {
  /** VNC Authentication password (only the first 8 characters count, as in every VNC server). */
  password?: string;
  /** Aborts the handshake in progress. */
  signal?: AbortSignal;
  /** Gives up when ServerInit has not arrived after this long (default 15 s). */
  timeoutMs?: number;
  /** Encodings in order of preference (default tight, zrle, copyrect, raw); Raw is always offered. */
  encodings?: RfbEncodingName[];
  /** 0..9: lets the server use Tight JPEG at this quality (lossy). Unset: lossless only. */
  jpegQuality?: number;
  /** 0..9: zlib effort hint for Tight and ZRLE. Unset: the server's default. */
  compressLevel?: number;
  /** Ask for the cursor as an image (Cursor pseudo-encoding). Default true. */
  cursor?: boolean;
  /**
   * Offer the ExtendedDesktopSize pseudo-encoding, so setDesktopSize() can ask the server for a new
   * desktop size (TigerVNC's Xvnc accepts any size). Default false: a VNC asset keeps its own size.
   */
  desktopResize?: boolean;
  /** ClientInit shared flag: false asks the server to disconnect other viewers. Default true. */
  shared?: boolean;
  /**
   * Ask for the first full frame at connect and for the next incremental update after each one
   * (a full one after a resize). Default true; a display layer that paces itself sets false and
   * calls requestUpdate().
   */
  autoRequest?: boolean;
  limits?: Partial<RfbLimits>;
}

export interface RfbEndInfo {
  /** 'closed' by either side normally; 'error' when the server broke the protocol or the link broke. */
  how: 'closed' | 'error';
  message: string;
}

/**
 * Events. All are emitted synchronously while the server's bytes are decoded: a listener that
 * needs pixels must read (copy) them from `framebuffer` before returning, because the next
 * message may change them.
 */
export interface RfbClientEvents {
  /** Changed regions in server order; see updates.ts for how to apply them. */
  update: [ops: RfbUpdateOp[]];
  /**
   * A FramebufferUpdate is complete, even one that changed no pixels (only the cursor shape or the
   * desktop size): a client pacing its own requests asks for the next one here.
   */
  updateDone: [info: { resized: boolean }];
  /** The desktop size changed; `framebuffer` is a new buffer (top-left content kept). */
  resize: [size: { width: number; height: number }];
  cursor: [cursor: RfbCursor];
  /** Server clipboard (RFB cut text is Latin-1). */
  clipboard: [text: string];
  bell: [];
  /** The server broke the protocol (ConnectError 'protocol'); 'close' follows. Never thrown. */
  error: [err: ConnectError];
  close: [info: RfbEndInfo];
}

/** How long setDesktopSize() waits for the server's answer. */
const DESKTOP_SIZE_TIMEOUT_MS = 5000;

const LAYOUT_STATUS: Record<number, string> = {
  1: 'the VNC server prohibits resizing',
  2: 'the VNC server is out of resources for that size',
  3: 'the VNC server rejected the screen layout',
};

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EADDRNOTAVAIL', 'EHOSTDOWN', 'ENOENT']);

const STAGE_TEXT: Record<HandshakeStage, string> = {
  version: 'the RFB version',
  security: 'the security types',
  challenge: 'the VNC authentication challenge',
  'security-result': 'the security result',
  'server-init': 'ServerInit',
};

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const err = new Error('the connection to the VNC server was aborted');
  err.name = 'AbortError';
  return err;
}

type State = 'handshake' | 'open' | 'closed';

export class RfbClient extends EventEmitter<RfbClientEvents> {
  private state: State = 'handshake';
  private stage: HandshakeStage = 'version';
  private init: ServerInit | undefined;
  private messages: MessageParser | undefined;
  private readonly driver: ParserDriver;
  private readonly limits: RfbLimits;
  private readonly autoRequest: boolean;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort: () => void;
  private lastError: NodeJS.ErrnoException | undefined;
  /** The server's last ExtendedDesktopSize layout: it supports SetDesktopSize once this is set. */
  private layout: RfbLayout | undefined;
  private pendingResize: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  /** Between ServerInit and the caller's first chance to listen: input is held, not decoded. */
  private holding = false;
  private endWhileHolding = false;
  private resolveEnded!: (info: RfbEndInfo) => void;
  /** Resolves once the connection is gone (after 'close'). */
  readonly ended = new Promise<RfbEndInfo>((resolve) => {
    this.resolveEnded = resolve;
  });

  /** @internal use connectRfb() */
  constructor(
    private readonly stream: Duplex,
    private readonly opts: RfbConnectOptions,
    private readonly resolveConnect: (c: RfbClient) => void,
    private readonly rejectConnect: (e: Error) => void,
  ) {
    super();
    this.limits = resolveLimits(opts.limits);
    this.autoRequest = opts.autoRequest ?? true;
    const encodings = encodingList({
      encodings: opts.encodings ?? DEFAULT_ENCODINGS,
      jpegQuality: opts.jpegQuality,
      compressLevel: opts.compressLevel,
      cursor: opts.cursor ?? true,
      extendedDesktopSize: opts.desktopResize ?? false,
    });
    const timeoutMs =
      opts.timeoutMs !== undefined && Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0 ? Math.min(opts.timeoutMs, 2 ** 31 - 1) : DEFAULT_TIMEOUT_MS;

    this.driver = new ParserDriver(this.parse(encodings), MessageParser.maxRequest(this.limits));
    this.timer = setTimeout(() => {
      this.failConnect(new ConnectError('timeout', `timed out after ${seconds(timeoutMs)} waiting for ${STAGE_TEXT[this.stage]} from the VNC server`));
    }, timeoutMs);
    this.onAbort = () => this.failConnect(abortError(opts.signal!));
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });

    stream.on('data', this.onData);
    stream.on('error', this.onError);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
  }

  // ----------------------------------------------------------------------------------------
  // what the server told us

  get version(): RfbVersion {
    return this.init!.version;
  }

  /** 1 None or 2 VNC Authentication. */
  get securityType(): number {
    return this.init!.securityType;
  }

  /** The desktop name from ServerInit. */
  get name(): string {
    return this.init!.name;
  }

  /** The server's native pixel format (ServerInit); the client always receives CLIENT_PIXEL_FORMAT. */
  get serverPixelFormat(): PixelFormat {
    return this.init!.pixelFormat;
  }

  get width(): number {
    return this.messages!.fb.width;
  }

  get height(): number {
    return this.messages!.fb.height;
  }

  /** RGBA, width * height * 4 bytes, row-major, alpha 255. Replaced (new buffer) on resize. */
  get framebuffer(): Uint8Array {
    return this.messages!.fb.data;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  // ----------------------------------------------------------------------------------------
  // what the user does

  /** FramebufferUpdateRequest for the whole desktop (or a region of it, clipped). */
  requestUpdate(incremental = true, region?: { x: number; y: number; w: number; h: number }): void {
    if (this.state !== 'open') return;
    const fb = this.messages!.fb;
    let x = 0;
    let y = 0;
    let w = fb.width;
    let h = fb.height;
    if (region) {
      x = clampInt(region.x, 0, fb.width);
      y = clampInt(region.y, 0, fb.height);
      w = clampInt(region.w, 0, fb.width - x);
      h = clampInt(region.h, 0, fb.height - y);
    }
    this.send(updateRequestMsg(incremental, x, y, w, h));
  }

  /** KeyEvent: an X11 keysym (e.g. 0xff0d Return), pressed or released. */
  key(keysym: number, down: boolean): void {
    if (!Number.isInteger(keysym) || keysym < 0 || keysym > 0xffffffff) throw new RangeError('keysym must be a 32-bit unsigned integer');
    if (this.state !== 'open') return;
    this.send(keyEventMsg(keysym, down));
  }

  /** PointerEvent: position clamped to the desktop; mask bit 0 = left button ... bit 7. */
  pointer(x: number, y: number, mask: number): void {
    if (this.state !== 'open') return;
    const fb = this.messages!.fb;
    this.send(pointerEventMsg(clampInt(mask, 0, 255), clampInt(x, 0, Math.max(0, fb.width - 1)), clampInt(y, 0, Math.max(0, fb.height - 1))));
  }

  /** ClientCutText: Latin-1 (other characters become '?'), cut at the clipboard limit. */
  clipboard(text: string): void {
    if (this.state !== 'open') return;
    this.send(clientCutTextMsg(latin1(text.slice(0, this.limits.maxCutTextBytes))));
  }

  /** True once the server has said it can resize on request (an ExtendedDesktopSize rectangle). */
  get canResize(): boolean {
    return this.layout !== undefined;
  }

  /**
   * SetDesktopSize: asks the server for a width x height desktop (one screen). Resolves when the
   * server confirms it (the 'resize' event has been emitted by then), rejects with the server's
   * reason, after 5 s without an answer, or when the server does not support it. One at a time:
   * a request still waiting is rejected by the next one.
   */
  setDesktopSize(width: number, height: number): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error('the VNC connection is closed'));
    if (!this.layout) return Promise.reject(new Error('the VNC server does not support resizing on request (no ExtendedDesktopSize)'));
    const problem = !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 ? `invalid desktop size ${width}x${height}` : desktopSizeProblem(width, height, this.limits);
    if (problem) return Promise.reject(new RangeError(problem));
    this.settleResize(new Error('superseded by a newer resize request'));
    // One screen covering the desktop, with the id the server gave its first screen.
    const first = this.layout.screens[0];
    const screen = { id: first?.id ?? 0, x: 0, y: 0, width, height, flags: first?.flags ?? 0 };
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.settleResize(new Error(`the VNC server did not answer the resize request within ${seconds(DESKTOP_SIZE_TIMEOUT_MS)}`)), DESKTOP_SIZE_TIMEOUT_MS);
      this.pendingResize = { resolve, reject, timer };
      this.send(setDesktopSizeMsg(width, height, [screen]));
      // The answer comes in a FramebufferUpdate: make sure one is asked for.
      this.requestUpdate(true);
    });
  }

  private settleResize(err?: Error): void {
    const p = this.pendingResize;
    if (!p) return;
    this.pendingResize = undefined;
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve();
  }

  private onLayout(layout: RfbLayout): void {
    if (layout.status === 0) this.layout = layout;
    if (layout.reason !== 1) return;
    this.settleResize(layout.status === 0 ? undefined : new Error(LAYOUT_STATUS[layout.status] ?? `the VNC server refused the resize (status ${layout.status})`));
  }

  /** Closes the connection (idempotent); 'close' follows with how 'closed'. */
  close(reason = 'closed by the gateway'): void {
    if (this.state === 'handshake') {
      this.failConnect(new ConnectError('protocol', reason));
      return;
    }
    this.finish({ how: 'closed', message: reason });
  }

  // ----------------------------------------------------------------------------------------
  // the byte parser

  private *parse(encodings: number[]): ByteParser {
    const init = yield* handshake({
      send: (b) => this.send(b),
      stage: (s) => {
        this.stage = s;
      },
      password: this.opts.password,
      shared: this.opts.shared ?? true,
      limits: this.limits,
    });
    this.init = init;
    this.messages = new MessageParser(init.width, init.height, this.limits, {
      update: (ops) => this.emit('update', ops),
      resize: (width, height) => this.emit('resize', { width, height }),
      cursor: (c) => this.emit('cursor', c),
      clipboard: (text) => this.emit('clipboard', text),
      bell: () => this.emit('bell'),
      layout: (l) => this.onLayout(l),
      updateDone: (resized) => {
        this.emit('updateDone', { resized });
        if (this.autoRequest) this.requestUpdate(!resized);
      },
    });
    // Our pixel format and encodings go before any update request, so every update uses them.
    this.send(setPixelFormatMsg(CLIENT_PIXEL_FORMAT));
    this.send(setEncodingsMsg(encodings));
    this.connected();
    yield* this.messages.run();
  }

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.driver.feed(chunk);
    } catch (err) {
      this.violation(err);
    }
  };

  private connected(): void {
    this.state = 'open';
    this.cleanupConnect();
    if (this.autoRequest) this.requestUpdate(false);
    // Let the caller of connectRfb() attach its listeners before any message is decoded: stop
    // after ServerInit and go on in a later turn of the event loop (after the promise's callbacks).
    this.driver.pause();
    this.stream.pause();
    this.holding = true;
    this.resolveConnect(this);
    setImmediate(() => {
      this.holding = false;
      if (this.state !== 'open') return;
      this.stream.resume();
      try {
        this.driver.resume();
      } catch (err) {
        this.violation(err);
        return;
      }
      // the server hung up while we held its last bytes: they were decoded above, now end
      if (this.endWhileHolding) this.onEnd();
    });
  }

  // ----------------------------------------------------------------------------------------
  // endings

  private send(bytes: Buffer): void {
    if (this.state === 'closed' || this.stream.destroyed || !this.stream.writable) return;
    this.stream.write(bytes);
  }

  private violation(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (this.state === 'handshake') {
      this.failConnect(err instanceof ConnectError ? err : new ConnectError('protocol', message));
      return;
    }
    if (this.state === 'closed') return;
    const error = err instanceof ConnectError && err.failure === 'protocol' ? err : new ConnectError('protocol', message);
    this.finish({ how: 'error', message }, error);
  }

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    this.lastError ??= err;
  };

  private readonly onEnd = (): void => {
    if (this.holding) {
      this.endWhileHolding = true;
      return;
    }
    const err = this.lastError;
    const code = err?.code ?? err?.message;
    if (this.state === 'handshake') {
      if (err?.code === 'ETIMEDOUT') this.failConnect(new ConnectError('timeout', `the VNC server did not answer (${code})`));
      else if (err && UNREACHABLE_CODES.has(err.code ?? '')) this.failConnect(new ConnectError('unreachable', `the VNC server is unreachable (${code})`));
      else if (this.stage === 'security-result') {
        this.failConnect(new ConnectError('auth_failed', `the VNC server closed the connection after the password was sent${code ? ` (${code})` : ''}`));
      } else {
        this.failConnect(new ConnectError('protocol', `the VNC server closed the connection while the gateway waited for ${STAGE_TEXT[this.stage]}${code ? ` (${code})` : ''}`));
      }
      return;
    }
    this.finish(err ? { how: 'error', message: `the connection to the VNC server broke (${code})` } : { how: 'closed', message: 'the VNC server closed the connection' });
  };

  private failConnect(err: Error): void {
    if (this.state !== 'handshake') return;
    this.state = 'closed';
    this.cleanupConnect();
    this.teardown();
    this.rejectConnect(err);
    this.resolveEnded({ how: 'error', message: err.message });
  }

  private finish(info: RfbEndInfo, error?: ConnectError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.teardown();
    // An 'error' event without a listener would throw: only emit it to someone who listens.
    if (error && this.listenerCount('error') > 0) this.emit('error', error);
    this.emit('close', info);
    this.resolveEnded(info);
  }

  private cleanupConnect(): void {
    clearTimeout(this.timer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
  }

  private teardown(): void {
    this.settleResize(new Error('the VNC connection closed'));
    this.driver.stop();
    this.stream.off('data', this.onData);
    this.stream.destroy();
  }
}

function clampInt(v: number, lo: number, hi: number): number {
  if (!Number.isFinite(v)) return lo;
  return Math.min(hi, Math.max(lo, Math.round(v)));
}

/** Runs the RFB handshake over `stream` and resolves with the client after ServerInit. */
export function connectRfb(stream: Duplex, opts: RfbConnectOptions = {}): Promise<RfbClient> {
  return new Promise<RfbClient>((resolve, reject) => {
    if (opts.signal?.aborted) {
      stream.destroy();
      reject(abortError(opts.signal));
      return;
    }
    try {
      new RfbClient(stream, opts, resolve, reject);
    } catch (err) {
      stream.destroy();
      reject(err instanceof ConnectError || err instanceof RangeError ? err : new ConnectError('protocol', (err as Error).message));
    }
  });
}

/** connectRfb() over a new TCP connection (refused, no route, DNS failures are 'unreachable'). */
export function connectRfbTcp(target: { host: string; port: number }, opts: RfbConnectOptions = {}): Promise<RfbClient> {
  if (typeof target.host !== 'string' || target.host === '' || !Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    return Promise.reject(new ConnectError('unreachable', 'invalid VNC server address'));
  }
  const socket = net.connect({ host: target.host, port: target.port });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 30_000);
  return connectRfb(socket, opts);
}
