import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FileHandle, readFile } from 'node:fs/promises';
import { fileIo, type RecordingIo } from '../../src/server/recording/asciicast.js';
import { loadSigningKey, type SigningKey } from '../../src/server/recording/keys.js';

export interface TmpEnv {
  root: string;
  dir: string;
  signer: SigningKey;
  cleanup(): void;
}

export function tmpEnv(): TmpEnv {
  const root = mkdtempSync(join(tmpdir(), 'portcullis-rec-'));
  return { root, dir: join(root, 'recordings'), signer: loadSigningKey(join(root, 'data')), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A controllable clock in epoch milliseconds. */
export function fakeClock(start = 1_700_000_000_123) {
  const c = { now: start, clock: () => c.now, advance: (ms: number) => { c.now += ms; } };
  return c;
}

/** Real file I/O that counts writes and syncs and can be paused (a slow disk). */
export function countingIo() {
  let release: (() => void) | null = null;
  let gate: Promise<void> | null = null;
  const io: RecordingIo & { writes: number; syncs: number; pause(): void; resume(): void } = {
    writes: 0,
    syncs: 0,
    async write(fh: FileHandle, data: Buffer) {
      while (gate) await gate;
      io.writes++;
      await fileIo.write(fh, data);
    },
    async sync(fh: FileHandle) {
      io.syncs++;
      await fileIo.sync(fh);
    },
    pause() {
      gate ??= new Promise<void>((r) => { release = r; });
    },
    resume() {
      const r = release;
      gate = null;
      release = null;
      r?.();
    },
  };
  return io;
}

export const lines = async (path: string): Promise<string[]> => (await readFile(path, 'utf8')).split('\n');
