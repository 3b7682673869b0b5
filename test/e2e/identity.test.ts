/**
 * End-to-end test of the console's identity pages against a real gateway over HTTPS, driven by the
 * Debian chromium through playwright-core: the admin's first sign-in and forced password change,
 * security settings and the login message, a new user who must use a second factor (TOTP
 * enrollment with the secret read off the page, recovery codes, forced password change, sign-in
 * with password + code), lockout after failed passwords, unlock from the Users page, and a
 * sign-in with a recovery code.
 *
 * Run: node --import tsx --test test/e2e/identity.test.ts
 * The console is (re)built into dist/web first when it is older than src/web
 * (PORTCULLIS_E2E_SKIP_BUILD=1 skips that). PORTCULLIS_E2E_SCREENSHOTS=<dir> keeps the screenshots.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generate } from 'otplib';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { consolePage, ensureConsoleBuilt, launchChromium } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';



let gw: TestGateway;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const shots = process.env.PORTCULLIS_E2E_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'portcullis-e2e-identity-'));
const problems: string[] = [];

const run = Date.now().toString(36);
const adminPassword = `E2e-Identity-${run}-Adm1n!`;
const username = `vendor-${run}`;
const userPassword = `E2e-Identity-${run}-Us3r-Passw0rd!`;
const groupName = `Line 3 maintenance ${run}`;
const messageTitle = `Authorized use only (${run})`;
const messageText = `Portcullis e2e ${run}: all sessions are recorded.`;

/** Filled in as the story goes on. */
let oneTimePassword = '';
let totpSecret = '';
let lastTotpStep = 0;
let recoveryCodes: string[] = [];
let lockoutAttempts = 0;

const STEP = 30;
const stepNow = () => Math.floor(Date.now() / 1000 / STEP);

/**
 * A fresh TOTP code. The gateway never accepts a code of the same 30-second step twice (replay
 * protection) but accepts the next step (clock drift): when the current step was already used,
 * compute the next one instead of waiting for it.
 */
async function freshTotp(): Promise<string> {
  const step = Math.max(stepNow(), lastTotpStep + 1);
  lastTotpStep = step;
  return generate({ secret: totpSecret, epoch: step * STEP });
}

async function apiFromPage<T = unknown>(path: string): Promise<{ status: number; body: T }> {
  return page.evaluate(async (p) => {
    const r = await fetch(p, { credentials: 'same-origin' });
    const type = r.headers.get('content-type') ?? '';
    return { status: r.status, body: type.includes('json') ? await r.json() : await r.text() };
  }, path) as Promise<{ status: number; body: T }>;
}

async function shot(name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300); // let transitions settle
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Fills the sign-in form and waits for the gateway's answer. */
async function submitLogin(user: string, password: string): Promise<number> {
  await page.getByTestId('login-username').fill(user);
  await page.getByTestId('login-password').fill(password);
  const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login') && r.request().method() === 'POST'), page.getByTestId('login-submit').click()]);
  return res.status();
}

async function signOut(): Promise<void> {
  await page.getByTestId('user-menu').click();
  await page.getByTestId('logout').click();
  await page.getByTestId('login-username').waitFor();
}

function userRow(name: string) {
  return page.locator(`[data-testid="user-row"][data-username="${name}"]`);
}

before(async () => {
  ensureConsoleBuilt();
  gw = await startGateway();
  browser = await launchChromium();
  // Expected non-2xx fetches: the session probe, refused and locked sign-ins.
  ({ context, page } = await consolePage(browser, problems, [401]));
});

after(async () => {
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await gw?.stop();
});

test('console identity: staged sign-in, TOTP enrollment, lockout, unlock', async (t) => {
  await t.test('the login page shows the login message; the admin signs in and changes the one-time password', async () => {
    await page.goto(gw.url);
    await page.waitForURL(/\/login$/);
    const message = page.getByTestId('login-message');
    await message.waitFor();
    assert.match((await message.textContent()) ?? '', /Authorized use only/);
    assert.equal(await submitLogin(gw.admin.username, gw.admin.password), 200);
    await page.getByTestId('change-password-form').waitFor();
    await page.getByTestId('current-password').fill(gw.admin.password);
    await page.getByTestId('new-password').fill(adminPassword);
    await page.getByTestId('repeat-password').fill(adminPassword);
    await page.getByTestId('change-password-submit').click();
    await page.getByTestId('user-menu').waitFor();
  });

  await t.test('System Management: the security settings are shown and saved', async () => {
    await page.getByTestId('nav-system-security').click();
    const attempts = page.getByTestId('security-lockout-attempts');
    await attempts.waitFor();
    assert.equal(await attempts.inputValue(), '5', 'default lockout threshold');
    await shot('security-settings');
    // Fewer attempts keep the lockout part short; N is read back from the gateway below.
    await attempts.fill('3');
    await page.getByTestId('security-save').click();
    await page.getByTestId('security-saved').waitFor();
    const res = await apiFromPage<{ lockoutAttempts: number }>('/api/v1/settings/security');
    assert.equal(res.status, 200);
    assert.equal(res.body.lockoutAttempts, 3);
    lockoutAttempts = res.body.lockoutAttempts;
  });

  await t.test('System Management: the login message is changed', async () => {
    await page.getByTestId('nav-system-login-message').click();
    await page.getByTestId('login-message-title-input').fill(messageTitle);
    await page.getByTestId('login-message-text-input').fill(messageText);
    await page.getByTestId('login-message-save').click();
    await page.getByTestId('login-message-saved').waitFor();
  });

  await t.test('System Management: live oversight narrows Operators to their own assets, and back', async () => {
    await page.getByTestId('nav-system-oversight').click();
    const all = page.getByTestId('oversight-all');
    await all.waitFor();
    assert.equal(await all.isChecked(), true, 'every Operator by default');
    for (const mode of ['granted', 'all'] as const) {
      await page.getByTestId(`oversight-${mode}`).check();
      await page.getByTestId('oversight-save').click();
      await page.getByTestId('oversight-saved').waitFor();
      const res = await apiFromPage<{ operators: string }>('/api/v1/settings/oversight');
      assert.equal(res.body.operators, mode);
    }
  });

  await t.test('the admin creates a user who must use a second factor', async () => {
    await page.getByTestId('nav-users').click();
    await page.getByTestId('new-user').click();
    await page.getByTestId('user-form').waitFor();
    await page.getByTestId('user-username').fill(username);
    await page.getByTestId('user-display-name').fill('Vendor Engineer');
    await page.getByTestId('user-otp-required').check();
    await page.getByTestId('user-save').click();
    const otp = page.getByTestId('one-time-password');
    await otp.waitFor();
    oneTimePassword = ((await otp.textContent()) ?? '').trim();
    assert.ok(oneTimePassword.length >= 12, 'a one-time password is shown');
    await page.getByRole('button', { name: 'Done' }).click();
    const row = userRow(username);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /Required/);
  });

  await t.test('the admin puts the user into a new group', async () => {
    await page.getByTestId('nav-groups').click();
    await page.getByTestId('new-group').click();
    await page.getByTestId('group-name').fill(groupName);
    await page.getByTestId('group-description').fill('Vendor staff who service line 3');
    await page.getByTestId('group-save').click();
    await page.getByTestId('group-form').waitFor({ state: 'detached' });
    const row = page.locator(`[data-testid="group-row"][data-group-name="${groupName}"]`);
    await row.getByTestId('group-members').click();
    await page.getByTestId('group-add-member-user').click();
    await page.getByRole('option', { name: `${username} (Vendor Engineer)` }).click();
    await page.getByTestId('group-add-member').click();
    await page.locator(`[data-testid="group-member-row"][data-username="${username}"]`).waitFor();
    await page.keyboard.press('Escape');
    await page.waitForFunction((name) => document.querySelector(`[data-testid="group-row"][data-group-name="${name}"] [data-testid="group-member-count"]`)?.textContent === '1', groupName);
    await shot('groups');
    await signOut();
  });

  await t.test('the new login message is on the login page', async () => {
    const message = page.getByTestId('login-message');
    await message.waitFor();
    const text = (await message.textContent()) ?? '';
    assert.ok(text.includes(messageTitle), text);
    assert.ok(text.includes(messageText), text);
  });

  await t.test('the user signs in with the one-time password and must enroll an authenticator app first', async () => {
    assert.equal(await submitLogin(username, oneTimePassword), 200);
    await page.getByTestId('enroll-second-factor').waitFor();
    await page.getByTestId('totp-qr').waitFor();
    const secret = page.getByTestId('totp-secret');
    await secret.waitFor();
    totpSecret = ((await secret.textContent()) ?? '').replace(/\s/g, '');
    assert.match(totpSecret, /^[A-Z2-7]{16,}$/, 'a base32 secret is shown next to the QR code');
    await shot('enrollment');
    // Nothing else is reachable yet: the app sends us back to the enrollment.
    await page.goto(`${gw.url}/assets`);
    await page.getByTestId('totp-secret').waitFor();
    const again = ((await page.getByTestId('totp-secret').textContent()) ?? '').replace(/\s/g, '');
    if (again !== totpSecret) totpSecret = again; // the reload started a fresh enrollment
    await page.getByTestId('totp-code').fill(await freshTotp());
    await page.getByTestId('totp-confirm').click();

    await page.getByTestId('recovery-codes').waitFor();
    recoveryCodes = (await page.getByTestId('recovery-code').allTextContents()).map((c) => c.trim());
    assert.equal(recoveryCodes.length, 10);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('recovery-codes-download').click()]);
    assert.match(download.suggestedFilename(), /\.txt$/);
    const file = readFileSync(await download.path(), 'utf8');
    for (const c of recoveryCodes) assert.ok(file.includes(c), `the .txt holds ${c}`);
    await shot('recovery-codes');
    assert.equal(await page.getByTestId('recovery-codes-done').isDisabled(), true, 'continue only after "saved"');
    await page.getByTestId('recovery-codes-saved').check();
    await page.getByTestId('recovery-codes-done').click();
  });

  await t.test('then the forced password change, then the console', async () => {
    await page.getByTestId('change-password-form').waitFor();
    await page.getByTestId('current-password').fill(oneTimePassword);
    await page.getByTestId('new-password').fill(userPassword);
    await page.getByTestId('repeat-password').fill(userPassword);
    await page.getByTestId('change-password-submit').click();
    await page.getByTestId('user-menu').waitFor();
  });

  await t.test('my profile shows the authenticator app, 10 recovery codes and this session', async () => {
    await page.getByTestId('user-menu').click();
    await page.getByTestId('menu-profile').click();
    await page.waitForURL(/\/profile$/);
    await page.getByTestId('profile-totp-status').waitFor();
    assert.equal((await page.getByTestId('profile-totp-status').textContent())?.trim(), 'Enrolled');
    assert.equal(await page.getByTestId('profile-recovery-left').getAttribute('data-count'), '10');
    await page.getByTestId('profile-mfa-required').waitFor();
    await page.locator('[data-testid="session-row"][data-current="true"]').waitFor();
    await shot('profile');
    await signOut();
  });

  await t.test('the user signs in again with password and a fresh TOTP code', async () => {
    assert.equal(await submitLogin(username, userPassword), 200);
    await page.getByTestId('mfa-form').waitFor();
    assert.equal(await page.getByTestId('mfa-form').getAttribute('data-method'), 'totp');
    await shot('second-factor');
    await page.getByTestId('mfa-code').fill(await freshTotp());
    await page.getByTestId('mfa-submit').click();
    await page.getByTestId('user-menu').waitFor();
    await signOut();
  });

  await t.test(`lockout: after the configured number of wrong passwords even the right one is refused`, async () => {
    assert.ok(lockoutAttempts > 0);
    for (let i = 0; i < lockoutAttempts; i++) {
      assert.equal(await submitLogin(username, `wrong-${i}-password`), 401);
      await page.getByTestId('login-error').waitFor();
    }
    assert.equal(await submitLogin(username, userPassword), 401);
    const err = page.getByTestId('login-error');
    await page.waitForFunction(() => /locked/i.test(document.querySelector('[data-testid="login-error"]')?.textContent ?? ''));
    assert.match((await err.textContent()) ?? '', /locked/i);
    await shot('locked');
  });

  await t.test('the admin unlocks the user in the Users page', async () => {
    assert.equal(await submitLogin(gw.admin.username, adminPassword), 200);
    await page.getByTestId('user-menu').waitFor();
    await page.getByTestId('nav-users').click();
    const row = userRow(username);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /locked/i);
    await row.getByTestId('user-actions').click();
    const unlock = page.getByTestId('user-enable');
    assert.equal(await unlock.getAttribute('data-action'), 'unlock');
    assert.equal((await unlock.textContent())?.trim(), 'Unlock');
    await unlock.click();
    await page.waitForFunction((name) => /active/i.test(document.querySelector(`[data-testid="user-row"][data-username="${name}"]`)?.textContent ?? ''), username);
    // The actions menu offers the identity actions too.
    await row.getByTestId('user-actions').click();
    for (const id of ['user-reset-password', 'user-force-password-change', 'user-reset-mfa', 'user-sessions', 'user-delete']) await page.getByTestId(id).waitFor();
    await shot('users-actions');
    await page.getByTestId('user-sessions').click();
    await page.getByTestId('user-sessions-table').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('user-sessions-table').waitFor({ state: 'detached' });
    await signOut();
  });

  await t.test('the unlocked user signs in with password and a recovery code', async () => {
    assert.equal(await submitLogin(username, userPassword), 200);
    await page.getByTestId('mfa-form').waitFor();
    await page.getByTestId('mfa-use-recovery').click();
    await page.getByTestId('mfa-recovery-code').fill(recoveryCodes[0]!);
    await page.getByTestId('mfa-submit').click();
    await page.getByTestId('user-menu').waitFor();
    const me = await apiFromPage<{ mfa: { recoveryCodesLeft: number } }>('/api/v1/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.mfa.recoveryCodesLeft, 9);
    t.diagnostic(`screenshots in ${shots}`);
  });

  await t.test('no script errors and no CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});

test('console identity: a security key (virtual authenticator) is registered and signs in', async (t) => {
  // WebAuthn needs a domain as relying party ID (not an IP address): use localhost.
  const url = gw.url.replace('://127.0.0.1', '://localhost');
  const keyContext = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 } });
  keyContext.setDefaultTimeout(15_000);
  const p = await keyContext.newPage();
  const errors: string[] = [];
  p.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  p.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 401/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  const cdp = await keyContext.newCDPSession(p);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  const signIn = async () => {
    await p.getByTestId('login-username').fill(gw.admin.username);
    await p.getByTestId('login-password').fill(adminPassword);
    await p.getByTestId('login-submit').click();
  };
  try {
    await p.goto(`${url}/profile`);
    await signIn();
    await p.getByTestId('profile-webauthn-add').click();
    await p.getByTestId('webauthn-name').fill('YubiKey 5C');
    await p.getByTestId('webauthn-register').click();
    // The first second factor of the account comes with recovery codes.
    await p.getByTestId('recovery-codes').waitFor();
    assert.equal(await p.getByTestId('recovery-code').count(), 10);
    await p.getByTestId('recovery-codes-saved').check();
    await p.getByTestId('recovery-codes-done').click();
    await p.locator('[data-testid="webauthn-key-row"][data-key-name="YubiKey 5C"]').getByTestId('webauthn-key-rename').click();
    await p.getByTestId('webauthn-rename-name').fill('YubiKey on keyring');
    await p.getByTestId('webauthn-rename-save').click();
    await p.locator('[data-testid="webauthn-key-row"][data-key-name="YubiKey on keyring"]').waitFor();

    await p.getByTestId('user-menu').click();
    await p.getByTestId('logout').click();
    await signIn();
    await p.getByTestId('mfa-webauthn').click();
    await p.getByTestId('user-menu').waitFor();
    assert.equal(new URL(p.url()).pathname, '/profile');
    const sessions = await p.evaluate(async () => (await (await fetch('/api/v1/me/sessions')).json()) as { items: { current: boolean; secondFactor: string | null }[] });
    assert.equal(sessions.items.find((s) => s.current)?.secondFactor, 'webauthn');
    assert.deepEqual(errors, []);
  } finally {
    await keyContext.close();
  }
  t.diagnostic('security key registered, renamed and used to sign in');
});
