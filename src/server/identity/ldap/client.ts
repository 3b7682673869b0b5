import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, NoSuchObjectError, ResultCodeError, SizeLimitExceededError } from 'ldapts';
import { allUsersFilter, escapeFilterValue, normalizeDn, userSearchFilter } from './filter.js';

/** Nested groups: how many levels up and how many groups at most, and groups per search filter. */
const NESTED_DEPTH = 8;
const NESTED_MAX = 500;
const NESTED_BATCH = 50;

/** What a connection needs, with the bind password already opened. */
export interface LdapSettings {
  name: string;
  url: string;
  bindDn: string;
  bindPassword: string | null;
  baseDn: string;
  userFilter: string;
  usernameAttribute: string;
  tlsCa: string | null;
  startTls: boolean;
}

export type LdapFailureKind = 'unreachable' | 'tls' | 'invalid_credentials' | 'no_such_object' | 'size_limit' | 'error';

/** An LDAP error sorted into what an administrator can act on. Never carries a password. */
export class LdapFailure extends Error {
  constructor(
    readonly kind: LdapFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'LdapFailure';
  }
}

export const LDAP_TIMEOUT_MS = 5000;

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_|HOSTNAME_MISMATCH)/;
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

export function classifyLdapError(err: unknown): LdapFailure {
  if (err instanceof LdapFailure) return err;
  if (err instanceof InvalidCredentialsError) return new LdapFailure('invalid_credentials', 'invalid credentials');
  if (err instanceof NoSuchObjectError) return new LdapFailure('no_such_object', 'no such object');
  if (err instanceof SizeLimitExceededError) return new LdapFailure('size_limit', 'size limit exceeded');
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (TLS_CODES.test(code)) return new LdapFailure('tls', `TLS certificate check failed (${code}: ${message})`);
  if (code === 'ECONNRESET' && /secure TLS connection/i.test(message)) return new LdapFailure('tls', `TLS handshake failed: ${message} (is this port really LDAPS?)`);
  if (NET_CODES.has(code)) return new LdapFailure('unreachable', `${code}: ${message}`);
  if (/connection (closed|timeout)|timed? ?out/i.test(message)) return new LdapFailure('unreachable', `no LDAP answer: ${message} (wrong port or protocol, or a firewall?)`);
  if (err instanceof ResultCodeError) return new LdapFailure('error', `LDAP result code ${err.code}${message.trim() ? `: ${message.trim()}` : ''}`);
  return new LdapFailure('error', message);
}

function tlsOptions(s: LdapSettings, host: string): ConnectionOptions {
  return {
    minVersion: 'TLSv1.2',
    ...(s.tlsCa ? { ca: [s.tlsCa] } : {}),
    // StartTLS upgrades an existing socket: tell TLS which name the certificate must carry.
    host,
    ...(isIP(host) ? {} : { servername: host }),
  };
}

/**
 * One connection to a domain's server, ldaps:// or ldap:// (+ StartTLS when asked). Certificates
 * are always verified: against the domain's CA when given, else the system's CAs.
 */
export class LdapConnection {
  private constructor(
    private readonly client: Client,
    readonly settings: LdapSettings,
  ) {}

  static async open(s: LdapSettings): Promise<LdapConnection> {
    const host = new URL(s.url).hostname.replace(/^\[|\]$/g, '');
    const tls = tlsOptions(s, host);
    // ldapts speaks TLS from the first byte whenever tlsOptions is given: only for ldaps://.
    const ldaps = s.url.startsWith('ldaps:');
    const client = new Client({ url: s.url, timeout: LDAP_TIMEOUT_MS, connectTimeout: LDAP_TIMEOUT_MS, strictDN: true, ...(ldaps ? { tlsOptions: tls } : {}) });
    const conn = new LdapConnection(client, s);
    if (s.startTls && !ldaps) {
      try {
        await client.startTLS(tls);
      } catch (err) {
        await conn.close();
        throw classifyLdapError(err);
      }
    }
    return conn;
  }

  /** Simple bind. An empty password is refused here: servers treat it as an anonymous bind. */
  async bind(dn: string, password: string): Promise<void> {
    if (password === '') throw new LdapFailure('invalid_credentials', 'empty password refused (it would be an unauthenticated bind)');
    try {
      await this.client.bind(dn, password);
    } catch (err) {
      throw classifyLdapError(err);
    }
  }

  /** Binds as the domain's service account, or stays anonymous when it has none. */
  async serviceBind(): Promise<void> {
    if (!this.settings.bindDn) return;
    await this.bind(this.settings.bindDn, this.settings.bindPassword ?? '');
  }

  async search(base: string, filter: string, attributes: string[], opts: { sizeLimit?: number; paged?: boolean } = {}): Promise<Record<string, unknown>[]> {
    try {
      const r = await this.client.search(base, {
        scope: 'sub',
        filter,
        attributes,
        sizeLimit: opts.sizeLimit ?? 0,
        timeLimit: Math.ceil(LDAP_TIMEOUT_MS / 1000),
        ...(opts.paged ? { paged: { pageSize: 500 } } : {}),
      });
      return r.searchEntries as Record<string, unknown>[];
    } catch (err) {
      throw classifyLdapError(err);
    }
  }

  /** Entries matching the user filter for this username (escaped). At most 2: one is the only good answer. */
  async findUser(username: string): Promise<LdapEntry[]> {
    const s = this.settings;
    const attrs = [s.usernameAttribute, 'mail', 'cn', 'displayName', 'memberOf'];
    const entries = await this.search(s.baseDn, userSearchFilter(s.userFilter, username), attrs, { sizeLimit: 2 }).catch((err: LdapFailure) => {
      // More matches than the size limit: ambiguous, like two.
      if (err.kind === 'size_limit') return [{ dn: '' }, { dn: '' }];
      throw err;
    });
    return entries.map(toEntry);
  }

  /** How many entries the user filter matches with any username (paged: AD caps pages at 1000). */
  async countUsers(): Promise<number> {
    const entries = await this.search(this.settings.baseDn, allUsersFilter(this.settings.userFilter), ['1.1'], { paged: true });
    return entries.length;
  }

  /**
   * DNs of the groups that list this entry as a member: groupOfNames/groupOfUniqueNames (OpenLDAP),
   * group (Active Directory), posixGroup (memberUid). Complements memberOf, which only some
   * servers keep and only for some group classes.
   */
  async groupsOf(dn: string, username: string): Promise<string[]> {
    const d = escapeFilterValue(dn);
    const filter = `(|(&(objectClass=groupOfNames)(member=${d}))(&(objectClass=groupOfUniqueNames)(uniqueMember=${d}))(&(objectClass=group)(member=${d}))(&(objectClass=posixGroup)(memberUid=${escapeFilterValue(username)})))`;
    const entries = await this.search(this.settings.baseDn, filter, ['1.1'], { paged: true });
    return entries.map((e) => String(e.dn));
  }

  /**
   * The groups that contain these groups, directly or through further groups (nested groups, as
   * Active Directory administrators build them): a breadth-first walk up the member links, at
   * most NESTED_DEPTH levels and NESTED_MAX groups, safe against cycles. Returns only the groups
   * not given.
   */
  async parentGroupsOf(groupDns: string[]): Promise<string[]> {
    const seen = new Set(groupDns.map(normalizeDn));
    const found: string[] = [];
    let frontier = [...groupDns];
    for (let depth = 0; depth < NESTED_DEPTH && frontier.length && found.length < NESTED_MAX; depth++) {
      const next: string[] = [];
      for (let i = 0; i < frontier.length; i += NESTED_BATCH) {
        const members = frontier.slice(i, i + NESTED_BATCH).map(escapeFilterValue);
        const any = (attr: string) => `(|${members.map((m) => `(${attr}=${m})`).join('')})`;
        const filter = `(|(&(objectClass=groupOfNames)${any('member')})(&(objectClass=groupOfUniqueNames)${any('uniqueMember')})(&(objectClass=group)${any('member')}))`;
        for (const e of await this.search(this.settings.baseDn, filter, ['1.1'], { paged: true })) {
          const dn = String(e.dn);
          const key = normalizeDn(dn);
          if (seen.has(key)) continue;
          seen.add(key);
          found.push(dn);
          next.push(dn);
        }
      }
      frontier = next;
    }
    return found.slice(0, NESTED_MAX);
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => {});
  }
}

export interface LdapEntry {
  dn: string;
  attrs: Record<string, string[]>;
}

function toEntry(raw: Record<string, unknown>): LdapEntry {
  const attrs: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'dn') continue;
    const values = Array.isArray(v) ? v : [v];
    attrs[k.toLowerCase()] = values.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
  }
  return { dn: String(raw.dn ?? ''), attrs };
}

/** First value of an attribute (case-insensitive name), or ''. */
export const firstValue = (e: LdapEntry, attr: string): string => e.attrs[attr.toLowerCase()]?.[0] ?? '';

/** Runs fn on a fresh connection and always closes it. */
export async function withConnection<T>(s: LdapSettings, fn: (c: LdapConnection) => Promise<T>): Promise<T> {
  let conn: LdapConnection;
  try {
    conn = await LdapConnection.open(s);
  } catch (err) {
    throw classifyLdapError(err);
  }
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}
