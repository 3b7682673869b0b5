import type { Actor } from './audit/log.js';
import type { Db } from './db/index.js';

/** What a domain operation needs: the database and who is acting. */
export interface Ctx {
  db: Db;
  actor: Actor;
}
