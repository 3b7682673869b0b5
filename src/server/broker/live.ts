import { EventEmitter } from 'node:events';
import type { AsciicastRecorder } from '../recording/index.js';
import type { TerminalConnection, TerminalSize } from '../protocols/types.js';
import type { Clock } from './clock.js';
import type { Screen } from './screen.js';
import type { LiveSession, LiveSessionView, Participant, ParticipantEvent, SessionState } from './types.js';

export interface SessionLimits {
  /** Ends the session after this long without input from the user. */
  idleTimeoutMs: number;
  /** Ends the session this long after it started. */
  maxDurationMs: number;
  /** The user is warned this long before either cut. */
  warnBeforeMs: number;
}

export interface EndRequest {
  state: Extract<SessionState, 'ended' | 'terminated' | 'failed'>;
  reason: string;
  message: string;
  terminatedBy?: string;
}

/** How long the asset's output waits for the owner to attach before it flows anyway. */
const OWNER_WAIT_MS = 10_000;

interface Attached {
  p: Participant;
  since: string;
  blocked: boolean;
}

/**
 * One live brokered session: relays bytes between the asset and the owner, feeds the recorder and
 * the screen, fans output out to watchers, enforces idle and maximum-duration limits with a
 * warning line first, and ends exactly once. It knows nothing of SSH or Telnet.
 */
export class LiveSessionImpl extends EventEmitter implements LiveSession {
  private readonly attached = new Set<Attached>();
  private owner: Attached | undefined;
  state: SessionState = 'active';
  private cancelIdle: (() => void) | undefined;
  private cancelIdleWarn: (() => void) | undefined;
  private cancelMax: (() => void) | undefined;
  private cancelMaxWarn: (() => void) | undefined;
  private ending: Promise<void> | undefined;
  private resolveDone!: (v: { state: SessionState; reason: string }) => void;
  readonly done: Promise<{ state: SessionState; reason: string }>;
  bytesIn = 0;
  bytesOut = 0;
  readonly startedAt: string;
  /**
   * The asset's output flows only once the owner is attached (or after OWNER_WAIT_MS without
   * one), so the first prompt or a quick command's whole output reaches the owner too: until
   * then it waits in the asset connection (backpressure), not in a buffer here.
   */
  private flowing = false;
  private cancelOwnerWait: (() => void) | undefined;

  constructor(
    private readonly meta: Omit<LiveSessionView, 'state' | 'watchers' | 'startedAt' | 'cols' | 'rows'>,
    private readonly conn: TerminalConnection,
    private readonly recorder: AsciicastRecorder,
    private readonly screen: Screen,
    private readonly clock: Clock,
    private readonly limits: SessionLimits,
    private size: TerminalSize,
    private readonly onEnd: (s: LiveSessionImpl, end: EndRequest) => Promise<void>,
  ) {
    super();
    this.done = new Promise((r) => (this.resolveDone = r));
    this.startedAt = new Date(clock.now()).toISOString();
    conn.stream.on('data', (chunk: Buffer) => this.fromAsset(chunk));
    conn.stream.pause();
    conn.stream.on('error', () => {});
    this.cancelOwnerWait = clock.setTimer(OWNER_WAIT_MS, () => this.startFlowing());
    recorder.on('pressure', (on: boolean) => (on ? this.conn.stream.pause() : this.maybeResume()));
    recorder.on('fault', (err: Error) => this.end({ state: 'failed', reason: 'recording_failed', message: `the recording could not be written (${err.message}): the session was ended` }));
    this.armIdle();
    this.cancelMaxWarn = clock.setTimer(Math.max(0, limits.maxDurationMs - limits.warnBeforeMs), () =>
      this.warn(`this session reaches its maximum duration in ${Math.round(limits.warnBeforeMs / 1000)} seconds`, limits.warnBeforeMs),
    );
    this.cancelMax = clock.setTimer(limits.maxDurationMs, () => this.end({ state: 'ended', reason: 'max_duration', message: `maximum session duration (${Math.round(limits.maxDurationMs / 60_000)} min) reached` }));
  }

  /** Output starts: the owner is here (or never came). Then the asset's own end ends the session. */
  private startFlowing(): void {
    if (this.flowing) return;
    this.flowing = true;
    this.cancelOwnerWait?.();
    this.maybeResume();
    void this.conn.ended.then((e) => {
      const end = () => void this.end({ state: 'ended', reason: e.how === 'error' ? 'asset_error' : 'closed', message: e.message });
      // Relay and record what the asset sent just before closing (a quick exec) before ending.
      const stream = this.conn.stream;
      if (stream.readableEnded || stream.destroyed) return end();
      stream.once('end', end);
      stream.once('close', end);
      this.clock.setTimer(1000, end);
    });
  }

  get id(): string {
    return this.meta.id;
  }

  view(): LiveSessionView {
    return { ...this.meta, state: this.state, startedAt: this.startedAt, cols: this.size.cols, rows: this.size.rows, watchers: this.watchers() };
  }

  private watchers() {
    return [...this.attached].filter((a) => a.p.role === 'watcher').map((a) => ({ name: a.p.name, since: a.since }));
  }

  private broadcast(ev: ParticipantEvent): void {
    for (const a of this.attached) a.p.event(ev);
  }

  private fromAsset(chunk: Buffer): void {
    this.bytesOut += chunk.length;
    this.screen.write(chunk);
    const ok = this.recorder.output(chunk);
    for (const a of this.attached) if (!a.p.output(chunk)) a.blocked = true;
    // Backpressure: the asset waits for the owner's browser and the recorder's disk.
    if (!ok || (this.owner?.blocked ?? false)) this.conn.stream.pause();
  }

  private maybeResume(): void {
    if (this.state !== 'active' || !this.flowing) return;
    if (this.recorder.pressure || this.owner?.blocked) return;
    this.conn.stream.resume();
  }

  resume(): void {
    for (const a of this.attached) a.blocked = false;
    this.maybeResume();
  }

  attach(p: Participant): () => void {
    if (this.state !== 'active') {
      p.event({ type: 'ended', state: this.state, reason: 'ended', message: 'the session has ended' });
      return () => {};
    }
    const a: Attached = { p, since: new Date(this.clock.now()).toISOString(), blocked: false };
    if (p.role === 'owner') {
      if (this.owner) this.owner.p.event({ type: 'ended', state: this.state, reason: 'replaced', message: 'the session was opened in another window' });
      if (this.owner) this.attached.delete(this.owner);
      this.owner = a;
    }
    this.attached.add(a);
    if (p.role === 'owner') this.startFlowing();
    if (p.role === 'watcher') {
      // A late joiner first sees the current screen, then the live stream.
      void this.screen.snapshot().then((s) => p.output(Buffer.from(s, 'utf8')));
      this.recorder.marker(`${p.name} started watching`);
    }
    p.event({ type: 'state', state: this.state });
    this.broadcast({ type: 'watchers', watchers: this.watchers() });
    return () => {
      if (!this.attached.delete(a)) return;
      if (this.owner === a) this.owner = undefined;
      if (p.role === 'watcher') this.recorder.marker(`${p.name} stopped watching`);
      this.broadcast({ type: 'watchers', watchers: this.watchers() });
      this.maybeResume();
    };
  }

  input(data: Buffer): void {
    if (this.state !== 'active' || data.length === 0) return;
    this.bytesIn += data.length;
    this.recorder.input(data);
    this.conn.stream.write(data);
    this.armIdle();
  }

  endInput(): void {
    if (this.state !== 'active') return;
    this.conn.stream.end();
  }

  resize(size: TerminalSize): void {
    if (this.state !== 'active') return;
    const cols = Math.min(Math.max(1, Math.floor(size.cols)), 1000);
    const rows = Math.min(Math.max(1, Math.floor(size.rows)), 1000);
    if (cols === this.size.cols && rows === this.size.rows) return;
    this.size = { cols, rows };
    this.conn.resize({ cols, rows });
    this.screen.resize(cols, rows);
    this.recorder.resize(cols, rows);
    for (const a of this.attached) if (a.p.role === 'watcher') a.p.event({ type: 'resize', cols, rows });
  }

  private armIdle(): void {
    this.cancelIdle?.();
    this.cancelIdleWarn?.();
    const { idleTimeoutMs, warnBeforeMs } = this.limits;
    this.cancelIdleWarn = this.clock.setTimer(Math.max(0, idleTimeoutMs - warnBeforeMs), () =>
      this.warn(`no input for a while: this session ends in ${Math.round(warnBeforeMs / 1000)} seconds unless you type`, warnBeforeMs),
    );
    this.cancelIdle = this.clock.setTimer(idleTimeoutMs, () => this.end({ state: 'ended', reason: 'idle_timeout', message: `idle timeout (${Math.round(idleTimeoutMs / 60_000)} min without input)` }));
  }

  private warn(message: string, ms: number): void {
    if (this.state !== 'active') return;
    const line = Buffer.from(`\r\n\x1b[1;33m[Portcullis] ${message}\x1b[0m\r\n`);
    this.owner?.p.output(line);
    this.recorder.marker(`warning: ${message}`);
    this.broadcast({ type: 'warning', message, secondsLeft: Math.round(ms / 1000) });
  }

  close(message: string): Promise<void> {
    return this.end({ state: 'ended', reason: 'closed', message });
  }

  /** Ends the session once: closes the asset, stops timers, tells everyone, lets the broker seal. */
  end(req: EndRequest): Promise<void> {
    if (this.ending) return this.ending;
    this.ending = (async () => {
      this.state = req.state;
      for (const c of [this.cancelIdle, this.cancelIdleWarn, this.cancelMax, this.cancelMaxWarn, this.cancelOwnerWait]) c?.();
      this.conn.close(req.message);
      this.conn.stream.resume();
      const line = Buffer.from(`\r\n\x1b[1;31m[Portcullis] Session ended: ${req.message}\x1b[0m\r\n`);
      for (const a of this.attached) a.p.output(line);
      this.broadcast({ type: 'ended', state: req.state, reason: req.reason, message: req.message });
      this.attached.clear();
      this.owner = undefined;
      try {
        await this.onEnd(this, req);
      } finally {
        this.screen.dispose();
        this.resolveDone({ state: req.state, reason: req.reason });
        this.emit('end', req);
      }
    })();
    return this.ending;
  }
}
