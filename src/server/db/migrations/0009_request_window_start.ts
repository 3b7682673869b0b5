import type { Kysely } from 'kysely';

// Access requests (issue 6): the window start whose window_starting email was sent (the sweeper
// announces each window, or each occurrence of a recurring series, once; see docs/requests.md).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_requests').addColumn('announced_start_at', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_requests').dropColumn('announced_start_at').execute();
}
