import type { Kysely } from 'kysely';

// Policy rules (issue 6, part 1): the rule engine behind policy.decide. Lists (subjects, targets,
// protocols, windows) are JSON text like assets.access_methods; the Purdue-level defaults are a
// settings document ('policy_defaults'), so they need no table.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('policy_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('effect', 'text', (c) => c.notNull())
    .addColumn('applies_to', 'text', (c) => c.notNull())
    .addColumn('subjects', 'text', (c) => c.notNull())
    .addColumn('targets', 'text', (c) => c.notNull())
    .addColumn('allowed_protocols', 'text', (c) => c.notNull())
    .addColumn('blocked_protocols', 'text', (c) => c.notNull())
    .addColumn('windows', 'text')
    .addColumn('timezone', 'text')
    .addColumn('valid_from', 'text')
    .addColumn('valid_until', 'text')
    .addColumn('approvals_required', 'integer', (c) => c.notNull())
    .addColumn('approver_group_id', 'text')
    .addColumn('max_session_minutes', 'integer')
    .addColumn('idle_timeout_minutes', 'integer')
    .addColumn('advance_notice_hours', 'integer')
    .addColumn('file_inbound', 'integer', (c) => c.notNull())
    .addColumn('file_outbound', 'integer', (c) => c.notNull())
    .addColumn('clipboard_to_asset', 'integer', (c) => c.notNull())
    .addColumn('clipboard_from_asset', 'integer', (c) => c.notNull())
    .addColumn('watch_required', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('updated_by', 'text')
    .execute();
  await db.schema.createIndex('policy_rules_priority_idx').on('policy_rules').columns(['priority', 'name']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('policy_rules').execute();
}
