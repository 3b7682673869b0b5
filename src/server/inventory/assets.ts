import { z } from 'zod';
import { containsText } from '../db/text.js';
import { assetReachableBy, userIdByUsername } from '../access/reach.js';
import { audit, changes } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Db, Executor, Tx } from '../db/index.js';
import { type PageRequest, paginate } from '../db/paging.js';
import type { AssetsTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { type FieldError, conflict, invalid, notFound } from '../errors.js';
import { fromBool, newId, nowIso, parseJson, toBool } from '../util.js';
import { description, host, id, name, purdueLevel, queryBool, tag } from '../validation.js';

export const PROTOCOLS = ['ssh', 'telnet', 'vnc', 'rdp', 'tcp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
export const DEFAULT_PORTS: Record<Protocol, number | undefined> = { ssh: 22, telnet: 23, vnc: 5900, rdp: 3389, tcp: undefined };
export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const port = z.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535');

export const accessMethodSchema = z
  .strictObject({
    protocol: z.enum(PROTOCOLS),
    port: port.optional(),
    options: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'option names are letters, digits, _ . -'), z.union([z.string().max(1024), z.number(), z.boolean()]))
      .refine((o) => Object.keys(o).length <= 32, 'at most 32 options')
      .default({}),
  })
  .transform((m, ctx) => {
    const p = m.port ?? DEFAULT_PORTS[m.protocol];
    if (p === undefined) {
      ctx.addIssue({ code: 'custom', message: `a port is required for protocol ${m.protocol}`, path: ['port'] });
      return z.NEVER;
    }
    return { protocol: m.protocol, port: p, options: m.options };
  });
export type AccessMethod = z.output<typeof accessMethodSchema>;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'must be HH:MM (00:00-24:00)');
export const loginWindowSchema = z
  .strictObject({ days: z.array(z.enum(DAYS)).min(1, 'name at least one day').max(7), start: hhmm, end: hhmm })
  .refine((w) => w.start < w.end, { message: 'start must be before end (split overnight windows in two)', path: ['end'] })
  .refine((w) => new Set(w.days).size === w.days.length, { message: 'days must not repeat', path: ['days'] });
export type LoginWindow = z.infer<typeof loginWindowSchema>;

const accessMethods = z
  .array(accessMethodSchema)
  .min(1, 'an asset needs at least one access method')
  .max(16)
  .refine((ms) => new Set(ms.map((m) => `${m.protocol}:${m.port}`)).size === ms.length, 'access methods must not repeat the same protocol and port');
const tags = z
  .array(tag)
  .max(32, 'at most 32 tags')
  .transform((ts) => [...new Set(ts)]);
const loginTimes = z.array(loginWindowSchema).max(28).nullable();
const shortText = z.string().trim().max(128, 'must be at most 128 characters');

export const assetCreateSchema = z.strictObject({
  name,
  siteId: id,
  zoneId: id.nullable().default(null),
  purdueLevel: purdueLevel.optional(),
  host,
  accessMethods,
  tags: tags.default([]),
  safetyCritical: z.boolean().default(false),
  loginTimes: loginTimes.default(null),
  vendor: shortText.default(''),
  model: shortText.default(''),
  firmware: shortText.default(''),
  description: description.default(''),
  state: z.enum(['active', 'imported']).default('active'),
});
export const assetUpdateSchema = z.strictObject({
  name: name.optional(),
  siteId: id.optional(),
  zoneId: id.nullable().optional(),
  purdueLevel: purdueLevel.optional(),
  host: host.optional(),
  accessMethods: accessMethods.optional(),
  tags: tags.optional(),
  safetyCritical: z.boolean().optional(),
  loginTimes: loginTimes.optional(),
  vendor: shortText.optional(),
  model: shortText.optional(),
  firmware: shortText.optional(),
  description: description.optional(),
});
export const assetFilterSchema = z.strictObject({
  siteId: id.optional(),
  zoneId: id.optional(),
  name: z.string().max(128).optional(),
  host: z.string().max(253).optional(),
  username: z.string().max(64).optional(),
  tag: z.string().max(64).optional(),
  protocol: z.enum(PROTOCOLS).optional(),
  purdueLevel: z.coerce.number().optional(),
  safetyCritical: queryBool.optional(),
  state: z.enum(['active', 'imported', 'all']).default('active'),
});

export type AssetCreate = z.output<typeof assetCreateSchema>;
export type AssetUpdate = z.output<typeof assetUpdateSchema>;
export type AssetFilter = z.output<typeof assetFilterSchema>;

export interface Asset {
  id: string;
  name: string;
  siteId: string;
  siteName: string;
  zoneId: string | null;
  zoneName: string | null;
  purdueLevel: number;
  host: string;
  accessMethods: AccessMethod[];
  tags: string[];
  safetyCritical: boolean;
  loginTimes: LoginWindow[] | null;
  vendor: string;
  model: string;
  firmware: string;
  description: string;
  state: 'active' | 'imported';
  createdAt: string;
  updatedAt: string;
}

type AssetRow = AssetsTable & { site_name: string; zone_name: string | null };

const toAsset = (r: AssetRow, assetTags: string[]): Asset => ({
  id: r.id,
  name: r.name,
  siteId: r.site_id,
  siteName: r.site_name,
  zoneId: r.zone_id,
  zoneName: r.zone_name,
  purdueLevel: r.purdue_level,
  host: r.host,
  accessMethods: parseJson<AccessMethod[]>(r.access_methods, []),
  tags: assetTags,
  safetyCritical: toBool(r.safety_critical),
  loginTimes: parseJson<LoginWindow[] | null>(r.login_times, null),
  vendor: r.vendor_name,
  model: r.model,
  firmware: r.firmware,
  description: r.description,
  state: r.state,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Flat CSV view of an asset (lists and reports). */
export function assetCsvRow(a: Asset): Record<string, unknown> {
  return {
    name: a.name,
    site: a.siteName,
    zone: a.zoneName ?? '',
    purdue_level: a.purdueLevel,
    host: a.host,
    access_methods: a.accessMethods.map((m) => `${m.protocol}:${m.port}`).join(';'),
    tags: a.tags.join(';'),
    safety_critical: a.safetyCritical ? 'yes' : 'no',
    vendor: a.vendor,
    model: a.model,
    firmware: a.firmware,
    state: a.state,
    description: a.description,
  };
}

const selectAssets = (ex: Executor) =>
  ex
    .selectFrom('assets')
    .innerJoin('sites', 'sites.id', 'assets.site_id')
    .leftJoin('zones', 'zones.id', 'assets.zone_id')
    .selectAll('assets')
    .select(['sites.name as site_name', 'zones.name as zone_name']);

async function tagsFor(ex: Executor, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (ids.length === 0) return out;
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await ex.selectFrom('asset_tags').select(['asset_id', 'tag']).where('asset_id', 'in', ids.slice(i, i + 500)).orderBy('tag').execute();
    for (const r of rows) out.set(r.asset_id, [...(out.get(r.asset_id) ?? []), r.tag]);
  }
  return out;
}

async function withTags(ex: Executor, rows: AssetRow[]): Promise<Asset[]> {
  const t = await tagsFor(ex, rows.map((r) => r.id));
  return rows.map((r) => toAsset(r, t.get(r.id) ?? []));
}

export async function listAssets(db: Db, f: AssetFilter, page: PageRequest) {
  let q = selectAssets(db);
  if (f.state !== 'all') q = q.where('assets.state', '=', f.state);
  if (f.siteId) q = q.where('assets.site_id', '=', f.siteId);
  if (f.zoneId) q = q.where('assets.zone_id', '=', f.zoneId);
  if (f.name) q = q.where(containsText('assets.name', f.name!));
  if (f.host) q = q.where(containsText('assets.host', f.host!));
  if (f.purdueLevel !== undefined) q = q.where('assets.purdue_level', '=', f.purdueLevel);
  if (f.safetyCritical !== undefined) q = q.where('assets.safety_critical', '=', fromBool(f.safetyCritical));
  if (f.protocol) q = q.where('assets.access_methods', 'like', `%"protocol":"${f.protocol}"%`);
  if (f.tag) {
    const t = f.tag;
    q = q.where((eb) => eb.exists(eb.selectFrom('asset_tags').select('asset_tags.tag').whereRef('asset_tags.asset_id', '=', 'assets.id').where('asset_tags.tag', '=', t)));
  }
  if (f.username) {
    const uid = await userIdByUsername(db, f.username);
    if (!uid) return { items: [], nextCursor: null };
    q = q.where(assetReachableBy(uid));
  }
  const res = await paginate(q, { sortColumn: 'assets.name', idColumn: 'assets.id', sortKey: (r) => r.name, idKey: (r) => r.id }, page);
  return { items: await withTags(db, res.items), nextCursor: res.nextCursor };
}

export async function getAsset(ex: Executor, assetId: string): Promise<Asset> {
  const row = await selectAssets(ex).where('assets.id', '=', assetId).executeTakeFirst();
  if (!row) throw notFound('asset', assetId);
  return (await withTags(ex, [row]))[0]!;
}

export async function findAssetByName(ex: Executor, assetName: string) {
  return ex.selectFrom('assets').select(['id', 'name']).where((eb) => eb(eb.fn('lower', ['name']), '=', assetName.toLowerCase())).executeTakeFirst();
}

interface Placement {
  siteId: string;
  zoneId: string | null;
  purdueLevel: number;
}

/** Checks that the zone lies in the site and settles the Purdue level (from the zone if not given). */
export async function resolvePlacement(ex: Executor, siteId: string, zoneId: string | null, level: number | undefined, errors: FieldError[], prefix = ''): Promise<Placement | undefined> {
  const site = await ex.selectFrom('sites').select(['id']).where('id', '=', siteId).executeTakeFirst();
  if (!site) {
    errors.push({ path: `${prefix}/siteId`, message: `site "${siteId}" does not exist` });
    return undefined;
  }
  if (zoneId) {
    const zone = await ex.selectFrom('zones').selectAll().where('id', '=', zoneId).executeTakeFirst();
    if (!zone) {
      errors.push({ path: `${prefix}/zoneId`, message: `zone "${zoneId}" does not exist` });
      return undefined;
    }
    if (zone.site_id !== siteId) {
      errors.push({ path: `${prefix}/zoneId`, message: `zone "${zone.name}" belongs to another site` });
      return undefined;
    }
    if (level !== undefined && level !== zone.purdue_level) {
      errors.push({ path: `${prefix}/purdueLevel`, message: `Purdue level ${level} does not match zone "${zone.name}" (level ${zone.purdue_level})` });
      return undefined;
    }
    return { siteId, zoneId, purdueLevel: zone.purdue_level };
  }
  if (level === undefined) {
    errors.push({ path: `${prefix}/purdueLevel`, message: 'give a Purdue level or a zone to take it from' });
    return undefined;
  }
  return { siteId, zoneId: null, purdueLevel: level };
}

/** Inserts an already validated and placed asset with its tags (no audit: callers audit). */
export async function insertAsset(tx: Tx, input: AssetCreate, placement: Placement): Promise<string> {
  const now = nowIso();
  const assetId = newId();
  await tx
    .insertInto('assets')
    .values({
      id: assetId,
      name: input.name,
      site_id: placement.siteId,
      zone_id: placement.zoneId,
      purdue_level: placement.purdueLevel,
      host: input.host,
      access_methods: JSON.stringify(input.accessMethods),
      safety_critical: fromBool(input.safetyCritical),
      login_times: input.loginTimes ? JSON.stringify(input.loginTimes) : null,
      vendor_name: input.vendor,
      model: input.model,
      firmware: input.firmware,
      description: input.description,
      state: input.state,
      created_at: now,
      updated_at: now,
    })
    .execute();
  if (input.tags.length) await tx.insertInto('asset_tags').values(input.tags.map((t) => ({ asset_id: assetId, tag: t }))).execute();
  return assetId;
}

export async function createAsset(ctx: Ctx, input: AssetCreate): Promise<Asset> {
  return inTx(ctx.db, async (tx) => {
    if (await findAssetByName(tx, input.name)) throw conflict(`an asset named "${input.name}" already exists`);
    const errors: FieldError[] = [];
    const placement = await resolvePlacement(tx, input.siteId, input.zoneId, input.purdueLevel, errors);
    if (!placement) throw invalid(errors.map((e) => e.message).join('; '), errors);
    const assetId = await insertAsset(tx, input, placement);
    const asset = await getAsset(tx, assetId);
    await audit(tx, ctx.actor, { action: 'asset.create', target: { type: 'asset', id: assetId, name: asset.name }, details: { asset } });
    return asset;
  });
}

export async function updateAsset(ctx: Ctx, assetId: string, input: AssetUpdate): Promise<Asset> {
  return inTx(ctx.db, async (tx) => {
    const before = await getAsset(tx, assetId);
    if (input.name !== undefined) {
      const other = await findAssetByName(tx, input.name);
      if (other && other.id !== assetId) throw conflict(`an asset named "${input.name}" already exists`);
    }
    const siteId = input.siteId ?? before.siteId;
    // Moving to another site drops the old zone unless a new one is given.
    const zoneId = input.zoneId !== undefined ? input.zoneId : siteId === before.siteId ? before.zoneId : null;
    const level = input.purdueLevel ?? (zoneId ? undefined : before.purdueLevel);
    const errors: FieldError[] = [];
    const placement = await resolvePlacement(tx, siteId, zoneId, level, errors);
    if (!placement) throw invalid(errors.map((e) => e.message).join('; '), errors);
    await tx
      .updateTable('assets')
      .set({
        name: input.name ?? before.name,
        site_id: placement.siteId,
        zone_id: placement.zoneId,
        purdue_level: placement.purdueLevel,
        host: input.host ?? before.host,
        access_methods: JSON.stringify(input.accessMethods ?? before.accessMethods),
        safety_critical: fromBool(input.safetyCritical ?? before.safetyCritical),
        login_times: input.loginTimes !== undefined ? (input.loginTimes ? JSON.stringify(input.loginTimes) : null) : before.loginTimes ? JSON.stringify(before.loginTimes) : null,
        vendor_name: input.vendor ?? before.vendor,
        model: input.model ?? before.model,
        firmware: input.firmware ?? before.firmware,
        description: input.description ?? before.description,
        updated_at: nowIso(),
      })
      .where('id', '=', assetId)
      .execute();
    if (input.tags) {
      await tx.deleteFrom('asset_tags').where('asset_id', '=', assetId).execute();
      if (input.tags.length) await tx.insertInto('asset_tags').values(input.tags.map((t) => ({ asset_id: assetId, tag: t }))).execute();
    }
    const after = await getAsset(tx, assetId);
    await audit(tx, ctx.actor, {
      action: 'asset.update',
      target: { type: 'asset', id: assetId, name: after.name },
      details: { changes: changes(before as unknown as Record<string, unknown>, { ...input, purdueLevel: after.purdueLevel, zoneId: after.zoneId } as Record<string, unknown>) },
    });
    return after;
  });
}

export async function deleteAsset(ctx: Ctx, assetId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const before = await getAsset(tx, assetId);
    await tx.deleteFrom('grants').where('target_type', '=', 'asset').where('target', '=', assetId).execute();
    await tx.deleteFrom('asset_tags').where('asset_id', '=', assetId).execute();
    await tx.deleteFrom('assets').where('id', '=', assetId).execute();
    await audit(tx, ctx.actor, { action: 'asset.delete', target: { type: 'asset', id: assetId, name: before.name }, details: { asset: before } });
  });
}

export const activateSchema = z.strictObject({ ids: z.array(id).min(1, 'name at least one asset').max(1000) });

/** Moves imported assets into the active inventory (all or nothing). */
export async function activateAssets(ctx: Ctx, ids: string[]): Promise<Asset[]> {
  return inTx(ctx.db, async (tx) => {
    const unique = [...new Set(ids)];
    const rows = await tx.selectFrom('assets').select(['id', 'name', 'state']).where('id', 'in', unique).execute();
    const found = new Map(rows.map((r) => [r.id, r]));
    const errors: FieldError[] = [];
    unique.forEach((assetId, i) => {
      const r = found.get(assetId);
      if (!r) errors.push({ path: `/ids/${i}`, message: `asset "${assetId}" does not exist` });
      else if (r.state !== 'imported') errors.push({ path: `/ids/${i}`, message: `asset "${r.name}" is already active` });
    });
    if (errors.length) throw invalid(`${errors.length} asset(s) cannot be activated: ${errors.map((e) => e.message).join('; ')}`, errors);
    await tx.updateTable('assets').set({ state: 'active', updated_at: nowIso() }).where('id', 'in', unique).execute();
    await audit(tx, ctx.actor, { action: 'asset.activate', target: { type: 'asset' }, details: { count: unique.length, assets: rows.map((r) => r.name) } });
    return Promise.all(unique.map((a) => getAsset(tx, a)));
  });
}

