import assert from 'node:assert/strict';
import { get } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { adminClient, startGateway, type TestGateway } from '../helpers/gateway.js';

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('authentication and the public surface', () => {
  let t: TestGateway;
  before(async () => {
    t = await startGateway();
  });
  after(async () => {
    await t?.stop();
  });

  it('serves /healthz over HTTPS with its self-signed certificate', async () => {
    assert.match(t.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await httpsGet(`${t.url}/healthz`, t.gw.tls!.cert);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { status: 'ok', database: 'sqlite', version: '0.1.0' });
  });

  it('answers every API route with 401 problem+json without a session, except login, session, the login message, the signed ITSM webhook and the ticketed node-to-node watch', async () => {
    const c = t.client();
    for (const rule of t.gw.rules) {
      const url = rule.url.replaceAll(':id', crypto.randomUUID()).replaceAll(':userId', crypto.randomUUID());
      const r = await c.request(rule.method, url, rule.method === 'GET' || rule.method === 'DELETE' ? undefined : {});
      if (rule.access === 'public') continue;
      assert.equal(r.status, 401, `${rule.method} ${rule.url} gave ${r.status}`);
      assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(r.json.status, 401);
    }
    assert.deepEqual(t.gw.rules.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`).sort(), ['GET /api/v1/auth/login-message', 'GET /api/v1/auth/session', 'GET /api/v1/internal/sessions/:id/watch', 'POST /api/v1/auth/login', 'POST /api/v1/requests/itsm/webhook']);
    // The node-to-node watch has no session: a one-time node ticket is its authentication (docs/sessions.md).
    const ws = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    for (const extra of [{}, { 'x-portcullis-node-ticket': 'A'.repeat(43) }] as Record<string, string>[]) {
      const node = await c.request('GET', `/api/v1/internal/sessions/${crypto.randomUUID()}/watch`, undefined, { ...ws, ...extra });
      assert.equal(node.status, 401, node.text);
      assert.match(node.json.detail, /node ticket/);
    }
    // The ITSM webhook has no session: its HMAC signature is the authentication (docs/requests.md).
    const hook = await c.request('POST', '/api/v1/requests/itsm/webhook', { ticket: 'CHG-1', state: 'approved' });
    assert.equal(hook.status, 401, hook.text);
    for (const path of ['/metrics', '/api/docs', '/api/docs/json']) assert.equal((await c.get(path)).status, 401, path);
  });

  it('forces the first admin to change the one-time password before anything else', async () => {
    const c = t.client();
    const bad = await c.login('admin', 'wrong-password-123');
    assert.equal(bad.status, 401);
    assert.equal(bad.json.detail, 'invalid username or password');
    const ghost = await c.login('nobody', 'wrong-password-123');
    assert.equal(ghost.json.detail, bad.json.detail, 'no account enumeration');
    const r = await c.login('admin', t.admin.password);
    assert.equal(r.status, 200);
    assert.equal(r.json.mustChangePassword, true);
    assert.match(String(r.headers['set-cookie']), /__Host-portcullis=.*HttpOnly.*Secure.*SameSite=Strict/i);
    const blocked = await c.get('/api/v1/sites');
    assert.equal(blocked.status, 403);
    assert.equal(blocked.json.type, 'urn:portcullis:problem:password_change_required');
    const weak = await c.post('/api/v1/auth/change-password', { currentPassword: t.admin.password, newPassword: 'short' });
    assert.equal(weak.status, 400);
    assert.match(weak.json.detail, /at least 12 characters/);
    const ok = await c.post('/api/v1/auth/change-password', { currentPassword: t.admin.password, newPassword: 'A-much-better-passphrase-42' });
    assert.equal(ok.status, 200);
    t.admin.password = 'A-much-better-passphrase-42';
    assert.equal((await c.get('/api/v1/sites')).status, 200);
    const actions = await c.get('/api/v1/audit?action=auth.login');
    assert.deepEqual(actions.json.items.map((e: { result: string }) => e.result), ['success', 'failure', 'failure']);
    assert.match(actions.json.items[1].details.reason, /^unknown user/);
  });

  it('requires the CSRF token on state-changing requests', async () => {
    const c = await adminClient(t);
    const noToken = await c.post('/api/v1/sites', { name: 'CSRF test' }, { 'x-csrf-token': '' });
    assert.equal(noToken.status, 403);
    assert.match(noToken.json.detail, /x-csrf-token/);
    assert.equal((await c.post('/api/v1/sites', { name: 'CSRF test' })).status, 201);
  });

  it('enforces roles: an Operator reads but cannot change', async () => {
    const admin = await adminClient(t);
    const created = await admin.post('/api/v1/users', { username: 'op.anna', role: 'Operator' });
    assert.equal(created.status, 201);
    const op = t.client();
    await op.login('op.anna', created.json.oneTimePassword);
    await op.post('/api/v1/auth/change-password', { currentPassword: created.json.oneTimePassword, newPassword: 'Operator-passphrase-77' });
    assert.equal((await op.get('/api/v1/sites')).status, 200);
    const denied = await op.post('/api/v1/sites', { name: 'Nope' });
    assert.equal(denied.status, 403);
    assert.match(denied.json.detail, /Administrator/);
    assert.equal((await op.get('/metrics')).status, 403);
  });

  it('locks an account after 5 wrong passwords; an admin unlocks it', async () => {
    const admin = await adminClient(t);
    const u = await admin.post('/api/v1/users', { username: 'victim', role: 'Client', password: 'Target-passphrase-99', mustChangePassword: false });
    const c = t.client();
    for (let i = 0; i < 5; i++) assert.equal((await c.login('victim', `wrong-${i}-password`)).status, 401);
    const locked = await c.login('victim', 'Target-passphrase-99');
    assert.equal(locked.status, 401);
    assert.match(locked.json.detail, /locked/);
    assert.equal((await admin.get(`/api/v1/users/${u.json.user.id}`)).json.status, 'locked');
    assert.equal((await admin.patch(`/api/v1/users/${u.json.user.id}`, { status: 'active' })).status, 200);
    assert.equal((await c.login('victim', 'Target-passphrase-99')).status, 200);
  });

  it('ends the sessions of a disabled user at once', async () => {
    const admin = await adminClient(t);
    const u = await admin.post('/api/v1/users', { username: 'soon.gone', role: 'Client', password: 'Soon-gone-passphrase-1', mustChangePassword: false });
    const c = t.client();
    await c.login('soon.gone', 'Soon-gone-passphrase-1');
    assert.equal((await c.get('/api/v1/me/assets')).status, 200);
    await admin.patch(`/api/v1/users/${u.json.user.id}`, { status: 'disabled' });
    assert.equal((await c.get('/api/v1/me/assets')).status, 401);
  });

  it('expires a vendor account at its expiry date: status expired, sessions gone, audited', async () => {
    const admin = await adminClient(t);
    const vendor = await admin.post('/api/v1/vendors', { name: 'Short Contract GmbH', contractEnd: '2030-06-30' });
    const u = await admin.post('/api/v1/users', { username: 'short.term', role: 'Client', affiliation: 'vendor', vendorId: vendor.json.id, password: 'Contractor-passphrase-5', mustChangePassword: false });
    assert.equal(u.json.user.expiresAt, '2030-06-30T23:59:59.000Z', 'defaults to the contract end');
    const c = t.client();
    assert.equal((await c.login('short.term', 'Contractor-passphrase-5')).status, 200);
    // The contract ended: the admin moves the expiry into the past (as the clock would).
    await t.gw.database.db.updateTable('users').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', u.json.user.id).execute();
    const r = await t.client().login('short.term', 'Contractor-passphrase-5');
    assert.equal(r.status, 401);
    assert.match(r.json.detail, /expired/);
    assert.equal((await c.get('/api/v1/me/assets')).status, 401, 'the open session ended with the account');
    assert.equal((await admin.get(`/api/v1/users/${u.json.user.id}`)).json.status, 'expired');
    const ev = await admin.get('/api/v1/audit?action=user.expire');
    assert.equal(ev.json.items[0].target.name, 'short.term');
    const again = await admin.patch(`/api/v1/users/${u.json.user.id}`, { status: 'active' });
    assert.equal(again.status, 400);
    assert.match(again.json.detail, /expiry date has passed/);
    assert.equal((await admin.patch(`/api/v1/users/${u.json.user.id}`, { status: 'active', expiresAt: '2031-01-01' })).status, 200);
  });

  it('serves metrics to admins and the OpenAPI document to signed-in users', async () => {
    const admin = await adminClient(t);
    const m = await admin.get('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.text, /portcullis_http_requests_total/);
    const doc = await admin.get('/api/docs/json');
    assert.equal(doc.status, 200);
    for (const rule of t.gw.rules.filter((r) => !r.summary.endsWith('(WebSocket)'))) {
      const path = rule.url.replace(/:(\w+)/g, '{$1}');
      assert.ok(doc.json.paths[path]?.[rule.method.toLowerCase()], `OpenAPI lacks ${rule.method} ${path}`);
    }
  });
});

describe('login rate limit', () => {
  it('throttles login attempts per source address with 429 problem+json', async () => {
    const t = await startGateway({ loginRateLimit: 3 });
    try {
      const c = t.client();
      for (let i = 0; i < 3; i++) assert.equal((await c.login('someone', 'not-the-password')).status, 401);
      const r = await c.login('someone', 'not-the-password');
      assert.equal(r.status, 429);
      assert.equal(r.json.type, 'urn:portcullis:problem:rate_limited');
    } finally {
      await t.stop();
    }
  });
});
