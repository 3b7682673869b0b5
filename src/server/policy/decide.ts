import { sql } from 'kysely';
import { assetReachableBy } from '../access/reach.js';
import type { Executor } from '../db/index.js';
import type { UsersTable } from '../db/schema.js';
import type { AccessMethod, Asset } from '../inventory/assets.js';
import { describeWindows, withinWindows } from './schedule.js';

/**
 * The policy seam: may this user open this access method of this asset now? Every broker path
 * (browser, SSH front door) asks here and nowhere else. Today it evaluates grants, the asset's
 * allowed login times (site time zone), account state and the site's concurrent-connection limit;
 * the just-in-time access issue replaces the body with the full rule engine (approvals,
 * windows, prohibited targets...) without changing callers.
 */
export type Decision =
  | { outcome: 'allow'; reasons: string[] }
  | { outcome: 'require_approval'; approvers: number; group?: string; reasons: string[] }
  | { outcome: 'deny'; reasons: string[] };

export interface DecideInput {
  user: Pick<UsersTable, 'id' | 'username' | 'status' | 'role' | 'expires_at'>;
  asset: Asset;
  method: AccessMethod;
  at: Date;
  /** Live sessions on the asset's site right now (the broker counts them). */
  activeSessionsOnSite: number;
  siteMaxConnections: number;
  siteTimezone: string;
}

export async function decide(ex: Executor, input: DecideInput): Promise<Decision> {
  const { user, asset, method, at } = input;
  const reasons: string[] = [];
  if (user.status !== 'active') reasons.push(`your account is ${user.status}`);
  if (user.expires_at && user.expires_at <= at.toISOString()) reasons.push('your account has expired');
  if (asset.state !== 'active') reasons.push(`asset ${asset.name} is not active (still in the imported list)`);
  if (!asset.accessMethods.some((m) => m.protocol === method.protocol && m.port === method.port)) {
    reasons.push(`asset ${asset.name} has no ${method.protocol} access on port ${method.port}`);
  }
  const granted = await ex
    .selectFrom('assets')
    .select(sql<number>`1`.as('x'))
    .where('assets.id', '=', asset.id)
    .where(assetReachableBy(user.id))
    .executeTakeFirst();
  if (!granted) reasons.push(`no grant gives you access to ${asset.name}`);
  if (!withinWindows(asset.loginTimes, at, input.siteTimezone)) {
    reasons.push(`outside the allowed login times (${describeWindows(asset.loginTimes ?? [], input.siteTimezone)})`);
  }
  if (input.activeSessionsOnSite >= input.siteMaxConnections) {
    reasons.push(`site ${asset.siteName} already has ${input.activeSessionsOnSite} of ${input.siteMaxConnections} allowed connections`);
  }
  if (reasons.length) return { outcome: 'deny', reasons };
  return { outcome: 'allow', reasons: [`granted: ${asset.name} ${method.protocol}:${method.port}`] };
}
