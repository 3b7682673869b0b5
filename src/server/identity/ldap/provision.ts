import { type Actor, audit, SYSTEM_ACTOR } from '../../audit/log.js';
import type { Ctx } from '../../context.js';
import type { Tx } from '../../db/index.js';
import type { UsersTable } from '../../db/schema.js';
import { inTx } from '../../db/tx.js';
import { conflict } from '../../errors.js';
import { newId, nowIso } from '../../util.js';
import { activeAdminCount, findUserRowByUsername, getUser, type Role } from '../users.js';

/** Who the directory says the user is. */
export interface DirectoryIdentity {
  domainId: string;
  domainName: string;
  dn: string;
  username: string;
  email: string;
  displayName: string;
}

export interface DirectoryAccess {
  role: Role;
  /** Permission groups the user belongs in now. */
  groupIds: string[];
  /** Every group the domain's mappings name: membership in these follows the directory. */
  managedGroupIds: string[];
}

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;
const cleanEmail = (s: string) => (s.length <= 254 && EMAIL.test(s) ? s : '');
const cleanName = (s: string) => s.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, 128);

/**
 * Just-in-time provisioning: creates the directory user's row on first login, or brings role,
 * e-mail, name, DN and the mapped group memberships in line with the directory on every login.
 * Every change is audited (actor "system", from the login's address) in the same transaction.
 * Status, lockout counters and MFA settings are never touched here.
 */
export async function provisionLdapUser(ctx: Ctx, who: DirectoryIdentity, access: DirectoryAccess): Promise<UsersTable> {
  const actor: Actor = { ...SYSTEM_ACTOR, ip: ctx.actor.ip };
  const source = { source: 'ldap', domain: who.domainName, dn: who.dn };
  return inTx(ctx.db, async (tx) => {
    const existing = await findUserRowByUsername(tx, who.username);
    if (existing && existing.type !== 'ldap') throw conflict(`a local account named "${existing.username}" exists`);
    if (existing?.ldap_domain_id && existing.ldap_domain_id !== who.domainId) throw conflict(`"${existing.username}" belongs to another LDAP domain`);
    const email = cleanEmail(who.email);
    const displayName = cleanName(who.displayName);
    const now = nowIso();
    let userId: string;
    let username: string;
    if (!existing) {
      userId = newId();
      username = who.username;
      const row: UsersTable = {
        id: userId,
        username,
        display_name: displayName,
        email,
        role: access.role,
        type: 'ldap',
        affiliation: 'employee',
        vendor_id: null,
        expires_at: null,
        otp_required: 0,
        status: 'active',
        password_hash: null,
        must_change_password: 0,
        failed_logins: 0,
        locked_until: null,
        ldap_domain_id: who.domainId,
        ldap_dn: who.dn,
        password_changed_at: null,
        last_login_at: null,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('users').values(row).execute();
      await audit(tx, actor, { action: 'user.create', target: { type: 'user', id: userId, name: username }, details: { ...source, user: await getUser(tx, userId) } });
    } else {
      userId = existing.id;
      username = existing.username;
      // The directory never demotes the last active Administrator: the gateway would have none.
      let role = access.role;
      if (existing.role === 'Administrator' && role !== 'Administrator' && existing.status === 'active' && (await activeAdminCount(tx, existing.id)) === 0) {
        role = 'Administrator';
        await audit(tx, actor, {
          action: 'user.update', target: { type: 'user', id: existing.id, name: existing.username }, result: 'failure',
          details: { ...source, withheld: { role: { from: 'Administrator', to: access.role } }, reason: 'the directory would demote the last active administrator: create or enable another administrator first' },
        });
      }
      const want = { role, email, displayName, ldapDn: who.dn, ldapDomain: who.domainName };
      const have = { role: existing.role, email: existing.email, displayName: existing.display_name, ldapDn: existing.ldap_dn, ldapDomain: existing.ldap_domain_id === who.domainId ? who.domainName : null };
      const changed: Record<string, { from: unknown; to: unknown }> = {};
      for (const k of Object.keys(want) as (keyof typeof want)[]) if (want[k] !== have[k]) changed[k] = { from: have[k], to: want[k] };
      if (Object.keys(changed).length) {
        await tx
          .updateTable('users')
          .set({ role, email, display_name: displayName, ldap_dn: who.dn, ldap_domain_id: who.domainId, updated_at: now })
          .where('id', '=', userId)
          .execute();
        await audit(tx, actor, { action: 'user.update', target: { type: 'user', id: userId, name: username }, details: { ...source, changes: changed } });
      }
    }
    await syncMemberships(tx, actor, source, { id: userId, username }, access);
    return tx.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow();
  });
}

async function syncMemberships(tx: Tx, actor: Actor, source: Record<string, string>, user: { id: string; username: string }, access: DirectoryAccess): Promise<void> {
  if (!access.managedGroupIds.length) return;
  const groups = await tx.selectFrom('groups').select(['id', 'name']).where('id', 'in', access.managedGroupIds).where('kind', '=', 'permission').execute();
  const current = new Set(
    (await tx.selectFrom('group_members').select('group_id').where('user_id', '=', user.id).where('group_id', 'in', access.managedGroupIds).execute()).map((r) => r.group_id),
  );
  const wanted = new Set(access.groupIds);
  for (const g of groups) {
    const target = { type: 'group', id: g.id, name: g.name };
    if (wanted.has(g.id) && !current.has(g.id)) {
      await tx.insertInto('group_members').values({ group_id: g.id, user_id: user.id, added_at: nowIso() }).execute();
      await audit(tx, actor, { action: 'group.member_add', target, details: { ...source, user: user.username } });
    } else if (!wanted.has(g.id) && current.has(g.id)) {
      await tx.deleteFrom('group_members').where('group_id', '=', g.id).where('user_id', '=', user.id).execute();
      await audit(tx, actor, { action: 'group.member_remove', target, details: { ...source, user: user.username } });
    }
  }
}
