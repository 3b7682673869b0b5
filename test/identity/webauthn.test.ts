/**
 * WebAuthn security keys as a second factor, end to end: a real gateway over HTTPS, the Debian
 * chromium through playwright-core with a CDP virtual authenticator (CTAP2, USB, user verified).
 * The API is driven from the page (fetch + navigator.credentials), as the console will.
 * WebAuthn refuses IP addresses as RP ID, so the page is opened on https://localhost:<port>.
 *
 * Run: node --import tsx --test test/identity/webauthn.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { adminClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const CHROMIUM = process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium';
const USERNAME = 'key.user';
const PASSWORD = 'Security-key-passphrase-7';

interface Res<T = any> {
  status: number;
  body: T;
}

/**
 * Page-side helpers: fetch with the CSRF header, and navigator.credentials with base64url JSON.
 * Plain JavaScript text: functions compiled by tsx carry helper calls that do not exist in the page.
 */
const PAGE_HELPERS = `(() => {
  const enc = (buf) => {
    const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  };
  const dec = (str) => {
    const s = atob(str.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((str.length + 3) % 4));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  };
  window.csrf = '';
  window.api = async (method, path, body) => {
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && window.csrf) headers['x-csrf-token'] = window.csrf;
    const r = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await r.text();
    const json = text ? JSON.parse(text) : undefined;
    if (json && typeof json.csrfToken === 'string') window.csrf = json.csrfToken;
    return { status: r.status, body: json };
  };
  const common = (cred) => ({ id: cred.id, rawId: enc(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(), authenticatorAttachment: cred.authenticatorAttachment ?? undefined });
  window.createKey = async (o) => {
    const publicKey = { ...o, challenge: dec(o.challenge), user: { ...o.user, id: dec(o.user.id) }, excludeCredentials: (o.excludeCredentials ?? []).map((c) => ({ ...c, id: dec(c.id) })) };
    const cred = await navigator.credentials.create({ publicKey });
    const r = cred.response;
    return { ...common(cred), response: { clientDataJSON: enc(r.clientDataJSON), attestationObject: enc(r.attestationObject), transports: r.getTransports() } };
  };
  window.getAssertion = async (o) => {
    const publicKey = { ...o, challenge: dec(o.challenge), allowCredentials: (o.allowCredentials ?? []).map((c) => ({ ...c, id: dec(c.id) })) };
    const cred = await navigator.credentials.get({ publicKey });
    const r = cred.response;
    return { ...common(cred), response: { clientDataJSON: enc(r.clientDataJSON), authenticatorData: enc(r.authenticatorData), signature: enc(r.signature), ...(r.userHandle ? { userHandle: enc(r.userHandle) } : {}) } };
  };
})()`;

describe('WebAuthn security keys as a second factor', () => {
  let t: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let userId: string;

  // Arrow functions without inner functions: tsx adds no helpers to these.
  const api = <T = any>(method: string, path: string, body?: unknown): Promise<Res<T>> =>
    page.evaluate(([m, p, b]) => (window as any).api(m, p, b === null ? undefined : b), [method, path, body ?? null] as const);
  const createKey = (options: unknown): Promise<unknown> => page.evaluate((o) => (window as any).createKey(o), options);
  const getAssertion = (options: unknown): Promise<any> => page.evaluate((o) => (window as any).getAssertion(o), options);
  const db = () => t.gw.database.db;
  const keyRow = async () => db().selectFrom('webauthn_credentials').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow();
  const failedLogins = async () => (await db().selectFrom('users').select('failed_logins').where('id', '=', userId).executeTakeFirstOrThrow()).failed_logins;
  const auditOf = async (action: string) =>
    db().selectFrom('audit_events').select(['action', 'result', 'details']).where('action', '=', action).where('target_id', '=', userId).orderBy('seq').execute();

  async function signIn(): Promise<Res> {
    await api('POST', '/api/v1/auth/logout').catch(() => undefined);
    const r = await api('POST', '/api/v1/auth/login', { username: USERNAME, password: PASSWORD });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r;
  }

  before(async () => {
    t = await startGateway();
    const admin = await adminClient(t);
    const u = await admin.post('/api/v1/users', { username: USERNAME, role: 'Client', password: PASSWORD, mustChangePassword: false, otpRequired: true });
    assert.equal(u.status, 201, u.text);
    userId = u.json.user.id;

    origin = t.url.replace('://127.0.0.1:', '://localhost:');
    assert.match(origin, /^https:\/\/localhost:\d+$/);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP localhost 127.0.0.1'],
    });
    context = await browser.newContext({ ignoreHTTPSErrors: true });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true } });
    await page.goto(`${origin}/api/v1/auth/login-message`);
    await page.evaluate(PAGE_HELPERS);
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  let keyId: string;
  let registeredCounter: number;
  let firstAssertion: unknown;

  it('registers a key for a user who must enroll, and steps the session up', async () => {
    const login = await signIn();
    assert.equal(login.body.stage, 'enroll');

    // An enrolling session may only enroll.
    assert.equal((await api('GET', '/api/v1/me/mfa/webauthn/keys')).status, 403);

    const opts = await api('POST', '/api/v1/me/mfa/webauthn/register/options');
    assert.equal(opts.status, 200, JSON.stringify(opts.body));
    assert.equal(opts.body.rp.id, 'localhost');
    assert.equal(opts.body.rp.name, 'Portcullis');
    assert.equal(opts.body.attestation, 'none');
    assert.deepEqual(opts.body.excludeCredentials, []);
    assert.equal(opts.body.authenticatorSelection.userVerification, 'preferred');
    assert.equal(opts.body.authenticatorSelection.residentKey, 'preferred');

    const response = await createKey(opts.body);
    const done = await api('POST', '/api/v1/me/mfa/webauthn/register/verify', { name: 'YubiKey 5 NFC', response });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.stage, 'complete');
    assert.equal(typeof done.body.csrfToken, 'string');
    assert.equal(done.body.recoveryCodes.length, 10);
    assert.equal(done.body.key.name, 'YubiKey 5 NFC');
    keyId = done.body.key.id;
    assert.match(keyId, /^[A-Za-z0-9_-]+$/);

    // The challenge was consumed: the same attestation cannot be sent twice.
    assert.equal((await db().selectFrom('console_sessions').select('challenge').where('user_id', '=', userId).executeTakeFirstOrThrow()).challenge, null);
    const again = await api('POST', '/api/v1/me/mfa/webauthn/register/verify', { name: 'Again', response });
    assert.equal(again.status, 409);

    const keys = await api('GET', '/api/v1/me/mfa/webauthn/keys');
    assert.equal(keys.status, 200);
    assert.deepEqual(keys.body.items.map((k: any) => [k.id, k.name, k.lastUsedAt]), [[keyId, 'YubiKey 5 NFC', null]]);
    registeredCounter = Number((await keyRow()).counter);

    // New registrations exclude the keys the user already has.
    const more = await api('POST', '/api/v1/me/mfa/webauthn/register/options');
    assert.deepEqual(more.body.excludeCredentials.map((c: any) => c.id), [keyId]);

    const reg = await auditOf('mfa.webauthn_register');
    assert.deepEqual(reg.map((e) => e.result), ['success']);
    assert.ok((await auditOf('auth.mfa')).some((e) => e.result === 'success' && JSON.parse(e.details).method === 'webauthn-enrollment'));
  });

  it('renames a key and refuses to remove the last required second factor', async () => {
    const renamed = await api('PATCH', `/api/v1/me/mfa/webauthn/keys/${keyId}`, { name: 'Blue key' });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.name, 'Blue key');
    const del = await api('DELETE', `/api/v1/me/mfa/webauthn/keys/${keyId}`);
    assert.equal(del.status, 409);
    assert.match(del.body.detail, /requires a second factor/);
    assert.equal((await api('GET', '/api/v1/me/mfa/webauthn/keys')).body.items.length, 1);
  });

  it('signs in with password + key; a session still in stage mfa gets 403 mfa_required', async () => {
    const login = await signIn();
    assert.equal(login.body.stage, 'mfa');
    assert.ok(login.body.mfaMethods.includes('webauthn'));

    const blocked = await api('GET', '/api/v1/me/mfa/webauthn/keys');
    assert.equal(blocked.status, 403);
    assert.equal(blocked.body.type, 'urn:portcullis:problem:mfa_required');
    assert.equal((await api('GET', '/api/v1/sites')).status, 403);

    const opts = await api('POST', '/api/v1/auth/mfa/webauthn/options');
    assert.equal(opts.status, 200, JSON.stringify(opts.body));
    assert.equal(opts.body.rpId, 'localhost');
    assert.deepEqual(opts.body.allowCredentials.map((c: any) => c.id), [keyId]);
    firstAssertion = await getAssertion(opts.body);
    const done = await api('POST', '/api/v1/auth/mfa/webauthn/verify', { response: firstAssertion });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.stage, 'complete');
    assert.equal(done.body.user.username, USERNAME);
    assert.deepEqual(done.body.mfaMethods, []);

    const session = await api('GET', '/api/v1/auth/session');
    assert.equal(session.body.stage, 'complete');
    const sessions = await api('GET', '/api/v1/me/sessions');
    assert.equal(sessions.body.items.find((s: any) => s.current).secondFactor, 'webauthn');

    const row = await keyRow();
    assert.ok(Number(row.counter) > registeredCounter, `counter moved: ${registeredCounter} -> ${row.counter}`);
    assert.ok(row.last_used_at);
    const keys = await api('GET', '/api/v1/me/mfa/webauthn/keys');
    assert.equal(keys.body.items[0].lastUsedAt, row.last_used_at);
    assert.ok((await auditOf('auth.mfa')).some((e) => e.result === 'success' && JSON.parse(e.details).method === 'webauthn'));
  });

  it('refuses a replayed or tampered assertion (401, counted toward lockout)', async () => {
    await signIn();
    assert.equal(await failedLogins(), 0);
    const counter = Number((await keyRow()).counter);

    // Replay: the old assertion answers an older, consumed challenge.
    assert.equal((await api('POST', '/api/v1/auth/mfa/webauthn/options')).status, 200);
    const replay = await api('POST', '/api/v1/auth/mfa/webauthn/verify', { response: firstAssertion });
    assert.equal(replay.status, 401, JSON.stringify(replay.body));
    assert.equal(await failedLogins(), 1);
    // That challenge is gone too: without new options there is nothing to answer.
    assert.equal((await api('POST', '/api/v1/auth/mfa/webauthn/verify', { response: firstAssertion })).status, 409);

    // Tampered: a fresh assertion with one signature byte flipped.
    const opts = await api('POST', '/api/v1/auth/mfa/webauthn/options');
    const fresh: any = await getAssertion(opts.body);
    const sig = Buffer.from(fresh.response.signature, 'base64url');
    sig[sig.length - 1] ^= 0x01;
    const tampered = await api('POST', '/api/v1/auth/mfa/webauthn/verify', { response: { ...fresh, response: { ...fresh.response, signature: sig.toString('base64url') } } });
    assert.equal(tampered.status, 401, JSON.stringify(tampered.body));
    assert.equal(await failedLogins(), 2);
    assert.equal(Number((await keyRow()).counter), counter, 'refused assertions do not move the counter');
    const failures = (await auditOf('auth.mfa')).filter((e) => e.result === 'failure');
    assert.equal(failures.length, 2, JSON.stringify(failures));
    assert.ok(failures.every((e) => JSON.parse(e.details).method === 'webauthn'));

    // The session is still waiting for its second factor; a good assertion completes it.
    const opts2 = await api('POST', '/api/v1/auth/mfa/webauthn/options');
    const ok = await api('POST', '/api/v1/auth/mfa/webauthn/verify', { response: await getAssertion(opts2.body) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(await failedLogins(), 0);
  });

  it('locks the account after too many refused assertions', async () => {
    const admin = await adminClient(t);
    assert.equal((await admin.patch('/api/v1/settings/security', { lockoutAttempts: 2 })).status, 200);
    await signIn();
    for (let i = 0; i < 2; i++) {
      assert.equal((await api('POST', '/api/v1/auth/mfa/webauthn/options')).status, 200);
      assert.equal((await api('POST', '/api/v1/auth/mfa/webauthn/verify', { response: firstAssertion })).status, 401);
    }
    const user = await db().selectFrom('users').select(['status', 'failed_logins']).where('id', '=', userId).executeTakeFirstOrThrow();
    assert.equal(user.status, 'locked');
    assert.equal((await api('POST', '/api/v1/auth/mfa/webauthn/options')).status, 401, 'the locked account lost its sessions');
    assert.equal((await auditOf('user.lock')).length, 1);
  });

  it('removes a key when the account no longer requires a second factor', async () => {
    await db().updateTable('users').set({ status: 'active', failed_logins: 0, locked_until: null, otp_required: 0 }).where('id', '=', userId).execute();
    await signIn();
    const opts = await api('POST', '/api/v1/auth/mfa/webauthn/options');
    assert.equal((await api('POST', '/api/v1/auth/mfa/webauthn/verify', { response: await getAssertion(opts.body) })).status, 200);
    const del = await api('DELETE', `/api/v1/me/mfa/webauthn/keys/${keyId}`);
    assert.equal(del.status, 204, JSON.stringify(del.body));
    assert.equal((await api('GET', '/api/v1/me/mfa/webauthn/keys')).body.items.length, 0);
    assert.equal((await auditOf('mfa.webauthn_remove')).length, 1);
    assert.equal((await api('DELETE', `/api/v1/me/mfa/webauthn/keys/${keyId}`)).status, 404);
  });
});
