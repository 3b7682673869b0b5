import { z } from 'zod';
import { type Actor, audit } from '../audit/log.js';
import type { SecretCtx } from '../context.js';
import type { Db } from '../db/index.js';
import type { UsersTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { DomainError, invalid } from '../errors.js';
import { nowIso } from '../util.js';
import { consumeRecoveryCode } from './mfa/recovery.js';
import { hasSecondFactor, mfaStatus, verifyTotp } from './mfa/service.js';
import { assertPasswordAllowed, rememberOldPassword } from './password-policy.js';
import { MAX_PASSWORD_LENGTH, hashPassword, verifyPassword } from './passwords.js';
import type { SessionStage } from './sessions.js';
import { getSecuritySettings, type SecuritySettings } from './settings.js';
import { disableInactiveAccounts, expireAccounts, findUserRowByUsername } from './users.js';
import { countFailure } from './lockout.js';

export const loginSchema = z.strictObject({
  username: z.string().trim().min(1, 'required').max(64),
  password: z.string().min(1, 'required').max(MAX_PASSWORD_LENGTH),
});
export const changePasswordSchema = z.strictObject({
  currentPassword: z.string().min(1, 'required').max(MAX_PASSWORD_LENGTH),
  newPassword: z.string().min(1, 'required').max(MAX_PASSWORD_LENGTH),
});
export const codeSchema = z.strictObject({ code: z.string().trim().min(1, 'required').max(64) });

const GENERIC = 'invalid username or password';

/** A directory login (LDAP/AD), plugged in by the LDAP module. */
export type DirectoryLogin = (ctx: SecretCtx, username: string, password: string) => Promise<{ ok: true; user: UsersTable } | { ok: false; reason: string }>;

export interface LoginOutcome {
  user: UsersTable;
  /** 'mfa': a second factor must follow; 'enroll': one must be enrolled first. */
  stage: SessionStage;
  mfaMethods: ('totp' | 'webauthn' | 'recovery')[];
}

/** Does this account need a second factor (per user, per role, or globally)? */
export function secondFactorRequired(user: UsersTable, s: SecuritySettings): boolean {
  return user.otp_required === 1 || s.otpRequiredGlobal || s.otpRequiredRoles.includes(user.role);
}

/**
 * First step of sign-in: the password (local argon2id, or the directory for LDAP users). Every
 * outcome is audited with its real reason; callers only learn "invalid username or password"
 * (no account enumeration) unless the password was right for a locked/disabled/expired account.
 */
export async function login(ctx: SecretCtx, input: z.infer<typeof loginSchema>, ip: string | null, directory?: DirectoryLogin): Promise<LoginOutcome> {
  const db = ctx.db;
  const settings = await getSecuritySettings(db);
  await expireAccounts(db);
  await disableInactiveAccounts(db, settings.disableInactiveDays);
  let user = await findUserRowByUsername(db, input.username);
  const actor: Actor = { id: user?.id ?? null, name: user?.username ?? input.username, ip };
  const fail = async (reason: string, message = GENERIC): Promise<never> => {
    await audit(db, actor, { action: 'auth.login', target: { type: 'user', id: user?.id ?? null, name: user?.username ?? input.username }, result: 'failure', details: { reason } });
    throw new DomainError('unauthorized', message);
  };

  let ok: boolean;
  if (!user || user.type === 'ldap') {
    if (user && user.status !== 'active' && user.status !== 'locked') return fail(`account ${user.status}`, `this account is ${user.status}: ask an administrator`);
    if (user?.status === 'locked' && !(user.locked_until && user.locked_until <= nowIso())) return fail('account locked', 'this account is locked after too many failed logins: try again later or ask an administrator to unlock it');
    // An unknown name costs the same work as a local wrong password, directory or not.
    if (!user) await verifyPassword(null, input.password);
    if (!directory) return fail(user ? 'directory login not configured' : 'unknown user');
    const res = await directory(ctx, input.username, input.password);
    if (!res.ok) {
      // Only credential failures count toward the lockout: a directory outage must not lock users out.
      if (user && /^ldap: (wrong|empty) password/.test(res.reason)) await countFailure(db, user, actor, settings);
      return fail(user ? res.reason : `unknown user (${res.reason})`);
    }
    user = res.user;
    actor.id = user.id;
    actor.name = user.username;
    ok = true;
  } else {
    ok = await verifyPassword(user.password_hash, input.password);
  }

  let status = user.status;
  if (status === 'locked' && user.locked_until && user.locked_until <= nowIso()) {
    await db.updateTable('users').set({ status: 'active', failed_logins: 0, locked_until: null }).where('id', '=', user.id).where('status', '=', 'locked').execute();
    status = 'active';
    user = { ...user, status, failed_logins: 0, locked_until: null };
  }
  if (!ok) {
    if (status !== 'active') return fail(`wrong password (account ${status})`);
    await countFailure(db, user, actor, settings);
    return fail(`wrong password (${user.failed_logins + 1} consecutive)`);
  }
  if (status === 'locked') return fail('account locked', 'this account is locked after too many failed logins: try again later or ask an administrator to unlock it');
  if (status === 'disabled') return fail('account disabled', 'this account is disabled: ask an administrator');
  if (status === 'expired') return fail('account expired', 'this account has expired: ask an administrator to extend it');

  // Passwords expire only when the administrator turned expiration on (NIST SP 800-63B: off).
  let mustChange = user.must_change_password;
  if (user.type === 'local' && settings.passwordExpirationDays > 0 && user.password_changed_at) {
    const age = Date.now() - Date.parse(user.password_changed_at);
    if (age > settings.passwordExpirationDays * 86_400_000 && mustChange === 0) {
      mustChange = 1;
      await inTx(db, async (tx) => {
        await tx.updateTable('users').set({ must_change_password: 1 }).where('id', '=', user!.id).execute();
        await audit(tx, actor, { action: 'user.password_expired', target: { type: 'user', id: user!.id, name: user!.username }, details: { maxAgeDays: settings.passwordExpirationDays } });
      });
    }
  }

  const mfa = await mfaStatus(db, user.id);
  const enrolled = hasSecondFactor(mfa);
  const stage: SessionStage = enrolled ? 'mfa' : secondFactorRequired(user, settings) ? 'enroll' : 'complete';
  const mfaMethods: LoginOutcome['mfaMethods'] = [];
  if (mfa.totp) mfaMethods.push('totp');
  if (mfa.webauthnKeys > 0) mfaMethods.push('webauthn');
  if (enrolled && mfa.recoveryCodesLeft > 0) mfaMethods.push('recovery');

  const now = nowIso();
  await inTx(db, async (tx) => {
    await tx.updateTable('users').set({ failed_logins: 0, ...(stage === 'complete' ? { last_login_at: now } : {}) }).where('id', '=', user!.id).execute();
    await audit(tx, actor, {
      action: 'auth.login',
      target: { type: 'user', id: user!.id, name: user!.username },
      details: { method: user!.type === 'ldap' ? 'ldap' : 'password', next: stage === 'complete' ? 'signed in' : stage === 'mfa' ? 'second factor' : 'second factor enrollment', mustChangePassword: mustChange === 1 },
    });
  });
  return { user: { ...user, failed_logins: 0, must_change_password: mustChange }, stage, mfaMethods };
}

/**
 * Second step: a TOTP code, or a recovery code. Wrong codes count toward the lockout like wrong
 * passwords. True when the sign-in is complete.
 */
export async function secondFactor(ctx: SecretCtx, userId: string, method: 'totp' | 'recovery', code: string, ip: string | null): Promise<UsersTable> {
  const db = ctx.db;
  const user = await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
  if (!user || user.status !== 'active') throw new DomainError('unauthorized', 'sign in again');
  const actor: Actor = { id: user.id, name: user.username, ip };
  const ok = method === 'totp' ? await verifyTotp(ctx, user.id, code) : await consumeRecoveryCode(db, user.id, code);
  if (!ok) {
    await audit(db, actor, { action: 'auth.mfa', target: { type: 'user', id: user.id, name: user.username }, result: 'failure', details: { method, reason: method === 'totp' ? 'wrong or reused code' : 'unknown or used recovery code' } });
    await countFailure(db, user, actor, await getSecuritySettings(db));
    throw new DomainError('unauthorized', method === 'totp' ? 'the code is wrong or was already used: wait for the next one' : 'the recovery code is wrong or was already used');
  }
  return completeSignIn(db, user, actor, method);
}

/** Records a finished sign-in (after any second factor). */
export async function completeSignIn(db: Db, user: UsersTable, actor: Actor, method: string): Promise<UsersTable> {
  const now = nowIso();
  await inTx(db, async (tx) => {
    await tx.updateTable('users').set({ failed_logins: 0, last_login_at: now }).where('id', '=', user.id).execute();
    await audit(tx, actor, { action: 'auth.mfa', target: { type: 'user', id: user.id, name: user.username }, details: { method } });
  });
  return { ...user, failed_logins: 0, last_login_at: now };
}

/** A user changes their own password (also the forced change after a one-time password). */
export async function changeOwnPassword(db: Db, user: UsersTable, input: z.infer<typeof changePasswordSchema>, actor: Actor): Promise<void> {
  if (user.type !== 'local') throw invalid('directory (LDAP) users change their password in the directory');
  if (!(await verifyPassword(user.password_hash, input.currentPassword))) {
    await audit(db, actor, { action: 'user.password_change', target: { type: 'user', id: user.id, name: user.username }, result: 'failure', details: { reason: 'wrong current password' } });
    throw invalid('the current password is wrong', [{ path: '/currentPassword', message: 'wrong password' }]);
  }
  if (await verifyPassword(user.password_hash, input.newPassword)) {
    throw invalid('the new password must differ from the current one', [{ path: '/newPassword', message: 'same as the current password' }]);
  }
  await assertPasswordAllowed(db, { password: input.newPassword, username: user.username, userId: user.id });
  const hash = await hashPassword(input.newPassword);
  await inTx(db, async (tx) => {
    await rememberOldPassword(tx, user.id, user.password_hash, nowIso());
    await tx.updateTable('users').set({ password_hash: hash, must_change_password: 0, password_changed_at: nowIso(), updated_at: nowIso() }).where('id', '=', user.id).execute();
    await audit(tx, actor, { action: 'user.password_change', target: { type: 'user', id: user.id, name: user.username }, details: { forced: user.must_change_password === 1 } });
  });
}
