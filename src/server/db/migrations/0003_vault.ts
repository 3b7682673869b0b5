import type { Kysely } from 'kysely';

// The vault (issue 4): asset accounts whose secrets are envelope-encrypted.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('asset_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('asset_id', 'text', (c) => c.notNull().references('assets.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('secret_enc', 'text', (c) => c.notNull())
    .addColumn('dek_sealed', 'text', (c) => c.notNull())
    .addColumn('secret_changed_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('asset_accounts_asset_name_unique', ['asset_id', 'name'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('asset_accounts').execute();
}
