import { z } from 'zod';
import { containsText } from '../db/text.js';
import { audit, changes, SYSTEM_ACTOR } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Db, Executor, Tx } from '../db/index.js';
import { type PageRequest, paginate } from '../db/paging.js';
import type { UsersTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { conflict, DomainError, invalid, notFound } from '../errors.js';
import { fromBool, newId, nowIso, toBool } from '../util.js';
import { id, isoDateTime } from '../validation.js';
import { assertPasswordAllowed, rememberOldPassword } from './password-policy.js';
import { generateOneTimePassword, hashPassword } from './passwords.js';
import { identityEvents } from './events.js';
import { getSecuritySettings } from './settings.js';

import { ROLES, type Role } from './roles.js';

export { ROLES, type Role };
export const STATUSES = ['active', 'disabled', 'locked', 'expired'] as const;

/** Usernames may not hold '+' or '@': the SSH front door reads "alice+plc-01@gateway". */
export const username = z
  .string()
  .trim()
  .min(2, 'must be at least 2 characters')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may hold letters, digits, and . _ - (no spaces, no + or @)');

const displayName = z.string().trim().max(128).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');
const email = z.union([z.literal(''), z.email('must be an email address').max(254)]);

export const userCreateSchema = z.strictObject({
  username,
  displayName: displayName.default(''),
  email: email.default(''),
  role: z.enum(ROLES),
  type: z.enum(['local', 'ldap']).default('local'),
  affiliation: z.enum(['employee', 'vendor']).default('employee'),
  vendorId: id.nullable().default(null),
  expiresAt: isoDateTime.nullable().default(null),
  otpRequired: z.boolean().default(false),
  /** Optional initial password; without one a one-time password is generated and returned once. */
  password: z.string().max(256).optional(),
  /** For a given password: must it be changed at first login? Default: the security setting. */
  mustChangePassword: z.boolean().optional(),
});
export const userUpdateSchema = z.strictObject({
  displayName: displayName.optional(),
  email: email.optional(),
  role: z.enum(ROLES).optional(),
  affiliation: z.enum(['employee', 'vendor']).optional(),
  vendorId: id.nullable().optional(),
  expiresAt: isoDateTime.nullable().optional(),
  otpRequired: z.boolean().optional(),
  status: z.enum(['active', 'disabled']).optional(),
  /** true: the user must change the password at next login. */
  mustChangePassword: z.literal(true).optional(),
});
export const userFilterSchema = z.strictObject({
  username: z.string().max(64).optional(),
  role: z.enum(ROLES).optional(),
  status: z.enum(STATUSES).optional(),
  type: z.enum(['local', 'ldap']).optional(),
  affiliation: z.enum(['employee', 'vendor']).optional(),
  vendorId: id.optional(),
  groupId: id.optional(),
});

export interface User {
  id: string;
  username: string;
  displayName: string;
  email: string;
  role: Role;
  type: 'local' | 'ldap';
  affiliation: 'employee' | 'vendor';
  vendorId: string | null;
  vendorName: string | null;
  expiresAt: string | null;
  otpRequired: boolean;
  status: UsersTable['status'];
  mustChangePassword: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

type UserRow = UsersTable & { vendor_name: string | null };

export const toUser = (r: UserRow): User => ({
  id: r.id,
  username: r.username,
  displayName: r.display_name,
  email: r.email,
  role: r.role,
  type: r.type,
  affiliation: r.affiliation,
  vendorId: r.vendor_id,
  vendorName: r.vendor_name,
  expiresAt: r.expires_at,
  otpRequired: toBool(r.otp_required),
  status: r.status,
  mustChangePassword: toBool(r.must_change_password),
  createdAt: r.created_at,
  lastLoginAt: r.last_login_at,
});

export const userCsvRow = (u: User) => ({
  username: u.username,
  display_name: u.displayName,
  email: u.email,
  role: u.role,
  type: u.type,
  affiliation: u.affiliation,
  vendor: u.vendorName ?? '',
  expires_at: u.expiresAt ?? '',
  otp_required: u.otpRequired ? 'yes' : 'no',
  status: u.status,
  created_at: u.createdAt,
  last_login_at: u.lastLoginAt ?? '',
});

const selectUsers = (ex: Executor) =>
  ex.selectFrom('users').leftJoin('vendors', 'vendors.id', 'users.vendor_id').selectAll('users').select('vendors.name as vendor_name');

export async function listUsers(db: Db, f: z.infer<typeof userFilterSchema>, page: PageRequest) {
  let q = selectUsers(db);
  if (f.username) q = q.where(containsText('users.username', f.username!));
  if (f.role) q = q.where('users.role', '=', f.role);
  if (f.status) q = q.where('users.status', '=', f.status);
  if (f.type) q = q.where('users.type', '=', f.type);
  if (f.affiliation) q = q.where('users.affiliation', '=', f.affiliation);
  if (f.vendorId) q = q.where('users.vendor_id', '=', f.vendorId);
  if (f.groupId) {
    const g = f.groupId;
    q = q.where((eb) => eb.exists(eb.selectFrom('group_members').select('group_members.user_id').whereRef('group_members.user_id', '=', 'users.id').where('group_members.group_id', '=', g)));
  }
  const res = await paginate(q, { sortColumn: 'users.username', idColumn: 'users.id', sortKey: (r) => r.username, idKey: (r) => r.id }, page);
  return { items: res.items.map(toUser), nextCursor: res.nextCursor };
}

export async function getUser(ex: Executor, userId: string): Promise<User> {
  const row = await selectUsers(ex).where('users.id', '=', userId).executeTakeFirst();
  if (!row) throw notFound('user', userId);
  return toUser(row);
}

export async function findUserRowByUsername(ex: Executor, name: string): Promise<UsersTable | undefined> {
  return ex.selectFrom('users').selectAll().where((eb) => eb(eb.fn('lower', ['username']), '=', name.toLowerCase())).executeTakeFirst();
}

/** Vendor users belong to a vendor company; employees to none. Returns the company's contract end. */
async function checkAffiliation(ex: Executor, affiliation: 'employee' | 'vendor', vendorId: string | null): Promise<string | null> {
  if (affiliation === 'employee') {
    if (vendorId) throw invalid('an employee has no vendor company: leave vendorId empty or set affiliation to vendor', [{ path: '/vendorId', message: 'only for vendor users' }]);
    return null;
  }
  if (!vendorId) throw invalid('a vendor user needs a vendor company', [{ path: '/vendorId', message: 'required for vendor users' }]);
  const v = await ex.selectFrom('vendors').select(['contract_end']).where('id', '=', vendorId).executeTakeFirst();
  if (!v) throw invalid(`vendor company "${vendorId}" does not exist`, [{ path: '/vendorId', message: 'no such vendor company' }]);
  return v.contract_end;
}

/** Active Administrators other than exceptId. */
export async function activeAdminCount(ex: Executor, exceptId: string): Promise<number> {
  const r = await ex
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('role', '=', 'Administrator')
    .where('status', '=', 'active')
    .where('id', '!=', exceptId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function endConsoleSessions(tx: Executor, userId: string): Promise<number> {
  const r = await tx.deleteFrom('console_sessions').where('user_id', '=', userId).executeTakeFirst();
  return Number(r.numDeletedRows ?? 0);
}

export interface CreatedUser {
  user: User;
  /** Present when the gateway generated the password: shown once, never stored in clear. */
  oneTimePassword?: string;
}

export async function createUser(ctx: Ctx, input: z.infer<typeof userCreateSchema>): Promise<CreatedUser> {
  if (input.password !== undefined) await assertPasswordAllowed(ctx.db, { password: input.password, username: input.username, path: '/password' });
  const forceChange = input.mustChangePassword ?? (await getSecuritySettings(ctx.db)).forcePasswordChange;
  if (input.type === 'ldap' && input.password !== undefined) throw invalid('directory (LDAP) users have no local password', [{ path: '/password', message: 'not allowed for ldap users' }]);
  const oneTime = input.type === 'local' && input.password === undefined ? generateOneTimePassword() : undefined;
  const secret = input.password ?? oneTime;
  const hash = secret ? await hashPassword(secret) : null;
  return inTx(ctx.db, async (tx) => {
    if (await findUserRowByUsername(tx, input.username)) throw conflict(`a user named "${input.username}" already exists`);
    const contractEnd = await checkAffiliation(tx, input.affiliation, input.vendorId);
    const now = nowIso();
    const row: UsersTable = {
      id: newId(),
      username: input.username,
      display_name: input.displayName,
      email: input.email,
      role: input.role,
      type: input.type,
      affiliation: input.affiliation,
      vendor_id: input.vendorId,
      // A vendor's account ends with the contract unless the admin says otherwise.
      expires_at: input.expiresAt ?? (contractEnd ? new Date(`${contractEnd}T23:59:59Z`).toISOString() : null),
      otp_required: fromBool(input.otpRequired),
      status: 'active',
      password_hash: hash,
      must_change_password: fromBool(oneTime !== undefined || (input.password !== undefined && forceChange)),
      failed_logins: 0,
      locked_until: null,
      ldap_domain_id: null,
      ldap_dn: null,
      password_changed_at: hash ? now : null,
      last_login_at: null,
      created_at: now,
      updated_at: now,
    };
    await tx.insertInto('users').values(row).execute();
    const user = await getUser(tx, row.id);
    await audit(tx, ctx.actor, { action: 'user.create', target: { type: 'user', id: row.id, name: row.username }, details: { user } });
    return oneTime ? { user, oneTimePassword: oneTime } : { user };
  });
}

export async function updateUser(ctx: Ctx, userId: string, input: z.infer<typeof userUpdateSchema>): Promise<User> {
  const user = await inTx(ctx.db, async (tx) => {
    const before = await getUser(tx, userId);
    const affiliation = input.affiliation ?? before.affiliation;
    const vendorId = input.vendorId !== undefined ? input.vendorId : affiliation === 'employee' ? null : before.vendorId;
    await checkAffiliation(tx, affiliation, vendorId);
    const role = input.role ?? before.role;
    const status = input.status ?? before.status;
    const losesAdmin = before.role === 'Administrator' && before.status === 'active' && (role !== 'Administrator' || status !== 'active');
    if (losesAdmin && (await activeAdminCount(tx, userId)) === 0) throw conflict('this is the last active administrator: create or enable another administrator first');
    if (userId === ctx.actor.id && (input.status === 'disabled' || (input.role && input.role !== before.role))) {
      throw new DomainError('forbidden', 'you cannot disable yourself or change your own role');
    }
    const unlocking = input.status === 'active' && before.status !== 'active';
    await tx
      .updateTable('users')
      .set({
        display_name: input.displayName ?? before.displayName,
        email: input.email ?? before.email,
        role,
        affiliation,
        vendor_id: vendorId,
        expires_at: input.expiresAt !== undefined ? input.expiresAt : before.expiresAt,
        otp_required: fromBool(input.otpRequired ?? before.otpRequired),
        status,
        ...(unlocking ? { failed_logins: 0, locked_until: null } : {}),
        ...(input.mustChangePassword ? { must_change_password: 1 as const } : {}),
        updated_at: nowIso(),
      })
      .where('id', '=', userId)
      .execute();
    if (status !== 'active') await endConsoleSessions(tx, userId);
    const after = await getUser(tx, userId);
    if (after.status === 'active' && after.expiresAt && after.expiresAt <= nowIso()) {
      throw invalid('the account expiry date has passed: set a later expiresAt to enable this user', [{ path: '/expiresAt', message: 'in the past' }]);
    }
    const action = input.status && input.status !== before.status ? (input.status === 'active' ? 'user.enable' : 'user.disable') : 'user.update';
    await audit(tx, ctx.actor, { action, target: { type: 'user', id: userId, name: after.username }, details: { changes: changes(before as unknown as Record<string, unknown>, { ...input, vendorId }) } });
    return after;
  });
  if (input.status === 'disabled') identityEvents.userDeactivated({ userId, username: user.username, why: 'disabled', by: ctx.actor.name });
  return user;
}

export async function deleteUser(ctx: Ctx, userId: string): Promise<void> {
  const before = await inTx(ctx.db, async (tx) => {
    const before = await getUser(tx, userId);
    if (userId === ctx.actor.id) throw new DomainError('forbidden', 'you cannot delete yourself');
    if (before.role === 'Administrator' && before.status === 'active' && (await activeAdminCount(tx, userId)) === 0) {
      throw conflict('this is the last active administrator: create another administrator first');
    }
    await tx.deleteFrom('grants').where('subject_type', '=', 'user').where('subject_id', '=', userId).execute();
    await tx.deleteFrom('group_members').where('user_id', '=', userId).execute();
    await endConsoleSessions(tx, userId);
    await tx.deleteFrom('users').where('id', '=', userId).execute();
    await audit(tx, ctx.actor, { action: 'user.delete', target: { type: 'user', id: userId, name: before.username }, details: { user: before } });
    return before;
  });
  identityEvents.userDeactivated({ userId, username: before.username, why: 'deleted', by: ctx.actor.name });
}

/** Sets a new one-time password that must be changed at next login; ends the user's sessions. */
export async function resetPassword(ctx: Ctx, userId: string, opts: { password?: string } = {}): Promise<{ oneTimePassword?: string }> {
  const before = await getUser(ctx.db, userId);
  if (before.type !== 'local') throw invalid(`"${before.username}" is a directory (LDAP) user: reset the password in the directory`);
  if (opts.password !== undefined) await assertPasswordAllowed(ctx.db, { password: opts.password, username: before.username, userId, path: '/password' });
  const oneTime = opts.password === undefined ? generateOneTimePassword() : undefined;
  const hash = await hashPassword((opts.password ?? oneTime)!);
  await inTx(ctx.db, async (tx) => {
    const old = await tx.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirst();
    await rememberOldPassword(tx, userId, old?.password_hash ?? null, nowIso());
    await tx
      .updateTable('users')
      .set({ password_hash: hash, must_change_password: 1, password_changed_at: nowIso(), failed_logins: 0, locked_until: null, updated_at: nowIso() })
      .where('id', '=', userId)
      .execute();
    await endConsoleSessions(tx, userId);
    await audit(tx, ctx.actor, { action: 'user.password_reset', target: { type: 'user', id: userId, name: before.username } });
  });
  return oneTime ? { oneTimePassword: oneTime } : {};
}

/** Accounts whose expiry date has passed disable themselves (status "expired"), audited. */
export async function expireAccounts(db: Db): Promise<number> {
  const now = nowIso();
  const due = await db.selectFrom('users').select(['id', 'username', 'expires_at']).where('status', '=', 'active').where('expires_at', 'is not', null).where('expires_at', '<=', now).execute();
  for (const u of due) {
    await inTx(db, async (tx: Tx) => {
      const r = await tx.updateTable('users').set({ status: 'expired', updated_at: now }).where('id', '=', u.id).where('status', '=', 'active').executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return;
      await endConsoleSessions(tx, u.id);
      await audit(tx, SYSTEM_ACTOR, { action: 'user.expire', target: { type: 'user', id: u.id, name: u.username }, details: { expiresAt: u.expires_at } });
    });
    identityEvents.userDeactivated({ userId: u.id, username: u.username, why: 'expired', by: 'system' });
  }
  return due.length;
}

/**
 * Accounts without a sign-in for `days` days are disabled (IEC 62443-3-3 SR 1.3), audited. The
 * last active administrator is kept, so the gateway never locks everyone out.
 */
export async function disableInactiveAccounts(db: Db, days: number): Promise<number> {
  if (days <= 0) return 0;
  const cutoff = new Date(Date.now() - days * 86_400_000).toISOString();
  const due = await db
    .selectFrom('users')
    .select(['id', 'username', 'role', 'last_login_at', 'created_at'])
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('last_login_at', '<', cutoff), eb.and([eb('last_login_at', 'is', null), eb('created_at', '<', cutoff)])]))
    .execute();
  let n = 0;
  for (const u of due) {
    const done = await inTx(db, async (tx: Tx) => {
      if (u.role === 'Administrator' && (await activeAdminCount(tx, u.id)) === 0) return false;
      const r = await tx.updateTable('users').set({ status: 'disabled', updated_at: nowIso() }).where('id', '=', u.id).where('status', '=', 'active').executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await endConsoleSessions(tx, u.id);
      await audit(tx, SYSTEM_ACTOR, { action: 'user.disable_inactive', target: { type: 'user', id: u.id, name: u.username }, details: { inactiveDays: days, lastLoginAt: u.last_login_at } });
      return true;
    });
    if (done) {
      n++;
      identityEvents.userDeactivated({ userId: u.id, username: u.username, why: 'inactive', by: 'system' });
    }
  }
  return n;
}
