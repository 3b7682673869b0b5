/** Security settings, password policy, sessions, API tokens and delegated administration through the API. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const PW = 'Plant-floor-passphrase-8';

describe('accounts, settings, sessions, tokens', () => {
  let t: TestGateway;
  let admin: ApiClient;
  const mkUser = async (username: string, extra: Record<string, unknown> = {}) => {
    const r = await admin.post('/api/v1/users', { username, role: 'Client', password: PW, mustChangePassword: false, ...extra });
    assert.equal(r.status, 201, r.text);
    return r.json.user as { id: string; username: string };
  };
  const signIn = async (username: string, password = PW) => {
    const c = t.client();
    const r = await c.login(username, password);
    assert.equal(r.status, 200, r.text);
    return c;
  };
  before(async () => {
    t = await startGateway({ tls: false });
    admin = await adminClient(t);
  });
  after(async () => {
    await t?.stop();
  });

  it('applies the password policy: length, classes, common passwords, history', async () => {
    const u = await mkUser('policy.user');
    const c = await signIn('policy.user');
    const change = (newPassword: string, currentPassword = PW) => c.post('/api/v1/auth/change-password', { currentPassword, newPassword });
    assert.match((await change('Password123!')).json.detail, /commonly used password/);
    assert.match((await change('P@ssw0rd2024')).json.detail, /commonly used password/);
    assert.match((await change('short-1')).json.detail, /at least 12 characters/);
    const long = 'A-long-Passphrase-9-'.repeat(4); // 80 characters are fine
    assert.equal((await change(long)).status, 200);
    await admin.patch('/api/v1/settings/security', { enforceCharacterClasses: true, minPasswordLength: 16 });
    const c2 = await signIn('policy.user', long);
    assert.match((await c2.post('/api/v1/auth/change-password', { currentPassword: long, newPassword: 'alllowercaseletters' })).json.detail, /at least three of/);
    assert.equal((await c2.post('/api/v1/auth/change-password', { currentPassword: long, newPassword: 'Mixed-Case-Phrase-77' })).status, 200);
    // History: the previous passwords may not come back.
    const c3 = await signIn('policy.user', 'Mixed-Case-Phrase-77');
    const reuse = await c3.post('/api/v1/auth/change-password', { currentPassword: 'Mixed-Case-Phrase-77', newPassword: long });
    assert.equal(reuse.status, 400);
    assert.match(reuse.json.detail, /must differ from your last 5 passwords/);
    await admin.patch('/api/v1/settings/security', { enforceCharacterClasses: false, minPasswordLength: 12 });
    const ev = (await admin.get('/api/v1/audit?action=settings.')).json.items;
    assert.equal(ev[0].action, 'settings.security_update');
    assert.deepEqual(ev[0].details.changes.minPasswordLength, { from: 16, to: 12 });
    void u;
  });

  it('forces a password change when the password expired or an admin asks for it', async () => {
    const u = await mkUser('expiring.user');
    await admin.patch('/api/v1/settings/security', { passwordExpirationDays: 30 });
    await t.gw.database.db.updateTable('users').set({ password_changed_at: new Date(Date.now() - 31 * 86_400_000).toISOString() }).where('id', '=', u.id).execute();
    const r = await t.client().login('expiring.user', PW);
    assert.equal(r.json.mustChangePassword, true);
    await admin.patch('/api/v1/settings/security', { passwordExpirationDays: 0 });
    const v = await mkUser('forced.user');
    assert.equal((await t.client().login('forced.user', PW)).json.mustChangePassword, false);
    await admin.patch(`/api/v1/users/${v.id}`, { mustChangePassword: true });
    assert.equal((await t.client().login('forced.user', PW)).json.mustChangePassword, true);
  });

  it('uses the lockout settings, and disables accounts inactive for N days', async () => {
    await admin.patch('/api/v1/settings/security', { lockoutAttempts: 2, lockoutMinutes: 1 });
    await mkUser('lock.user');
    for (let i = 0; i < 2; i++) await t.client().login('lock.user', 'wrong-password-xyz');
    const locked = await t.client().login('lock.user', PW);
    assert.match(locked.json.detail, /locked/);
    const row = await t.gw.database.db.selectFrom('users').select(['locked_until']).where('username', '=', 'lock.user').executeTakeFirstOrThrow();
    const minutes = (Date.parse(row.locked_until!) - Date.now()) / 60_000;
    assert.ok(minutes > 0.5 && minutes <= 1, `locked for ${minutes} min`);
    // The lock ends by itself when the duration is over.
    await t.gw.database.db.updateTable('users').set({ locked_until: new Date(Date.now() - 1000).toISOString() }).where('username', '=', 'lock.user').execute();
    assert.equal((await t.client().login('lock.user', PW)).status, 200);
    await admin.patch('/api/v1/settings/security', { lockoutAttempts: 5, lockoutMinutes: 15 });

    const idle = await mkUser('idle.user');
    await t.gw.database.db.updateTable('users').set({ last_login_at: new Date(Date.now() - 91 * 86_400_000).toISOString() }).where('id', '=', idle.id).execute();
    const r = await t.client().login('idle.user', PW);
    assert.equal(r.status, 401);
    assert.match(r.json.detail, /disabled/);
    assert.equal((await admin.get(`/api/v1/users/${idle.id}`)).json.status, 'disabled');
    assert.equal((await admin.get('/api/v1/audit?action=user.disable_inactive')).json.items[0].target.name, 'idle.user');
  });

  it('lists my sessions, revokes one, and lets an admin end them all', async () => {
    const u = await mkUser('multi.session');
    const a = await signIn('multi.session');
    const b = await signIn('multi.session');
    const mine = (await a.get('/api/v1/me/sessions')).json.items as { id: string; current: boolean }[];
    assert.equal(mine.length, 2);
    assert.equal(mine.filter((s) => s.current).length, 1);
    const other = mine.find((s) => !s.current)!;
    assert.equal((await a.delete(`/api/v1/me/sessions/${other.id}`)).status, 204);
    assert.equal((await b.get('/api/v1/me/assets')).status, 401, 'b was signed out');
    assert.equal((await admin.get(`/api/v1/users/${u.id}/sessions`)).json.items.length, 1);
    assert.deepEqual((await admin.delete(`/api/v1/users/${u.id}/sessions`)).json, { ended: 1 });
    assert.equal((await a.get('/api/v1/me/assets')).status, 401);
  });

  it('ends sessions after the idle timeout and the absolute lifetime set in the security settings', async () => {
    await mkUser('timeout.user');
    await admin.patch('/api/v1/settings/security', { sessionIdleMinutes: 5, sessionLifetimeHours: 2 });
    const c = await signIn('timeout.user');
    const row = await t.gw.database.db.selectFrom('console_sessions').innerJoin('users', 'users.id', 'console_sessions.user_id').select(['console_sessions.id', 'console_sessions.expires_at']).where('users.username', '=', 'timeout.user').executeTakeFirstOrThrow();
    const hours = (Date.parse(row.expires_at) - Date.now()) / 3_600_000;
    assert.ok(hours > 1.9 && hours <= 2, `lifetime ${hours} h`);
    // 4 idle minutes: still alive; 6: gone.
    await t.gw.database.db.updateTable('console_sessions').set({ last_seen_at: new Date(Date.now() - 4 * 60_000).toISOString() }).where('id', '=', row.id).execute();
    assert.equal((await c.get('/api/v1/me')).status, 200);
    await t.gw.database.db.updateTable('console_sessions').set({ last_seen_at: new Date(Date.now() - 6 * 60_000).toISOString() }).where('id', '=', row.id).execute();
    assert.equal((await c.get('/api/v1/me')).status, 401);
    // Past the absolute lifetime, even an active session ends.
    const d = await signIn('timeout.user');
    await t.gw.database.db.updateTable('console_sessions').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('user_id', '=', (await t.gw.database.db.selectFrom('users').select('id').where('username', '=', 'timeout.user').executeTakeFirstOrThrow()).id).execute();
    assert.equal((await d.get('/api/v1/me')).status, 401);
    await admin.patch('/api/v1/settings/security', { sessionIdleMinutes: null, sessionLifetimeHours: null });
  });

  it('shows the configurable login message before sign-in', async () => {
    const anon = t.client();
    const def = await anon.get('/api/v1/auth/login-message');
    assert.equal(def.status, 200);
    assert.equal(def.json.enabled, true);
    assert.match(def.json.text, /authorized users only/);
    await admin.patch('/api/v1/settings/login-message', { title: 'ACME Chemicals - Werk Nord', text: 'Use is logged.' });
    assert.deepEqual((await anon.get('/api/v1/auth/login-message')).json, { enabled: true, title: 'ACME Chemicals - Werk Nord', text: 'Use is logged.' });
  });

  it('issues API tokens: shown once, stored hashed, role-capped, expiring, revocable, last use recorded', async () => {
    const exp = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const r = await admin.post('/api/v1/tokens', { name: 'ServiceNow', role: 'Operator', expiresAt: exp });
    assert.equal(r.status, 201);
    const secret: string = r.json.secret;
    assert.match(secret, /^pct_[A-Za-z0-9_-]{43}$/);
    const stored = await t.gw.database.db.selectFrom('api_tokens').selectAll().where('id', '=', r.json.token.id).executeTakeFirstOrThrow();
    assert.notEqual(stored.token_hash, secret);
    assert.ok(!JSON.stringify((await admin.get('/api/v1/tokens')).json).includes(secret.slice(10)), 'never listed');
    const bearer = { authorization: `Bearer ${secret}` };
    const read = await t.client().request('GET', '/api/v1/sites', undefined, bearer);
    assert.equal(read.status, 200, 'Operator may read');
    const write = await t.client().request('POST', '/api/v1/sites', { name: 'From ITSM' }, bearer);
    assert.equal(write.status, 403, 'the token role caps the admin who made it');
    const listed = (await admin.get('/api/v1/tokens')).json.items.find((x: { id: string }) => x.id === r.json.token.id);
    assert.ok(listed.lastUsedAt);
    assert.equal(listed.lastUsedIp, '127.0.0.1');
    assert.equal((await admin.get('/api/v1/audit?action=token.use')).json.items[0].target.name, 'ServiceNow');
    // An admin-role token may write, and its actions are audited as "<user> (token <name>)".
    const adminTok = (await admin.post('/api/v1/tokens', { name: 'CMDB sync', role: 'Administrator', expiresAt: exp })).json.secret;
    const w = await t.client().request('POST', '/api/v1/sites', { name: 'From CMDB' }, { authorization: `Bearer ${adminTok}` });
    assert.equal(w.status, 201, w.text);
    assert.equal((await admin.get('/api/v1/audit?action=site.create')).json.items[0].actor.name, 'admin (token CMDB sync)');
    assert.equal((await admin.delete(`/api/v1/tokens/${r.json.token.id}`)).status, 204);
    assert.equal((await t.client().request('GET', '/api/v1/sites', undefined, bearer)).status, 401, 'revoked');
    await t.gw.database.db.updateTable('api_tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('name', '=', 'CMDB sync').execute();
    assert.equal((await t.client().request('GET', '/api/v1/sites', undefined, { authorization: `Bearer ${adminTok}` })).status, 401, 'expired');
    const actions = (await admin.get('/api/v1/audit?action=token.')).json.items.map((e: { action: string }) => e.action);
    assert.ok(actions.includes('token.create') && actions.includes('token.revoke'));
  });

  it('delegates user administration to managers of a user-management group, for its members only', async () => {
    const manager = await mkUser('shift.lead', { role: 'Operator' });
    const member = await mkUser('shift.worker');
    const outsider = await mkUser('other.worker');
    const g = (await admin.post('/api/v1/groups', { name: 'Shift B', kind: 'user_management' })).json;
    await admin.post(`/api/v1/groups/${g.id}/members`, { userId: member.id });
    await admin.post(`/api/v1/groups/${g.id}/managers`, { userId: manager.id });
    const lead = await signIn('shift.lead');
    assert.deepEqual((await lead.get('/api/v1/me/managed-users')).json.items.map((u: { username: string }) => u.username), ['shift.worker']);
    assert.equal((await lead.patch(`/api/v1/users/${member.id}`, { status: 'disabled' })).status, 200);
    assert.equal((await lead.patch(`/api/v1/users/${member.id}`, { status: 'active' })).status, 200);
    const reset = await lead.post(`/api/v1/users/${member.id}/reset-password`);
    assert.equal(reset.status, 200);
    assert.ok(reset.json.oneTimePassword);
    const escalate = await lead.patch(`/api/v1/users/${member.id}`, { role: 'Administrator' });
    assert.equal(escalate.status, 403);
    assert.match(escalate.json.detail, /not role/);
    assert.equal((await lead.patch(`/api/v1/users/${outsider.id}`, { status: 'disabled' })).status, 403, 'not a member');
    assert.equal((await lead.post(`/api/v1/users/${t.gw.bootstrap.username === 'admin' ? (await admin.get('/api/v1/users?username=admin')).json.items[0].id : ''}/reset-password`)).status, 403);
    const ev = (await admin.get('/api/v1/audit?action=user.password_reset')).json.items[0];
    assert.equal(ev.actor.name, 'shift.lead');
  });
});
