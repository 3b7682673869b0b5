import { audit } from '../../audit/log.js';
import type { SecretCtx } from '../../context.js';
import { classifyLdapError, type LdapSettings, withConnection } from './client.js';
import { ldapDomainRow, ldapSettings } from './domains.js';

export interface ConnectionTest {
  ok: boolean;
  message: string;
  /** Entries the user filter matches under the base DN (any username). */
  usersFound?: number;
}

type Stage = 'connect' | 'bind' | 'search';

function explain(s: LdapSettings, stage: Stage, err: unknown): string {
  const f = classifyLdapError(err);
  switch (f.kind) {
    case 'unreachable':
      return `server unreachable at ${s.url}: ${f.message}`;
    case 'tls':
      return `TLS failure with ${s.url}: ${f.message}. Check that tlsCa holds the CA that signed the server's certificate and that the certificate names this host.`;
    case 'invalid_credentials':
      return `invalid credentials: the server refused the bind as ${s.bindDn} (check bindDn and bindPassword)`;
    case 'no_such_object':
      return `base DN not found: "${s.baseDn}" does not exist on the server, or ${s.bindDn || 'an anonymous user'} may not read it`;
    default:
      return `${stage === 'connect' ? 'connecting' : stage === 'bind' ? 'the service bind' : 'the user search'} failed: ${f.message}`;
  }
}

/** "Test connection": service bind, then count the users the filter finds under the base DN. Audited. */
export async function testConnection(ctx: SecretCtx, domainId: string): Promise<ConnectionTest> {
  const row = await ldapDomainRow(ctx.db, domainId);
  let result: ConnectionTest;
  let settings: LdapSettings | undefined;
  try {
    settings = ldapSettings(ctx.secrets, row);
  } catch {
    result = { ok: false, message: 'the stored bind password cannot be opened (was the master key replaced?): enter it again' };
  }
  if (settings) {
    const s = settings;
    let stage: Stage = 'connect';
    try {
      result = await withConnection(s, async (c) => {
        stage = 'bind';
        await c.serviceBind();
        stage = 'search';
        const n = await c.countUsers();
        const how = s.url.startsWith('ldaps:') ? 'LDAPS' : s.startTls ? 'StartTLS' : 'plain LDAP (unencrypted)';
        return { ok: true, message: `connected to ${s.url} (${how}), bound as ${s.bindDn || 'anonymous'}, ${n} user(s) found under ${s.baseDn}`, usersFound: n };
      });
    } catch (err) {
      result = { ok: false, message: explain(s, stage, err) };
    }
  }
  const r = result!;
  await audit(ctx.db, ctx.actor, { action: 'ldap_domain.test', target: { type: 'ldap_domain', id: row.id, name: row.name }, result: r.ok ? 'success' : 'failure', details: { message: r.message } });
  return r;
}
