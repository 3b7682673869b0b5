import { z } from 'zod';
import { type Actor, audit } from '../audit/log.js';
import type { Db } from '../db/index.js';
import type { UsersTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { DomainError, invalid } from '../errors.js';
import { nowIso } from '../util.js';
import { MAX_PASSWORD_LENGTH, checkNewPassword, hashPassword, verifyPassword } from './passwords.js';
import { expireAccounts, findUserRowByUsername } from './users.js';

export const loginSchema = z.strictObject({
  username: z.string().trim().min(1, 'required').max(64),
  password: z.string().min(1, 'required').max(MAX_PASSWORD_LENGTH),
});
export const changePasswordSchema = z.strictObject({
  currentPassword: z.string().min(1, 'required').max(MAX_PASSWORD_LENGTH),
  newPassword: z.string().min(1, 'required').max(MAX_PASSWORD_LENGTH),
});

/** Minimum lockout until the identity issue makes it configurable: 5 failures lock 15 minutes. */
export const LOCKOUT = { attempts: 5, minutes: 15 };

const GENERIC = 'invalid username or password';

/**
 * Password login. Every outcome is audited with its real reason; the caller only ever learns
 * "invalid username or password" (no account enumeration), except for locked/disabled/expired
 * accounts whose password was right.
 */
export async function login(db: Db, input: z.infer<typeof loginSchema>, ip: string | null): Promise<UsersTable> {
  await expireAccounts(db);
  const user = await findUserRowByUsername(db, input.username);
  const actor: Actor = { id: user?.id ?? null, name: user?.username ?? input.username, ip };
  const fail = async (reason: string, message = GENERIC): Promise<never> => {
    await audit(db, actor, { action: 'auth.login', target: { type: 'user', id: user?.id ?? null, name: user?.username ?? input.username }, result: 'failure', details: { reason } });
    throw new DomainError('unauthorized', message);
  };
  const ok = await verifyPassword(user?.type === 'local' ? user.password_hash : null, input.password);
  if (!user) return fail('unknown user');
  if (user.type !== 'local') return fail('directory login not configured');

  let status = user.status;
  if (status === 'locked' && user.locked_until && user.locked_until <= nowIso()) {
    await db.updateTable('users').set({ status: 'active', failed_logins: 0, locked_until: null }).where('id', '=', user.id).where('status', '=', 'locked').execute();
    status = 'active';
  }
  if (!ok) {
    if (status !== 'active') return fail(`wrong password (account ${status})`);
    const failures = user.failed_logins + 1;
    if (failures >= LOCKOUT.attempts) {
      const until = new Date(Date.now() + LOCKOUT.minutes * 60_000).toISOString();
      await inTx(db, async (tx) => {
        await tx.updateTable('users').set({ failed_logins: failures, status: 'locked', locked_until: until }).where('id', '=', user.id).execute();
        await tx.deleteFrom('console_sessions').where('user_id', '=', user.id).execute();
        await audit(tx, actor, { action: 'user.lock', target: { type: 'user', id: user.id, name: user.username }, details: { failedAttempts: failures, lockedUntil: until } });
      });
    } else {
      await db.updateTable('users').set({ failed_logins: failures }).where('id', '=', user.id).execute();
    }
    return fail(`wrong password (${failures} consecutive)`);
  }
  if (status === 'locked') return fail('account locked', 'this account is locked after too many failed logins: try again later or ask an administrator to unlock it');
  if (status === 'disabled') return fail('account disabled', 'this account is disabled: ask an administrator');
  if (status === 'expired') return fail('account expired', 'this account has expired: ask an administrator to extend it');

  const now = nowIso();
  await inTx(db, async (tx) => {
    await tx.updateTable('users').set({ failed_logins: 0, last_login_at: now }).where('id', '=', user.id).execute();
    await audit(tx, actor, { action: 'auth.login', target: { type: 'user', id: user.id, name: user.username }, details: { method: 'password', mustChangePassword: user.must_change_password === 1 } });
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
  checkNewPassword(input.newPassword, user.username);
  if (await verifyPassword(user.password_hash, input.newPassword)) {
    throw invalid('the new password must differ from the current one', [{ path: '/newPassword', message: 'same as the current password' }]);
  }
  const hash = await hashPassword(input.newPassword);
  await inTx(db, async (tx) => {
    await tx.updateTable('users').set({ password_hash: hash, must_change_password: 0, password_changed_at: nowIso(), updated_at: nowIso() }).where('id', '=', user.id).execute();
    await audit(tx, actor, { action: 'user.password_change', target: { type: 'user', id: user.id, name: user.username }, details: { forced: user.must_change_password === 1 } });
  });
}
