import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, open, readFile, stat, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { keyIdOf, type SigningKey, verifySignature } from './keys.js';

/**
 * Sealing: when a recording ends, `<id>.cast.manifest.json` records the file's SHA-256 and length
 * and is signed with the gateway's Ed25519 key (keys.ts). The signature covers a canonical JSON of
 * every other manifest field (keys sorted, no whitespace), so any edit to the recording, its
 * manifest, or a swap of manifests between recordings is detected by `verifyRecording`.
 */
export const MANIFEST_FORMAT = 'portcullis.recording-manifest.v1';

export interface RecordingManifest {
  /** Domain separation: the same key will sign other things (audit checkpoints). */
  format: typeof MANIFEST_FORMAT;
  /** File name of the recording, next to the manifest. */
  recording: string;
  /** SHA-256 (hex) of the whole recording file. */
  sha256: string;
  bytes: number;
  /** Event lines (the header is not counted). */
  events: number;
  startedAt: string;
  endedAt: string;
  keyId: string;
  /** Present (true) when the recorder died and the broker sealed what was on disk. */
  interrupted?: true;
  /** Present when a too-slow disk made the recorder drop events (see the gap markers). */
  droppedEvents?: number;
  droppedBytes?: number;
  /** Ed25519 over canonicalJson(all other fields), base64. */
  signature: string;
}

export type ManifestFields = Omit<RecordingManifest, 'format' | 'recording' | 'keyId' | 'signature'>;

export type VerifyFailure = 'modified' | 'truncated' | 'bad signature' | 'no manifest';
export type VerifyResult =
  | { ok: true; manifest: RecordingManifest; interrupted: boolean; message: string }
  | { ok: false; reason: VerifyFailure; message: string; manifest?: RecordingManifest };

export const manifestPathFor = (castPath: string): string => `${castPath}.manifest.json`;

/** JSON with object keys sorted at every level and no whitespace: the bytes that are signed. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('cannot sign a non-finite number');
  return JSON.stringify(value);
}

const signedBytes = (m: Omit<RecordingManifest, 'signature'>): Buffer => Buffer.from(canonicalJson(m), 'utf8');

/** SHA-256 (hex) and length of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}

/**
 * Signs and writes the manifest next to `castPath`: written to a temporary file (0600), fsynced,
 * then hard-linked into place, which fails if a manifest already exists (a seal is never replaced).
 */
export async function writeManifest(castPath: string, fields: ManifestFields, signer: Pick<SigningKey, 'sign' | 'keyId'>): Promise<{ manifest: RecordingManifest; manifestPath: string }> {
  const unsigned: Omit<RecordingManifest, 'signature'> = { format: MANIFEST_FORMAT, recording: basename(castPath), ...fields, keyId: signer.keyId };
  for (const k of Object.keys(unsigned) as (keyof typeof unsigned)[]) if (unsigned[k] === undefined) delete unsigned[k];
  const manifest: RecordingManifest = { ...unsigned, signature: signer.sign(signedBytes(unsigned)) };
  const manifestPath = manifestPathFor(castPath);
  const tmp = `${manifestPath}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, manifestPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${manifestPath} already exists: the recording is already sealed`);
    throw e;
  } finally {
    await unlink(tmp).catch(() => {});
  }
  await syncDir(dirname(castPath));
  return { manifest, manifestPath };
}

/** fsync a directory so a new entry in it survives a power loss (best effort where unsupported). */
export async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some platforms/filesystems cannot fsync a directory; the data itself is already synced.
  } finally {
    await fh?.close();
  }
}

function isManifest(m: unknown): m is RecordingManifest {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return false;
  const r = m as Record<string, unknown>;
  return typeof r.signature === 'string' && typeof r.recording === 'string' && typeof r.sha256 === 'string' && typeof r.keyId === 'string'
    && Number.isSafeInteger(r.bytes) && Number.isSafeInteger(r.events) && typeof r.startedAt === 'string' && typeof r.endedAt === 'string';
}

/**
 * Checks a sealed recording against the gateway's public key: the manifest's signature first (so
 * nothing in an unsigned manifest is trusted), then that it belongs to this file, then length and
 * SHA-256 of the file. A shorter file is 'truncated'; any other difference is 'modified'.
 */
export async function verifyRecording(castPath: string, publicKeyPem: string): Promise<VerifyResult> {
  let raw: string;
  try {
    raw = await readFile(manifestPathFor(castPath), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, reason: 'no manifest', message: `${basename(castPath)} has no manifest: it was never sealed (or the manifest was removed)` };
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'bad signature', message: 'the manifest is not valid JSON' };
  }
  if (!isManifest(parsed)) return { ok: false, reason: 'bad signature', message: 'the manifest lacks required fields' };
  const { signature, ...unsigned } = parsed;
  const expectedKeyId = keyIdOf(publicKeyPem);
  if (parsed.keyId !== expectedKeyId) {
    return { ok: false, reason: 'bad signature', message: `the manifest names signing key ${parsed.keyId}, not the gateway key ${expectedKeyId}` };
  }
  if (unsigned.format !== MANIFEST_FORMAT || !verifySignature(publicKeyPem, signedBytes(unsigned), signature)) {
    return { ok: false, reason: 'bad signature', message: 'the manifest signature does not verify: the manifest was altered or forged' };
  }
  const manifest = parsed;
  if (manifest.recording !== basename(castPath)) {
    return { ok: false, reason: 'modified', manifest, message: `the manifest seals ${manifest.recording}, not ${basename(castPath)}` };
  }
  let size: number;
  try {
    size = (await stat(castPath)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, reason: 'truncated', manifest, message: 'the recording file is missing' };
    throw e;
  }
  if (size < manifest.bytes) return { ok: false, reason: 'truncated', manifest, message: `the recording is ${size} bytes, the seal says ${manifest.bytes}: it was truncated` };
  if (size > manifest.bytes) return { ok: false, reason: 'modified', manifest, message: `the recording is ${size} bytes, the seal says ${manifest.bytes}: data was added` };
  const { sha256 } = await hashFile(castPath);
  if (sha256 !== manifest.sha256) return { ok: false, reason: 'modified', manifest, message: 'the recording content does not match its sealed SHA-256' };
  return {
    ok: true,
    manifest,
    interrupted: manifest.interrupted === true,
    message: `sealed by key ${manifest.keyId}: ${manifest.events} events, ${manifest.bytes} bytes${manifest.interrupted ? ' (interrupted recording)' : ''}`,
  };
}
