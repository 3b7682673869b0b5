import { createGrant, deleteGrant, grantCreateSchema, grantCsvRow, grantFilterSchema, listGrants } from '../../access/grants.js';
import { reachableAssets } from '../../access/reports.js';
import { pageQuery } from '../../validation.js';
import { answerList } from '../list.js';
import { type Router, idParams } from '../route.js';

const ADMIN = ['Administrator'] as const;
const STAFF = ['Administrator', 'Operator'] as const;

export function accessRoutes(r: Router) {
  r.route({ method: 'GET', url: '/api/v1/grants', tag: 'grants', summary: 'List asset grants', access: STAFF, query: grantFilterSchema.extend(pageQuery),
    handler: ({ ctx, query }, reply) => answerList(reply, query, (p) => listGrants(ctx.db, query, p), { name: 'grants', row: grantCsvRow }) });
  r.route({ method: 'POST', url: '/api/v1/grants', tag: 'grants', summary: 'Grant an asset, site, zone or tag to a user or permission group', access: ADMIN, body: grantCreateSchema, status: 201,
    handler: ({ ctx, body }) => createGrant(ctx, body) });
  r.route({ method: 'DELETE', url: '/api/v1/grants/:id', tag: 'grants', summary: 'Revoke a grant', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => deleteGrant(ctx, params.id) });
  r.route({ method: 'GET', url: '/api/v1/me/assets', tag: 'me', summary: 'The assets I can reach', access: 'authenticated',
    handler: ({ ctx }) => reachableAssets(ctx.db, ctx.actor.id!) });
}
