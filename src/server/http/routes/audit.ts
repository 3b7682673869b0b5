import { auditCsvRow, auditFilterSchema, listAuditEvents } from '../../audit/query.js';
import { checkpointNow } from '../../audit/checkpoints.js';
import { verifyAudit } from '../../audit/verify.js';
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
    handler: ({ ctx }) => checkpointNow(ctx, deps.config.dataDir) });
}
