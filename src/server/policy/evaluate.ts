import { sql } from 'kysely';
import { z } from 'zod';
import { assetReachableBy } from '../access/reach.js';
import type { Executor } from '../db/index.js';
import { notFound } from '../errors.js';
import { DEFAULT_PORTS, getAsset, PROTOCOLS, type Protocol } from '../inventory/assets.js';
import { id, isoDateTime } from '../validation.js';
import { type Decision, decide } from './decide.js';

const port = z.coerce.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535');
const protocol = z.enum(PROTOCOLS, `unknown protocol: use one of ${PROTOCOLS.join(', ')}`);

/** The admin "what if": user x asset x protocol x instant. */
export const evaluateSchema = z.strictObject({
  userId: id,
  assetId: id,
  protocol,
  port: port.optional(),
  /** Default: now. */
  at: isoDateTime.optional(),
});
/** The user's own "why can't I connect" (query string). */
export const whyQuerySchema = z.strictObject({ protocol: protocol.optional(), port: port.optional() });

export interface Evaluation extends Decision {
  user: { id: string; username: string; affiliation: 'employee' | 'vendor' };
  asset: { id: string; name: string; siteName: string; zoneName: string | null; purdueLevel: number; safetyCritical: boolean; tags: string[] };
  protocol: Protocol;
  port: number;
  at: string;
  timezone: string;
}

/**
 * Loads what decide() needs and asks it. Without `at` (now) the site's live sessions count
 * toward its connection limit; at another instant they are not known, so they do not.
 */
export async function evaluateAccess(ex: Executor, q: { userId: string; assetId: string; protocol?: Protocol | undefined; port?: number | undefined; at?: string | undefined }): Promise<Evaluation> {
  const user = await ex.selectFrom('users').selectAll().where('id', '=', q.userId).executeTakeFirst();
  if (!user) throw notFound('user', q.userId);
  const asset = await getAsset(ex, q.assetId);
  const site = await ex.selectFrom('sites').selectAll().where('id', '=', asset.siteId).executeTakeFirstOrThrow();
  const proto = q.protocol ?? asset.accessMethods[0]!.protocol;
  const method = asset.accessMethods.find((m) => m.protocol === proto && (q.port === undefined || m.port === q.port));
  const methodPort = method?.port ?? q.port ?? DEFAULT_PORTS[proto] ?? 0;
  let live = 0;
  if (!q.at) {
    const r = await ex.selectFrom('remote_sessions').select(sql<number>`count(*)`.as('n')).where('site_id', '=', site.id).where('state', '=', 'active').executeTakeFirst();
    live = Number(r?.n ?? 0);
  }
  const at = q.at ? new Date(q.at) : new Date();
  const d = await decide(ex, { user, asset, method: { protocol: proto, port: methodPort }, at, activeSessionsOnSite: live, siteMaxConnections: site.max_connections, siteTimezone: site.timezone });
  return {
    user: { id: user.id, username: user.username, affiliation: user.affiliation },
    asset: { id: asset.id, name: asset.name, siteName: asset.siteName, zoneName: asset.zoneName, purdueLevel: asset.purdueLevel, safetyCritical: asset.safetyCritical, tags: asset.tags },
    protocol: proto,
    port: methodPort,
    at: at.toISOString(),
    timezone: site.timezone,
    ...d,
  };
}

/**
 * A user asking about an asset: staff see any asset; a Client only assets a grant reaches (for
 * others the asset "does not exist", so asset names do not leak).
 */
export async function whyForUser(ex: Executor, me: { id: string; role: string }, assetId: string, q: z.output<typeof whyQuerySchema>): Promise<Evaluation> {
  if (me.role !== 'Administrator' && me.role !== 'Operator') {
    const reachable = await ex.selectFrom('assets').select('assets.id').where('assets.id', '=', assetId).where(assetReachableBy(me.id)).executeTakeFirst();
    if (!reachable) throw notFound('asset', assetId);
  }
  return evaluateAccess(ex, { userId: me.id, assetId, protocol: q.protocol, port: q.port });
}
