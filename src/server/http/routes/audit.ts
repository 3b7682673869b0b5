import { auditCsvRow, auditFilterSchema, listAuditEvents } from '../../audit/query.js';
import { writeCheckpoint } from '../../audit/checkpoints.js';
import { audit } from '../../audit/log.js';
import { verifyAudit } from '../../audit/verify.js';
import { loadSigningKey } from '../../recording/keys.js';
import { pageQuery } from '../../validation.js';
import { answerList } from '../list.js';
import type { RouteDeps, Router } from '../route.js';

const ADMIN = ['Administrator'] as const;

export function auditRoutes(r: Router, deps: RouteDeps) {
  r.route({ method: 'GET', url: '/api/v1/audit', tag: 'audit', summary: 'Audit events, newest first', access: ADMIN, query: auditFilterSchema.extend(pageQuery),
    handler: ({ ctx, query }, reply) => answerList(reply, query, (page) => listAuditEvents(ctx.db, query, page), { name: 'audit', row: auditCsvRow }) });
  r.route({ method: 'GET', url: '/api/v1/audit/verify', tag: 'audit', summary: 'Verify the audit hash chain and its signed checkpoints (names the first edited, inserted or deleted row, or a rewritten chain)', access: ADMIN,
    handler: ({ ctx }) => verifyAudit(ctx.db, deps.config.dataDir) });
  r.route({ method: 'POST', url: '/api/v1/audit/checkpoints', tag: 'audit', summary: 'Sign the audit chain head now (a checkpoint; the gateway also signs one every 10 minutes); audited', access: ADMIN,
    handler: async ({ ctx }) => {
      // The request's own audit event is part of what gets signed.
      await audit(ctx.db, ctx.actor, { action: 'audit.checkpoint', target: { type: 'audit', id: 'chain', name: 'audit chain' } });
      const c = await writeCheckpoint(ctx.db, deps.config.dataDir, loadSigningKey(deps.config.dataDir));
      return { seq: c!.seq, hash: c!.hash, at: c!.at, keyId: c!.keyId };
    } });
}
