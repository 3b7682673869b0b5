import { z } from 'zod';
import { containsText, startsWithText } from '../../db/text.js';
import { verifyAuditChain } from '../../audit/verify.js';
import { invalid } from '../../errors.js';
import { parseJson } from '../../util.js';
import { isoDateTime, pageQuery } from '../../validation.js';
import { answerList } from '../list.js';
import type { Router } from '../route.js';

const ADMIN = ['Administrator'] as const;

const auditFilter = z.strictObject({
  action: z.string().max(64).optional(),
  actor: z.string().max(64).optional(),
  target: z.string().max(128).optional(),
  result: z.enum(['success', 'failure']).optional(),
  from: isoDateTime.optional(),
  to: isoDateTime.optional(),
});

export function auditRoutes(r: Router) {
  r.route({ method: 'GET', url: '/api/v1/audit', tag: 'audit', summary: 'Audit events, newest first', access: ADMIN, query: auditFilter.extend(pageQuery),
    handler: ({ ctx, query }, reply) =>
      answerList(
        reply,
        query,
        async (page) => {
          let q = ctx.db.selectFrom('audit_events').selectAll();
          if (query.action) q = q.where(startsWithText('action', query.action));
          if (query.actor) q = q.where(containsText('actor_name', query.actor!));
          if (query.target) q = q.where(containsText('target_name', query.target!));
          if (query.result) q = q.where('result', '=', query.result);
          if (query.from) q = q.where('at', '>=', query.from);
          if (query.to) q = q.where('at', '<', query.to);
          // Newest first: the cursor is the last sequence number seen.
          let qq = q;
          if (page.cursor) {
            const before = Number(Buffer.from(page.cursor, 'base64url').toString('utf8'));
            if (!Number.isInteger(before)) throw invalid('the cursor is not valid: pass back nextCursor unchanged', [{ path: '/cursor', message: 'malformed cursor' }]);
            qq = qq.where('seq', '<', before);
          }
          const rows = await qq.orderBy('seq', 'desc').limit(page.limit + 1).execute();
          const more = rows.length > page.limit;
          const items = (more ? rows.slice(0, page.limit) : rows).map((e) => ({
            seq: Number(e.seq), id: e.id, at: e.at, actor: { id: e.actor_id, name: e.actor_name }, sourceIp: e.source_ip, action: e.action,
            target: { type: e.target_type, id: e.target_id, name: e.target_name }, result: e.result, details: parseJson<Record<string, unknown>>(e.details, {}),
          }));
          const last = items[items.length - 1];
          return { items, nextCursor: more && last ? Buffer.from(String(last.seq)).toString('base64url') : null };
        },
        { name: 'audit', row: (e) => ({ seq: e.seq, at: e.at, actor: e.actor.name, source_ip: e.sourceIp ?? '', action: e.action, target_type: e.target.type ?? '', target: e.target.name ?? '', result: e.result, details: JSON.stringify(e.details) }) },
      ) });
  r.route({ method: 'GET', url: '/api/v1/audit/verify', tag: 'audit', summary: 'Verify the audit hash chain', access: ADMIN,
    handler: ({ ctx }) => verifyAuditChain(ctx.db) });
}
