import { z } from 'zod';
import { accountCreateSchema, accountUpdateSchema, createAccount, deleteAccount, listAccounts, updateAccount } from '../../vault/accounts.js';
import { type Router, idParams } from '../route.js';

const ADMIN = ['Administrator'] as const;
const STAFF = ['Administrator', 'Operator'] as const;
const accountParams = z.strictObject({ id: z.uuid('must be an id (UUID)'), accountId: z.uuid('must be an id (UUID)') });

/** Asset accounts in the vault. Secrets go in, never out. */
export function vaultRoutes(r: Router) {
  r.route({ method: 'GET', url: '/api/v1/assets/:id/accounts', tag: 'vault', summary: "An asset's accounts (never their secrets: only when they changed)", access: STAFF, params: idParams,
    handler: async ({ ctx, params }) => ({ items: await listAccounts(ctx.db, params.id) }) });
  r.route({ method: 'POST', url: '/api/v1/assets/:id/accounts', tag: 'vault', summary: 'Add an account (password, or SSH private key with optional passphrase) to the vault', access: ADMIN, params: idParams, body: accountCreateSchema, status: 201,
    handler: ({ ctx, params, body }) => createAccount(ctx, params.id, body) });
  r.route({ method: 'PATCH', url: '/api/v1/assets/:id/accounts/:accountId', tag: 'vault', summary: 'Rename an account or replace its secret', access: ADMIN, params: accountParams, body: accountUpdateSchema,
    handler: ({ ctx, params, body }) => updateAccount(ctx, params.id, params.accountId, body) });
  r.route({ method: 'DELETE', url: '/api/v1/assets/:id/accounts/:accountId', tag: 'vault', summary: 'Remove an account from the vault', access: ADMIN, params: accountParams,
    handler: ({ ctx, params }) => deleteAccount(ctx, params.id, params.accountId) });
}
