import { auditCsvRow, auditFilterSchema, listAuditEvents } from '../../audit/query.js';
import { verifyAuditChain } from '../../audit/verify.js';
import { pageQuery } from '../../validation.js';
import { answerList } from '../list.js';
import type { Router } from '../route.js';

const ADMIN = ['Administrator'] as const;

export function auditRoutes(r: Router) {
  r.route({ method: 'GET', url: '/api/v1/audit', tag: 'audit', summary: 'Audit events, newest first', access: ADMIN, query: auditFilterSchema.extend(pageQuery),
    handler: ({ ctx, query }, reply) => answerList(reply, query, (page) => listAuditEvents(ctx.db, query, page), { name: 'audit', row: auditCsvRow }) });
  r.route({ method: 'GET', url: '/api/v1/audit/verify', tag: 'audit', summary: 'Verify the audit hash chain', access: ADMIN,
    handler: ({ ctx }) => verifyAuditChain(ctx.db) });
}
