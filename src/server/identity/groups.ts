import { z } from 'zod';
import { containsText } from '../db/text.js';
import { audit, changes } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Db, Executor } from '../db/index.js';
import { type PageRequest, paginate } from '../db/paging.js';
import type { GroupsTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { conflict, notFound } from '../errors.js';
import { newId, nowIso } from '../util.js';
import { description, id, name } from '../validation.js';
import { getUser } from './users.js';

/** Permission groups receive asset grants; user-management groups delegate user administration. */
export const GROUP_KINDS = ['permission', 'user_management'] as const;

export const groupCreateSchema = z.strictObject({ name, kind: z.enum(GROUP_KINDS), description: description.default('') });
export const groupUpdateSchema = z.strictObject({ name: name.optional(), description: description.optional() });
export const groupFilterSchema = z.strictObject({ name: z.string().max(128).optional(), kind: z.enum(GROUP_KINDS).optional() });
export const memberAddSchema = z.strictObject({ userId: id });

export interface Group {
  id: string;
  name: string;
  kind: GroupsTable['kind'];
  description: string;
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface GroupMember {
  userId: string;
  username: string;
  displayName: string;
  addedAt: string;
}

const selectGroups = (ex: Executor) =>
  ex
    .selectFrom('groups')
    .selectAll('groups')
    .select((eb) => eb.selectFrom('group_members').select((e) => e.fn.countAll<number>().as('n')).whereRef('group_members.group_id', '=', 'groups.id').as('member_count'));

const toGroup = (r: GroupsTable & { member_count: number | string | null }): Group => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  description: r.description,
  memberCount: Number(r.member_count ?? 0),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function listGroups(db: Db, f: z.infer<typeof groupFilterSchema>, page: PageRequest) {
  let q = selectGroups(db);
  if (f.name) q = q.where(containsText('groups.name', f.name!));
  if (f.kind) q = q.where('groups.kind', '=', f.kind);
  const res = await paginate(q, { sortColumn: 'groups.name', idColumn: 'groups.id', sortKey: (r) => r.name, idKey: (r) => r.id }, page);
  return { items: res.items.map(toGroup), nextCursor: res.nextCursor };
}

export async function getGroup(ex: Executor, groupId: string): Promise<Group> {
  const row = await selectGroups(ex).where('groups.id', '=', groupId).executeTakeFirst();
  if (!row) throw notFound('group', groupId);
  return toGroup(row);
}

export async function listMembers(ex: Executor, groupId: string): Promise<GroupMember[]> {
  await getGroup(ex, groupId);
  const rows = await ex
    .selectFrom('group_members')
    .innerJoin('users', 'users.id', 'group_members.user_id')
    .select(['users.id', 'users.username', 'users.display_name', 'group_members.added_at'])
    .where('group_members.group_id', '=', groupId)
    .orderBy('users.username')
    .execute();
  return rows.map((r) => ({ userId: r.id, username: r.username, displayName: r.display_name, addedAt: r.added_at }));
}

async function assertNameFree(ex: Executor, groupName: string, exceptId?: string) {
  const other = await ex.selectFrom('groups').select('id').where((eb) => eb(eb.fn('lower', ['name']), '=', groupName.toLowerCase())).executeTakeFirst();
  if (other && other.id !== exceptId) throw conflict(`a group named "${groupName}" already exists`);
}

export async function createGroup(ctx: Ctx, input: z.infer<typeof groupCreateSchema>): Promise<Group> {
  return inTx(ctx.db, async (tx) => {
    await assertNameFree(tx, input.name);
    const now = nowIso();
    const row: GroupsTable = { id: newId(), name: input.name, kind: input.kind, description: input.description, created_at: now, updated_at: now };
    await tx.insertInto('groups').values(row).execute();
    await audit(tx, ctx.actor, { action: 'group.create', target: { type: 'group', id: row.id, name: row.name }, details: { kind: row.kind, description: row.description } });
    return getGroup(tx, row.id);
  });
}

export async function updateGroup(ctx: Ctx, groupId: string, input: z.infer<typeof groupUpdateSchema>): Promise<Group> {
  return inTx(ctx.db, async (tx) => {
    const before = await getGroup(tx, groupId);
    if (input.name !== undefined) await assertNameFree(tx, input.name, groupId);
    await tx.updateTable('groups').set({ name: input.name ?? before.name, description: input.description ?? before.description, updated_at: nowIso() }).where('id', '=', groupId).execute();
    const after = await getGroup(tx, groupId);
    await audit(tx, ctx.actor, { action: 'group.update', target: { type: 'group', id: groupId, name: after.name }, details: { changes: changes(before as unknown as Record<string, unknown>, input) } });
    return after;
  });
}

export async function deleteGroup(ctx: Ctx, groupId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const before = await getGroup(tx, groupId);
    const grants = await tx.deleteFrom('grants').where('subject_type', '=', 'group').where('subject_id', '=', groupId).executeTakeFirst();
    await tx.deleteFrom('group_members').where('group_id', '=', groupId).execute();
    await tx.deleteFrom('groups').where('id', '=', groupId).execute();
    await audit(tx, ctx.actor, { action: 'group.delete', target: { type: 'group', id: groupId, name: before.name }, details: { kind: before.kind, members: before.memberCount, grantsRemoved: Number(grants.numDeletedRows ?? 0) } });
  });
}

export async function addMember(ctx: Ctx, groupId: string, userId: string): Promise<GroupMember[]> {
  return inTx(ctx.db, async (tx) => {
    const group = await getGroup(tx, groupId);
    const user = await getUser(tx, userId);
    const exists = await tx.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
    if (exists) throw conflict(`"${user.username}" is already a member of "${group.name}"`);
    await tx.insertInto('group_members').values({ group_id: groupId, user_id: userId, added_at: nowIso() }).execute();
    await audit(tx, ctx.actor, { action: 'group.member_add', target: { type: 'group', id: groupId, name: group.name }, details: { user: user.username } });
    return listMembers(tx, groupId);
  });
}

export async function removeMember(ctx: Ctx, groupId: string, userId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const group = await getGroup(tx, groupId);
    const user = await getUser(tx, userId);
    const r = await tx.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
    if (Number(r.numDeletedRows ?? 0) === 0) throw notFound('membership', `${user.username} in ${group.name}`);
    await audit(tx, ctx.actor, { action: 'group.member_remove', target: { type: 'group', id: groupId, name: group.name }, details: { user: user.username } });
  });
}

/** Managers of a user-management group administer its members (delegated user administration). */
export async function listManagers(ex: Executor, groupId: string): Promise<GroupMember[]> {
  const rows = await ex
    .selectFrom('group_managers')
    .innerJoin('users', 'users.id', 'group_managers.user_id')
    .select(['users.id', 'users.username', 'users.display_name', 'group_managers.added_at'])
    .where('group_managers.group_id', '=', groupId)
    .orderBy('users.username')
    .execute();
  return rows.map((r) => ({ userId: r.id, username: r.username, displayName: r.display_name, addedAt: r.added_at }));
}

export async function addManager(ctx: Ctx, groupId: string, userId: string): Promise<GroupMember[]> {
  return inTx(ctx.db, async (tx) => {
    const group = await getGroup(tx, groupId);
    if (group.kind !== 'user_management') throw conflict(`"${group.name}" is a permission group: only user-management groups have managers`);
    const user = await getUser(tx, userId);
    const exists = await tx.selectFrom('group_managers').select('user_id').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
    if (exists) throw conflict(`"${user.username}" already manages "${group.name}"`);
    await tx.insertInto('group_managers').values({ group_id: groupId, user_id: userId, added_at: nowIso() }).execute();
    await audit(tx, ctx.actor, { action: 'group.manager_add', target: { type: 'group', id: groupId, name: group.name }, details: { user: user.username } });
    return listManagers(tx, groupId);
  });
}

export async function removeManager(ctx: Ctx, groupId: string, userId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const group = await getGroup(tx, groupId);
    const user = await getUser(tx, userId);
    const r = await tx.deleteFrom('group_managers').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
    if (Number(r.numDeletedRows ?? 0) === 0) throw notFound('manager', `${user.username} of ${group.name}`);
    await audit(tx, ctx.actor, { action: 'group.manager_remove', target: { type: 'group', id: groupId, name: group.name }, details: { user: user.username } });
  });
}

/** The users a manager administers through user-management groups. */
export async function managedUsers(ex: Executor, managerId: string) {
  return ex
    .selectFrom('group_managers')
    .innerJoin('groups', 'groups.id', 'group_managers.group_id')
    .innerJoin('group_members', 'group_members.group_id', 'groups.id')
    .innerJoin('users', 'users.id', 'group_members.user_id')
    .select(['users.id', 'users.username', 'users.display_name', 'users.role', 'users.status', 'groups.name as group_name'])
    .where('groups.kind', '=', 'user_management')
    .where('group_managers.user_id', '=', managerId)
    .where('users.role', '!=', 'Administrator')
    .where('users.id', '!=', managerId)
    .orderBy('users.username')
    .execute();
}
