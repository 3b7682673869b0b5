import type { Kysely } from 'kysely';

// A moderated live session that lost its moderator pauses in the memory of the node holding it;
// the row says since when (null while it runs), so every node's Dashboard lists it for moderators.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('remote_sessions').addColumn('paused_since', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('remote_sessions').dropColumn('paused_since').execute();
}
