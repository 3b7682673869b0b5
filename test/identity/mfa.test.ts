/** TOTP and recovery codes through the real API; codes are computed with otplib (independent of the gateway's RFC 6238 code). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { stepAt } from '../../src/server/identity/mfa/totp.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const totp = (secret: string, ms = Date.now()) => generate({ secret, epoch: Math.floor(ms / 1000) });

/** Waits until the next 30 s step starts if fewer than 3 s remain, so a code stays valid for the test. */
async function freshStep() {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 3000) await new Promise((r) => setTimeout(r, left + 50));
}

describe('second factors: TOTP and recovery codes', () => {
  let t: TestGateway;
  let admin: ApiClient;
  let secret = '';
  let recovery: string[] = [];
  const PW = 'Field-engineer-passphrase-4';
  before(async () => {
    t = await startGateway({ tls: false });
    admin = await adminClient(t);
    const u = await admin.post('/api/v1/users', { username: 'eng.otp', role: 'Client', otpRequired: true, password: PW, mustChangePassword: false });
    assert.equal(u.status, 201, u.text);
  });
  after(async () => {
    await t?.stop();
  });

  it('makes a user who needs a second factor enroll one before anything else', async () => {
    const c = t.client();
    const r = await c.login('eng.otp', PW);
    assert.equal(r.status, 200);
    assert.equal(r.json.stage, 'enroll');
    const blocked = await c.get('/api/v1/me/assets');
    assert.equal(blocked.status, 403);
    assert.equal(blocked.json.type, 'urn:portcullis:problem:mfa_required');
    const e = await c.post('/api/v1/me/mfa/totp/enroll');
    assert.equal(e.status, 200);
    secret = e.json.secret;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.match(e.json.otpauthUri, /^otpauth:\/\/totp\/Portcullis%3Aeng\.otp\?secret=[A-Z2-7]+&issuer=Portcullis/);
    assert.match(e.json.qrCode, /^data:image\/png;base64,/);
    const wrong = await c.post('/api/v1/me/mfa/totp/confirm', { code: '000000' === (await totp(secret)) ? '111111' : '000000' });
    assert.equal(wrong.status, 400);
    await freshStep();
    const ok = await c.post('/api/v1/me/mfa/totp/confirm', { code: await totp(secret) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.recoveryCodes.length, 10);
    assert.equal(new Set(ok.json.recoveryCodes).size, 10);
    recovery = ok.json.recoveryCodes;
    assert.equal(ok.json.stage, 'complete');
    assert.equal((await c.get('/api/v1/me/assets')).status, 200, 'the stepped-up session reaches the API');
  });

  it('signs in with password then a TOTP code, and refuses the same code twice', async () => {
    // The enrollment used the current step: wait for the next one.
    const step = stepAt(Date.now());
    while (stepAt(Date.now()) === step) await new Promise((r) => setTimeout(r, 250));
    await freshStep();
    const c = t.client();
    const r = await c.login('eng.otp', PW);
    assert.equal(r.json.stage, 'mfa');
    assert.deepEqual(r.json.mfaMethods, ['totp', 'recovery']);
    const pending = await t.gw.database.db.selectFrom('console_sessions').select(['expires_at', 'stage']).where('stage', '=', 'mfa').executeTakeFirstOrThrow();
    assert.ok(Date.parse(pending.expires_at) - Date.now() <= 10 * 60_000, 'a pending sign-in lives 10 minutes at most');
    assert.equal((await c.get('/api/v1/me/assets')).status, 403);
    const code = await totp(secret);
    const ok = await c.post('/api/v1/auth/mfa/totp', { code });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.stage, 'complete');
    assert.equal((await c.get('/api/v1/me/assets')).status, 200);

    const replay = t.client();
    await replay.login('eng.otp', PW);
    const again = await replay.post('/api/v1/auth/mfa/totp', { code });
    assert.equal(again.status, 401, 'a code is accepted once');
    assert.match(again.json.detail, /already used/);
  });

  it('accepts each recovery code once', async () => {
    const c = t.client();
    await c.login('eng.otp', PW);
    assert.equal((await c.post('/api/v1/auth/mfa/recovery', { code: recovery[0] })).status, 200);
    const c2 = t.client();
    await c2.login('eng.otp', PW);
    assert.equal((await c2.post('/api/v1/auth/mfa/recovery', { code: recovery[0] })).status, 401);
    assert.equal((await c2.post('/api/v1/auth/mfa/recovery', { code: recovery[1]!.toUpperCase() })).status, 200, 'case and dashes do not matter');
    const me = await c2.get('/api/v1/me');
    assert.equal(me.json.mfa.recoveryCodesLeft, 8);
  });

  it('counts wrong codes toward the lockout, and an admin reset makes the user enroll again', async () => {
    await admin.patch('/api/v1/settings/security', { lockoutAttempts: 3 });
    const c = t.client();
    await c.login('eng.otp', PW);
    for (let i = 0; i < 3; i++) await c.post('/api/v1/auth/mfa/totp', { code: '999999' === (await totp(secret)) ? '999998' : '999999' });
    const users = await admin.get('/api/v1/users?username=eng.otp');
    assert.equal(users.json.items[0].status, 'locked');
    const id = users.json.items[0].id;
    await admin.patch(`/api/v1/users/${id}`, { status: 'active' });
    assert.equal((await admin.post(`/api/v1/users/${id}/mfa/reset`)).status, 204);
    const again = await t.client().login('eng.otp', PW);
    assert.equal(again.json.stage, 'enroll');
    const events = (await admin.get('/api/v1/audit?target=eng.otp&limit=100')).json.items.map((e: { action: string; result: string }) => `${e.action}:${e.result}`);
    for (const e of ['mfa.totp_enroll:success', 'mfa.totp_enroll:failure', 'auth.mfa:success', 'auth.mfa:failure', 'user.lock:success', 'mfa.reset:success']) assert.ok(events.includes(e), `missing audit ${e}`);
    await admin.patch('/api/v1/settings/security', { lockoutAttempts: 5 });
  });

  it('enforces OTP per role and globally from the security settings', async () => {
    await admin.post('/api/v1/users', { username: 'op.role', role: 'Operator', password: PW, mustChangePassword: false });
    assert.equal((await t.client().login('op.role', PW)).json.stage, 'complete');
    await admin.patch('/api/v1/settings/security', { otpRequiredRoles: ['Operator'] });
    assert.equal((await t.client().login('op.role', PW)).json.stage, 'enroll');
    await admin.patch('/api/v1/settings/security', { otpRequiredRoles: [], otpRequiredGlobal: true });
    assert.equal((await t.client().login('op.role', PW)).json.stage, 'enroll');
    await admin.patch('/api/v1/settings/security', { otpRequiredGlobal: false });
    assert.equal((await t.client().login('op.role', PW)).json.stage, 'complete');
  });
});
