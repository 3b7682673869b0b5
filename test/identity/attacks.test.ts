/** Bad input and attacks on identity: enumeration, secrets in logs and audit, malformed cookies, tokens and CSRF headers. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

describe('identity under attack', () => {
  let t: TestGateway;
  let admin: ApiClient;
  let log = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      log += chunk.toString();
      cb();
    },
  });
  before(async () => {
    t = await startGateway({ tls: false, logLevel: 'trace', logTo: sink });
    admin = await adminClient(t);
  });
  after(async () => {
    await t?.stop();
  });

  it('answers an unknown user exactly like a wrong password', async () => {
    await admin.post('/api/v1/users', { username: 'real.user', role: 'Client', password: 'Real-user-passphrase-2', mustChangePassword: false });
    const a = await t.client().login('real.user', 'Wrong-passphrase-000');
    const b = await t.client().login('ghost.user', 'Wrong-passphrase-000');
    assert.equal(a.status, b.status);
    assert.deepEqual({ ...a.json, instance: 0 }, { ...b.json, instance: 0 });
    assert.deepEqual(Object.keys(a.headers).sort(), Object.keys(b.headers).sort());
  });

  it('keeps passwords, codes and tokens out of the logs and the audit trail', async () => {
    const secrets: string[] = [];
    const pw = 'Leak-check-passphrase-91';
    secrets.push(pw, t.admin.password);
    const u = await admin.post('/api/v1/users', { username: 'leak.check', role: 'Client', otpRequired: true, password: pw, mustChangePassword: false });
    const c = t.client();
    await c.login('leak.check', pw);
    await t.client().login('leak.check', 'Wrong-Leak-passphrase-77');
    secrets.push('Wrong-Leak-passphrase-77');
    const e = await c.post('/api/v1/me/mfa/totp/enroll');
    secrets.push(e.json.secret);
    const code = await generate({ secret: e.json.secret });
    const conf = await c.post('/api/v1/me/mfa/totp/confirm', { code });
    assert.equal(conf.status, 200, conf.text);
    secrets.push(...conf.json.recoveryCodes);
    const reset = await admin.post(`/api/v1/users/${u.json.user.id}/reset-password`);
    secrets.push(reset.json.oneTimePassword);
    const tok = await admin.post('/api/v1/tokens', { name: 'leak', role: 'Client', expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    secrets.push(tok.json.secret);
    await t.client().request('GET', '/api/v1/me/assets', undefined, { authorization: `Bearer ${tok.json.secret}` });
    const changed = await c.post('/api/v1/auth/change-password', { currentPassword: pw, newPassword: 'Leak-check-passphrase-92' });
    secrets.push('Leak-check-passphrase-92');
    void changed;
    const audit = JSON.stringify(await t.gw.database.db.selectFrom('audit_events').selectAll().execute());
    assert.ok(log.length > 1000, 'the gateway logged requests');
    for (const s of secrets) {
      assert.ok(!log.includes(s), `a secret reached the log: ${s.slice(0, 4)}...`);
      assert.ok(!audit.includes(s), `a secret reached the audit trail: ${s.slice(0, 4)}...`);
    }
    // The session cookie and CSRF token are secrets too.
    assert.ok(!/portcullis=[A-Za-z0-9_-]{20,}/.test(log), 'a session cookie reached the log');
  });

  it('answers malformed cookies, tokens and CSRF headers with 401/403, never 500', async () => {
    const cases: [Record<string, string>, number][] = [
      [{ cookie: 'portcullis=' }, 401],
      [{ cookie: 'portcullis=not-a-token' }, 401],
      [{ cookie: `portcullis=${'A'.repeat(4000)}` }, 401],
      [{ cookie: 'portcullis=%00%ff%fe' }, 401],
      [{ cookie: 'portcullis="quoted"; other=1' }, 401],
      [{ cookie: ';;;=;=' }, 401],
      [{ authorization: 'Bearer' }, 401],
      [{ authorization: 'Bearer ' }, 401],
      [{ authorization: 'Bearer pct_short' }, 401],
      [{ authorization: `Bearer pct_${'A'.repeat(43)}` }, 401],
      [{ authorization: 'Basic YWRtaW46YWRtaW4=' }, 401],
      [{ authorization: `Bearer ${'x'.repeat(10_000)}` }, 401],
    ];
    for (const [headers, status] of cases) {
      const r = await t.client().request('GET', '/api/v1/sites', undefined, headers);
      assert.equal(r.status, status, `${JSON.stringify(headers).slice(0, 80)} -> ${r.status} ${r.text.slice(0, 120)}`);
    }
    for (const csrf of ['', 'x', 'ü'.repeat(50), 'A'.repeat(5000), admin.csrf!.slice(0, -1), `${admin.csrf}x`]) {
      const r = await admin.post('/api/v1/sites', { name: `csrf ${csrf.length}` }, { 'x-csrf-token': csrf });
      assert.equal(r.status, 403, `csrf ${JSON.stringify(csrf.slice(0, 10))} -> ${r.status}`);
    }
    assert.equal((await admin.get('/healthz')).status, 200);
  });
});
