import { z } from 'zod';
import type { Db, Executor } from '../db/index.js';
import type { Page, PageRequest } from '../db/paging.js';
import type { RemoteSessionsTable } from '../db/schema.js';
import { containsText } from '../db/text.js';
import { audit } from '../audit/log.js';
import { inTx } from '../db/tx.js';
import { DomainError, invalid, notFound } from '../errors.js';
import { isoDateTime } from '../validation.js';

export const SESSION_STATES = ['pending', 'active', 'ended', 'terminated', 'failed', 'interrupted'] as const;

export const sessionFilterSchema = z.strictObject({
  id: z.string().max(64).optional(),
  siteId: z.uuid().optional(),
  user: z.string().max(64).optional(),
  asset: z.string().max(128).optional(),
  state: z.enum([...SESSION_STATES, 'live']).optional(),
  from: isoDateTime.optional(),
  to: isoDateTime.optional(),
  /** Full-text search in what was typed (commands) and shown: "rm -rf". */
  text: z.string().min(1).max(200).optional(),
  /** Where to search: typed commands only, or also the output. */
  in: z.enum(['typed', 'all']).default('typed'),
  /** Break-glass sessions: all of them, or those whose review is pending / signed off. */
  breakGlass: z.enum(['any', 'pending', 'reviewed']).optional(),
});
export type SessionFilter = z.output<typeof sessionFilterSchema>;

export interface SessionRecord {
  id: string;
  user: { id: string; username: string };
  asset: { id: string; name: string };
  site: { id: string; name: string };
  protocol: 'ssh' | 'telnet' | 'vnc' | 'rdp';
  port: number;
  via: 'browser' | 'ssh';
  command: string | null;
  sourceIp: string | null;
  state: RemoteSessionsTable['state'];
  endReason: string | null;
  endMessage: string | null;
  terminatedBy: string | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  bytesIn: number;
  bytesOut: number;
  recorded: boolean;
  /** Pending at a gate: a live approval, or a moderator. */
  waitingFor: 'approval' | 'moderator' | null;
  /** Ran only while a moderator watched (watch required). */
  moderated: boolean;
  /** Opened by break-glass: the reason, and the post-hoc review. */
  /** The approved access request the session was opened under. */
  accessRequestId: string | null;
  breakGlass: { reason: string; review: { state: 'pending' | 'reviewed'; by: string | null; at: string | null; note: string | null } } | null;
}

export function toRecord(r: RemoteSessionsTable, now = Date.now()): SessionRecord {
  const start = r.started_at ? Date.parse(r.started_at) : null;
  const end = r.ended_at ? Date.parse(r.ended_at) : r.state === 'active' ? now : null;
  return {
    id: r.id,
    user: { id: r.user_id, username: r.username },
    asset: { id: r.asset_id, name: r.asset_name },
    site: { id: r.site_id, name: r.site_name },
    protocol: r.protocol,
    port: r.port,
    via: r.via,
    command: r.command,
    sourceIp: r.source_ip,
    state: r.state,
    endReason: r.end_reason,
    endMessage: r.end_message,
    terminatedBy: r.terminated_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationSeconds: start !== null && end !== null ? Math.max(0, Math.round((end - start) / 1000)) : null,
    bytesIn: Number(r.bytes_in),
    bytesOut: Number(r.bytes_out),
    recorded: Boolean(r.recording_path),
    waitingFor: r.waiting_for,
    moderated: Number(r.moderated) === 1,
    accessRequestId: r.access_request_id,
    breakGlass: r.break_glass_reason ? { reason: r.break_glass_reason, review: { state: r.review_state ?? 'pending', by: r.reviewed_by, at: r.reviewed_at, note: r.review_note } } : null,
  };
}

export const sessionCsvRow = (s: SessionRecord) => ({
  id: s.id, user: s.user.username, asset: s.asset.name, site: s.site.name, protocol: s.protocol, port: s.port, via: s.via,
  source_ip: s.sourceIp ?? '', state: s.state, started_at: s.startedAt ?? '', ended_at: s.endedAt ?? '', duration_seconds: s.durationSeconds ?? '',
  end_reason: s.endReason ?? '', end_message: s.endMessage ?? '', terminated_by: s.terminatedBy ?? '', bytes_in: s.bytesIn, bytes_out: s.bytesOut,
  access_request: s.accessRequestId ?? '', moderated: s.moderated ? 'yes' : 'no', break_glass_reason: s.breakGlass?.reason ?? '', review_state: s.breakGlass?.review.state ?? '', reviewed_by: s.breakGlass?.review.by ?? '',
});

/** Sessions, newest first, filtered as the Active Sessions and History pages search. */
export async function listSessions(db: Db, f: SessionFilter, page: PageRequest): Promise<Page<SessionRecord>> {
  let q = db.selectFrom('remote_sessions').selectAll();
  if (f.id) q = q.where('id', 'like', `${f.id.replace(/[^0-9a-f-]/gi, '')}%`);
  if (f.siteId) q = q.where('site_id', '=', f.siteId);
  if (f.user) q = q.where(containsText('username', f.user));
  if (f.asset) q = q.where(containsText('asset_name', f.asset));
  if (f.state === 'live') q = q.where('state', 'in', ['pending', 'active']);
  else if (f.state) q = q.where('state', '=', f.state);
  if (f.breakGlass === 'any') q = q.where('break_glass_reason', 'is not', null);
  else if (f.breakGlass) q = q.where('review_state', '=', f.breakGlass);
  if (f.from) q = q.where('created_at', '>=', f.from);
  if (f.to) q = q.where('created_at', '<', f.to);
  if (f.text) {
    const text = f.text;
    q = f.in === 'all' ? q.where((eb) => eb.or([containsText('typed_text', text), containsText('shown_text', text)])) : q.where(containsText('typed_text', text));
  }
  if (page.cursor) {
    const [at, id] = (() => {
      try {
        return JSON.parse(Buffer.from(page.cursor, 'base64url').toString('utf8')) as [string, string];
      } catch {
        throw invalid('the cursor is not valid: pass back nextCursor unchanged', [{ path: '/cursor', message: 'malformed cursor' }]);
      }
    })();
    q = q.where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]));
  }
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
  const more = rows.length > page.limit;
  const items = (more ? rows.slice(0, page.limit) : rows).map((r) => toRecord(r));
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? Buffer.from(JSON.stringify([last.createdAt, last.id])).toString('base64url') : null };
}

export async function getSessionRow(ex: Executor, id: string): Promise<RemoteSessionsTable | undefined> {
  return ex.selectFrom('remote_sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The live approvals and rejections of a session, oldest first. */
export async function sessionApprovals(ex: Executor, id: string): Promise<{ by: string; decision: 'approve' | 'reject'; comment: string | null; at: string }[]> {
  const rows = await ex.selectFrom('session_approvals').selectAll().where('session_id', '=', id).orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => ({ by: r.approver_name, decision: r.decision, comment: r.comment, at: r.created_at }));
}

/**
 * Signs off the post-hoc review of a break-glass session (Administrators; never the session's own
 * user; once). The note is the reviewer's finding; the audit event carries it.
 */
export async function signOffReview(db: Db, id: string, who: { id: string; username: string; ip: string | null }, note: string, nowIso: string): Promise<SessionRecord> {
  return inTx(db, async (tx) => {
    const row = await getSessionRow(tx, id);
    if (!row) throw notFound('session', id);
    if (!row.break_glass_reason) throw new DomainError('conflict', 'only break-glass sessions are reviewed');
    if (row.user_id === who.id) throw new DomainError('forbidden', 'you cannot review your own break-glass session');
    if (row.state === 'pending' || row.state === 'active') throw new DomainError('conflict', 'the session is still live: review it once it has ended');
    const u = await tx
      .updateTable('remote_sessions')
      .set({ review_state: 'reviewed', reviewed_by: who.username, reviewed_at: nowIso, review_note: note })
      .where('id', '=', id)
      .where('review_state', '=', 'pending')
      .executeTakeFirst();
    if (Number(u.numUpdatedRows) === 0) throw new DomainError('conflict', `the review was already signed off by ${row.reviewed_by ?? 'someone'}`);
    await audit(tx, { id: who.id, name: who.username, ip: who.ip }, { action: 'session.review', target: { type: 'session', id, name: id.slice(0, 8) }, details: { user: row.username, asset: row.asset_name, reason: row.break_glass_reason, note } });
    return toRecord((await getSessionRow(tx, id))!);
  });
}
