import type { Kysely } from 'kysely';

// Signed audit checkpoints (docs/audit.md): the chain head (seq, hash) signed with the gateway's
// Ed25519 key at intervals, so a rewrite of the whole chain by someone with database access is
// detected. The same lines go to <data>/audit/checkpoints.jsonl, outside the database.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_checkpoints_pk', ['seq', 'key_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_checkpoints').execute();
}
