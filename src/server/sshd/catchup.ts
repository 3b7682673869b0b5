import { resolve } from 'node:path';
import type { LiveSession } from '../broker/types.js';
import type { Db } from '../db/index.js';
import { readRecording } from '../recording/index.js';

/**
 * broker.open() resolves once the session is live, so its owner can only attach a moment later:
 * what the asset sent in between (a quick command's whole output, or a shell's first prompt)
 * reached the recording but not the owner. The recording is an exact copy of the output, flushed
 * at least every second and complete once sealed: this reads the first `bytes` bytes of it back.
 * `bytes` undefined: all of it, once the session is over.
 */
export async function recordedOutput(db: Db, dataDir: string, s: LiveSession, bytes?: number, timeoutMs = 10_000): Promise<Buffer | undefined> {
  const row = await db.selectFrom('remote_sessions').select('recording_path').where('id', '=', s.id).executeTakeFirst();
  if (!row?.recording_path) return undefined;
  const path = resolve(dataDir, row.recording_path);
  const read = async () => {
    const rec = await readRecording(path).catch(() => undefined);
    return rec ? Buffer.from(rec.events.filter((e) => e[1] === 'o').map((e) => e[2]).join(''), 'utf8') : undefined;
  };
  const t0 = Date.now();
  for (;;) {
    const over = s.view().state !== 'active';
    if (over || bytes === undefined) await s.done; // sealed: everything is in the file
    const out = await read();
    if (out && (bytes === undefined || out.length >= bytes)) return bytes === undefined ? out : out.subarray(0, bytes);
    if (over || Date.now() - t0 > timeoutMs) return out;
    await new Promise((r) => setTimeout(r, 100));
  }
}
