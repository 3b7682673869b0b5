import type { Actor } from './audit/log.js';
import type { SecretBox } from './crypto/secretbox.js';
import type { Db } from './db/index.js';

/** What a domain operation needs: the database and who is acting. */
export interface Ctx {
  db: Db;
  actor: Actor;
}

/** For operations that seal or open secrets at rest (TOTP seeds, LDAP bind passwords). */
export interface SecretCtx extends Ctx {
  secrets: SecretBox;
}
