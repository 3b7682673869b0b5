
import type { Db } from '../db/index.js';
import { getAsset, type Protocol } from '../inventory/assets.js';
import { getUser } from '../identity/users.js';
import { assetReachableBy } from './reach.js';

export interface ReachableAsset {
  id: string;
  name: string;
  siteName: string;
  /** The site's IANA time zone: access windows and login times are in it. */
  siteTimezone: string;
  zoneName: string | null;
  purdueLevel: number;
  host: string;
  protocols: string[];
  /** What Connect offers: each protocol with its port. */
  accessMethods: { protocol: Protocol; port: number }[];
  safetyCritical: boolean;
  /** Why: each grant that matches, e.g. "group Vendors-ACME -> site Demo Plant". */
  via: string[];
}

interface GrantRow {
  subject_type: string;
  subject_id: string;
  target_type: string;
  target: string;
}

/** Report: which (active) assets can this user reach, and through which grants. */
export async function reachableAssets(db: Db, userId: string): Promise<{ user: { id: string; username: string }; count: number; assets: ReachableAsset[] }> {
  const user = await getUser(db, userId);
  const groups = await db
    .selectFrom('group_members')
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select(['groups.id', 'groups.name'])
    .where('group_members.user_id', '=', userId)
    .where('groups.kind', '=', 'permission')
    .execute();
  const groupName = new Map(groups.map((g) => [g.id, g.name]));
  const grants: GrantRow[] = await db
    .selectFrom('grants')
    .select(['subject_type', 'subject_id', 'target_type', 'target'])
    .where((eb) =>
      eb.or([
        eb.and([eb('subject_type', '=', 'user'), eb('subject_id', '=', userId)]),
        ...(groups.length ? [eb.and([eb('subject_type', '=', 'group'), eb('subject_id', 'in', groups.map((g) => g.id))])] : []),
      ]),
    )
    .execute();
  const rows = await db
    .selectFrom('assets')
    .innerJoin('sites', 'sites.id', 'assets.site_id')
    .leftJoin('zones', 'zones.id', 'assets.zone_id')
    .select(['assets.id', 'assets.name', 'assets.site_id', 'assets.zone_id', 'assets.purdue_level', 'assets.host', 'assets.access_methods', 'assets.safety_critical', 'sites.name as site_name', 'sites.timezone as site_timezone', 'zones.name as zone_name'])
    .where('assets.state', '=', 'active')
    .where(assetReachableBy(userId))
    .orderBy('assets.name')
    .execute();
  const tagRows = rows.length ? await db.selectFrom('asset_tags').select(['asset_id', 'tag']).where('asset_id', 'in', rows.map((r) => r.id)).execute() : [];
  const assets = rows.map((r) => {
    const tags = new Set(tagRows.filter((t) => t.asset_id === r.id).map((t) => t.tag));
    const via = grants
      .filter((g) => (g.target_type === 'asset' && g.target === r.id) || (g.target_type === 'site' && g.target === r.site_id) || (g.target_type === 'zone' && g.target === r.zone_id) || (g.target_type === 'tag' && tags.has(g.target)))
      .map((g) => {
        const who = g.subject_type === 'user' ? 'direct grant' : `group ${groupName.get(g.subject_id) ?? g.subject_id}`;
        const what = g.target_type === 'asset' ? `asset ${r.name}` : g.target_type === 'site' ? `site ${r.site_name}` : g.target_type === 'zone' ? `zone ${r.zone_name}` : `tag ${g.target}`;
        return `${who} -> ${what}`;
      });
    return {
      id: r.id,
      name: r.name,
      siteName: r.site_name,
      siteTimezone: r.site_timezone,
      zoneName: r.zone_name,
      purdueLevel: r.purdue_level,
      host: r.host,
      protocols: [...new Set((JSON.parse(r.access_methods) as { protocol: string }[]).map((m) => m.protocol))],
      accessMethods: (JSON.parse(r.access_methods) as { protocol: Protocol; port: number }[]).map((m) => ({ protocol: m.protocol, port: m.port })),
      safetyCritical: r.safety_critical === 1,
      via,
    };
  });
  return { user: { id: user.id, username: user.username }, count: assets.length, assets };
}

export interface AssetAccessEntry {
  userId: string;
  username: string;
  displayName: string;
  role: string;
  affiliation: string;
  status: string;
  via: string[];
}

/** Report: who can reach this asset, and how many (all accounts, with their status). */
export async function assetAccess(db: Db, assetId: string): Promise<{ asset: { id: string; name: string }; count: number; activeCount: number; users: AssetAccessEntry[] }> {
  const asset = await getAsset(db, assetId);
  const grants = await db
    .selectFrom('grants')
    .select(['id', 'subject_type', 'subject_id', 'target_type', 'target'])
    .where((eb) =>
      eb.or([
        eb.and([eb('target_type', '=', 'asset'), eb('target', '=', asset.id)]),
        eb.and([eb('target_type', '=', 'site'), eb('target', '=', asset.siteId)]),
        ...(asset.zoneId ? [eb.and([eb('target_type', '=', 'zone'), eb('target', '=', asset.zoneId)])] : []),
        ...(asset.tags.length ? [eb.and([eb('target_type', '=', 'tag'), eb('target', 'in', asset.tags)])] : []),
      ]),
    )
    .execute();
  const what = (g: GrantRow) => (g.target_type === 'asset' ? `asset ${asset.name}` : g.target_type === 'site' ? `site ${asset.siteName}` : g.target_type === 'zone' ? `zone ${asset.zoneName}` : `tag ${g.target}`);
  const byUser = new Map<string, string[]>();
  const add = (uid: string, reason: string) => byUser.set(uid, [...(byUser.get(uid) ?? []), reason]);
  for (const g of grants.filter((x) => x.subject_type === 'user')) add(g.subject_id, `direct grant -> ${what(g)}`);
  const groupGrants = grants.filter((x) => x.subject_type === 'group');
  if (groupGrants.length) {
    const members = await db
      .selectFrom('group_members')
      .innerJoin('groups', 'groups.id', 'group_members.group_id')
      .select(['group_members.user_id', 'groups.id as group_id', 'groups.name'])
      .where('groups.kind', '=', 'permission')
      .where('groups.id', 'in', groupGrants.map((g) => g.subject_id))
      .execute();
    for (const g of groupGrants) for (const m of members.filter((x) => x.group_id === g.subject_id)) add(m.user_id, `group ${m.name} -> ${what(g)}`);
  }
  const ids = [...byUser.keys()];
  const users = ids.length
    ? await db.selectFrom('users').select(['id', 'username', 'display_name', 'role', 'affiliation', 'status']).where('id', 'in', ids).orderBy('username').execute()
    : [];
  const entries = users.map((u) => ({ userId: u.id, username: u.username, displayName: u.display_name, role: u.role, affiliation: u.affiliation, status: u.status, via: byUser.get(u.id) ?? [] }));
  return { asset: { id: asset.id, name: asset.name }, count: entries.length, activeCount: entries.filter((e) => e.status === 'active').length, users: entries };
}

