import type { FileHandle } from 'node:fs/promises';
import { createJournal, type JournalOptions, JournalRecorder } from './journal.js';
import { eventLine, eventLineOf, Utf8Splitter } from './json-text.js';
import type { AsciicastHeader } from './reader.js';

export { fileIo, type RecordingIo, type RecordingResult } from './journal.js';

/**
 * The terminal recorder: one asciicast v2 file per session (<dir>/<id>.cast): output, input,
 * resize and marker events as JSON lines, written through the journal (journal.ts: durability
 * within a second, backpressure, gap markers, signed seal).
 */

export interface OpenRecordingOptions extends JournalOptions {
  width: number;
  height: number;
  title?: string;
  /** Header env; TERM defaults to xterm-256color. */
  env?: Record<string, string>;
}

export class AsciicastRecorder extends JournalRecorder {
  private readonly outText = new Utf8Splitter();
  private readonly inText = new Utf8Splitter();

  /** @internal use openRecording() */
  constructor(fh: FileHandle, path: string, opts: OpenRecordingOptions & { clock: () => number }) {
    super(fh, path, opts);
  }

  /** @internal writes and syncs the header, starts the flush timer. */
  async start(meta: Pick<OpenRecordingOptions, 'width' | 'height' | 'title' | 'env'>): Promise<void> {
    const header: AsciicastHeader = {
      version: 2,
      width: meta.width,
      height: meta.height,
      timestamp: Math.floor(this.startMs / 1000),
      ...(meta.title !== undefined ? { title: meta.title } : {}),
      env: { TERM: 'xterm-256color', ...meta.env },
    };
    await this.begin(Buffer.from(`${JSON.stringify(header)}\n`));
  }

  /** Bytes from the asset to the user. UTF-8 split across chunks is reassembled; invalid bytes become U+FFFD. */
  output(data: Buffer | string): boolean {
    return this.text('o', data, this.outText);
  }
  /** Bytes from the user to the asset. */
  input(data: Buffer | string): boolean {
    return this.text('i', data, this.inText);
  }
  resize(cols: number, rows: number): boolean {
    if (!Number.isSafeInteger(cols) || !Number.isSafeInteger(rows) || cols < 1 || rows < 1) throw new RangeError(`bad terminal size ${cols}x${rows}`);
    return this.event('r', `${cols}x${rows}`);
  }
  /** A labelled marker ("watcher joined: bob", "terminated by alice"). */
  marker(label: string): boolean {
    return this.event('m', label);
  }

  private text(code: 'o' | 'i', data: Buffer | string, text: Utf8Splitter): boolean {
    const pieces = text.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    if (pieces.length === 0) return this.accepting();
    let ok = true;
    for (const p of pieces) ok = this.append((t) => eventLine(t, code, p)) && ok;
    return ok;
  }

  private event(code: string, data: string, force = false): boolean {
    return this.append((t) => eventLineOf(t, code, data), force);
  }

  protected gapLine(t: number, events: number, bytes: number): Buffer {
    return eventLineOf(t, 'm', `recording gap: ${events} events (${bytes} bytes) lost, the disk could not keep up`);
  }

  protected override beforeClose(): void {
    // An incomplete character left at the end is recorded as U+FFFD.
    for (const [code, text] of [['o', this.outText], ['i', this.inText]] as const) {
      const tail = text.end();
      if (tail) this.append((t) => eventLine(t, code, tail), true);
    }
  }
}

/** Creates <dir>/<id>.cast (never overwriting) and writes the asciicast v2 header at once. */
export async function openRecording(opts: OpenRecordingOptions): Promise<AsciicastRecorder> {
  for (const [k, v] of [['width', opts.width], ['height', opts.height]] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || v > 10000) throw new RangeError(`bad terminal ${k} ${v}`);
  }
  return createJournal(
    opts,
    'cast',
    (fh, path, clock) => new AsciicastRecorder(fh, path, { ...opts, clock }),
    (rec) => rec.start(opts),
  );
}
