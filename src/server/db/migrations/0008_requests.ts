import type { Kysely } from 'kysely';

// Access requests (issue 6, part 2): who asks for which assets, protocols and window (one-off or
// weekly recurring), how many approvals from which group, and every approval or denial per round
// (round 0 = the request, 1.. = extensions).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('access_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('requester_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('requester_name', 'text', (c) => c.notNull())
    .addColumn('created_by_id', 'text')
    .addColumn('created_by_name', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('ticket', 'text')
    // JSON: Protocol[]
    .addColumn('protocols', 'text', (c) => c.notNull())
    .addColumn('start_at', 'text', (c) => c.notNull())
    .addColumn('end_at', 'text', (c) => c.notNull())
    // JSON: LoginWindow[] (weekly windows in time_zone) or null for a one-off window
    .addColumn('recurrence', 'text')
    .addColumn('time_zone', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('approvals_required', 'integer', (c) => c.notNull())
    .addColumn('approver_group_id', 'text')
    .addColumn('round', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('approved_round', 'integer')
    .addColumn('extension_end_at', 'text')
    .addColumn('warned_end_at', 'text')
    .addColumn('decided_at', 'text')
    .addColumn('decided_by_name', 'text')
    .addColumn('decision_comment', 'text')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('access_requests_state_idx').on('access_requests').columns(['state', 'start_at']).execute();
  await db.schema.createIndex('access_requests_requester_idx').on('access_requests').columns(['requester_id', 'state']).execute();
  await db.schema.createIndex('access_requests_ticket_idx').on('access_requests').column('ticket').execute();
  await db.schema.createIndex('access_requests_created_idx').on('access_requests').column('created_at').execute();

  await db.schema
    .createTable('access_request_assets')
    .addColumn('request_id', 'text', (c) => c.notNull().references('access_requests.id').onDelete('cascade'))
    .addColumn('asset_id', 'text', (c) => c.notNull().references('assets.id').onDelete('cascade'))
    .addColumn('asset_name', 'text', (c) => c.notNull())
    .addColumn('site_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('access_request_assets_pk', ['request_id', 'asset_id'])
    .execute();
  await db.schema.createIndex('access_request_assets_asset_idx').on('access_request_assets').column('asset_id').execute();

  await db.schema
    .createTable('access_request_approvals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('request_id', 'text', (c) => c.notNull().references('access_requests.id').onDelete('cascade'))
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('approver_id', 'text', (c) => c.notNull())
    .addColumn('approver_name', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('via', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('access_request_approvals_once', ['request_id', 'round', 'approver_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('access_request_approvals').execute();
  await db.schema.dropTable('access_request_assets').execute();
  await db.schema.dropTable('access_requests').execute();
}
