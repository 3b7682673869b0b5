import type { Executor } from '../db/index.js';

/**
 * Does `managerId` administer `userId` through a user-management group? Managers of such a group
 * may administer its members, except administrators (no privilege escalation through delegation).
 */
export async function managesUser(ex: Executor, managerId: string, userId: string): Promise<boolean> {
  if (managerId === userId) return false;
  const row = await ex
    .selectFrom('group_managers')
    .innerJoin('groups', 'groups.id', 'group_managers.group_id')
    .innerJoin('group_members', 'group_members.group_id', 'groups.id')
    .innerJoin('users', 'users.id', 'group_members.user_id')
    .select('users.id')
    .where('groups.kind', '=', 'user_management')
    .where('group_managers.user_id', '=', managerId)
    .where('group_members.user_id', '=', userId)
    .where('users.role', '!=', 'Administrator')
    .executeTakeFirst();
  return Boolean(row);
}
