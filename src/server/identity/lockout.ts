import { type Actor, audit } from '../audit/log.js';
import type { Db } from '../db/index.js';
import type { UsersTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { identityEvents } from './events.js';
import type { SecuritySettings } from './settings.js';

/**
 * Lockout bookkeeping for a failed credential (password, TOTP or recovery code, security key):
 * after the configured number of consecutive failures the account locks for the configured time
 * and its sessions end.
 */
export async function countFailure(db: Db, user: UsersTable, actor: Actor, s: SecuritySettings): Promise<void> {
  const failures = user.failed_logins + 1;
  if (failures >= s.lockoutAttempts) {
    const until = new Date(Date.now() + s.lockoutMinutes * 60_000).toISOString();
    await inTx(db, async (tx) => {
      await tx.updateTable('users').set({ failed_logins: failures, status: 'locked', locked_until: until }).where('id', '=', user.id).execute();
      await tx.deleteFrom('console_sessions').where('user_id', '=', user.id).execute();
      await audit(tx, actor, { action: 'user.lock', target: { type: 'user', id: user.id, name: user.username }, details: { failedAttempts: failures, lockedUntil: until } });
    });
    identityEvents.userDeactivated({ userId: user.id, username: user.username, why: 'locked', by: 'system' });
  } else {
    await db.updateTable('users').set({ failed_logins: failures }).where('id', '=', user.id).execute();
  }
}
