import type { Kysely } from 'kysely';

// Brokered remote sessions (issue 4) and pinned SSH host keys.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('remote_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('asset_id', 'text', (c) => c.notNull())
    .addColumn('asset_name', 'text', (c) => c.notNull())
    .addColumn('site_id', 'text', (c) => c.notNull())
    .addColumn('site_name', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text')
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('via', 'text', (c) => c.notNull())
    .addColumn('command', 'text')
    .addColumn('source_ip', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('end_reason', 'text')
    .addColumn('end_message', 'text')
    .addColumn('terminated_by', 'text')
    .addColumn('node', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('ended_at', 'text')
    .addColumn('bytes_in', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes_out', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('recording_path', 'text')
    .addColumn('recording_sha256', 'text')
    // Searchable text of the recording: commands typed and text shown (capped).
    .addColumn('typed_text', 'text')
    .addColumn('shown_text', 'text')
    .execute();
  await db.schema.createIndex('remote_sessions_state_idx').on('remote_sessions').column('state').execute();
  await db.schema.createIndex('remote_sessions_created_idx').on('remote_sessions').column('created_at').execute();

  await db.schema
    .createTable('asset_host_keys')
    .addColumn('asset_id', 'text', (c) => c.notNull().references('assets.id').onDelete('cascade'))
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('pinned_at', 'text', (c) => c.notNull())
    .addColumn('pinned_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('asset_host_keys_pk', ['asset_id', 'port'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('asset_host_keys').execute();
  await db.schema.dropTable('remote_sessions').execute();
}
