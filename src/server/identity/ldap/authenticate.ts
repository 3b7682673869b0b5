import type { SecretCtx } from '../../context.js';
import type { LdapDomainsTable, UsersTable } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import { parseJson } from '../../util.js';
import { findUserRowByUsername, username as usernameSchema } from '../users.js';
import { classifyLdapError, type LdapConnection, type LdapFailure, firstValue, withConnection } from './client.js';
import { type GroupMapping, enabledLdapDomainRows, ldapSettings } from './domains.js';
import { normalizeDn } from './filter.js';
import { mapGroups } from './mapping.js';
import { provisionLdapUser } from './provision.js';

export type LdapLoginResult = { ok: true; user: UsersTable } | { ok: false; reason: string };

/** One domain's answer: a final result, "not in this directory", or "could not ask it". */
type Attempt = { kind: 'final'; result: LdapLoginResult } | { kind: 'not_found' } | { kind: 'unavailable'; reason: string };

const refuse = (reason: string): LdapLoginResult => ({ ok: false, reason });
const final = (reason: string): Attempt => ({ kind: 'final', result: refuse(reason) });

function unavailable(domain: string, stage: string, err: unknown): Attempt {
  const f: LdapFailure = classifyLdapError(err);
  const what =
    f.kind === 'unreachable' ? 'server unreachable'
    : f.kind === 'tls' ? 'TLS failure'
    : f.kind === 'invalid_credentials' && stage === 'service bind' ? 'service bind refused (check the domain\'s bind DN and password)'
    : f.kind === 'no_such_object' ? 'base DN not found'
    : `${stage} failed`;
  return { kind: 'unavailable', reason: `ldap: ${what} (${domain}: ${f.message})` };
}

/**
 * Password login against the enabled LDAP domains, tried in name order (only the user's own
 * domain once they have one). Per domain: service bind, exactly one entry for the escaped
 * username, bind as that entry with the password, read its groups (memberOf and a group search,
 * then the groups those are nested in),
 * map them to a role (the highest wins) and permission groups, then provision or update the
 * user (provision.ts). Never logs, stores or audits the password. The reason of a refusal is
 * for the audit log, not for the person signing in. Lockout, status and MFA are the caller's.
 */
export async function ldapLogin(ctx: SecretCtx, username: string, password: string): Promise<LdapLoginResult> {
  const name = username.trim();
  // An empty password is an "unauthenticated bind" that many servers (Active Directory) accept.
  if (password === '') return refuse('ldap: empty password refused');
  if (!usernameSchema.safeParse(name).success) return refuse('ldap: not a valid Portcullis username');
  const existing = await findUserRowByUsername(ctx.db, name);
  if (existing && existing.type !== 'ldap') return refuse('ldap: a local account has this username');
  let domains = await enabledLdapDomainRows(ctx.db);
  if (existing?.ldap_domain_id) {
    domains = domains.filter((d) => d.id === existing.ldap_domain_id);
    if (!domains.length) return refuse('ldap: the user\'s LDAP domain is disabled or was deleted');
  }
  if (!domains.length) return refuse('ldap: no LDAP domain is enabled');

  const problems: string[] = [];
  for (const d of domains) {
    const a = await tryDomain(ctx, d, name, password);
    if (a.kind === 'final') return a.result;
    if (a.kind === 'unavailable') problems.push(a.reason);
  }
  return refuse(problems.length ? problems.join('; ') : 'ldap: user not found');
}

async function tryDomain(ctx: SecretCtx, d: LdapDomainsTable, name: string, password: string): Promise<Attempt> {
  let settings: ReturnType<typeof ldapSettings>;
  try {
    settings = ldapSettings(ctx.secrets, d);
  } catch {
    return { kind: 'unavailable', reason: `ldap: the bind password of ${d.name} cannot be opened (master key replaced?): enter it again` };
  }
  let conn: LdapConnection | undefined;
  try {
    return await withConnection(settings, async (c) => {
      conn = c;
      try {
        await c.serviceBind();
      } catch (err) {
        return unavailable(d.name, 'service bind', err);
      }
      let entries;
      try {
        entries = await c.findUser(name);
      } catch (err) {
        return unavailable(d.name, 'user search', err);
      }
      if (entries.length === 0) return { kind: 'not_found' } as const;
      if (entries.length > 1) return final(`ldap: "${name}" matches several entries in ${d.name}`);
      const entry = entries[0]!;

      try {
        await withConnection(settings, (u) => u.bind(entry.dn, password));
      } catch (err) {
        const f = classifyLdapError(err);
        return f.kind === 'invalid_credentials' ? final('ldap: wrong password') : unavailable(d.name, 'user bind', err);
      }

      let groupDns: string[];
      try {
        const direct = dedupe([...(entry.attrs.memberof ?? []), ...(await c.groupsOf(entry.dn, name))]);
        groupDns = [...direct, ...(await c.parentGroupsOf(direct))];
      } catch (err) {
        return unavailable(d.name, 'group lookup', err);
      }
      const mappings = parseJson<GroupMapping[]>(d.group_mappings, []);
      const access = mapGroups(dedupe(groupDns), mappings);
      if (!access.role) return final('ldap: no group mapping grants a role');

      const dirName = firstValue(entry, settings.usernameAttribute);
      const canonical = dirName.toLowerCase() === name.toLowerCase() && usernameSchema.safeParse(dirName).success ? dirName : name;
      try {
        const user = await provisionLdapUser(
          ctx,
          { domainId: d.id, domainName: d.name, dn: entry.dn, username: canonical, email: firstValue(entry, 'mail'), displayName: firstValue(entry, 'displayName') || firstValue(entry, 'cn') },
          { role: access.role, groupIds: access.groupIds, managedGroupIds: [...new Set(mappings.flatMap((m) => (m.groupId ? [m.groupId] : [])))] },
        );
        return { kind: 'final', result: { ok: true, user } } as const;
      } catch (err) {
        if (err instanceof DomainError) return final(`ldap: ${err.message}`);
        throw err;
      }
    });
  } catch (err) {
    // Opening the connection (TCP, TLS, StartTLS) failed.
    if (conn === undefined) return unavailable(d.name, 'connect', err);
    throw err;
  }
}

function dedupe(dns: string[]): string[] {
  const seen = new Map<string, string>();
  for (const dn of dns) if (!seen.has(normalizeDn(dn))) seen.set(normalizeDn(dn), dn);
  return [...seen.values()];
}
