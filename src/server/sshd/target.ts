import { reachableAssets } from '../access/reports.js';
import type { Db } from '../db/index.js';
import { type Asset, getAsset } from '../inventory/assets.js';
import type { Choice } from './menu.js';
import { type LoginName, methodLabel } from './username.js';

/** What the login name leads to: one session to open, a menu, or a refusal to show. */
export type Target = { kind: 'open'; choice: Choice } | { kind: 'choose'; title: string; choices: Choice[] } | { kind: 'refuse'; message: string };

const TERMINAL = new Set(['ssh', 'telnet']);

const where = (a: Pick<Asset, 'siteName' | 'zoneName' | 'purdueLevel' | 'safetyCritical'>) =>
  `${a.siteName}${a.zoneName ? ` / ${a.zoneName}` : ''}, level ${a.purdueLevel}${a.safetyCritical ? ', SAFETY-CRITICAL' : ''}`;

function choicesOf(a: Asset): Choice[] {
  return a.accessMethods
    .filter((m) => TERMINAL.has(m.protocol))
    .map((m) => ({ assetId: a.id, assetName: a.name, protocol: m.protocol as 'ssh' | 'telnet', port: m.port, where: where(a) }));
}

async function assetNamed(db: Db, name: string): Promise<Asset | 'ambiguous' | undefined> {
  const rows = await db.selectFrom('assets').select(['id', 'name']).where((eb) => eb(eb.fn('lower', ['name']), '=', name.toLowerCase())).execute();
  const row = rows.find((r) => r.name === name) ?? (rows.length === 1 ? rows[0] : undefined);
  if (!row) return rows.length > 1 ? 'ambiguous' : undefined;
  return getAsset(db, row.id);
}

export async function resolveTarget(db: Db, user: { id: string; username: string }, login: LoginName): Promise<Target> {
  if (login.asset !== undefined) {
    const asset = await assetNamed(db, login.asset);
    if (asset === 'ambiguous') return { kind: 'refuse', message: `several assets are named "${login.asset}" in other letter cases: type the name exactly` };
    if (!asset) return { kind: 'refuse', message: `no asset is named "${login.asset}": connect as "${user.username}" (without +asset) for the list of yours` };
    const all = choicesOf(asset);
    const offered = asset.accessMethods.map(methodLabel).join(', ');
    if (!all.length) return { kind: 'refuse', message: `${asset.name} has no SSH or Telnet access method (it offers ${offered}): use the console` };
    const m = login.method;
    const fit = m ? all.filter((c) => c.protocol === m.protocol && (m.port === undefined || c.port === m.port)) : all;
    if (!fit.length) return { kind: 'refuse', message: `${asset.name} has no ${m!.protocol}${m!.port !== undefined ? `:${m!.port}` : ''} access method; it offers ${offered}` };
    if (fit.length === 1) return { kind: 'open', choice: fit[0]! };
    return { kind: 'choose', title: `${asset.name} has several access methods:`, choices: fit };
  }
  const reach = await reachableAssets(db, user.id);
  const choices: Choice[] = [];
  for (const a of reach.assets) if (a.protocols.some((p) => TERMINAL.has(p))) choices.push(...choicesOf(await getAsset(db, a.id)));
  if (!choices.length) return { kind: 'refuse', message: 'no asset with SSH or Telnet access is reachable for you: ask an administrator for a grant' };
  return { kind: 'choose', title: `Portcullis: assets you can reach, ${user.username}`, choices };
}

/** For a refusal without a terminal: "name the asset" with the methods to choose from. */
export function nameOneOf(username: string, choices: Choice[]): string {
  const names = choices.slice(0, 20).map((c) => `${username}+${c.assetName}+${methodLabel(c)}`);
  return `name the asset and access method in the login name, one of: ${names.join(', ')}${choices.length > 20 ? ', ...' : ''}`;
}
