import { z } from 'zod';
import { importAssetsCsv } from '../../inventory/asset-import.js';
import {
  activateAssets, activateSchema, assetCreateSchema, assetCsvRow, assetFilterSchema, assetUpdateSchema,
  createAsset, deleteAsset, getAsset, listAssets, updateAsset,
} from '../../inventory/assets.js';
import { createSite, deleteSite, updateSite, getSiteRow, listSites, siteCreateSchema, siteFilterSchema, siteUpdateSchema, toSite } from '../../inventory/sites.js';
import { createZone, deleteZone, getZone, listZones, updateZone, zoneCreateSchema, zoneFilterSchema, zoneUpdateSchema } from '../../inventory/zones.js';
import { assetAccess } from '../../access/reports.js';
import { pageQuery } from '../../validation.js';
import { sendCsv } from '../csv.js';
import { answerList } from '../list.js';
import { type Router, idParams } from '../route.js';

const ADMIN = ['Administrator'] as const;
const STAFF = ['Administrator', 'Operator'] as const;

export function inventoryRoutes(r: Router) {
  // Sites
  r.route({ method: 'GET', url: '/api/v1/sites', tag: 'sites', summary: 'List sites', access: STAFF, query: siteFilterSchema.extend(pageQuery),
    handler: ({ ctx, query }, reply) => answerList(reply, query, (p) => listSites(ctx.db, query, p), { name: 'sites', row: (s) => ({ name: s.name, description: s.description, timezone: s.timezone, stream_quality: s.streamQuality, max_connections: s.maxConnections, created_at: s.createdAt }) }) });
  r.route({ method: 'POST', url: '/api/v1/sites', tag: 'sites', summary: 'Create a site', access: ADMIN, body: siteCreateSchema, status: 201,
    handler: ({ ctx, body }) => createSite(ctx, body) });
  r.route({ method: 'GET', url: '/api/v1/sites/:id', tag: 'sites', summary: 'Get a site', access: STAFF, params: idParams,
    handler: async ({ ctx, params }) => toSite(await getSiteRow(ctx.db, params.id)) });
  r.route({ method: 'PATCH', url: '/api/v1/sites/:id', tag: 'sites', summary: 'Update a site', access: ADMIN, params: idParams, body: siteUpdateSchema,
    handler: ({ ctx, params, body }) => updateSite(ctx, params.id, body) });
  r.route({ method: 'DELETE', url: '/api/v1/sites/:id', tag: 'sites', summary: 'Delete a site (and its zones) without assets', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => deleteSite(ctx, params.id) });

  // Zones
  r.route({ method: 'GET', url: '/api/v1/zones', tag: 'zones', summary: 'List zones', access: STAFF, query: zoneFilterSchema.extend(pageQuery),
    handler: ({ ctx, query }, reply) => answerList(reply, query, (p) => listZones(ctx.db, query, p), { name: 'zones', row: (z) => ({ site: z.siteName, name: z.name, purdue_level: z.purdueLevel, target_security_level: `SL${z.targetSecurityLevel}`, description: z.description }) }) });
  r.route({ method: 'POST', url: '/api/v1/zones', tag: 'zones', summary: 'Create a zone', access: ADMIN, body: zoneCreateSchema, status: 201,
    handler: ({ ctx, body }) => createZone(ctx, body) });
  r.route({ method: 'GET', url: '/api/v1/zones/:id', tag: 'zones', summary: 'Get a zone', access: STAFF, params: idParams,
    handler: ({ ctx, params }) => getZone(ctx.db, params.id) });
  r.route({ method: 'PATCH', url: '/api/v1/zones/:id', tag: 'zones', summary: 'Update a zone', access: ADMIN, params: idParams, body: zoneUpdateSchema,
    handler: ({ ctx, params, body }) => updateZone(ctx, params.id, body) });
  r.route({ method: 'DELETE', url: '/api/v1/zones/:id', tag: 'zones', summary: 'Delete an empty zone', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => deleteZone(ctx, params.id) });

  // Assets
  r.route({ method: 'GET', url: '/api/v1/assets', tag: 'assets', summary: 'List assets (state=active|imported|all)', access: STAFF, query: assetFilterSchema.extend(pageQuery),
    handler: ({ ctx, query }, reply) => answerList(reply, query, (p) => listAssets(ctx.db, query, p), { name: 'assets', row: assetCsvRow }) });
  r.route({ method: 'POST', url: '/api/v1/assets', tag: 'assets', summary: 'Create an asset', access: ADMIN, body: assetCreateSchema, status: 201,
    handler: ({ ctx, body }) => createAsset(ctx, body) });
  r.route({ method: 'POST', url: '/api/v1/assets/import', tag: 'assets', summary: 'Import assets from CSV into the imported list (all or nothing)', access: ADMIN, textBody: 'text/csv',
    handler: ({ ctx, body }) => importAssetsCsv(ctx, body as unknown as string) });
  r.route({ method: 'POST', url: '/api/v1/assets/activate', tag: 'assets', summary: 'Move imported assets into the active inventory', access: ADMIN, body: activateSchema,
    handler: async ({ ctx, body }) => ({ items: await activateAssets(ctx, body.ids) }) });
  r.route({ method: 'GET', url: '/api/v1/assets/:id', tag: 'assets', summary: 'Get an asset', access: STAFF, params: idParams,
    handler: ({ ctx, params }) => getAsset(ctx.db, params.id) });
  r.route({ method: 'PATCH', url: '/api/v1/assets/:id', tag: 'assets', summary: 'Update an asset', access: ADMIN, params: idParams, body: assetUpdateSchema,
    handler: ({ ctx, params, body }) => updateAsset(ctx, params.id, body) });
  r.route({ method: 'DELETE', url: '/api/v1/assets/:id', tag: 'assets', summary: 'Delete an asset', access: ADMIN, params: idParams,
    handler: ({ ctx, params }) => deleteAsset(ctx, params.id) });
  r.route({ method: 'GET', url: '/api/v1/assets/:id/access', tag: 'reports', summary: 'Report: who can reach this asset, and how many', access: STAFF, params: idParams, query: z.strictObject({ format: z.enum(['json', 'csv']).default('json') }),
    handler: async ({ ctx, params, query }, reply) => {
      const rep = await assetAccess(ctx.db, params.id);
      if (query.format === 'csv') {
        return sendCsv(reply, `access-${rep.asset.name}`, rep.users.map((u) => ({ username: u.username, display_name: u.displayName, role: u.role, affiliation: u.affiliation, status: u.status, via: u.via.join('; ') })));
      }
      return rep;
    } });
}
