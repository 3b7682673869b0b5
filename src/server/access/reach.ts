import { type Expression, type SqlBool, sql } from 'kysely';
import type { Executor } from '../db/index.js';

/**
 * SQL condition "asset (aliased `assets`) is reachable by the user": a grant to the user or to one
 * of their permission groups targets the asset itself, its site, its zone or one of its tags.
 * Only grants are evaluated here; time windows, approvals and the rest belong to policy.decide.
 */
export function assetReachableBy(userId: string): Expression<SqlBool> {
  return sql<SqlBool>`exists (
    select 1 from grants g
    where (
      (g.subject_type = 'user' and g.subject_id = ${userId})
      or (g.subject_type = 'group' and g.subject_id in (
        select gm.group_id from group_members gm join groups gr on gr.id = gm.group_id
        where gm.user_id = ${userId} and gr.kind = 'permission'))
    ) and (
      (g.target_type = 'asset' and g.target = assets.id)
      or (g.target_type = 'site' and g.target = assets.site_id)
      or (g.target_type = 'zone' and g.target = assets.zone_id)
      or (g.target_type = 'tag' and g.target in (select t.tag from asset_tags t where t.asset_id = assets.id))
    )
  )`;
}

/** Users ids whose username matches exactly (case-insensitive) */
export async function userIdByUsername(ex: Executor, username: string): Promise<string | undefined> {
  const row = await ex.selectFrom('users').select('id').where((eb) => eb(eb.fn('lower', ['username']), '=', username.toLowerCase())).executeTakeFirst();
  return row?.id;
}
