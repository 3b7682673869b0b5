import type { Kysely } from 'kysely';

// SSH public keys users register for the SSH front door (sshd/): a key replaces the password there.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('user_ssh_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .execute();
  await db.schema.createIndex('user_ssh_keys_user_fingerprint_idx').on('user_ssh_keys').columns(['user_id', 'fingerprint']).unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('user_ssh_keys').execute();
}
