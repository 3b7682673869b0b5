import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from 'ldapts';
import type { SecretCtx } from '../../src/server/context.js';
import { ldapLogin } from '../../src/server/identity/ldap/authenticate.js';
import { withConnection } from '../../src/server/identity/ldap/client.js';
import { ldapDomainRow, ldapSettings } from '../../src/server/identity/ldap/domains.js';
import { escapeFilterValue, userSearchFilter } from '../../src/server/identity/ldap/filter.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';
import { type Slapd, startSlapd } from '../helpers/slapd.js';

/** A port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('LDAP / Active Directory against a real slapd', () => {
  let ldap: Slapd;
  let t: TestGateway;
  let api: ApiClient;
  let ctx: SecretCtx;
  let domainId: string;
  const groups: Record<string, string> = {};
  const LOGIN_IP = '192.0.2.10';

  const auditText = async () => JSON.stringify(await t.gw.database.db.selectFrom('audit_events').selectAll().execute());
  const userRow = (username: string) => t.gw.database.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  const membersOf = async (groupId: string) =>
    (await t.gw.database.db.selectFrom('group_members').innerJoin('users', 'users.id', 'group_members.user_id').select('users.username').where('group_id', '=', groupId).execute()).map((r) => r.username).sort();
  const plantDomain = () => ({
    name: 'Plant directory',
    url: ldap.url,
    bindDn: ldap.bindDn,
    bindPassword: ldap.bindPassword,
    baseDn: ldap.baseDn,
    groupMappings: [
      { group: ldap.groups.admins, role: 'Administrator' },
      // Spacing and case differ from what the directory returns: DNs are compared normalized.
      { group: 'CN=ot-operators, OU=groups, DC=plant, DC=test', role: 'Operator', groupId: groups.line1 },
      // A bare CN; this group is a groupOfUniqueNames, found by the group search (no memberOf).
      { group: 'vendors', role: 'Client', groupId: groups.vendorAccess },
    ],
  });
  const createDomain = async (body: Record<string, unknown>) => {
    const r = await api.post('/api/v1/ldap-domains', body);
    assert.equal(r.status, 201, r.text);
    return r.json as { id: string };
  };

  before(async () => {
    ldap = await startSlapd();
    t = await startGateway({ tls: false });
    const admin = await adminClient(t);
    api = admin;
    ctx = { db: t.gw.database.db, actor: { id: null, name: 'login', ip: LOGIN_IP }, secrets: t.gw.secrets };
    for (const [key, name, kind] of [['line1', 'Line 1 engineers', 'permission'], ['vendorAccess', 'Vendor access', 'permission'], ['userAdmins', 'User admins', 'user_management']] as const) {
      const r = await admin.post('/api/v1/groups', { name, kind });
      assert.equal(r.status, 201, r.text);
      groups[key] = r.json.id;
    }
  });

  after(async () => {
    await t?.stop();
    const pid = ldap?.pid;
    await ldap?.stop();
    if (pid) assert.throws(() => process.kill(pid, 0), /ESRCH/, 'slapd is gone after stop()');
  });

  it('creates, reads, updates and deletes domains; the bind password is write-only and never audited', async () => {
    const created = await api.post('/api/v1/ldap-domains', plantDomain());
    assert.equal(created.status, 201, created.text);
    domainId = created.json.id;
    assert.equal(created.json.hasBindPassword, true);
    assert.equal(created.json.userFilter, '(&(objectClass=person)(uid={username}))');
    assert.equal(created.json.usernameAttribute, 'uid');
    assert.equal(created.json.enabled, true);
    assert.ok(!('bindPassword' in created.json));

    const row = await ldapDomainRow(t.gw.database.db, domainId);
    assert.match(row.bind_password_enc!, /^v1\./);
    assert.ok(!row.bind_password_enc!.includes(ldap.bindPassword));
    assert.equal(t.gw.secrets.open(row.bind_password_enc!, 'ldap.bind'), ldap.bindPassword);
    assert.throws(() => t.gw.secrets.open(row.bind_password_enc!, 'totp'), /authentication/, 'sealed for its purpose only');

    const list = await api.get('/api/v1/ldap-domains');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.items.map((d: { name: string }) => d.name), ['Plant directory']);
    const one = await api.get(`/api/v1/ldap-domains/${domainId}`);
    assert.equal(one.json.bindDn, ldap.bindDn);

    // Invalid settings are refused with the field at fault.
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ url: 'http://127.0.0.1:389' }, /ldap:\/\/ or ldaps:\/\//],
      [{ url: 'ldap://127.0.0.1:389/dc=x?uid' }, /ldap:\/\/ or ldaps:\/\//],
      [{ userFilter: '(uid=alice)' }, /must contain \{username\}/],
      [{ userFilter: '(&(uid={username})' }, /valid LDAP filter/],
      [{ usernameAttribute: 'uid)(x' }, /usernameAttribute/],
      [{ bindPassword: undefined }, /bindPassword is required with a bindDn/],
      [{ url: ldap.ldapsUrl, startTls: true }, /startTls is for ldap:\/\//],
      [{ tlsCa: 'not a certificate' }, /PEM/],
      [{ tlsCa: ldap.caPem }, /only used with ldaps:\/\/ or startTls/],
      [{ groupMappings: [{ group: 'cn=x' }] }, /a role, a groupId, or both/],
      [{ groupMappings: [{ group: 'cn=x', role: 'Root' }] }, /role/],
      [{ groupMappings: [{ group: 'cn=x', groupId: groups.userAdmins }] }, /only permission groups/],
      [{ groupMappings: [{ group: 'cn=x', groupId: '00000000-0000-4000-8000-000000000000' }] }, /does not exist/],
      [{ name: 'plant DIRECTORY' }, /already exists/],
    ];
    for (const [change, detail] of bad) {
      const r = await api.post('/api/v1/ldap-domains', { ...plantDomain(), name: 'Other', ...change });
      assert.ok(r.status === 400 || r.status === 409, `${JSON.stringify(change)}: ${r.status} ${r.text}`);
      assert.match(r.json.detail, detail, JSON.stringify(change));
    }

    // A stored password never follows the domain to another server.
    const moved = await api.patch(`/api/v1/ldap-domains/${domainId}`, { url: 'ldap://198.51.100.7:389' });
    assert.equal(moved.status, 400);
    assert.match(moved.json.detail, /re-enter bindPassword/);
    const renamed = await api.patch(`/api/v1/ldap-domains/${domainId}`, { name: 'Plant directory (OpenLDAP)' });
    assert.equal(renamed.status, 200, renamed.text);
    const rekeyed = await api.patch(`/api/v1/ldap-domains/${domainId}`, { url: `${ldap.url}/`, bindPassword: ldap.bindPassword });
    assert.equal(rekeyed.status, 200, rekeyed.text);
    assert.equal(rekeyed.json.url, ldap.url, 'the trailing slash is dropped');

    const spare = await createDomain({ ...plantDomain(), name: 'Spare', enabled: false });
    const del = await api.delete(`/api/v1/ldap-domains/${spare.id}`);
    assert.equal(del.status, 204);
    assert.equal((await api.get(`/api/v1/ldap-domains/${spare.id}`)).status, 404);

    const everything = [created.text, list.text, one.text, renamed.text, rekeyed.text, await auditText()].join('\n');
    assert.ok(!everything.includes(ldap.bindPassword), 'the bind password is in no response and no audit row');
    const actions = (await t.gw.database.db.selectFrom('audit_events').select(['action', 'details']).where('action', 'like', 'ldap_domain.%').orderBy('seq').execute());
    assert.deepEqual(actions.map((a) => a.action), ['ldap_domain.create', 'ldap_domain.update', 'ldap_domain.update', 'ldap_domain.create', 'ldap_domain.delete']);
    assert.equal(JSON.parse(actions[2]!.details).bindCredential, 'replaced');
  });

  it('tests connections: ok, wrong bind password, unreachable port, LDAPS with and without the CA, StartTLS, missing base DN', async () => {
    const test = async (body: Record<string, unknown>) => {
      const d = await createDomain({ ...plantDomain(), enabled: false, ...body });
      const r = await api.post(`/api/v1/ldap-domains/${d.id}/test`);
      assert.equal(r.status, 200, r.text);
      return r.json as { ok: boolean; message: string; usersFound?: number };
    };
    const ok = await api.post(`/api/v1/ldap-domains/${domainId}/test`);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.ok, true, ok.json.message);
    assert.equal(ok.json.usersFound, 3, 'alice, bob and carol');
    assert.match(ok.json.message, /plain LDAP \(unencrypted\)/);

    const wrong = await test({ name: 'Wrong bind password', bindPassword: 'not-the-password' });
    assert.equal(wrong.ok, false);
    assert.match(wrong.message, /^invalid credentials/);

    const port = await closedPort();
    const down = await test({ name: 'Unreachable', url: `ldap://127.0.0.1:${port}` });
    assert.equal(down.ok, false);
    assert.match(down.message, /^server unreachable .*ECONNREFUSED/);

    const ldaps = await test({ name: 'LDAPS', url: ldap.ldapsUrl, tlsCa: ldap.caPem });
    assert.equal(ldaps.ok, true, ldaps.message);
    assert.equal(ldaps.usersFound, 3);
    assert.match(ldaps.message, /\(LDAPS\)/);

    const noCa = await test({ name: 'LDAPS without CA', url: ldap.ldapsUrl });
    assert.equal(noCa.ok, false);
    assert.match(noCa.message, /^TLS failure .*SELF_SIGNED_CERT_IN_CHAIN/);

    const startTls = await test({ name: 'StartTLS', startTls: true, tlsCa: ldap.caPem });
    assert.equal(startTls.ok, true, startTls.message);
    assert.match(startTls.message, /\(StartTLS\)/);

    // The certificate names 127.0.0.1 only: the StartTLS name check must use the URL's host.
    const wrongName = await test({ name: 'StartTLS wrong name', url: ldap.url.replace('127.0.0.1', 'localhost'), startTls: true, tlsCa: ldap.caPem });
    assert.equal(wrongName.ok, false);
    assert.match(wrongName.message, /^TLS failure .*ERR_TLS_CERT_ALTNAME_INVALID/);

    const noBase = await test({ name: 'Missing base', baseDn: 'ou=nowhere,dc=plant,dc=test' });
    assert.equal(noBase.ok, false);
    assert.match(noBase.message, /^base DN not found/);

    const audited = await t.gw.database.db.selectFrom('audit_events').select(['result']).where('action', '=', 'ldap_domain.test').execute();
    assert.deepEqual(audited.map((a) => a.result).sort(), ['failure', 'failure', 'failure', 'failure', 'failure', 'success', 'success', 'success']);
    assert.ok(!(await auditText()).includes(ldap.bindPassword));
  });

  it('signs in alice: provisions the user, maps the highest role and syncs permission groups', async () => {
    const r = await ldapLogin(ctx, 'alice', ldap.users.alice.password);
    assert.ok(r.ok, JSON.stringify(r));
    const u = r.user;
    assert.equal(u.username, 'alice');
    assert.equal(u.type, 'ldap');
    assert.equal(u.role, 'Administrator', 'ot-admins (Administrator) beats ot-operators (Operator)');
    assert.equal(u.password_hash, null);
    assert.equal(u.ldap_domain_id, domainId);
    assert.equal(u.ldap_dn, ldap.users.alice.dn);
    assert.equal(u.email, 'alice@plant.test');
    assert.equal(u.display_name, 'Alice Engineer');
    assert.equal(u.status, 'active');
    assert.deepEqual(await membersOf(groups.line1!), ['alice']);
    assert.deepEqual(await membersOf(groups.vendorAccess!), []);

    const events = await t.gw.database.db.selectFrom('audit_events').selectAll().where('action', 'in', ['user.create', 'group.member_add']).where('target_name', 'in', ['alice', 'Line 1 engineers']).orderBy('seq').execute();
    assert.deepEqual(events.map((e) => [e.action, e.actor_name, e.source_ip]), [['user.create', 'system', LOGIN_IP], ['group.member_add', 'system', LOGIN_IP]]);
    assert.equal(JSON.parse(events[0]!.details).source, 'ldap');
    assert.ok(!(await auditText()).includes(ldap.users.alice.password), 'the password is never audited');

    // Same again: nothing changed, nothing audited.
    const seq = (await t.gw.database.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq;
    const again = await ldapLogin(ctx, 'ALICE', ldap.users.alice.password);
    assert.ok(again.ok, JSON.stringify(again));
    assert.equal(again.user.id, u.id, 'usernames match without case');
    assert.equal((await t.gw.database.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq, seq);
  });

  it('signs in bob through a groupOfUniqueNames group found by the group search', async () => {
    const r = await ldapLogin(ctx, 'bob', ldap.users.bob.password);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.user.role, 'Client');
    assert.deepEqual(await membersOf(groups.vendorAccess!), ['bob']);
    assert.deepEqual(await membersOf(groups.line1!), ['alice']);
  });

  it('follows the directory on every login: role, e-mail, and mapped group memberships', async () => {
    // Directory side: alice gets a new e-mail address.
    const root = new Client({ url: ldap.url });
    await root.bind(ldap.root.dn, ldap.root.password);
    const { Attribute, Change } = await import('ldapts');
    await root.modify(ldap.users.alice.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'mail', values: ['a.engineer@plant.test'] }) }));
    await root.unbind();
    // Gateway side: ot-admins no longer grants Administrator; ot-operators no longer gives Line 1.
    const groupMappings = [
      { group: ldap.groups.operators, role: 'Operator' },
      { group: 'vendors', role: 'Client', groupId: groups.vendorAccess },
      // Line 1 stays managed by the domain, through a group alice is not in.
      { group: 'cn=nobody-here,ou=groups,dc=plant,dc=test', groupId: groups.line1 },
    ];
    const p = await api.patch(`/api/v1/ldap-domains/${domainId}`, { groupMappings });
    assert.equal(p.status, 200, p.text);
    // A manual membership in a group no mapping names is left alone.
    const manual = await t.gw.database.db.insertInto('group_members').values({ group_id: groups.userAdmins!, user_id: (await userRow('alice'))!.id, added_at: new Date().toISOString() }).execute();
    assert.ok(manual);

    const r = await ldapLogin(ctx, 'alice', ldap.users.alice.password);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.user.role, 'Operator');
    assert.equal(r.user.email, 'a.engineer@plant.test');
    assert.deepEqual(await membersOf(groups.line1!), []);
    assert.deepEqual(await membersOf(groups.userAdmins!), ['alice']);

    const upd = await t.gw.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'user.update').where('target_name', '=', 'alice').executeTakeFirstOrThrow();
    const changes = JSON.parse(upd.details).changes;
    assert.deepEqual(changes.role, { from: 'Administrator', to: 'Operator' });
    assert.deepEqual(changes.email, { from: 'alice@plant.test', to: 'a.engineer@plant.test' });
    const removed = await t.gw.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'group.member_remove').where('target_name', '=', 'Line 1 engineers').executeTakeFirstOrThrow();
    assert.equal(JSON.parse(removed.details).user, 'alice');
    assert.equal(removed.actor_name, 'system');
  });

  it('refuses a wrong password, an unknown user, and a user without a mapped group', async () => {
    const before = await userRow('alice');
    const wrong = await ldapLogin(ctx, 'alice', 'not-alices-password');
    assert.deepEqual(wrong, { ok: false, reason: 'ldap: wrong password' });
    assert.deepEqual(await userRow('alice'), before, 'a failed login changes nothing');

    const unknown = await ldapLogin(ctx, 'mallory', 'whatever-password');
    assert.deepEqual(unknown, { ok: false, reason: 'ldap: user not found' });

    const carol = await ldapLogin(ctx, 'carol', ldap.users.carol.password);
    assert.deepEqual(carol, { ok: false, reason: 'ldap: no group mapping grants a role' });
    assert.equal(await userRow('carol'), undefined, 'carol is not provisioned');
    // Carol's password was right: a wrong one is still "wrong password", checked before groups.
    assert.deepEqual(await ldapLogin(ctx, 'carol', 'nope-nope-nope'), { ok: false, reason: 'ldap: wrong password' });
  });

  it('escapes the username in the filter: injections match no other user', async () => {
    assert.equal(escapeFilterValue('a*b(c)d\\e\u0000f'), 'a\\2ab\\28c\\29d\\5ce\\00f');
    assert.equal(userSearchFilter('(&(objectClass=person)(uid={username}))', 'al*'), '(&(objectClass=person)(uid=al\\2a))');

    const settings = ldapSettings(t.gw.secrets, await ldapDomainRow(t.gw.database.db, domainId));
    const attacks = ['*', 'al*', '*e*', 'alice)(uid=*', '*)(|(uid=*', 'alice)(|(objectClass=*)', 'alice\\', 'alice\u0000', '\u0000', '(uid=bob)', 'bob)(!(uid=bob'];
    await withConnection(settings, async (c) => {
      await c.serviceBind();
      // The attacks are real: the same strings unescaped would match users.
      assert.ok((await c.search(ldap.baseDn, '(&(objectClass=person)(uid=al*))', ['uid'])).length === 1, 'raw al* matches alice');
      assert.ok((await c.search(ldap.baseDn, '(&(objectClass=person)(uid=*e*))', ['uid'])).length === 1, 'raw *e* matches alice');
      for (const a of attacks) assert.deepEqual(await c.findUser(a), [], `findUser(${JSON.stringify(a)}) matches nobody`);
      assert.equal((await c.findUser('alice')).length, 1, 'the real name still matches');
    });
    for (const a of attacks) {
      const r = await ldapLogin(ctx, a, ldap.users.alice.password);
      assert.equal(r.ok, false, JSON.stringify(a));
    }
    assert.equal(await userRow('*'), undefined);
  });

  it('refuses an empty password before binding (the directory itself would accept it as an unauthenticated bind)', async () => {
    const raw = new Client({ url: ldap.url });
    await raw.bind(ldap.users.alice.dn, ''); // the server says yes: this proves the refusal is ours
    await raw.unbind();
    const seq = (await t.gw.database.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq;
    for (const name of ['alice', 'carol', 'mallory']) {
      assert.deepEqual(await ldapLogin(ctx, name, ''), { ok: false, reason: 'ldap: empty password refused' });
    }
    assert.equal((await t.gw.database.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq, seq, 'nothing was provisioned or changed');
  });

  it('reports an unreachable directory, and keeps a user on their own domain', async () => {
    const broken = await createDomain({ ...plantDomain(), name: 'A broken directory', url: `ldap://127.0.0.1:${await closedPort()}` });
    try {
      const r = await ldapLogin(ctx, 'mallory', 'whatever-password');
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, /^ldap: server unreachable \(A broken directory: .*ECONNREFUSED/);
      // alice is linked to her domain: only that one is asked.
      const alice = await ldapLogin(ctx, 'alice', ldap.users.alice.password);
      assert.ok(alice.ok, JSON.stringify(alice));
      // A local account is never taken over by a directory login.
      assert.deepEqual(await ldapLogin(ctx, t.admin.username, ldap.users.alice.password), { ok: false, reason: 'ldap: a local account has this username' });
    } finally {
      assert.equal((await api.delete(`/api/v1/ldap-domains/${broken.id}`)).status, 204);
    }
    // The domain with users cannot be deleted.
    const del = await api.delete(`/api/v1/ldap-domains/${domainId}`);
    assert.equal(del.status, 409);
    assert.match(del.json.detail, /still has 2 user\(s\)/);
  });
  it('signs LDAP users in through the console login, still requiring the second factor; outages do not lock them out', async () => {
    const c = t.client();
    const r = await c.login('bob', ldap.users.bob.password);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.user.type, 'ldap');
    assert.equal(r.json.stage, 'complete');
    assert.equal((await api.patch('/api/v1/settings/security', { otpRequiredGlobal: true })).status, 200);
    const mfa = await t.client().login('bob', ldap.users.bob.password);
    assert.equal(mfa.json.stage, 'enroll', 'directory users need the second factor too');
    assert.equal((await api.patch('/api/v1/settings/security', { otpRequiredGlobal: false })).status, 200);
    const wrong = await t.client().login('bob', 'not-bobs-password');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.detail, 'invalid username or password');
    const failures = (await userRow('bob'))!.failed_logins;
    assert.equal(failures, 1, 'a wrong directory password counts toward the lockout');
    const ev = (await api.get('/api/v1/audit?action=auth.login&result=failure')).json.items[0];
    assert.equal(ev.details.reason, 'ldap: wrong password');
    // A directory outage is not the user's fault: no failure counted.
    const d = (await api.get(`/api/v1/ldap-domains/${(await userRow('bob'))!.ldap_domain_id}`)).json;
    assert.ok(d.id, 'bob is linked to his domain');
    const down = await api.patch(`/api/v1/ldap-domains/${d.id}`, { url: 'ldap://127.0.0.1:1', bindPassword: ldap.bindPassword });
    assert.equal(down.status, 200, down.text);
    assert.equal((await t.client().login('bob', ldap.users.bob.password)).status, 401);
    assert.equal((await userRow('bob'))!.failed_logins, 1);
    await api.patch(`/api/v1/ldap-domains/${d.id}`, { url: ldap.url, bindPassword: ldap.bindPassword });
    assert.equal((await t.client().login('bob', ldap.users.bob.password)).status, 200);
  });

  it('never demotes the last active administrator through the directory', async () => {
    const db = t.gw.database.db;
    assert.equal((await api.patch(`/api/v1/ldap-domains/${domainId}`, { groupMappings: plantDomain().groupMappings })).status, 200);
    const first = await ldapLogin(ctx, 'alice', ldap.users.alice.password);
    assert.ok(first.ok, JSON.stringify(first));
    assert.equal(first.user.role, 'Administrator');
    // The directory side changes: ot-admins no longer grants Administrator.
    assert.equal((await api.patch(`/api/v1/ldap-domains/${domainId}`, { groupMappings: [{ group: ldap.groups.operators, role: 'Operator' }] })).status, 200);
    // And alice is the only active administrator left.
    await db.updateTable('users').set({ status: 'disabled' }).where('username', '=', t.admin.username).execute();
    try {
      const kept = await ldapLogin(ctx, 'alice', ldap.users.alice.password);
      assert.ok(kept.ok, JSON.stringify(kept));
      assert.equal(kept.user.role, 'Administrator', 'the gateway keeps one administrator');
      const ev = await db.selectFrom('audit_events').selectAll().where('action', '=', 'user.update').where('target_name', '=', 'alice').where('result', '=', 'failure').executeTakeFirstOrThrow();
      const details = JSON.parse(ev.details);
      assert.deepEqual(details.withheld.role, { from: 'Administrator', to: 'Operator' });
      assert.match(details.reason, /last active administrator/);
    } finally {
      await db.updateTable('users').set({ status: 'active' }).where('username', '=', t.admin.username).execute();
    }
    // With another administrator active again, the directory's answer applies.
    const demoted = await ldapLogin(ctx, 'alice', ldap.users.alice.password);
    assert.ok(demoted.ok, JSON.stringify(demoted));
    assert.equal(demoted.user.role, 'Operator');
  });

  it('follows nested groups (a group in a group in a group), safely through a cycle', async () => {
    const root = new Client({ url: ldap.url });
    await root.bind(ldap.root.dn, ldap.root.password);
    const staff = `cn=plant-staff,ou=groups,${ldap.baseDn}`;
    const site = `cn=site-all,ou=groups,${ldap.baseDn}`;
    try {
      // ot-operators (alice) is in plant-staff, which is in site-all, which is in plant-staff again.
      await root.add(staff, { objectClass: 'groupOfNames', cn: 'plant-staff', member: [ldap.groups.operators] });
      await root.add(site, { objectClass: 'groupOfUniqueNames', cn: 'site-all', uniqueMember: [staff] });
      const { Attribute, Change } = await import('ldapts');
      await root.modify(staff, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [site] }) }));
      const groupMappings = [
        { group: ldap.groups.operators, role: 'Operator' },
        { group: 'vendors', role: 'Client', groupId: groups.vendorAccess },
        { group: 'site-all', groupId: groups.line1 },
      ];
      assert.equal((await api.patch(`/api/v1/ldap-domains/${domainId}`, { groupMappings })).status, 200);
      const alice = await ldapLogin(ctx, 'alice', ldap.users.alice.password);
      assert.ok(alice.ok, JSON.stringify(alice));
      const bob = await ldapLogin(ctx, 'bob', ldap.users.bob.password);
      assert.ok(bob.ok, JSON.stringify(bob));
      assert.deepEqual(await membersOf(groups.line1!), ['alice'], 'two levels up, through the cycle, and only for alice');
    } finally {
      await root.del(site).catch(() => {});
      await root.del(staff).catch(() => {});
      await root.unbind();
    }
  });
});
