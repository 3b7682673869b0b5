import type { FileHandle } from 'node:fs/promises';
import { createJournal, type JournalOptions, JournalRecorder } from './journal.js';

/**
 * The display recorder: one `.guac` file per graphical session (<dir>/<id>.guac), the same
 * Guacamole instruction stream the user's browser received (size, img/blob/end, copy, cursor,
 * sync with timestamps), so Guacamole.SessionRecording replays it with seek. Written through the
 * journal (journal.ts: durability within a second, backpressure, signed seal). Events that are
 * not drawing (watchers, warnings, the red button, lost data) go in as `marker,<epoch ms>,<label>`
 * instructions, which a Guacamole client ignores and our player lists at their time.
 */

export type OpenGuacRecordingOptions = JournalOptions;

/** Guacamole wire format of one instruction (lengths in code points). */
function instruction(opcode: string, ...args: string[]): string {
  return `${[opcode, ...args].map((e) => `${[...e].length}.${e}`).join(',')};`;
}

export class GuacRecorder extends JournalRecorder {
  /** @internal use openGuacRecording() */
  constructor(fh: FileHandle, path: string, opts: OpenGuacRecordingOptions & { clock: () => number }) {
    super(fh, path, opts);
  }

  /** @internal the file starts with a marker naming the format and the start time. */
  async start(title: string): Promise<void> {
    await this.begin(Buffer.from(instruction('marker', this.epochMs(0), `portcullis display recording: ${title}`)));
  }

  /** Markers carry the same clock as the `sync` timestamps (epoch milliseconds), so a player places them. */
  private epochMs(t: number): string {
    return String(Math.round(this.startMs + t * 1000));
  }

  /**
   * Complete instructions as sent to the user (one frame or part of one). Returns false under
   * pressure: the display should stop asking the asset for frames until 'drain'.
   */
  instructions(text: string): boolean {
    if (text === '') return this.accepting();
    return this.append(() => Buffer.from(text, 'utf8'));
  }

  /** A labelled marker ("bob started watching", "terminated by alice: ..."). */
  marker(label: string): boolean {
    return this.append((t) => Buffer.from(instruction('marker', this.epochMs(t), label)));
  }

  protected gapLine(t: number, events: number, bytes: number): Buffer {
    return Buffer.from(instruction('marker', this.epochMs(t), `recording gap: ${events} writes (${bytes} bytes) lost, the disk could not keep up`));
  }
}

/** Creates <dir>/<id>.guac (never overwriting) with its first marker. */
export function openGuacRecording(opts: OpenGuacRecordingOptions & { title: string }): Promise<GuacRecorder> {
  return createJournal(
    opts,
    'guac',
    (fh, path, clock) => new GuacRecorder(fh, path, { ...opts, clock }),
    (rec) => rec.start(opts.title),
  );
}
