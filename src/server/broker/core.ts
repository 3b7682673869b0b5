import { EventEmitter } from 'node:events';
import type { Clock } from './clock.js';
import type { LiveSession, LiveSessionView, Participant, ParticipantEvent, SessionKind, SessionState } from './types.js';


export interface SessionLimits {
  /** Ends the session after this long without input from the user. */
  idleTimeoutMs: number;
  /** Ends the session this long after it started. */
  maxDurationMs: number;
  /** The user is warned this long before either cut. */
  warnBeforeMs: number;
  /** A moderated session ends after this long paused without a moderator (default 10 min). */
  moderatorAbsentMs?: number;
  /** A session waits this long at a gate (approver, moderator) before it fails (default 10 min). */
  gateWaitMs?: number;
}

export interface EndRequest {
  state: Extract<SessionState, 'ended' | 'terminated' | 'failed'>;
  reason: string;
  message: string;
  terminatedBy?: string;
}

/** What the core needs of a recorder (asciicast for terminals, .guac for displays). */
export interface SessionRecorder {
  marker(label: string): boolean;
  readonly pressure: boolean;
  on(event: 'pressure', listener: (on: boolean) => void): unknown;
  on(event: 'fault', listener: (err: Error) => void): unknown;
}

/** How long the asset's output waits for the owner to attach before it flows anyway. */
const OWNER_WAIT_MS = 10_000;

export interface Attached {
  p: Participant;
  since: string;
  blocked: boolean;
}

export type SessionMeta = Omit<LiveSessionView, 'state' | 'watchers' | 'startedAt' | 'cols' | 'rows' | 'kind' | 'paused' | 'pausedSince'>;

/**
 * What every live brokered session shares, whatever it carries (terminal bytes or a display):
 * participants (one owner, any number of read-only watchers, who sees whom), the idle and
 * maximum-duration limits with a warning first, output that starts flowing once the owner is
 * attached, and ending exactly once (the broker seals and writes the row in onEnd). Subclasses
 * (terminal.ts, display.ts) move the media: asset output to participants and the recorder, owner
 * input to the asset, snapshots for late watchers.
 */
export abstract class SessionCore extends EventEmitter implements LiveSession {
  abstract readonly kind: SessionKind;
  protected readonly attached = new Set<Attached>();
  protected owner: Attached | undefined;
  state: SessionState = 'active';
  private cancelIdle: (() => void) | undefined;
  private cancelIdleWarn: (() => void) | undefined;
  private cancelMax: (() => void) | undefined;
  private cancelMaxWarn: (() => void) | undefined;
  private ending: Promise<void> | undefined;
  private endedBy: EndRequest | undefined;
  private resolveDone!: (v: { state: SessionState; reason: string }) => void;
  readonly done: Promise<{ state: SessionState; reason: string }>;
  bytesIn = 0;
  bytesOut = 0;
  readonly startedAt: string;
  /**
   * The asset's output flows only once the owner is attached (or after OWNER_WAIT_MS without
   * one), so the first prompt, a quick command's whole output or the first frame reaches the
   * owner too: until then it waits at the asset (backpressure), not in a buffer here.
   */
  protected flowing = false;
  private cancelOwnerWait: (() => void) | undefined;
  /** Moderated sessions: paused while no moderator watches (see pauseChanged). */
  private wasPaused: boolean;
  /** Told when the session pauses (the time) or resumes (null): the broker keeps it in the row. */
  onPauseChange: ((pausedSince: string | null) => void) | undefined;
  private pausedAt: string | null = null;
  private cancelAbsent: (() => void) | undefined;

  constructor(
    private readonly meta: SessionMeta,
    private readonly rec: SessionRecorder,
    protected readonly clock: Clock,
    private readonly limits: SessionLimits,
    private readonly onEnd: (s: SessionCore, end: EndRequest) => Promise<void>,
  ) {
    super();
    this.done = new Promise((r) => (this.resolveDone = r));
    this.startedAt = new Date(clock.now()).toISOString();
    this.wasPaused = meta.moderated;
    if (meta.moderated) this.pausedAt = this.startedAt;
    this.cancelOwnerWait = clock.setTimer(OWNER_WAIT_MS, () => this.startFlowing());
    rec.on('fault', (err: Error) => this.end({ state: 'failed', reason: 'recording_failed', message: `the recording could not be written (${err.message}): the session was ended` }));
    if (meta.moderated) this.armAbsent();
    else this.armIdle();
    this.cancelMaxWarn = clock.setTimer(Math.max(0, limits.maxDurationMs - limits.warnBeforeMs), () =>
      this.warn(`this session reaches its maximum duration in ${Math.round(limits.warnBeforeMs / 1000)} seconds`, limits.warnBeforeMs),
    );
    this.cancelMax = clock.setTimer(limits.maxDurationMs, () => this.end({ state: 'ended', reason: 'max_duration', message: `maximum session duration (${Math.round(limits.maxDurationMs / 60_000)} min) reached` }));
  }

  // ---- what the media subclass provides ----

  /** The owner is here (or never came): the asset's output may start. */
  protected abstract onFlowStart(): void;
  /** Output may move again (a participant drained, the recorder caught up). */
  protected abstract maybeResume(): void;
  /**
   * Someone joined (the owner, or a watcher who first needs the current screen / a full frame).
   * `late`: output is already flowing, so they need a starting picture.
   */
  protected abstract joined(a: Attached, late: boolean): void;
  /** Someone left. */
  protected left(_a: Attached): void {}
  /** Stops the asset's output now (a moderated session paused); maybeResume() starts it again. */
  protected holdAsset(): void {}
  /** Closes the asset connection now (idempotent). */
  protected abstract closeAsset(message: string): void;
  /** A line for the participants' own screens ("[Portcullis] ..."), or nothing (displays). */
  protected abstract notice(kind: 'warning' | 'ended', message: string): Buffer | undefined;
  /** The media's current size: terminal columns and rows, or display pixels. */
  protected abstract currentSize(): { cols: number; rows: number };
  abstract input(data: Buffer): void;
  abstract resize(size: { cols: number; rows: number }): void;
  abstract endInput(): void;

  get id(): string {
    return this.meta.id;
  }

  view(): LiveSessionView {
    const size = this.currentSize();
    return { ...this.meta, kind: this.kind, state: this.state, startedAt: this.startedAt, cols: size.cols, rows: size.rows, watchers: this.watchers(), paused: this.paused, pausedSince: this.paused ? this.pausedAt : null };
  }

  /** A moderated session with no moderator watching: the owner's input is dropped, the asset's output waits. */
  get paused(): boolean {
    return this.meta.moderated && this.state === 'active' && ![...this.attached].some((a) => a.p.moderator === true);
  }

  /** The owner's input may reach the asset (not paused, still active). */
  protected accepting(): boolean {
    return this.state === 'active' && !this.paused;
  }

  /** Called after every attach and detach: a moderated session pauses or resumes. */
  private pauseChanged(who: string): void {
    const paused = this.paused;
    if (paused === this.wasPaused || this.state !== 'active') return;
    this.wasPaused = paused;
    this.pausedAt = paused ? new Date(this.clock.now()).toISOString() : null;
    this.onPauseChange?.(this.pausedAt);
    const message = paused
      ? `paused: the moderator ${who} left. The session continues when a moderator watches again`
      : `moderator ${who} is watching: the session ${this.flowing ? 'continues' : 'starts'}`;
    const line = this.notice('warning', message);
    if (line) this.owner?.p.output(line);
    this.rec.marker(message);
    this.broadcast({ type: 'paused', paused, message });
    if (paused) {
      this.cancelIdle?.();
      this.cancelIdleWarn?.();
      this.holdAsset();
      this.armAbsent();
    } else {
      this.cancelAbsent?.();
      this.cancelAbsent = undefined;
      this.armIdle();
      this.maybeResume();
    }
  }

  private armAbsent(): void {
    this.cancelAbsent?.();
    const ms = this.limits.moderatorAbsentMs ?? 10 * 60_000;
    this.cancelAbsent = this.clock.setTimer(ms, () => this.end({ state: 'ended', reason: 'moderator_absent', message: `no moderator watched for ${Math.round(ms / 60_000)} min` }));
  }

  private watchers() {
    return [...this.attached].filter((a) => a.p.role === 'watcher').map((a) => ({ name: a.p.name, since: a.since }));
  }

  protected broadcast(ev: ParticipantEvent): void {
    for (const a of this.attached) a.p.event(ev);
  }

  protected marker(label: string): void {
    this.rec.marker(label);
  }

  /** True while someone whose pace the asset must follow (the owner, the disk) is full. */
  protected held(): boolean {
    return this.state !== 'active' || !this.flowing || this.paused || this.rec.pressure || (this.owner?.blocked ?? false);
  }

  private startFlowing(): void {
    if (this.flowing) return;
    this.flowing = true;
    this.cancelOwnerWait?.();
    this.onFlowStart();
  }

  resume(): void {
    for (const a of this.attached) a.blocked = false;
    this.maybeResume();
  }

  attach(p: Participant): () => void {
    if (this.state !== 'active') {
      // Over already (the asset failed right away, or the red button): say how it ended.
      p.event({ type: 'ended', state: this.state, reason: this.endedBy?.reason ?? 'ended', message: this.endedBy?.message ?? 'the session has ended' });
      return () => {};
    }
    const a: Attached = { p, since: new Date(this.clock.now()).toISOString(), blocked: false };
    if (p.role === 'owner') {
      if (this.owner) this.owner.p.event({ type: 'ended', state: this.state, reason: 'replaced', message: 'the session was opened in another window' });
      if (this.owner) this.attached.delete(this.owner);
      this.owner = a;
    }
    this.attached.add(a);
    this.joined(a, this.flowing);
    if (p.role === 'owner') this.startFlowing();
    if (p.role === 'watcher') this.rec.marker(`${p.name} started watching`);
    p.event({ type: 'state', state: this.state });
    if (this.paused) p.event({ type: 'paused', paused: true, message: 'paused: a moderator must watch this session. It starts when one joins' });
    this.broadcast({ type: 'watchers', watchers: this.watchers() });
    this.pauseChanged(p.name);
    return () => {
      if (!this.attached.delete(a)) return;
      if (this.owner === a) this.owner = undefined;
      this.left(a);
      if (p.role === 'watcher') this.rec.marker(`${p.name} stopped watching`);
      this.broadcast({ type: 'watchers', watchers: this.watchers() });
      this.pauseChanged(p.name);
      this.maybeResume();
    };
  }

  /** The owner did something: the idle clock starts again. */
  protected touched(): void {
    if (!this.paused) this.armIdle();
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

  /**
   * Moves the end of the session (its maximum duration) to this instant: access was extended.
   * The warning comes warnBeforeMs before, as for any maximum duration.
   */
  setDeadline(atMs: number, why: string): void {
    if (this.state !== 'active') return;
    this.cancelMax?.();
    this.cancelMaxWarn?.();
    const now = this.clock.now();
    const left = Math.max(0, atMs - now);
    const { warnBeforeMs } = this.limits;
    this.cancelMaxWarn = this.clock.setTimer(Math.max(0, left - warnBeforeMs), () => this.warn(`this session ends in ${Math.round(Math.min(left, warnBeforeMs) / 1000)} seconds (${why})`, Math.min(left, warnBeforeMs)));
    this.cancelMax = this.clock.setTimer(left, () => this.end({ state: 'ended', reason: 'max_duration', message: `the session reached its end (${why})` }));
    this.rec.marker(`session end moved to ${new Date(atMs).toISOString()}: ${why}`);
  }

  /** Warns the participants (terminal line, recording marker, event), e.g. an access window ending. */
  warn(message: string, ms: number): void {
    if (this.state !== 'active') return;
    const line = this.notice('warning', message);
    if (line) this.owner?.p.output(line);
    this.rec.marker(`warning: ${message}`);
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
      this.endedBy = req;
      for (const c of [this.cancelIdle, this.cancelIdleWarn, this.cancelMax, this.cancelMaxWarn, this.cancelOwnerWait, this.cancelAbsent]) c?.();
      this.closeAsset(req.message);
      const line = this.notice('ended', req.message);
      if (line) for (const a of this.attached) a.p.output(line);
      this.broadcast({ type: 'ended', state: req.state, reason: req.reason, message: req.message });
      for (const a of this.attached) this.left(a);
      this.attached.clear();
      this.owner = undefined;
      try {
        await this.onEnd(this, req);
      } finally {
        this.disposeMedia();
        this.resolveDone({ state: req.state, reason: req.reason });
        this.emit('end', req);
      }
    })();
    return this.ending;
  }

  /** After the end: release what the media held (screens, encoders). */
  protected disposeMedia(): void {}
}
