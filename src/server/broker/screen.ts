import { SerializeAddon } from '@xterm/addon-serialize';
import xterm from '@xterm/headless';

/** Output is parsed in batches this often, not per chunk. */
const PARSE_INTERVAL_MS = 100;
/**
 * At most this much unparsed output is kept between batches. A burst larger than this (a `cat` of a
 * big file) has scrolled far past the screen anyway: only its tail decides what the screen shows,
 * so the older part is skipped instead of parsed. This caps the screen's CPU at about
 * 10 x 256 KiB per second however fast the asset sends, so bulk output is not slowed by it.
 */
const BACKLOG_LIMIT = 256 * 1024;
/** Lines above the screen a late watcher gets (and all the screen keeps). */
const SNAPSHOT_SCROLLBACK = 200;

/**
 * The session's current screen, kept by a headless xterm so a watcher who joins late first sees
 * what the user sees (serialized with escape sequences), then the live stream. The recording, not
 * this, is the evidence: this is only the late watcher's starting picture.
 */
export class Screen {
  private readonly term: InstanceType<typeof xterm.Terminal>;
  private readonly serializer = new SerializeAddon();
  private backlog: Buffer[] = [];
  private backlogBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(cols: number, rows: number) {
    this.term = new xterm.Terminal({ cols, rows, scrollback: SNAPSHOT_SCROLLBACK, allowProposedApi: true, logLevel: 'off' });
    this.term.loadAddon(this.serializer as never);
  }

  write(data: Buffer): void {
    if (this.disposed) return;
    this.backlog.push(data);
    this.backlogBytes += data.length;
    if (this.backlogBytes > 2 * BACKLOG_LIMIT) this.trim();
    this.timer ??= setTimeout(() => this.parse(), PARSE_INTERVAL_MS);
  }

  /** Keeps the last BACKLOG_LIMIT bytes, starting after a line feed (not inside an escape sequence). */
  private trim(): void {
    // Whole chunks that lie before the kept tail are dropped without being copied.
    while (this.backlog.length > 1 && this.backlogBytes - this.backlog[0]!.length >= BACKLOG_LIMIT) this.backlogBytes -= this.backlog.shift()!.length;
    const all = Buffer.concat(this.backlog);
    let from = all.length - BACKLOG_LIMIT;
    const nl = all.indexOf(0x0a, from);
    if (nl !== -1 && nl < all.length - 1) from = nl + 1;
    this.backlog = [all.subarray(from)];
    this.backlogBytes = all.length - from;
  }

  private parse(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.backlogBytes === 0 || this.disposed) return;
    if (this.backlogBytes > BACKLOG_LIMIT) this.trim();
    const data = this.backlog.length === 1 ? this.backlog[0]! : Buffer.concat(this.backlog);
    this.backlog = [];
    this.backlogBytes = 0;
    this.term.write(data);
  }

  resize(cols: number, rows: number): void {
    // Output sent before the resize was laid out at the old size.
    this.parse();
    this.term.resize(cols, rows);
  }

  /** The screen after every byte written so far has been processed. */
  snapshot(): Promise<string> {
    this.parse();
    return new Promise((resolve) => this.term.write('', () => resolve(this.serializer.serialize({ scrollback: SNAPSHOT_SCROLLBACK }))));
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.backlog = [];
    this.term.dispose();
  }
}
