import type { Kysely } from 'kysely';

// A session waiting for live approval keeps what it waits for in its row (`gate`, JSON: the
// subject, how many approvals from which group, until when), so an approver on any gateway node
// of a shared PostgreSQL database can see and decide it; the node holding the session picks the
// decisions up from session_approvals (broker/gates.ts).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('remote_sessions').addColumn('gate', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('remote_sessions').dropColumn('gate').execute();
}
