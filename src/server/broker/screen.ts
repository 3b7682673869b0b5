import { SerializeAddon } from '@xterm/addon-serialize';
import xterm from '@xterm/headless';

/**
 * The session's current screen, kept by a headless xterm so a watcher who joins late first sees
 * what the user sees (serialized with escape sequences), then the live stream.
 */
export class Screen {
  private readonly term: InstanceType<typeof xterm.Terminal>;
  private readonly serializer = new SerializeAddon();

  constructor(cols: number, rows: number) {
    this.term = new xterm.Terminal({ cols, rows, scrollback: 500, allowProposedApi: true });
    this.term.loadAddon(this.serializer as never);
  }

  write(data: Buffer): void {
    this.term.write(data);
  }

  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
  }

  /** The screen after every byte written so far has been processed. */
  snapshot(): Promise<string> {
    return new Promise((resolve) => this.term.write('', () => resolve(this.serializer.serialize({ scrollback: 200 }))));
  }

  dispose(): void {
    this.term.dispose();
  }
}
