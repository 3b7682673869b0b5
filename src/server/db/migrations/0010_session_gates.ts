import type { Kysely } from 'kysely';

// Session gates (issue 6, parts 3 and 4, and "watch required"): rules that demand a live approval
// of each session or allow break-glass; sessions that wait for an approver or a moderator, that
// were opened by break-glass (and await a post-hoc review), and every live approval or rejection.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('policy_rules').addColumn('session_approvals_required', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('policy_rules').addColumn('session_approver_group_id', 'text').execute();
  await db.schema.alterTable('policy_rules').addColumn('break_glass', 'integer', (c) => c.notNull().defaultTo(0)).execute();

  // 'approval' | 'moderator' while a pending session waits at a gate; null otherwise.
  await db.schema.alterTable('remote_sessions').addColumn('waiting_for', 'text').execute();
  await db.schema.alterTable('remote_sessions').addColumn('moderated', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('remote_sessions').addColumn('break_glass_reason', 'text').execute();
  // Break-glass sessions: 'pending' until an administrator signs the review off ('reviewed').
  await db.schema.alterTable('remote_sessions').addColumn('review_state', 'text').execute();
  await db.schema.alterTable('remote_sessions').addColumn('reviewed_by', 'text').execute();
  await db.schema.alterTable('remote_sessions').addColumn('reviewed_at', 'text').execute();
  await db.schema.alterTable('remote_sessions').addColumn('review_note', 'text').execute();
  // The approved access request the session was opened under (traceability for auditors).
  await db.schema.alterTable('remote_sessions').addColumn('access_request_id', 'text').execute();
  await db.schema.createIndex('remote_sessions_review_idx').on('remote_sessions').columns(['review_state', 'created_at']).execute();

  await db.schema
    .createTable('session_approvals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('remote_sessions.id').onDelete('cascade'))
    .addColumn('approver_id', 'text')
    .addColumn('approver_name', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('session_approvals_session_idx').on('session_approvals').columns(['session_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('session_approvals').execute();
  await db.schema.dropIndex('remote_sessions_review_idx').execute();
  for (const c of ['access_request_id', 'review_note', 'reviewed_at', 'reviewed_by', 'review_state', 'break_glass_reason', 'moderated', 'waiting_for']) await db.schema.alterTable('remote_sessions').dropColumn(c).execute();
  for (const c of ['break_glass', 'session_approver_group_id', 'session_approvals_required']) await db.schema.alterTable('policy_rules').dropColumn(c).execute();
}
