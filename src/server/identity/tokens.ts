import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { audit, SYSTEM_ACTOR } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Db, Executor } from '../db/index.js';
import type { ApiTokensTable, UsersTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { DomainError, invalid, notFound } from '../errors.js';
import { newId, nowIso } from '../util.js';
import { isoDateTime, name } from '../validation.js';
import { ROLE_RANK, ROLES, type Role } from './roles.js';

/** API tokens for automation (ITSM): "pct_" + 43 base64url characters (256 bits). */
export const TOKEN_PREFIX = 'pct_';
const TOKEN_SHAPE = /^pct_[A-Za-z0-9_-]{43}$/;
const hashToken = (t: string) => createHash('sha256').update(t).digest('hex');

export const tokenCreateSchema = z.strictObject({
  name,
  role: z.enum(ROLES),
  /** Required: tokens always expire (at most a year ahead). */
  expiresAt: isoDateTime,
});

export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  owner: { id: string; username: string };
  expiresAt: string | null;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  revokedAt: string | null;
  createdAt: string;
  state: 'active' | 'expired' | 'revoked';
}

const toToken = (r: ApiTokensTable & { username: string }): ApiToken => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  role: r.role,
  owner: { id: r.user_id, username: r.username },
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  lastUsedIp: r.last_used_ip,
  revokedAt: r.revoked_at,
  createdAt: r.created_at,
  state: r.revoked_at ? 'revoked' : r.expires_at && r.expires_at <= nowIso() ? 'expired' : 'active',
});

const selectTokens = (ex: Executor) => ex.selectFrom('api_tokens').innerJoin('users', 'users.id', 'api_tokens.user_id').selectAll('api_tokens').select('users.username');

export async function listTokens(db: Db): Promise<ApiToken[]> {
  return (await selectTokens(db).orderBy('api_tokens.created_at', 'desc').execute()).map(toToken);
}

/** Creates a token acting as the creator with at most the creator's role. The secret is returned once. */
export async function createToken(ctx: Ctx, creator: { id: string; role: Role }, input: z.output<typeof tokenCreateSchema>): Promise<{ token: ApiToken; secret: string }> {
  if (ROLE_RANK[input.role] > ROLE_RANK[creator.role]) throw new DomainError('forbidden', `a token cannot have more rights than its creator (${creator.role})`);
  const now = Date.now();
  const exp = Date.parse(input.expiresAt);
  if (exp <= now) throw invalid('expiresAt must be in the future', [{ path: '/expiresAt', message: 'in the past' }]);
  if (exp > now + 366 * 86_400_000) throw invalid('tokens live at most one year', [{ path: '/expiresAt', message: 'more than a year ahead' }]);
  const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return inTx(ctx.db, async (tx) => {
    const row: ApiTokensTable = {
      id: newId(),
      name: input.name,
      token_hash: hashToken(secret),
      prefix: secret.slice(0, 10),
      role: input.role,
      user_id: creator.id,
      expires_at: input.expiresAt,
      last_used_at: null,
      last_used_ip: null,
      revoked_at: null,
      created_at: nowIso(),
    };
    await tx.insertInto('api_tokens').values(row).execute();
    const token = toToken({ ...row, username: ctx.actor.name });
    await audit(tx, ctx.actor, { action: 'token.create', target: { type: 'token', id: row.id, name: row.name }, details: { role: row.role, expiresAt: row.expires_at, prefix: row.prefix } });
    return { token, secret };
  });
}

export async function revokeToken(ctx: Ctx, tokenId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const row = await tx.selectFrom('api_tokens').selectAll().where('id', '=', tokenId).executeTakeFirst();
    if (!row) throw notFound('API token', tokenId);
    if (row.revoked_at) return;
    await tx.updateTable('api_tokens').set({ revoked_at: nowIso() }).where('id', '=', tokenId).execute();
    await audit(tx, ctx.actor, { action: 'token.revoke', target: { type: 'token', id: tokenId, name: row.name } });
  });
}

/**
 * Resolves a bearer token to the account and role it acts as. Use is recorded (last used time
 * and address) and audited at most once an hour per token.
 */
export async function authenticateToken(db: Db, secret: string, ip: string | null): Promise<{ token: ApiTokensTable; user: UsersTable } | undefined> {
  if (!TOKEN_SHAPE.test(secret)) return undefined;
  const token = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hashToken(secret)).executeTakeFirst();
  if (!token || token.revoked_at || (token.expires_at && token.expires_at <= nowIso())) return undefined;
  const user = await db.selectFrom('users').selectAll().where('id', '=', token.user_id).executeTakeFirst();
  if (!user || user.status !== 'active') return undefined;
  const now = Date.now();
  const last = token.last_used_at ? Date.parse(token.last_used_at) : 0;
  if (now - last > 60_000) {
    await db.updateTable('api_tokens').set({ last_used_at: new Date(now).toISOString(), last_used_ip: ip }).where('id', '=', token.id).execute();
  }
  if (now - last > 3_600_000) {
    await audit(db, { ...SYSTEM_ACTOR, id: user.id, name: `${user.username} (token ${token.name})`, ip }, { action: 'token.use', target: { type: 'token', id: token.id, name: token.name } });
  }
  // The token's role caps what the request may do.
  return { token, user: { ...user, role: token.role, must_change_password: 0 } };
}
