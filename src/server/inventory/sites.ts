import { z } from 'zod';
import { containsText } from '../db/text.js';
import { audit, changes } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Db, Executor } from '../db/index.js';
import { type PageRequest, paginate } from '../db/paging.js';
import type { SitesTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { conflict, notFound } from '../errors.js';
import { newId, nowIso } from '../util.js';
import { description, name, timezone } from '../validation.js';

export const siteCreateSchema = z.strictObject({
  name,
  description: description.default(''),
  timezone: timezone.default('UTC'),
  streamQuality: z.enum(['low', 'medium', 'high']).default('medium'),
  maxConnections: z.number().int().min(1).max(10_000).default(10),
});
export const siteUpdateSchema = z.strictObject({
  name: name.optional(),
  description: description.optional(),
  timezone: timezone.optional(),
  streamQuality: z.enum(['low', 'medium', 'high']).optional(),
  maxConnections: z.number().int().min(1).max(10_000).optional(),
});
export const siteFilterSchema = z.strictObject({ name: z.string().max(128).optional() });

export type SiteCreate = z.infer<typeof siteCreateSchema>;
export type SiteUpdate = z.infer<typeof siteUpdateSchema>;

export interface Site {
  id: string;
  name: string;
  description: string;
  timezone: string;
  streamQuality: SitesTable['stream_quality'];
  maxConnections: number;
  createdAt: string;
  updatedAt: string;
}

export const toSite = (r: SitesTable): Site => ({
  id: r.id,
  name: r.name,
  description: r.description,
  timezone: r.timezone,
  streamQuality: r.stream_quality,
  maxConnections: r.max_connections,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const SITE_CSV_COLUMNS: (keyof Site)[] = ['name', 'description', 'timezone', 'streamQuality', 'maxConnections', 'createdAt'];

export async function listSites(db: Db, filter: z.infer<typeof siteFilterSchema>, page: PageRequest) {
  let q = db.selectFrom('sites').selectAll();
  if (filter.name) q = q.where(containsText('name', filter.name!));
  const res = await paginate(q, { sortColumn: 'name', idColumn: 'id', sortKey: (r) => r.name, idKey: (r) => r.id }, page);
  return { items: res.items.map(toSite), nextCursor: res.nextCursor };
}

export async function getSiteRow(ex: Executor, id: string): Promise<SitesTable> {
  const row = await ex.selectFrom('sites').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('site', id);
  return row;
}

export async function findSiteByName(ex: Executor, siteName: string): Promise<SitesTable | undefined> {
  return ex.selectFrom('sites').selectAll().where('name', '=', siteName).executeTakeFirst();
}

async function assertNameFree(ex: Executor, siteName: string, exceptId?: string) {
  const other = await findSiteByName(ex, siteName);
  if (other && other.id !== exceptId) throw conflict(`a site named "${siteName}" already exists`);
}

export async function createSite(ctx: Ctx, input: SiteCreate): Promise<Site> {
  return inTx(ctx.db, async (tx) => {
    await assertNameFree(tx, input.name);
    const now = nowIso();
    const row: SitesTable = {
      id: newId(),
      name: input.name,
      description: input.description,
      timezone: input.timezone,
      stream_quality: input.streamQuality,
      max_connections: input.maxConnections,
      created_at: now,
      updated_at: now,
    };
    await tx.insertInto('sites').values(row).execute();
    const site = toSite(row);
    await audit(tx, ctx.actor, { action: 'site.create', target: { type: 'site', id: row.id, name: row.name }, details: { site } });
    return site;
  });
}

export async function updateSite(ctx: Ctx, id: string, input: SiteUpdate): Promise<Site> {
  return inTx(ctx.db, async (tx) => {
    const before = await getSiteRow(tx, id);
    if (input.name !== undefined) await assertNameFree(tx, input.name, id);
    const row: SitesTable = {
      ...before,
      name: input.name ?? before.name,
      description: input.description ?? before.description,
      timezone: input.timezone ?? before.timezone,
      stream_quality: input.streamQuality ?? before.stream_quality,
      max_connections: input.maxConnections ?? before.max_connections,
      updated_at: nowIso(),
    };
    await tx.updateTable('sites').set(row).where('id', '=', id).execute();
    const site = toSite(row);
    await audit(tx, ctx.actor, {
      action: 'site.update',
      target: { type: 'site', id, name: row.name },
      details: { changes: changes(toSite(before) as unknown as Record<string, unknown>, input) },
    });
    return site;
  });
}

export async function deleteSite(ctx: Ctx, id: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const before = await getSiteRow(tx, id);
    const assets = await tx.selectFrom('assets').select((eb) => eb.fn.countAll<number>().as('n')).where('site_id', '=', id).executeTakeFirstOrThrow();
    if (Number(assets.n) > 0) throw conflict(`site "${before.name}" still has ${assets.n} asset(s): move or delete them first`);
    const zoneIds = (await tx.selectFrom('zones').select('id').where('site_id', '=', id).execute()).map((z) => z.id);
    if (zoneIds.length) await tx.deleteFrom('grants').where('target_type', '=', 'zone').where('target', 'in', zoneIds).execute();
    await tx.deleteFrom('zones').where('site_id', '=', id).execute();
    await tx.deleteFrom('grants').where('target_type', '=', 'site').where('target', '=', id).execute();
    await tx.deleteFrom('sites').where('id', '=', id).execute();
    await audit(tx, ctx.actor, { action: 'site.delete', target: { type: 'site', id, name: before.name }, details: { site: toSite(before) } });
  });
}
