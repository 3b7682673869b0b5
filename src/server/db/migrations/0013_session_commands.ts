import type { Kysely } from 'kysely';

// Commands from one gateway node to the node holding a live session (broker/commands.ts): the
// red button, a user's deactivation, an access request revoked or extended, the T-5 warning. The
// holding node polls for its own rows (node = its id), claims each once and carries it out.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('session_commands')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('node', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('done_at', 'text')
    .execute();
  await db.schema.createIndex('session_commands_node').on('session_commands').columns(['node', 'done_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('session_commands').execute();
}
