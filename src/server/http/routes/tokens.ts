import { createToken, listTokens, revokeToken, tokenCreateSchema } from '../../identity/tokens.js';
import { type Router, idParams } from '../route.js';

const ADMIN = ['Administrator'] as const;

export function tokenRoutes(r: Router) {
  r.route({ method: 'GET', url: '/api/v1/tokens', tag: 'tokens', summary: 'API tokens (never their secrets)', access: ADMIN,
    handler: async ({ ctx }) => ({ items: await listTokens(ctx.db) }) });
  r.route({ method: 'POST', url: '/api/v1/tokens', tag: 'tokens', summary: 'Create an API token: the secret is returned once', access: ADMIN, body: tokenCreateSchema, status: 201,
    handler: ({ ctx, body, req }) => createToken(ctx, { id: req.auth!.session.user.id, role: req.auth!.session.user.role }, body) });
  r.route({ method: 'DELETE', url: '/api/v1/tokens/:id', tag: 'tokens', summary: 'Revoke an API token', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => revokeToken(ctx, params.id) });
}
