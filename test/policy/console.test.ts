/**
 * The Access policy page in real Chromium: an administrator writes a deny rule with a name
 * pattern in the rule editor, asks "what if", turns the Purdue defaults on; a vendor sees on My
 * assets why they cannot connect. No script errors, no CSP violations.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { consolePage, ensureConsoleBuilt, launchChromium } from '../helpers/browser.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const PW = 'Policy-console-passphrase-5';
let gw: TestGateway;
let api: ApiClient;
let browser: Browser;
const problems: string[] = [];
const ids: Record<string, string> = {};

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(gw.url);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('user-menu').waitFor();
}
async function choose(page: Page, testId: string, option: string): Promise<void> {
  await page.getByTestId(testId).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

before(async () => {
  ensureConsoleBuilt();
  gw = await startGateway();
  api = await adminClient(gw);
  const site = (await api.post('/api/v1/sites', { name: 'Werk Süd', timezone: 'Europe/Berlin' })).json;
  ids.sis = (await api.post('/api/v1/assets', { name: 'SIS-01', siteId: site.id, purdueLevel: 1, safetyCritical: true, host: '10.0.0.5', accessMethods: [{ protocol: 'ssh' }] })).json.id;
  const vendor = (await api.post('/api/v1/vendors', { name: 'ACME' })).json;
  ids.vendor = (await api.post('/api/v1/users', { username: 'acme.vendor', role: 'Client', affiliation: 'vendor', vendorId: vendor.id, password: PW, mustChangePassword: false })).json.user.id;
  await api.post('/api/v1/grants', { subjectType: 'user', subjectId: ids.vendor, targetType: 'site', target: site.id });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close().catch(() => {});
  await gw?.stop();
});

test('access policy in the console', async (t) => {
  // Expected non-2xx: the session probe 401, the refused rule 400.
  const { context, page } = await consolePage(browser, problems, [401, 400]);

  await t.test('an administrator writes a prohibited-target rule in the editor', async () => {
    await signIn(page, gw.admin.username, gw.admin.password);
    await page.getByTestId('nav-policy').click();
    await page.getByTestId('new-rule').click();
    await page.getByTestId('rule-form').waitFor();
    await page.getByTestId('rule-name').fill('No safety systems');
    await page.getByTestId('rule-effect').getByText('Deny (prohibited targets)').click();
    await page.getByTestId('rule-all-assets').click({ force: true });
    const patterns = page.getByTestId('rule-patterns');
    await patterns.fill('SIS-*');
    await patterns.press('Enter');
    await page.getByTestId('rule-save').click();
    await page.getByTestId('rule-form').waitFor({ state: 'detached' });
    const row = page.locator('[data-testid="rule-row"][data-rule-name="No safety systems"]');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /deny.*SIS-\*/);
    const rule = (await api.get('/api/v1/policy/rules')).json.items[0];
    assert.deepEqual({ effect: rule.effect, patterns: rule.targets.namePatterns, everyone: rule.subjects.everyone }, { effect: 'deny', patterns: ['SIS-*'], everyone: true });
  });

  await t.test('a bad rule shows the gateway\'s reason and is not saved', async () => {
    await page.getByTestId('new-rule').click();
    await page.getByTestId('rule-name').fill('Broken window');
    await page.getByTestId('rule-add-window').click();
    const win = page.getByTestId('rule-window');
    await win.getByLabel('Window 1 start').fill('18:00');
    await win.getByLabel('Window 1 end').fill('06:00');
    await page.getByTestId('rule-save').click();
    await page.getByTestId('problem-alert').waitFor();
    assert.match((await page.getByTestId('problem-alert').textContent()) ?? '', /start must be before end/);
    await page.keyboard.press('Escape');
    await page.getByTestId('rule-form').waitFor({ state: 'detached' });
    assert.equal((await api.get('/api/v1/policy/rules')).json.items.length, 1);
  });

  await t.test('what if: the vendor on SIS-01 is denied, with the rule and pattern', async () => {
    await page.getByTestId('tab-what-if').click();
    await choose(page, 'what-if-user', 'acme.vendor (vendor)');
    await choose(page, 'what-if-asset', 'SIS-01 (L1, Werk Süd)');
    await page.getByTestId('what-if-run').click();
    await page.getByTestId('decision').waitFor();
    assert.equal(await page.getByTestId('decision').getAttribute('data-outcome'), 'deny');
    assert.match((await page.getByTestId('decision-reasons').textContent()) ?? '', /SIS-01 is a prohibited target \(pattern SIS-\*\) \(rule: No safety systems\)/);
  });

  await t.test('the Purdue defaults are turned on from the page', async () => {
    await page.getByTestId('tab-defaults').click();
    await page.getByTestId('defaults-table').waitFor();
    await page.getByTestId('defaults-enabled').click({ force: true });
    await page.getByTestId('defaults-save').click();
    await page.getByText('Saved.').waitFor();
    assert.equal((await api.get('/api/v1/policy/defaults')).json.enabled, true);
  });

  await t.test('the vendor sees why they cannot connect', async () => {
    const v = await consolePage(browser, problems, [401]);
    await signIn(v.page, 'acme.vendor', PW);
    const row = v.page.locator('[data-testid="my-asset-row"][data-asset-name="SIS-01"]');
    await row.getByTestId('why-button').click();
    await v.page.getByTestId('why-modal').getByTestId('decision').waitFor();
    const text = (await v.page.getByTestId('why-modal').textContent()) ?? '';
    assert.match(text, /Denied/);
    assert.match(text, /SIS-01 is a prohibited target \(pattern SIS-\*\) \(rule: No safety systems\)/);
    await v.context.close();
  });

  await context.close();
  await t.test('no script errors and no CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
