import { z } from 'zod';
import { audit } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Db, Executor } from '../db/index.js';
import { type PageRequest, paginate } from '../db/paging.js';
import type { GrantsTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { conflict, invalid, notFound } from '../errors.js';
import { newId, nowIso } from '../util.js';
import { id, tag } from '../validation.js';

export const grantCreateSchema = z.discriminatedUnion('targetType', [
  z.strictObject({ subjectType: z.enum(['user', 'group']), subjectId: id, targetType: z.literal('asset'), target: id }),
  z.strictObject({ subjectType: z.enum(['user', 'group']), subjectId: id, targetType: z.literal('site'), target: id }),
  z.strictObject({ subjectType: z.enum(['user', 'group']), subjectId: id, targetType: z.literal('zone'), target: id }),
  z.strictObject({ subjectType: z.enum(['user', 'group']), subjectId: id, targetType: z.literal('tag'), target: tag }),
]);
export const grantFilterSchema = z.strictObject({
  subjectType: z.enum(['user', 'group']).optional(),
  subjectId: id.optional(),
  targetType: z.enum(['asset', 'site', 'zone', 'tag']).optional(),
  target: z.string().max(128).optional(),
});

export interface Grant {
  id: string;
  subject: { type: 'user' | 'group'; id: string; name: string };
  target: { type: 'asset' | 'site' | 'zone' | 'tag'; id: string; name: string };
  createdAt: string;
}

/** Human names of subjects and targets, for display, CSV and audit. */
async function describe(ex: Executor, rows: GrantsTable[]): Promise<Grant[]> {
  const ids = (t: string, key: 'subject' | 'target') =>
    [...new Set(rows.filter((r) => (key === 'subject' ? r.subject_type : r.target_type) === t).map((r) => (key === 'subject' ? r.subject_id : r.target)))];
  const names = new Map<string, string>();
  const put = (found: { id: string; n: string }[]) => {
    for (const f of found) names.set(f.id, f.n);
  };
  const users = ids('user', 'subject');
  if (users.length) put(await ex.selectFrom('users').select(['id', 'username as n']).where('id', 'in', users).execute());
  const groups = ids('group', 'subject');
  if (groups.length) put(await ex.selectFrom('groups').select(['id', 'name as n']).where('id', 'in', groups).execute());
  const assets = ids('asset', 'target');
  if (assets.length) put(await ex.selectFrom('assets').select(['id', 'name as n']).where('id', 'in', assets).execute());
  const sites = ids('site', 'target');
  if (sites.length) put(await ex.selectFrom('sites').select(['id', 'name as n']).where('id', 'in', sites).execute());
  const zoneIds = ids('zone', 'target');
  if (zoneIds.length) {
    const zs = await ex.selectFrom('zones').innerJoin('sites', 'sites.id', 'zones.site_id').select(['zones.id', 'zones.name', 'sites.name as site']).where('zones.id', 'in', zoneIds).execute();
    for (const z of zs) names.set(z.id, `${z.site}/${z.name}`);
  }
  return rows.map((r) => ({
    id: r.id,
    subject: { type: r.subject_type, id: r.subject_id, name: names.get(r.subject_id) ?? '(deleted)' },
    target: { type: r.target_type, id: r.target, name: r.target_type === 'tag' ? r.target : (names.get(r.target) ?? '(deleted)') },
    createdAt: r.created_at,
  }));
}

export const grantCsvRow = (g: Grant) => ({
  subject_type: g.subject.type,
  subject: g.subject.name,
  target_type: g.target.type,
  target: g.target.name,
  created_at: g.createdAt,
});

export async function listGrants(db: Db, f: z.infer<typeof grantFilterSchema>, page: PageRequest) {
  let q = db.selectFrom('grants').selectAll();
  if (f.subjectType) q = q.where('subject_type', '=', f.subjectType);
  if (f.subjectId) q = q.where('subject_id', '=', f.subjectId);
  if (f.targetType) q = q.where('target_type', '=', f.targetType);
  if (f.target) q = q.where('target', '=', f.target);
  const res = await paginate(q, { sortColumn: 'created_at', idColumn: 'id', sortKey: (r) => r.created_at, idKey: (r) => r.id }, page);
  return { items: await describe(db, res.items), nextCursor: res.nextCursor };
}

export async function createGrant(ctx: Ctx, input: z.infer<typeof grantCreateSchema>): Promise<Grant> {
  return inTx(ctx.db, async (tx) => {
    if (input.subjectType === 'user') {
      if (!(await tx.selectFrom('users').select('id').where('id', '=', input.subjectId).executeTakeFirst())) throw invalid(`user "${input.subjectId}" does not exist`, [{ path: '/subjectId', message: 'no such user' }]);
    } else {
      const g = await tx.selectFrom('groups').select(['id', 'kind']).where('id', '=', input.subjectId).executeTakeFirst();
      if (!g) throw invalid(`group "${input.subjectId}" does not exist`, [{ path: '/subjectId', message: 'no such group' }]);
      if (g.kind !== 'permission') throw invalid('assets are granted to permission groups, not user-management groups', [{ path: '/subjectId', message: 'not a permission group' }]);
    }
    if (input.targetType !== 'tag') {
      const table = ({ asset: 'assets', site: 'sites', zone: 'zones' } as const)[input.targetType];
      if (!(await tx.selectFrom(table).select('id').where('id', '=', input.target).executeTakeFirst())) {
        throw invalid(`${input.targetType} "${input.target}" does not exist`, [{ path: '/target', message: `no such ${input.targetType}` }]);
      }
    }
    const dup = await tx
      .selectFrom('grants')
      .select('id')
      .where('subject_type', '=', input.subjectType)
      .where('subject_id', '=', input.subjectId)
      .where('target_type', '=', input.targetType)
      .where('target', '=', input.target)
      .executeTakeFirst();
    if (dup) throw conflict('this grant already exists');
    const row: GrantsTable = {
      id: newId(),
      subject_type: input.subjectType,
      subject_id: input.subjectId,
      target_type: input.targetType,
      target: input.target,
      created_at: nowIso(),
      created_by: ctx.actor.id,
    };
    await tx.insertInto('grants').values(row).execute();
    const [grant] = await describe(tx, [row]);
    await audit(tx, ctx.actor, { action: 'grant.create', target: { type: 'grant', id: row.id, name: `${grant!.subject.name} -> ${grant!.target.type}:${grant!.target.name}` }, details: { grant } });
    return grant!;
  });
}

export async function deleteGrant(ctx: Ctx, grantId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const row = await tx.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirst();
    if (!row) throw notFound('grant', grantId);
    const [grant] = await describe(tx, [row]);
    await tx.deleteFrom('grants').where('id', '=', grantId).execute();
    await audit(tx, ctx.actor, { action: 'grant.delete', target: { type: 'grant', id: grantId, name: `${grant!.subject.name} -> ${grant!.target.type}:${grant!.target.name}` }, details: { grant } });
  });
}
