import { assetReachableBy } from '../access/reach.js';
import type { Executor } from '../db/index.js';
import { getOversightSettings, type OversightSettings } from '../identity/settings.js';

/**
 * Who may oversee (watch, and moderate) a live session on an asset: Administrators always;
 * Operators as the live-oversight setting says (System Management -> Live oversight, the `oversight` settings document):
 * every Operator, only on assets their own grants reach, or none. Clients never.
 */
export async function mayOversee(ex: Executor, who: { id: string; role: string }, assetId: string): Promise<boolean> {
  return (await overseerCheck(ex, who))(assetId);
}

/**
 * The same rule for many sessions at once (a list): the setting is read once, and a grant lookup
 * is made only in `granted` mode.
 */
export async function overseerCheck(ex: Executor, who: { id: string; role: string }): Promise<(assetId: string) => Promise<boolean>> {
  if (who.role === 'Administrator') return async () => true;
  if (who.role !== 'Operator') return async () => false;
  const mode = (await getOversightSettings(ex)).operators;
  return (assetId) => operatorMay(ex, mode, who.id, assetId);
}

async function operatorMay(ex: Executor, mode: OversightSettings['operators'], userId: string, assetId: string): Promise<boolean> {
  if (mode === 'all') return true;
  if (mode === 'none') return false;
  const row = await ex.selectFrom('assets').select('id').where('id', '=', assetId).where(assetReachableBy(userId)).executeTakeFirst();
  return row !== undefined;
}

/** Why an Operator may not oversee a session on this asset, for the error they see. */
export async function oversightRefusal(ex: Executor): Promise<string> {
  return (await getOversightSettings(ex)).operators === 'none'
    ? 'only Administrators watch and moderate live sessions on this gateway'
    : 'Operators watch and moderate only sessions on assets their own grants reach, and no grant of yours reaches this asset';
}

/** The ids of everyone who may oversee sessions on the asset (moderator notifications). */
export async function overseerIds(ex: Executor, assetId: string): Promise<string[]> {
  const mode = (await getOversightSettings(ex)).operators;
  const staff = await ex.selectFrom('users').select(['id', 'role']).where('role', 'in', ['Administrator', 'Operator']).execute();
  const out: string[] = [];
  for (const u of staff) if (u.role === 'Administrator' || (await operatorMay(ex, mode, u.id, assetId))) out.push(u.id);
  return out;
}
