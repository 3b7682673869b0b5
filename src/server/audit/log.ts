import type { Executor, Tx } from '../db/index.js';
import { newId, nowIso } from '../util.js';
import { type AuditContent, hashAuditEvent } from './chain.js';

/** Who did it, from where. Every mutation carries one. */
export interface Actor {
  id: string | null;
  name: string;
  ip: string | null;
}

export const SYSTEM_ACTOR: Actor = { id: null, name: 'system', ip: null };
export const cliActor = (): Actor => ({ id: null, name: `cli:${process.env.SUDO_USER || process.env.USER || 'root'}`, ip: null });

export interface AuditInput {
  action: string;
  target?: { type: string; id?: string | null; name?: string | null };
  result?: 'success' | 'failure';
  details?: Record<string, unknown>;
}

// Keys that name a secret; only string values are secrets (flags such as mustChangePassword stay).
const SECRET_KEY = /(password|passphrase|secret|token|private.?key|cookie|codes?)$/i;

/** Removes anything secret-looking from a change summary before it is written. */
export function scrubDetails(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrubDetails);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const secretish = SECRET_KEY.test(k) && (typeof v === 'string' || (Array.isArray(v) && v.some((x) => typeof x === 'string')));
      out[k] = secretish ? '[redacted]' : scrubDetails(v);
    }
    return out;
  }
  return value;
}

async function appendInTx(tx: Tx, actor: Actor, input: AuditInput): Promise<number> {
  // Taking the head row's lock serializes appends across connections (PostgreSQL) and nodes.
  const head = await tx
    .updateTable('audit_head')
    .set((eb) => ({ seq: eb('seq', '+', 1) }))
    .where('id', '=', 1)
    .returning(['seq', 'hash'])
    .executeTakeFirstOrThrow();
  const content: AuditContent = {
    id: newId(),
    at: nowIso(),
    actor_id: actor.id,
    actor_name: actor.name,
    source_ip: actor.ip,
    action: input.action,
    target_type: input.target?.type ?? null,
    target_id: input.target?.id ?? null,
    target_name: input.target?.name ?? null,
    result: input.result ?? 'success',
    details: JSON.stringify(scrubDetails(input.details ?? {})),
  };
  const hash = hashAuditEvent(head.hash, content);
  await tx
    .insertInto('audit_events')
    .values({ ...content, result: content.result as 'success' | 'failure', seq: Number(head.seq), prev_hash: head.hash, hash })
    .execute();
  await tx.updateTable('audit_head').set({ hash }).where('id', '=', 1).execute();
  return Number(head.seq);
}

/**
 * Appends one event to the hash chain. Inside a transaction the event commits or rolls back with
 * the change it describes; outside one (e.g. a failed login) it gets a transaction of its own.
 */
export async function audit(ex: Executor, actor: Actor, input: AuditInput): Promise<number> {
  if (ex.isTransaction) return appendInTx(ex as Tx, actor, input);
  return ex.transaction().execute((tx) => appendInTx(tx, actor, input));
}

/** Field-by-field summary of an update, for the audit details. */
export function changes<T extends Record<string, unknown>>(before: T, after: Partial<T>): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const [k, v] of Object.entries(after)) {
    if (v === undefined) continue;
    if (JSON.stringify(before[k]) !== JSON.stringify(v)) out[k] = { from: before[k], to: v };
  }
  return out;
}
