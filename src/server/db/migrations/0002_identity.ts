import type { Kysely } from 'kysely';

// Identity (issue 3): settings, password history, second factors, API tokens, LDAP domains,
// user-management delegation, staged console sessions.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .execute();

  await db.schema
    .createTable('password_history')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('password_history_user_idx').on('password_history').column('user_id').execute();

  await db.schema
    .createTable('mfa_totp')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('secret_enc', 'text')
    .addColumn('pending_secret_enc', 'text')
    .addColumn('confirmed_at', 'text')
    .addColumn('last_step', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('recovery_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('recovery_codes_user_idx').on('recovery_codes').column('user_id').execute();

  await db.schema
    .createTable('webauthn_credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('transports', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .execute();
  await db.schema.createIndex('webauthn_user_idx').on('webauthn_credentials').column('user_id').execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('expires_at', 'text')
    .addColumn('last_used_at', 'text')
    .addColumn('last_used_ip', 'text')
    .addColumn('revoked_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('ldap_domains')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('bind_dn', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('bind_password_enc', 'text')
    .addColumn('base_dn', 'text', (c) => c.notNull())
    .addColumn('user_filter', 'text', (c) => c.notNull())
    .addColumn('username_attribute', 'text', (c) => c.notNull())
    .addColumn('group_mappings', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('tls_ca', 'text')
    .addColumn('start_tls', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('users').addColumn('ldap_domain_id', 'text').execute();
  await db.schema.alterTable('users').addColumn('ldap_dn', 'text').execute();

  await db.schema
    .createTable('group_managers')
    .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('added_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('group_managers_pk', ['group_id', 'user_id'])
    .execute();

  // 'complete' sessions reach the API; 'mfa' and 'enroll' ones only the second-factor routes.
  await db.schema.alterTable('console_sessions').addColumn('stage', 'text', (c) => c.notNull().defaultTo('complete')).execute();
  await db.schema.alterTable('console_sessions').addColumn('mfa_method', 'text').execute();
  await db.schema.alterTable('console_sessions').addColumn('challenge', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const c of ['challenge', 'mfa_method', 'stage']) await db.schema.alterTable('console_sessions').dropColumn(c).execute();
  await db.schema.alterTable('users').dropColumn('ldap_dn').execute();
  await db.schema.alterTable('users').dropColumn('ldap_domain_id').execute();
  for (const t of ['group_managers', 'ldap_domains', 'api_tokens', 'webauthn_credentials', 'recovery_codes', 'mfa_totp', 'password_history', 'settings']) {
    await db.schema.dropTable(t).execute();
  }
}
