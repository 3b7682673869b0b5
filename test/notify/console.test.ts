/**
 * The console's notification pages in the Debian chromium (playwright-core) against a real
 * gateway, a real SMTP server (AUTH + STARTTLS) and a real HTTP receiver: the admin fills in the
 * SMTP settings, sends a test email that arrives, and adds a webhook whose test event arrives
 * signed. Run: node --import tsx --test test/notify/console.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { signPayload } from '../../src/server/notify/signing.js';
import { consolePage, ensureConsoleBuilt, launchChromium } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startReceiver, startSmtp, type TestSmtp } from './helpers.js';

const ADMIN_PASSWORD = 'Notify-E2e-Adm1n-Passw0rd!';
const SMTP_PASSWORD = 'Relay-Pass-e2e-77';

let gw: TestGateway;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let smtp: TestSmtp;
let rx: Awaited<ReturnType<typeof startReceiver>>;
const problems: string[] = [];

before(async () => {
  ensureConsoleBuilt();
  smtp = await startSmtp({ auth: { user: 'portcullis', pass: SMTP_PASSWORD }, starttls: true });
  rx = await startReceiver();
  gw = await startGateway({ adminPassword: ADMIN_PASSWORD });
  browser = await launchChromium();
  // Expected non-2xx: the session probe (401), the refused loopback webhook (400).
  ({ context, page } = await consolePage(browser, problems, [401, 400]));
});

after(async () => {
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await gw?.stop();
  await smtp?.close();
  await rx?.close();
});

test('console: Email (SMTP) and Webhooks in System Management', async (t) => {
  await t.test('the admin signs in', async () => {
    await page.goto(gw.url);
    await page.waitForURL(/\/login$/);
    await page.getByTestId('login-username').fill(gw.admin.username);
    await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
    await page.getByTestId('login-submit').click();
    const change = page.getByTestId('change-password-form');
    const menu = page.getByTestId('user-menu');
    await Promise.race([change.waitFor(), menu.waitFor()]);
    if (await change.isVisible()) {
      await page.getByTestId('current-password').fill(ADMIN_PASSWORD);
      await page.getByTestId('new-password').fill(`${ADMIN_PASSWORD}-2`);
      await page.getByTestId('repeat-password').fill(`${ADMIN_PASSWORD}-2`);
      await page.getByTestId('change-password-submit').click();
    }
    await menu.waitFor();
  });

  await t.test('SMTP settings are saved and a test email arrives over STARTTLS', async () => {
    await page.getByTestId('nav-system-email').click();
    await page.getByTestId('smtp-host').fill('127.0.0.1');
    await page.getByTestId('smtp-port').fill(String(smtp.port));
    await page.getByTestId('smtp-username').fill('portcullis');
    await page.getByTestId('smtp-password').fill(SMTP_PASSWORD);
    await page.getByTestId('smtp-accept-self-signed').check();
    await page.getByTestId('smtp-from-address').fill('portcullis@plant.test');
    await page.getByTestId('smtp-enabled').check();
    await page.getByTestId('smtp-save').click();
    await page.getByTestId('smtp-saved').waitFor();
    assert.equal(await page.getByTestId('smtp-password').inputValue(), '', 'the password is not shown again');
    await page.getByTestId('smtp-test-to').fill('ot-admin@plant.test');
    await page.getByTestId('smtp-test-send').click();
    const result = page.getByTestId('smtp-test-result');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-ok'), 'true', (await result.textContent()) ?? '');
    await smtp.waitFor(1);
    assert.deepEqual(smtp.messages[0]!.envelopeTo, ['ot-admin@plant.test']);
    assert.equal(smtp.messages[0]!.secure, true);
    assert.ok(!(await page.content()).includes(SMTP_PASSWORD));
  });

  await t.test('a webhook is added, its test event arrives signed, and the list shows it', async () => {
    await page.getByTestId('nav-system-webhooks').click();
    await page.getByTestId('new-webhook').click();
    await page.getByTestId('webhook-name').fill('ITSM');
    await page.getByTestId('webhook-url').fill(rx.url);
    await page.getByTestId('webhook-secret-generate').click();
    const secret = await page.getByTestId('webhook-secret').inputValue();
    assert.match(secret, /^whsec_[0-9a-f]{48}$/);
    // Loopback is refused until the admin lifts the SSRF guard for this webhook.
    await page.getByTestId('webhook-submit').click();
    await page.getByText(/loopback address/).first().waitFor();
    await page.getByTestId('webhook-allow-restricted').check();
    await page.getByTestId('webhook-submit').click();
    const row = page.locator('[data-testid="webhook-row"][data-webhook-name="ITSM"]');
    await row.waitFor();
    await row.getByTestId('webhook-test').click();
    const result = page.getByTestId('webhook-test-result');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-ok'), 'true');
    const q = rx.requests.at(-1)!;
    assert.equal(q.headers['x-portcullis-event'], 'webhook.test');
    assert.equal(q.headers['x-portcullis-signature'], signPayload(secret, Number(q.headers['x-portcullis-timestamp']), q.body));
    assert.ok(!(await page.content()).includes(secret.slice(6)), 'the secret is not on the page after saving');
  });

  await t.test('no page errors', () => {
    assert.deepEqual(problems, []);
  });
});
