import { z } from 'zod';
import { containsText } from '../db/text.js';
import { audit, changes } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Db, Executor } from '../db/index.js';
import { type PageRequest, paginate } from '../db/paging.js';
import type { ZonesTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { conflict, notFound } from '../errors.js';
import { newId, nowIso } from '../util.js';
import { description, id, name, purdueLevel } from '../validation.js';
import { getSiteRow } from './sites.js';

const securityLevel = z.number().int().min(1, 'must be 1-4 (SL1-SL4)').max(4, 'must be 1-4 (SL1-SL4)');

export const zoneCreateSchema = z.strictObject({
  siteId: id,
  name,
  purdueLevel,
  targetSecurityLevel: securityLevel.default(2),
  description: description.default(''),
});
export const zoneUpdateSchema = z.strictObject({
  name: name.optional(),
  purdueLevel: purdueLevel.optional(),
  targetSecurityLevel: securityLevel.optional(),
  description: description.optional(),
});
export const zoneFilterSchema = z.strictObject({ siteId: id.optional(), name: z.string().max(128).optional() });

export interface Zone {
  id: string;
  siteId: string;
  siteName: string;
  name: string;
  purdueLevel: number;
  targetSecurityLevel: number;
  description: string;
  createdAt: string;
  updatedAt: string;
}

type ZoneRow = ZonesTable & { site_name: string };

const toZone = (r: ZoneRow): Zone => ({
  id: r.id,
  siteId: r.site_id,
  siteName: r.site_name,
  name: r.name,
  purdueLevel: r.purdue_level,
  targetSecurityLevel: r.target_sl,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const selectZones = (ex: Executor) =>
  ex.selectFrom('zones').innerJoin('sites', 'sites.id', 'zones.site_id').selectAll('zones').select('sites.name as site_name');

export async function listZones(db: Db, filter: z.infer<typeof zoneFilterSchema>, page: PageRequest) {
  let q = selectZones(db);
  if (filter.siteId) q = q.where('zones.site_id', '=', filter.siteId);
  if (filter.name) q = q.where(containsText('zones.name', filter.name!));
  const res = await paginate(q, { sortColumn: 'zones.name', idColumn: 'zones.id', sortKey: (r) => r.name, idKey: (r) => r.id }, page);
  return { items: res.items.map(toZone), nextCursor: res.nextCursor };
}

export async function getZone(ex: Executor, zoneId: string): Promise<Zone> {
  const row = await selectZones(ex).where('zones.id', '=', zoneId).executeTakeFirst();
  if (!row) throw notFound('zone', zoneId);
  return toZone(row);
}

export async function findZoneByName(ex: Executor, siteId: string, zoneName: string) {
  return ex.selectFrom('zones').selectAll().where('site_id', '=', siteId).where('name', '=', zoneName).executeTakeFirst();
}

export async function createZone(ctx: Ctx, input: z.infer<typeof zoneCreateSchema>): Promise<Zone> {
  return inTx(ctx.db, async (tx) => {
    const site = await getSiteRow(tx, input.siteId);
    if (await findZoneByName(tx, site.id, input.name)) throw conflict(`site "${site.name}" already has a zone named "${input.name}"`);
    const now = nowIso();
    const row: ZonesTable = {
      id: newId(),
      site_id: site.id,
      name: input.name,
      purdue_level: input.purdueLevel,
      target_sl: input.targetSecurityLevel,
      description: input.description,
      created_at: now,
      updated_at: now,
    };
    await tx.insertInto('zones').values(row).execute();
    const zone = toZone({ ...row, site_name: site.name });
    await audit(tx, ctx.actor, { action: 'zone.create', target: { type: 'zone', id: row.id, name: `${site.name}/${row.name}` }, details: { zone } });
    return zone;
  });
}

export async function updateZone(ctx: Ctx, zoneId: string, input: z.infer<typeof zoneUpdateSchema>): Promise<Zone> {
  return inTx(ctx.db, async (tx) => {
    const before = await getZone(tx, zoneId);
    if (input.name !== undefined && input.name !== before.name) {
      if (await findZoneByName(tx, before.siteId, input.name)) throw conflict(`site "${before.siteName}" already has a zone named "${input.name}"`);
    }
    if (input.purdueLevel !== undefined && input.purdueLevel !== before.purdueLevel) {
      const n = await tx.selectFrom('assets').select((eb) => eb.fn.countAll<number>().as('n')).where('zone_id', '=', zoneId).executeTakeFirstOrThrow();
      if (Number(n.n) > 0) throw conflict(`zone "${before.name}" holds ${n.n} asset(s) at Purdue level ${before.purdueLevel}: move them before changing the zone's level`);
    }
    await tx
      .updateTable('zones')
      .set({
        name: input.name ?? before.name,
        purdue_level: input.purdueLevel ?? before.purdueLevel,
        target_sl: input.targetSecurityLevel ?? before.targetSecurityLevel,
        description: input.description ?? before.description,
        updated_at: nowIso(),
      })
      .where('id', '=', zoneId)
      .execute();
    const after = await getZone(tx, zoneId);
    await audit(tx, ctx.actor, {
      action: 'zone.update',
      target: { type: 'zone', id: zoneId, name: `${after.siteName}/${after.name}` },
      details: { changes: changes(before as unknown as Record<string, unknown>, input) },
    });
    return after;
  });
}

export async function deleteZone(ctx: Ctx, zoneId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const before = await getZone(tx, zoneId);
    const n = await tx.selectFrom('assets').select((eb) => eb.fn.countAll<number>().as('n')).where('zone_id', '=', zoneId).executeTakeFirstOrThrow();
    if (Number(n.n) > 0) throw conflict(`zone "${before.name}" still holds ${n.n} asset(s): move or delete them first`);
    await tx.deleteFrom('grants').where('target_type', '=', 'zone').where('target', '=', zoneId).execute();
    await tx.deleteFrom('zones').where('id', '=', zoneId).execute();
    await audit(tx, ctx.actor, { action: 'zone.delete', target: { type: 'zone', id: zoneId, name: `${before.siteName}/${before.name}` }, details: { zone: before } });
  });
}
