import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SYSTEM_ACTOR } from '../audit/log.js';
import type { Db } from '../db/index.js';
import { createUser } from './users.js';

export interface BootstrapResult {
  created: boolean;
  username: string;
  /** The first admin's one-time password while it is still unused. */
  oneTimePassword?: string;
}

const fileFor = (dataDir: string) => resolve(dataDir, 'initial-admin-password');

/**
 * On an empty user table, creates the first administrator: with PORTCULLIS_ADMIN_PASSWORD when
 * given (unattended installs), else with a one-time password that must be changed at first login.
 * The one-time password is kept in a 0600 file in the data dir until it has been changed, so an
 * operator who missed the console output can still read it; it never goes to the logs.
 */
export async function bootstrapFirstAdmin(db: Db, opts: { dataDir: string; username: string; password?: string | undefined }): Promise<BootstrapResult> {
  const any = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  const file = fileFor(opts.dataDir);
  if (any) {
    const admin = await db.selectFrom('users').select(['username', 'must_change_password']).where('username', '=', opts.username).executeTakeFirst();
    if (existsSync(file)) {
      if (admin?.must_change_password === 1) return { created: false, username: admin.username, oneTimePassword: readFileSync(file, 'utf8').trim() };
      rmSync(file, { force: true });
    }
    return { created: false, username: admin?.username ?? opts.username };
  }
  const res = await createUser(
    { db, actor: SYSTEM_ACTOR },
    {
      username: opts.username,
      displayName: 'Administrator',
      email: '',
      role: 'Administrator',
      type: 'local',
      affiliation: 'employee',
      vendorId: null,
      expiresAt: null,
      otpRequired: false,
      mustChangePassword: false,
      ...(opts.password ? { password: opts.password } : {}),
    },
  );
  if (res.oneTimePassword) {
    writeFileSync(file, `${res.oneTimePassword}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return { created: true, username: res.user.username, ...(res.oneTimePassword ? { oneTimePassword: res.oneTimePassword } : {}) };
}

/** Called once the first admin has chosen a password. */
export function forgetInitialPassword(dataDir: string): void {
  rmSync(fileFor(dataDir), { force: true });
}
