import type { TerminalConnection, TerminalSize } from '../protocols/types.js';
import type { AsciicastRecorder } from '../recording/index.js';
import type { Clock } from './clock.js';
import { type Attached, type EndRequest, SessionCore, type SessionLimits, type SessionMeta } from './core.js';
import type { Screen } from './screen.js';

/**
 * A live terminal session (SSH, Telnet): relays bytes between the asset and the owner with
 * backpressure, feeds the asciicast recorder and the headless screen, fans output out to
 * watchers, and writes the gateway's warning and end lines into the terminal. It knows nothing of
 * SSH or Telnet beyond the TerminalConnection.
 */
export class TerminalSession extends SessionCore {
  readonly kind = 'terminal' as const;

  constructor(
    meta: SessionMeta,
    private readonly conn: TerminalConnection,
    private readonly recorder: AsciicastRecorder,
    private readonly screen: Screen,
    clock: Clock,
    limits: SessionLimits,
    private size: TerminalSize,
    onEnd: (s: SessionCore, end: EndRequest) => Promise<void>,
  ) {
    super(meta, recorder, clock, limits, onEnd);
    conn.stream.on('data', (chunk: Buffer) => this.fromAsset(chunk));
    conn.stream.pause();
    conn.stream.on('error', () => {});
    recorder.on('pressure', (on: boolean) => (on ? this.conn.stream.pause() : this.maybeResume()));
  }

  protected onFlowStart(): void {
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

  private fromAsset(chunk: Buffer): void {
    this.bytesOut += chunk.length;
    this.screen.write(chunk);
    const ok = this.recorder.output(chunk);
    for (const a of this.attached) if (!a.p.output(chunk)) a.blocked = true;
    // Backpressure: the asset waits for the owner's browser and the recorder's disk.
    if (!ok || (this.owner?.blocked ?? false)) this.conn.stream.pause();
  }

  protected maybeResume(): void {
    if (!this.held()) this.conn.stream.resume();
  }

  protected joined(a: Attached): void {
    // A late watcher first sees the current screen, then the live stream.
    if (a.p.role === 'watcher') void this.screen.snapshot().then((s) => a.p.output(Buffer.from(s, 'utf8')));
  }

  protected override holdAsset(): void {
    this.conn.stream.pause();
  }

  protected closeAsset(message: string): void {
    this.conn.close(message);
    this.conn.stream.resume();
  }

  protected notice(kind: 'warning' | 'ended', message: string): Buffer {
    return kind === 'warning' ? Buffer.from(`\r\n\x1b[1;33m[Portcullis] ${message}\x1b[0m\r\n`) : Buffer.from(`\r\n\x1b[1;31m[Portcullis] Session ended: ${message}\x1b[0m\r\n`);
  }

  protected currentSize(): { cols: number; rows: number } {
    return this.size;
  }

  input(data: Buffer): void {
    // Paused (a moderated session nobody moderates): keystrokes are dropped, not queued.
    if (!this.accepting() || data.length === 0) return;
    this.bytesIn += data.length;
    this.recorder.input(data);
    this.conn.stream.write(data);
    this.touched();
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

  protected override disposeMedia(): void {
    this.screen.dispose();
  }
}
