import type { Db } from '../db/index.js';
import { loadSigningKey } from '../recording/keys.js';
import { type CheckpointReport, verifyCheckpoints } from './checkpoints.js';
import { GENESIS_HASH, hashAuditEvent } from './chain.js';

export type AuditProblemKind = 'edited' | 'inserted' | 'deleted';

export interface AuditVerifyResult {
  ok: boolean;
  /** Rows checked. */
  count: number;
  headSeq: number;
  problem?: { kind: AuditProblemKind; seq: number; id?: string; message: string };
}

const BATCH = 1000;

/** Walks the whole chain in order and names the first edited, inserted or deleted row. */
export async function verifyAuditChain(db: Db): Promise<AuditVerifyResult> {
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  const headSeq = Number(head?.seq ?? 0);
  const fail = (kind: AuditProblemKind, seq: number, message: string, id?: string): AuditVerifyResult => ({
    ok: false, count, headSeq, problem: { kind, seq, message, ...(id ? { id } : {}) },
  });

  let count = 0;
  let prevSeq = 0;
  let prevHash = GENESIS_HASH;
  let prevPrevHash: string | null = null;
  let prevId: string | undefined;
  for (;;) {
    const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>', prevSeq).orderBy('seq').limit(BATCH).execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== prevSeq + 1) {
        return fail('deleted', prevSeq + 1, `audit row ${prevSeq + 1}${seq > prevSeq + 2 ? `..${seq - 1}` : ''} deleted: the sequence jumps from ${prevSeq} to ${seq}`);
      }
      if (row.prev_hash !== prevHash) {
        if (prevSeq > 0 && row.prev_hash === prevPrevHash) {
          return fail('inserted', prevSeq, `audit row ${prevSeq} was inserted: row ${seq} links past it to row ${prevSeq - 1}`, prevId);
        }
        if (prevSeq === 0) {
          return fail('deleted', 1, `audit row 1 does not start the chain: earlier rows were deleted`, row.id);
        }
        return fail('edited', prevSeq, `audit row ${prevSeq} was edited: row ${seq} recorded a different hash for it`, prevId);
      }
      if (hashAuditEvent(row.prev_hash, row) !== row.hash) {
        return fail('edited', seq, `audit row ${seq} was edited: its content does not match its hash`, row.id);
      }
      count++;
      prevPrevHash = prevHash;
      prevHash = row.hash;
      prevSeq = seq;
      prevId = row.id;
    }
  }
  if (headSeq > prevSeq) {
    return fail('deleted', prevSeq + 1, `audit rows ${prevSeq + 1}..${headSeq} deleted: the chain head says ${headSeq} events were written`);
  }
  if (headSeq < prevSeq) {
    return fail('inserted', headSeq + 1, `audit row ${headSeq + 1} was inserted outside the gateway: the chain head ends at ${headSeq}`);
  }
  if (head && head.hash !== prevHash) {
    return fail('edited', prevSeq, `audit row ${prevSeq} was edited: the chain head recorded a different hash for it`, prevId);
  }
  return { ok: true, count, headSeq };
}

/**
 * The chain's links (verifyAuditChain) and its signed checkpoints (audit/checkpoints.ts): the
 * links show an edited, inserted or deleted row; the checkpoints show a chain rewritten as a whole.
 */
export async function verifyAudit(db: Db, dataDir: string): Promise<AuditVerifyResult & { checkpoints: CheckpointReport }> {
  const chain = await verifyAuditChain(db);
  const checkpoints = await verifyCheckpoints(db, dataDir, loadSigningKey(dataDir));
  return { ...chain, ok: chain.ok && checkpoints.ok, checkpoints };
}
