/**
 * The permission table: every API route declares who may call it (RouteRule.access). This walks
 * EVERY route x EVERY role (and anonymous) and asserts allow/deny against that table, so a route
 * added without a rule, or with a rule the server does not enforce, fails here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RouteRule } from '../../src/server/http/route.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const ROLES = ['Administrator', 'Operator', 'Client'] as const;
type Who = (typeof ROLES)[number] | 'anonymous';
const PW = 'Permission-walk-passphrase-3';

function expected(rule: RouteRule, who: Who): 'allow' | 'deny' {
  const a = rule.access;
  if (a === 'public') return 'allow';
  if (who === 'anonymous') return 'deny';
  if (a === 'authenticated') return 'allow';
  const roles = Array.isArray(a) ? a : (a as { roles: readonly string[] }).roles;
  return roles.includes(who) ? 'allow' : 'deny';
}

describe('permission table: every route x every role', () => {
  let t: TestGateway;
  const clients = new Map<Who, ApiClient>();
  before(async () => {
    t = await startGateway({ tls: false });
    const admin = await adminClient(t);
    for (const role of ['Operator', 'Client'] as const) {
      const r = await admin.post('/api/v1/users', { username: `walk.${role.toLowerCase()}`, role, password: PW, mustChangePassword: false });
      assert.equal(r.status, 201, r.text);
    }
  });
  after(async () => {
    await t?.stop();
  });

  async function clientFor(who: Who): Promise<ApiClient> {
    if (who === 'anonymous') return t.client();
    if (!clients.has(who)) {
      const c = who === 'Administrator' ? await adminClient(t) : t.client();
      if (who !== 'Administrator') assert.equal((await c.login(`walk.${who.toLowerCase()}`, PW)).status, 200);
      clients.set(who, c);
    }
    return clients.get(who)!;
  }

  it('allows and denies exactly as the table says', async () => {
    assert.ok(t.gw.rules.length > 60, `only ${t.gw.rules.length} routes registered`);
    const mismatches: string[] = [];
    // Sign-out last, so the walk keeps its sessions.
    const rules = [...t.gw.rules].sort((a, b) => Number(a.url.endsWith('/logout')) - Number(b.url.endsWith('/logout')));
    for (const rule of rules) {
      for (const who of ['anonymous', ...ROLES] as Who[]) {
        const c = await clientFor(who);
        const url = rule.url.replace(/:(\w+)/g, () => (rule.url.includes('/me/sessions/') ? '0'.repeat(64) : crypto.randomUUID()));
        const r = await c.request(rule.method, url, rule.method === 'GET' || rule.method === 'DELETE' ? undefined : {});
        const denied = (r.status === 401 || r.status === 403) && /needs the role|sign in first/.test(String(r.json?.detail));
        const want = expected(rule, who);
        if ((want === 'deny') !== denied) mismatches.push(`${rule.method} ${rule.url} as ${who}: expected ${want}, got ${r.status} ${r.json?.detail ?? ''}`);
        if (want === 'deny' && who !== 'anonymous' && r.status !== 403) mismatches.push(`${rule.method} ${rule.url} as ${who}: denied with ${r.status}, not 403`);
        if (r.status >= 500) mismatches.push(`${rule.method} ${rule.url} as ${who}: ${r.status}`);
        if (rule.url.endsWith('/logout') && who !== 'anonymous') clients.delete(who);
      }
    }
    assert.deepEqual(mismatches, []);
  });

  it('has no API route outside the table', async () => {
    const admin = await clientFor('Administrator');
    const doc = (await admin.get('/api/docs/json')).json as { paths: Record<string, Record<string, unknown>> };
    const inTable = new Set(t.gw.rules.map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`));
    const outside: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const m of Object.keys(ops)) if (path.startsWith('/api/v1/') && !inTable.has(`${m.toUpperCase()} ${path}`)) outside.push(`${m.toUpperCase()} ${path}`);
    }
    assert.deepEqual(outside, []);
  });
});
