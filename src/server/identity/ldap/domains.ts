import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { audit, changes } from '../../audit/log.js';
import type { SecretCtx } from '../../context.js';
import type { SecretBox } from '../../crypto/secretbox.js';
import type { Db, Executor } from '../../db/index.js';
import type { LdapDomainsTable } from '../../db/schema.js';
import { inTx } from '../../db/tx.js';
import { conflict, type FieldError, invalid, notFound } from '../../errors.js';
import { fromBool, newId, nowIso, parseJson, toBool } from '../../util.js';
import { host, id, name } from '../../validation.js';
import { ROLES } from '../users.js';
import type { LdapSettings } from './client.js';
import { isValidFilter, USERNAME_PLACEHOLDER } from './filter.js';

/** Purpose bound to sealed bind passwords (crypto/secretbox): they open nowhere else. */
export const BIND_PASSWORD_PURPOSE = 'ldap.bind';
export const DEFAULT_USER_FILTER = '(&(objectClass=person)(uid={username}))';

const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

function isLdapUrl(s: string): boolean {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  if (u.protocol !== 'ldap:' && u.protocol !== 'ldaps:') return false;
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '' && u.pathname !== '/')) return false;
  if (u.port === '0') return false;
  return host.safeParse(u.hostname.replace(/^\[|\]$/g, '')).success;
}

function isPemBundle(s: string): boolean {
  const blocks = s.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) return false;
  try {
    for (const b of blocks) new X509Certificate(b);
    return true;
  } catch {
    return false;
  }
}

const ldapUrl = z
  .string()
  .trim()
  .max(512)
  .refine(isLdapUrl, 'must be an ldap:// or ldaps:// URL with a host and an optional port only, e.g. ldaps://dc1.plant.example:636')
  .transform((s) => s.replace(/\/$/, ''));
const dn = z.string().trim().max(1024, 'must be at most 1024 characters').regex(NO_CONTROL, 'must not contain control characters');
const baseDn = dn.min(1, 'must not be empty').refine((s) => s.includes('='), 'must be a DN such as dc=plant,dc=example');
const bindDn = dn.refine((s) => s === '' || s.includes('='), 'must be a DN such as cn=portcullis,ou=services,dc=plant,dc=example (or empty for an anonymous search)');
const bindPassword = z.string().min(1, 'must not be empty').max(1024);
const userFilter = z
  .string()
  .trim()
  .max(1024)
  .regex(NO_CONTROL, 'must not contain control characters')
  .refine((s) => s.includes(USERNAME_PLACEHOLDER), 'must contain {username}')
  .refine(isValidFilter, 'must be a valid LDAP filter in parentheses, e.g. (&(objectClass=person)(uid={username}))');
const usernameAttribute = z.string().trim().regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'must be an attribute name such as uid or sAMAccountName');
const tlsCa = z.string().max(65_536).refine(isPemBundle, 'must be one or more PEM certificates (-----BEGIN CERTIFICATE----- ...)');

const groupMapping = z
  .strictObject({
    /** Group DN as the directory returns it (or just its CN). */
    group: z.string().trim().min(1, 'must not be empty').max(1024).regex(NO_CONTROL, 'must not contain control characters'),
    role: z.enum(ROLES).optional(),
    groupId: id.optional(),
  })
  .refine((m) => m.role !== undefined || m.groupId !== undefined, 'a mapping needs a role, a groupId, or both');
export type GroupMapping = z.infer<typeof groupMapping>;
const groupMappings = z.array(groupMapping).max(100, 'at most 100 mappings');

export const ldapDomainCreateSchema = z.strictObject({
  name,
  url: ldapUrl,
  bindDn: bindDn.default(''),
  /** Write-only: sealed at rest, never returned. */
  bindPassword: bindPassword.optional(),
  baseDn,
  userFilter: userFilter.default(DEFAULT_USER_FILTER),
  usernameAttribute: usernameAttribute.default('uid'),
  groupMappings: groupMappings.default([]),
  tlsCa: tlsCa.nullable().default(null),
  startTls: z.boolean().default(false),
  enabled: z.boolean().default(true),
});
export const ldapDomainUpdateSchema = z.strictObject({
  name: name.optional(),
  url: ldapUrl.optional(),
  bindDn: bindDn.optional(),
  /** A new bind password; null removes the stored one. */
  bindPassword: bindPassword.nullable().optional(),
  baseDn: baseDn.optional(),
  userFilter: userFilter.optional(),
  usernameAttribute: usernameAttribute.optional(),
  groupMappings: groupMappings.optional(),
  tlsCa: tlsCa.nullable().optional(),
  startTls: z.boolean().optional(),
  enabled: z.boolean().optional(),
});

export interface LdapDomain {
  id: string;
  name: string;
  url: string;
  bindDn: string;
  hasBindPassword: boolean;
  baseDn: string;
  userFilter: string;
  usernameAttribute: string;
  groupMappings: GroupMapping[];
  tlsCa: string | null;
  startTls: boolean;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

const toDomain = (r: LdapDomainsTable): LdapDomain => ({
  id: r.id,
  name: r.name,
  url: r.url,
  bindDn: r.bind_dn,
  hasBindPassword: r.bind_password_enc !== null,
  baseDn: r.base_dn,
  userFilter: r.user_filter,
  usernameAttribute: r.username_attribute,
  groupMappings: parseJson<GroupMapping[]>(r.group_mappings, []),
  tlsCa: r.tls_ca,
  startTls: toBool(r.start_tls),
  enabled: toBool(r.enabled),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** The audit form: the CA is summarized (it is long and public), the password is only a yes/no. */
const auditForm = (d: LdapDomain) => ({ ...d, tlsCa: d.tlsCa ? '(PEM)' : null, hasBindPassword: undefined, bindCredentialStored: d.hasBindPassword });

async function row(ex: Executor, domainId: string): Promise<LdapDomainsTable> {
  const r = await ex.selectFrom('ldap_domains').selectAll().where('id', '=', domainId).executeTakeFirst();
  if (!r) throw notFound('ldap domain', domainId);
  return r;
}

export async function listLdapDomains(db: Db): Promise<{ items: LdapDomain[]; nextCursor: null }> {
  const rows = await db.selectFrom('ldap_domains').selectAll().orderBy('name').orderBy('id').execute();
  return { items: rows.map(toDomain), nextCursor: null };
}

export async function getLdapDomain(ex: Executor, domainId: string): Promise<LdapDomain> {
  return toDomain(await row(ex, domainId));
}

/** Enabled domains in name order, the order logins try them. */
export async function enabledLdapDomainRows(ex: Executor): Promise<LdapDomainsTable[]> {
  return ex.selectFrom('ldap_domains').selectAll().where('enabled', '=', 1).orderBy('name').orderBy('id').execute();
}

export async function ldapDomainRow(ex: Executor, domainId: string): Promise<LdapDomainsTable> {
  return row(ex, domainId);
}

/** Connection settings with the bind password opened (in memory only, for one connection). */
export function ldapSettings(secrets: SecretBox, r: LdapDomainsTable): LdapSettings {
  return {
    name: r.name,
    url: r.url,
    bindDn: r.bind_dn,
    bindPassword: r.bind_password_enc ? secrets.open(r.bind_password_enc, BIND_PASSWORD_PURPOSE) : null,
    baseDn: r.base_dn,
    userFilter: r.user_filter,
    usernameAttribute: r.username_attribute,
    tlsCa: r.tls_ca,
    startTls: toBool(r.start_tls),
  };
}

async function assertNameFree(ex: Executor, domainName: string, exceptId?: string) {
  const other = await ex.selectFrom('ldap_domains').select('id').where((eb) => eb(eb.fn('lower', ['name']), '=', domainName.toLowerCase())).executeTakeFirst();
  if (other && other.id !== exceptId) throw conflict(`an LDAP domain named "${domainName}" already exists`);
}

interface Final {
  url: string;
  bindDn: string;
  hasPassword: boolean;
  tlsCa: string | null;
  startTls: boolean;
  groupMappings: GroupMapping[];
}

/** Rules across fields, checked on the settings as they will be stored. */
async function checkSettings(ex: Executor, f: Final): Promise<void> {
  const errors: FieldError[] = [];
  const ldaps = f.url.startsWith('ldaps:');
  if (f.startTls && ldaps) errors.push({ path: '/startTls', message: 'startTls is for ldap:// URLs: ldaps:// is TLS from the start' });
  if (f.tlsCa && !ldaps && !f.startTls) errors.push({ path: '/tlsCa', message: 'a CA is only used with ldaps:// or startTls' });
  if (f.bindDn && !f.hasPassword) errors.push({ path: '/bindPassword', message: 'bindPassword is required with a bindDn' });
  if (!f.bindDn && f.hasPassword) errors.push({ path: '/bindDn', message: 'a bindPassword needs a bindDn' });
  for (const [i, m] of f.groupMappings.entries()) {
    if (!m.groupId) continue;
    const g = await ex.selectFrom('groups').select(['kind']).where('id', '=', m.groupId).executeTakeFirst();
    if (!g) errors.push({ path: `/groupMappings/${i}/groupId`, message: `group "${m.groupId}" does not exist` });
    else if (g.kind !== 'permission') errors.push({ path: `/groupMappings/${i}/groupId`, message: 'only permission groups can be mapped' });
  }
  if (errors.length) throw invalid(errors.map((e) => `${e.path} ${e.message}`).join('; '), errors);
}

export async function createLdapDomain(ctx: SecretCtx, input: z.infer<typeof ldapDomainCreateSchema>): Promise<LdapDomain> {
  return inTx(ctx.db, async (tx) => {
    await assertNameFree(tx, input.name);
    await checkSettings(tx, { ...input, hasPassword: input.bindPassword !== undefined });
    const now = nowIso();
    const r: LdapDomainsTable = {
      id: newId(),
      name: input.name,
      url: input.url,
      bind_dn: input.bindDn,
      bind_password_enc: input.bindPassword !== undefined ? ctx.secrets.seal(input.bindPassword, BIND_PASSWORD_PURPOSE) : null,
      base_dn: input.baseDn,
      user_filter: input.userFilter,
      username_attribute: input.usernameAttribute,
      group_mappings: JSON.stringify(input.groupMappings),
      tls_ca: input.tlsCa,
      start_tls: fromBool(input.startTls),
      enabled: fromBool(input.enabled),
      created_at: now,
      updated_at: now,
    };
    await tx.insertInto('ldap_domains').values(r).execute();
    const domain = toDomain(r);
    await audit(tx, ctx.actor, { action: 'ldap_domain.create', target: { type: 'ldap_domain', id: r.id, name: r.name }, details: { domain: auditForm(domain) } });
    return domain;
  });
}

/** Changing where or how the bind password goes needs it again: a stored one never follows a new server. */
const CONNECTION_FIELDS = ['url', 'bindDn', 'startTls', 'tlsCa'] as const;

export async function updateLdapDomain(ctx: SecretCtx, domainId: string, input: z.infer<typeof ldapDomainUpdateSchema>): Promise<LdapDomain> {
  return inTx(ctx.db, async (tx) => {
    const beforeRow = await row(tx, domainId);
    const before = toDomain(beforeRow);
    if (input.name !== undefined) await assertNameFree(tx, input.name, domainId);
    const moved = CONNECTION_FIELDS.filter((k) => input[k] !== undefined && input[k] !== before[k]);
    if (moved.length && before.hasBindPassword && input.bindPassword === undefined) {
      throw invalid(`re-enter bindPassword (or null to remove it) when changing ${moved.join(', ')}: the stored password is only sent to the server it was entered for`, [{ path: '/bindPassword', message: 'required with this change' }]);
    }
    const next = {
      url: input.url ?? before.url,
      bindDn: input.bindDn ?? before.bindDn,
      hasPassword: input.bindPassword === undefined ? before.hasBindPassword : input.bindPassword !== null,
      tlsCa: input.tlsCa !== undefined ? input.tlsCa : before.tlsCa,
      startTls: input.startTls ?? before.startTls,
      groupMappings: input.groupMappings ?? before.groupMappings,
    };
    await checkSettings(tx, next);
    const sealed = input.bindPassword === undefined ? beforeRow.bind_password_enc : input.bindPassword === null ? null : ctx.secrets.seal(input.bindPassword, BIND_PASSWORD_PURPOSE);
    await tx
      .updateTable('ldap_domains')
      .set({
        name: input.name ?? before.name,
        url: next.url,
        bind_dn: next.bindDn,
        bind_password_enc: sealed,
        base_dn: input.baseDn ?? before.baseDn,
        user_filter: input.userFilter ?? before.userFilter,
        username_attribute: input.usernameAttribute ?? before.usernameAttribute,
        group_mappings: JSON.stringify(next.groupMappings),
        tls_ca: next.tlsCa,
        start_tls: fromBool(next.startTls),
        enabled: fromBool(input.enabled ?? before.enabled),
        updated_at: nowIso(),
      })
      .where('id', '=', domainId)
      .execute();
    const after = await getLdapDomain(tx, domainId);
    const { bindPassword: newPassword, ...rest } = input;
    const summary = changes(before as unknown as Record<string, unknown>, rest);
    if (summary.tlsCa) summary.tlsCa = { from: before.tlsCa ? '(PEM)' : null, to: input.tlsCa ? '(new PEM)' : null };
    await audit(tx, ctx.actor, {
      action: 'ldap_domain.update',
      target: { type: 'ldap_domain', id: domainId, name: after.name },
      details: { changes: summary, ...(newPassword !== undefined ? { bindCredential: newPassword === null ? 'removed' : 'replaced' } : {}) },
    });
    return after;
  });
}

export async function deleteLdapDomain(ctx: SecretCtx, domainId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const before = await getLdapDomain(tx, domainId);
    const n = await tx.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('ldap_domain_id', '=', domainId).executeTakeFirstOrThrow();
    if (Number(n.n) > 0) throw conflict(`LDAP domain "${before.name}" still has ${n.n} user(s) who sign in through it: delete them first, or disable the domain instead`);
    await tx.deleteFrom('ldap_domains').where('id', '=', domainId).execute();
    await audit(tx, ctx.actor, { action: 'ldap_domain.delete', target: { type: 'ldap_domain', id: domainId, name: before.name }, details: { domain: auditForm(before) } });
  });
}
