import type { Executor } from '../db/index.js';

/**
 * Who approves what the rules ask approvals for (access requests and live session approvals
 * alike): the members of the approver group the rules name, or, when they name none, the
 * Administrators. "No self-approval" is the caller's check (it knows who is asking).
 */
export async function isApprover(ex: Executor, who: { id: string; role: string }, groupId: string | null): Promise<boolean> {
  if (!groupId) return who.role === 'Administrator';
  return !!(await ex.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).where('user_id', '=', who.id).executeTakeFirst());
}

/** The users who may approve (for notifications): the group's members, or the Administrators. */
export async function approverIds(ex: Executor, groupId: string | null): Promise<string[]> {
  const rows = groupId
    ? await ex.selectFrom('group_members').select('user_id as id').where('group_id', '=', groupId).execute()
    : await ex.selectFrom('users').select('id').where('role', '=', 'Administrator').execute();
  return rows.map((r) => r.id);
}
