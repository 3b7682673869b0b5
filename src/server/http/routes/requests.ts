import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  approveSchema, cancelSchema, denySchema, extendSchema, getItsmSettings, handleItsmWebhook, itsmSettingsPutSchema, putItsmSettings, type AccessRequest,
  requestCreateSchema, requestFilterSchema, RequestWorkflow, revokeSchema, type Via, type Who,
} from '../../requests/index.js';
import { answerList } from '../list.js';
import { createRouter, idParams, type Router } from '../route.js';
import type { AppDeps } from '../server.js';

const ADMIN = ['Administrator'] as const;
const ITSM_WEBHOOK = '/api/v1/requests/itsm/webhook';

/** A browser's console session, or an API token. */
const viaOf = (req: FastifyRequest): Via => (req.auth?.session.token ? 'api' : 'console');
const whoOf = (req: FastifyRequest): Who => {
  const u = req.auth!.session.user;
  return { id: u.id, username: u.username, role: u.role };
};

const csvRow = (r: AccessRequest) => ({
  id: r.id, state: r.state, requester: r.requester.username, assets: r.assets.map((a) => a.name).join(' '), protocols: r.protocols.join(' '), purpose: r.purpose, ticket: r.ticket ?? '',
  start: r.start, end: r.end, recurring: r.recurrence ? 'yes' : 'no', time_zone: r.timeZone, approvals_required: r.approvalsRequired,
  approvers: r.approvals.filter((a) => a.decision === 'approve').map((a) => a.approver).join(' '), decided_by: r.decidedBy ?? '', decided_at: r.decidedAt ?? '', comment: r.comment ?? '', created_at: r.createdAt,
});

/** Access requests, approvals, the ITSM settings and its inbound webhook (docs/requests.md). */
export function requestRoutes(r: Router, app: FastifyInstance, deps: AppDeps) {
  const wf = new RequestWorkflow({ db: deps.database.db, notify: deps.notify, sessions: deps.broker, clock: deps.broker.clock, logger: deps.logger });
  r.route({ method: 'GET', url: '/api/v1/requests', tag: 'requests', summary: 'List access requests (Clients: their own); filters user, asset, site, state, ticket, from/to; ?format=csv', access: 'authenticated', query: requestFilterSchema,
    handler: ({ query, req }, reply) => answerList(reply, query, (p) => wf.list(whoOf(req), query, p), { name: 'access-requests', row: csvRow }) });
  r.route({ method: 'GET', url: '/api/v1/requests/inbox', tag: 'requests', summary: 'Approvals inbox: open requests and extensions I may decide', access: 'authenticated',
    handler: async ({ req }) => ({ items: await wf.inbox(whoOf(req)) }) });
  r.route({ method: 'POST', url: '/api/v1/requests', tag: 'requests', summary: 'Request access to assets for a window (one-off or weekly recurring); policy violations are refused (422)', access: 'authenticated', body: requestCreateSchema, status: 201,
    handler: ({ ctx, body, req }) => wf.create(whoOf(req), ctx.actor, body) });
  r.route({ method: 'GET', url: '/api/v1/requests/:id', tag: 'requests', summary: 'Get an access request', access: 'authenticated', params: idParams,
    handler: ({ params, req }) => wf.get(whoOf(req), params.id) });
  r.route({ method: 'POST', url: '/api/v1/requests/:id/approve', tag: 'requests', summary: 'Approve (one approval of the N required; never your own request)', access: 'authenticated', params: idParams, body: approveSchema,
    handler: ({ ctx, params, body, req }) => wf.approve(whoOf(req), ctx.actor, params.id, body.comment, viaOf(req)) });
  r.route({ method: 'POST', url: '/api/v1/requests/:id/deny', tag: 'requests', summary: 'Deny with a reason', access: 'authenticated', params: idParams, body: denySchema,
    handler: ({ ctx, params, body, req }) => wf.deny(whoOf(req), ctx.actor, params.id, body.comment, viaOf(req)) });
  r.route({ method: 'POST', url: '/api/v1/requests/:id/extend', tag: 'requests', summary: 'Ask for a longer window (a new approval round)', access: 'authenticated', params: idParams, body: extendSchema,
    handler: ({ ctx, params, body, req }) => wf.extend(whoOf(req), ctx.actor, params.id, body) });
  r.route({ method: 'POST', url: '/api/v1/requests/:id/cancel', tag: 'requests', summary: 'Cancel my request (before or during its window; live sessions end)', access: 'authenticated', params: idParams, body: cancelSchema,
    handler: ({ ctx, params, body, req }) => wf.cancel(whoOf(req), ctx.actor, params.id, body.comment) });
  r.route({ method: 'POST', url: '/api/v1/requests/:id/revoke', tag: 'requests', summary: 'Revoke a request (live sessions under it end at once)', access: ADMIN, params: idParams, body: revokeSchema,
    handler: ({ ctx, params, body, req }) => wf.revoke(whoOf(req), ctx.actor, params.id, body.comment) });
  r.route({ method: 'GET', url: '/api/v1/requests/itsm/settings', tag: 'requests', summary: 'ITSM integration settings (the secret is write-only)', access: ADMIN,
    handler: ({ ctx }) => getItsmSettings(ctx.db) });
  r.route({ method: 'PUT', url: '/api/v1/requests/itsm/settings', tag: 'requests', summary: 'Change the ITSM integration (enabled, service user, HMAC secret)', access: ADMIN, body: itsmSettingsPutSchema,
    handler: ({ ctx, body }) => putItsmSettings(ctx, body) });

  // The inbound webhook needs the body exactly as received: the signature covers those bytes.
  app.register(async (scoped) => {
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));
    createRouter(scoped, { db: deps.database.db, config: deps.config, secrets: deps.secrets }, r.rules).route({
      method: 'POST', url: ITSM_WEBHOOK, tag: 'requests', summary: 'ITSM inbound webhook (HMAC-signed): {ticket, state: approved|closed} approves (as the service user) or revokes the request with that ticket', access: 'public', textBody: 'application/json', body: z.string(),
      handler: ({ body, req }) => handleItsmWebhook(wf, deps.secrets, body as unknown as string, req.headers, req.ip),
    });
  });
}
