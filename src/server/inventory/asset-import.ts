import { parse } from 'csv-parse/sync';
import { audit } from '../audit/log.js';
import type { Ctx } from '../context.js';
import { inTx } from '../db/tx.js';
import { DomainError, type FieldError, invalid } from '../errors.js';
import { zodIssues } from '../validation.js';
import { PROTOCOLS, assetCreateSchema, findAssetByName, insertAsset, resolvePlacement } from './assets.js';
import { findSiteByName } from './sites.js';
import { findZoneByName } from './zones.js';

/** Columns of the asset import file. `name`, `site`, `host` and `access_methods` are required. */
export const IMPORT_COLUMNS = [
  'name', 'site', 'zone', 'purdue_level', 'host', 'access_methods', 'tags', 'safety_critical',
  'vendor', 'model', 'firmware', 'description',
] as const;
const REQUIRED = ['name', 'site', 'host', 'access_methods'];
export const IMPORT_MAX_ROWS = 10_000;

export interface ImportResult {
  imported: number;
  assets: { id: string; name: string }[];
}

const yes = /^(yes|y|true|1)$/i;
const no = /^(no|n|false|0|)$/i;

/** "ssh:22;rdp" -> access methods; a missing port takes the protocol's default. */
function parseMethods(text: string): unknown[] {
  return text
    .split(/[;|]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const [protocol, port] = part.split(':').map((x) => x.trim());
      const p = (protocol ?? '').toLowerCase();
      if (!(PROTOCOLS as readonly string[]).includes(p)) throw new Error(`unknown protocol "${protocol}" (use ${PROTOCOLS.join(', ')})`);
      if (port === undefined || port === '') return { protocol: p };
      if (!/^\d{1,5}$/.test(port)) throw new Error(`port "${port}" of ${p} is not a number`);
      return { protocol: p, port: Number(port) };
    });
}

/** Maps a zod path inside the asset input back to the CSV column the user wrote. */
function columnOf(path: string): string {
  const field = path.split('/')[1] ?? '';
  const map: Record<string, string> = {
    name: 'name', siteId: 'site', zoneId: 'zone', purdueLevel: 'purdue_level', host: 'host',
    accessMethods: 'access_methods', tags: 'tags', safetyCritical: 'safety_critical', vendor: 'vendor',
    model: 'model', firmware: 'firmware', description: 'description',
  };
  return map[field] ?? field;
}

/**
 * Imports assets from CSV into the "imported" list. Every row is checked first; if any row is
 * wrong, the answer names each bad row and column and nothing is written.
 */
export async function importAssetsCsv(ctx: Ctx, csv: string): Promise<ImportResult> {
  let records: string[][];
  try {
    records = parse(csv, { bom: true, skip_empty_lines: true, relax_column_count: false, trim: true });
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw invalid(`the file is not valid CSV${e.lines ? ` (line ${e.lines})` : ''}: ${e.message}`);
  }
  if (records.length === 0) throw invalid('the file is empty: the first line must name the columns');
  const header = records[0]!.map((h) => h.toLowerCase());
  const unknown = header.filter((h) => !(IMPORT_COLUMNS as readonly string[]).includes(h));
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (unknown.length || missing.length) {
    const parts = [];
    if (missing.length) parts.push(`missing required column(s): ${missing.join(', ')}`);
    if (unknown.length) parts.push(`unknown column(s): ${unknown.join(', ')}`);
    throw invalid(`bad header line: ${parts.join('; ')}. Columns: ${IMPORT_COLUMNS.join(', ')}`);
  }
  const rows = records.slice(1);
  if (rows.length === 0) throw invalid('the file has a header line but no assets');
  if (rows.length > IMPORT_MAX_ROWS) throw invalid(`at most ${IMPORT_MAX_ROWS} rows per import, got ${rows.length}`);

  return inTx(ctx.db, async (tx) => {
    const errors: FieldError[] = [];
    const err = (row: number, column: string, message: string) => errors.push({ path: `row ${row}, column ${column}`, row, column, message });
    const seen = new Map<string, number>();
    const ready: { input: ReturnType<typeof assetCreateSchema.parse>; placement: NonNullable<Awaited<ReturnType<typeof resolvePlacement>>> }[] = [];

    for (let i = 0; i < rows.length; i++) {
      const rowNo = i + 2; // line 1 is the header, as a spreadsheet numbers it
      const cell = (c: string) => {
        const idx = header.indexOf(c);
        return idx >= 0 ? (rows[i]![idx] ?? '') : '';
      };
      const before = errors.length;

      const siteName = cell('site');
      const site = siteName ? await findSiteByName(tx, siteName) : undefined;
      if (!siteName) err(rowNo, 'site', 'required');
      else if (!site) err(rowNo, 'site', `no site named "${siteName}"`);
      let zoneId: string | null = null;
      const zoneName = cell('zone');
      if (site && zoneName) {
        const zone = await findZoneByName(tx, site.id, zoneName);
        if (!zone) err(rowNo, 'zone', `site "${site.name}" has no zone named "${zoneName}"`);
        else zoneId = zone.id;
      }
      let methods: unknown[] = [];
      try {
        methods = parseMethods(cell('access_methods'));
      } catch (e) {
        err(rowNo, 'access_methods', (e as Error).message);
      }
      const level = cell('purdue_level');
      if (level !== '' && Number.isNaN(Number(level))) err(rowNo, 'purdue_level', `"${level}" is not a number`);
      const safety = cell('safety_critical');
      if (!yes.test(safety) && !no.test(safety)) err(rowNo, 'safety_critical', `"${safety}" is not yes or no`);
      if (errors.length > before) continue;

      const parsed = assetCreateSchema.safeParse({
        name: cell('name'),
        siteId: site!.id,
        zoneId,
        ...(level !== '' ? { purdueLevel: Number(level) } : {}),
        host: cell('host'),
        accessMethods: methods,
        tags: cell('tags').split(/[;|]/).map((t) => t.trim()).filter(Boolean),
        safetyCritical: yes.test(safety),
        vendor: cell('vendor'),
        model: cell('model'),
        firmware: cell('firmware'),
        description: cell('description'),
        state: 'imported',
      });
      if (!parsed.success) {
        for (const issue of zodIssues(parsed.error)) err(rowNo, columnOf(issue.path), issue.message);
        continue;
      }
      const input = parsed.data;
      const key = input.name.toLowerCase();
      if (seen.has(key)) err(rowNo, 'name', `"${input.name}" already appears on row ${seen.get(key)}`);
      else if (await findAssetByName(tx, input.name)) err(rowNo, 'name', `an asset named "${input.name}" already exists`);
      seen.set(key, rowNo);
      const placementErrors: FieldError[] = [];
      const placement = await resolvePlacement(tx, input.siteId, input.zoneId, input.purdueLevel, placementErrors);
      for (const p of placementErrors) err(rowNo, columnOf(p.path), p.message);
      if (placement && errors.length === before) ready.push({ input, placement });
    }

    if (errors.length) {
      const badRows = new Set(errors.map((e) => e.row)).size;
      throw new DomainError('unprocessable', `nothing imported: ${badRows} of ${rows.length} row(s) have errors, e.g. ${errors[0]!.path}: ${errors[0]!.message}`, errors);
    }
    const assets: { id: string; name: string }[] = [];
    for (const r of ready) assets.push({ id: await insertAsset(tx, r.input, r.placement), name: r.input.name });
    await audit(tx, ctx.actor, { action: 'asset.import', target: { type: 'asset' }, details: { count: assets.length, assets: assets.map((a) => a.name) } });
    return { imported: assets.length, assets };
  });
}
