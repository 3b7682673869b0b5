import { z } from 'zod';
import type { Db } from '../db/index.js';
import type { Page, PageRequest } from '../db/paging.js';
import { containsText, startsWithText } from '../db/text.js';
import { invalid } from '../errors.js';
import { parseJson } from '../util.js';
import { isoDateTime } from '../validation.js';

export const auditFilterSchema = z.strictObject({
  action: z.string().max(64).optional(),
  actor: z.string().max(64).optional(),
  target: z.string().max(128).optional(),
  /** Exact target id (e.g. one session's events). */
  targetId: z.string().max(128).optional(),
  result: z.enum(['success', 'failure']).optional(),
  from: isoDateTime.optional(),
  to: isoDateTime.optional(),
});
export type AuditFilter = z.output<typeof auditFilterSchema>;

export interface AuditEvent {
  seq: number;
  id: string;
  at: string;
  actor: { id: string | null; name: string };
  sourceIp: string | null;
  action: string;
  target: { type: string | null; id: string | null; name: string | null };
  result: 'success' | 'failure';
  details: Record<string, unknown>;
}

export const auditCsvRow = (e: AuditEvent) => ({
  seq: e.seq, at: e.at, actor: e.actor.name, source_ip: e.sourceIp ?? '', action: e.action,
  target_type: e.target.type ?? '', target: e.target.name ?? '', result: e.result, details: JSON.stringify(e.details),
});

/** Audit events, newest first; `action` matches as a prefix ("user." = every user event). */
export async function listAuditEvents(db: Db, f: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>> {
  let q = db.selectFrom('audit_events').selectAll();
  if (f.action) q = q.where(startsWithText('action', f.action));
  if (f.actor) q = q.where(containsText('actor_name', f.actor));
  if (f.target) q = q.where(containsText('target_name', f.target));
  if (f.targetId) q = q.where('target_id', '=', f.targetId);
  if (f.result) q = q.where('result', '=', f.result);
  if (f.from) q = q.where('at', '>=', f.from);
  if (f.to) q = q.where('at', '<', f.to);
  // The cursor is the last sequence number seen.
  if (page.cursor) {
    const before = Number(Buffer.from(page.cursor, 'base64url').toString('utf8'));
    if (!Number.isInteger(before)) throw invalid('the cursor is not valid: pass back nextCursor unchanged', [{ path: '/cursor', message: 'malformed cursor' }]);
    q = q.where('seq', '<', before);
  }
  const rows = await q.orderBy('seq', 'desc').limit(page.limit + 1).execute();
  const more = rows.length > page.limit;
  const items = (more ? rows.slice(0, page.limit) : rows).map((e) => ({
    seq: Number(e.seq),
    id: e.id,
    at: e.at,
    actor: { id: e.actor_id, name: e.actor_name },
    sourceIp: e.source_ip,
    action: e.action,
    target: { type: e.target_type, id: e.target_id, name: e.target_name },
    result: e.result,
    details: parseJson<Record<string, unknown>>(e.details, {}),
  }));
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? Buffer.from(String(last.seq)).toString('base64url') : null };
}
