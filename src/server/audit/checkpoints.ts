import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx } from '../context.js';
import type { Db } from '../db/index.js';
import { keyIdOf, loadSigningKey, type SigningKey, verifySignature } from '../recording/keys.js';
import { nowIso } from '../util.js';
import { audit } from './log.js';

/**
 * Signed checkpoints of the audit hash chain.
 *
 * The chain alone shows an edit, insert or delete, but not a rewrite: someone with write access
 * to the database can change a row and recompute every later hash and the head. A checkpoint is
 * the chain head (seq, hash) signed with the gateway's Ed25519 key, whose private half lives in
 * the data directory, not in the database. Checkpoints go to the `audit_checkpoints` table and,
 * one JSON line each, to `<data>/audit/checkpoints.jsonl`. Deleting them from the database does
 * not remove them from the file. Verifying checks every checkpoint signed by a trusted key
 * against the chain. The trusted keys are the gateway's own key and any public keys (SPKI PEM)
 * placed in `<data>/keys/audit-trust/`, for the other nodes of a multi-node deployment.
 */

export interface Checkpoint {
  seq: number;
  hash: string;
  at: string;
  keyId: string;
  signature: string;
}

export const CHECKPOINT_FILE = join('audit', 'checkpoints.jsonl');
/** How often a running gateway signs the head (also at start and at shutdown). */
export const CHECKPOINT_INTERVAL_MS = 10 * 60_000;

/** The bytes a checkpoint signs. */
export function checkpointPayload(c: Pick<Checkpoint, 'seq' | 'hash' | 'at'>): Buffer {
  return Buffer.from(`portcullis-audit-checkpoint:v1\n${c.seq}\n${c.hash}\n${c.at}`, 'utf8');
}

/**
 * Signs the current chain head and stores the checkpoint in the database and the file. Returns
 * null when there is nothing new to sign (no event since this key's last checkpoint).
 */
export async function writeCheckpoint(db: Db, dataDir: string, key: SigningKey): Promise<Checkpoint | null> {
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  const seq = Number(head?.seq ?? 0);
  if (!head || seq === 0) return null;
  const last = await db.selectFrom('audit_checkpoints').select('seq').where('key_id', '=', key.keyId).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (last && Number(last.seq) >= seq) return null;
  const at = nowIso();
  const c: Checkpoint = { seq, hash: head.hash, at, keyId: key.keyId, signature: key.sign(checkpointPayload({ seq, hash: head.hash, at })) };
  // The file first: a checkpoint in the file but not in the table is still verified.
  const file = join(dataDir, CHECKPOINT_FILE);
  mkdirSync(join(dataDir, 'audit'), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${JSON.stringify(c)}\n`, { mode: 0o600 });
  await db.insertInto('audit_checkpoints').values({ seq, key_id: c.keyId, hash: c.hash, at, signature: c.signature }).onConflict((oc) => oc.doNothing()).execute();
  return c;
}

/** A checkpoint on request (API): audited first, so the checkpoint covers its own request. */
export async function checkpointNow(ctx: Ctx, dataDir: string): Promise<Omit<Checkpoint, 'signature'>> {
  await audit(ctx.db, ctx.actor, { action: 'audit.checkpoint', target: { type: 'audit', id: 'chain', name: 'audit chain' } });
  const c = await writeCheckpoint(ctx.db, dataDir, loadSigningKey(dataDir));
  if (!c) throw new Error('the chain head was already signed');
  return { seq: c.seq, hash: c.hash, at: c.at, keyId: c.keyId };
}

/** Public keys trusted for checkpoints, by key id: the gateway's own and those in keys/audit-trust/. */
export function trustedKeys(dataDir: string, own: SigningKey): Map<string, string> {
  const keys = new Map([[own.keyId, own.publicKeyPem]]);
  const dir = join(dataDir, 'keys', 'audit-trust');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.pem'))) {
      try {
        const pem = readFileSync(join(dir, f), 'utf8');
        keys.set(keyIdOf(pem), pem);
      } catch {
        // An unreadable file trusts nothing; verification names the checkpoints it cannot check.
      }
    }
  }
  return keys;
}

export interface CheckpointReport {
  ok: boolean;
  /** Checkpoints signed by a trusted key that match the chain. */
  verified: number;
  /** The newest verified checkpoint. */
  latest?: { seq: number; at: string };
  /** Checkpoints by a key that is not trusted here (not evidence either way). */
  untrusted: number;
  problem?: { seq: number; message: string };
}

/** Reads the checkpoint file; lines that are not checkpoints are reported as problems by the caller. */
function fileCheckpoints(dataDir: string): { items: Checkpoint[]; bad: number[] } {
  const file = join(dataDir, CHECKPOINT_FILE);
  if (!existsSync(file)) return { items: [], bad: [] };
  const items: Checkpoint[] = [];
  const bad: number[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      try {
        const c = JSON.parse(line) as Checkpoint;
        if (Number.isSafeInteger(c.seq) && typeof c.hash === 'string' && typeof c.at === 'string' && typeof c.keyId === 'string' && typeof c.signature === 'string') items.push(c);
        else bad.push(i + 1);
      } catch {
        bad.push(i + 1);
      }
    });
  return { items, bad };
}

/**
 * Checks every checkpoint (database and file) signed by a trusted key against the chain as it is
 * now. A chain rewritten at or before a checkpoint, rows removed after one, or checkpoints
 * deleted from the database are named. Run it beside verifyAuditChain, which checks the links.
 */
export async function verifyCheckpoints(db: Db, dataDir: string, own: SigningKey): Promise<CheckpointReport> {
  const trusted = trustedKeys(dataDir, own);
  const rows = await db.selectFrom('audit_checkpoints').selectAll().execute();
  const inDb = new Map(rows.map((r) => [`${r.seq}/${r.key_id}`, { seq: Number(r.seq), hash: r.hash, at: r.at, keyId: r.key_id, signature: r.signature }]));
  const file = fileCheckpoints(dataDir);
  const head = await db.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirst();
  const headSeq = Number(head?.seq ?? 0);
  let verified = 0;
  let untrusted = 0;
  let latest: CheckpointReport['latest'];
  const fail = (seq: number, message: string): CheckpointReport => ({ ok: false, verified, untrusted, ...(latest ? { latest } : {}), problem: { seq, message } });
  if (file.bad.length) return fail(0, `${CHECKPOINT_FILE} line ${file.bad[0]} is not a checkpoint: the file was edited`);

  const all = new Map(inDb);
  for (const c of file.items) {
    const k = `${c.seq}/${c.keyId}`;
    const d = inDb.get(k);
    if (d && (d.hash !== c.hash || d.signature !== c.signature)) return fail(c.seq, `the checkpoint at audit row ${c.seq} differs between the database and ${CHECKPOINT_FILE}`);
    if (!d && trusted.has(c.keyId) && verifySignature(trusted.get(c.keyId)!, checkpointPayload(c), c.signature)) {
      return fail(c.seq, `the signed checkpoint at audit row ${c.seq} (${c.at}) is missing from the database: checkpoints were deleted`);
    }
    all.set(k, c);
  }
  const sorted = [...all.values()].sort((a, b) => a.seq - b.seq);
  // The chain's hashes at the checkpointed rows, fetched in batches.
  const hashAt = new Map<number, string>();
  const seqs = [...new Set(sorted.map((c) => c.seq))];
  for (let i = 0; i < seqs.length; i += 500) {
    const rows = await db.selectFrom('audit_events').select(['seq', 'hash']).where('seq', 'in', seqs.slice(i, i + 500)).execute();
    for (const r of rows) hashAt.set(Number(r.seq), r.hash);
  }
  for (const c of sorted) {
    const pem = trusted.get(c.keyId);
    if (!pem) {
      untrusted++;
      continue;
    }
    if (!verifySignature(pem, checkpointPayload(c), c.signature)) return fail(c.seq, `the checkpoint at audit row ${c.seq} has a bad signature: it was forged or altered`);
    if (c.seq > headSeq) return fail(c.seq, `audit rows ${headSeq + 1}..${c.seq} were removed: a checkpoint signed at ${c.at} covers row ${c.seq}, the chain ends at ${headSeq}`);
    const hash = hashAt.get(c.seq);
    if (hash === undefined) return fail(c.seq, `audit row ${c.seq}, covered by the checkpoint signed at ${c.at}, is missing`);
    if (hash !== c.hash) return fail(c.seq, `the audit chain was rewritten at or before row ${c.seq}: its hash differs from the checkpoint signed at ${c.at}`);
    verified++;
    latest = { seq: c.seq, at: c.at };
  }
  return { ok: true, verified, untrusted, ...(latest ? { latest } : {}) };
}
