/**
 * End-to-end test of the access-request pages in the console, in the Debian chromium through
 * playwright-core, against a real gateway over HTTPS: a vendor (a Client with affiliation vendor)
 * asks for an asset whose rules need one approval through the Request access form (start entered
 * in the site's time zone, Europe/Berlin); a second request breaking the rules' maximum duration
 * shows the 422 policy reasons in the form; the admin sees the pending count on the Dashboard,
 * approves in the Approvals inbox with a comment, and the vendor finds it approved (upcoming) in
 * My access. A third request is denied with a reason (the empty reason is the gateway's 400,
 * shown next to the field), and the vendor sees the denial and its reason. The staff Requests list
 * filters by state and offers the CSV export. No page errors, no CSP violations.
 * No lab target: connecting under an approved request is covered by the server-side tests.
 *
 * Run: node --import tsx --test test/e2e/requests.test.ts
 * dist/web is rebuilt first when src/web is newer (PORTCULLIS_E2E_SKIP_BUILD=1 skips that).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { wallClock } from '../helpers/clock.js';
import { ensureConsoleBuilt, launchChromium, signIn as signInAs, watchedContext } from '../helpers/browser.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const run = Date.now().toString(36);
const TZ = 'Europe/Berlin';
const SITE = `Request Plant ${run}`;
const ASSET = `PLC-REQ-${run}`;
const VENDOR = `vendor.req.${run}`;
const VENDOR_PASSWORD = `Vendor-Req-${run}-Passw0rd!`;
const MAX_MINUTES = 120;

let gw: TestGateway;
let api: ApiClient;
let browser: Browser;
let adminCtx: BrowserContext;
let vendorCtx: BrowserContext;
let admin: Page;
let vendor: Page;
let assetId = '';
let vendorId = '';
const problems: string[] = [];


/** Whole hours from now, in the future. */
const hoursAhead = (h: number) => Math.ceil((Date.now() + h * 3_600_000) / 3_600_000) * 3_600_000;
const START_1 = hoursAhead(48);
const START_3 = hoursAhead(72);

/** Fills the Request access form (My access -> Request access) and submits it. */
async function submitRequest(p: Page, o: { purpose: string; ticket: string; start: number; minutes: number }): Promise<void> {
  await p.getByTestId('request-access').click();
  const form = p.getByTestId('request-form');
  await form.waitFor();
  await p.getByTestId('request-assets').click();
  await p.getByTestId('request-assets').fill(ASSET.slice(0, 8));
  await p.getByRole('option', { name: new RegExp(`^${ASSET} `) }).click();
  await p.keyboard.press('Escape');
  // The access method is offered from the asset and preselected; the site's zone is shown.
  const ssh = p.getByTestId('request-protocol-ssh');
  await ssh.waitFor({ state: 'attached' });
  await p.waitForFunction(() => (document.querySelector('[data-testid="request-protocol-ssh"]') as HTMLInputElement | null)?.checked === true);
  assert.equal(await ssh.isChecked(), true, 'SSH is preselected');
  await p.getByTestId('request-zone').filter({ hasText: `${TZ} (the site’s time zone)` }).waitFor();
  await form.getByTestId('request-purpose').fill(o.purpose);
  await form.getByTestId('request-ticket').fill(o.ticket);
  await form.getByTestId('request-start').fill(wallClock(o.start, TZ));
  await form.getByTestId('request-duration').fill(String(o.minutes));
  await form.getByTestId('request-submit').click();
}

before(async () => {
  ensureConsoleBuilt();
  gw = await startGateway();
  api = await adminClient(gw);
  const site = await api.post('/api/v1/sites', { name: SITE, timezone: TZ });
  assert.equal(site.status, 201, site.text);
  const a = await api.post('/api/v1/assets', { name: ASSET, siteId: site.json.id, purdueLevel: 2, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: 22 }] });
  assert.equal(a.status, 201, a.text);
  assetId = a.json.id;
  const company = await api.post('/api/v1/vendors', { name: `ACME Automation ${run}` });
  assert.equal(company.status, 201, company.text);
  const u = await api.post('/api/v1/users', { username: VENDOR, role: 'Client', password: VENDOR_PASSWORD, mustChangePassword: false, affiliation: 'vendor', vendorId: company.json.id });
  assert.equal(u.status, 201, u.text);
  vendorId = u.json.user.id;
  const g = await api.post('/api/v1/grants', { subjectType: 'user', subjectId: vendorId, targetType: 'asset', target: assetId });
  assert.equal(g.status, 201, g.text);
  // Vendors need one approval (an Administrator: no approver group) and at most two hours.
  const rule = await api.post('/api/v1/policy/rules', {
    name: `Vendor approval ${run}`, subjects: { everyone: true }, appliesTo: 'vendors', targets: { assets: [assetId] }, approvals: { required: 1 }, maxSessionMinutes: MAX_MINUTES,
  });
  assert.equal(rule.status, 201, rule.text);

  browser = await launchChromium();
  adminCtx = await watchedContext(browser, 'admin', problems);
  vendorCtx = await watchedContext(browser, 'vendor', problems);
  admin = await adminCtx.newPage();
  vendor = await vendorCtx.newPage();
});

after(async () => {
  await adminCtx?.close().catch(() => {});
  await vendorCtx?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await gw?.stop();
});

test('access requests: request, policy violations, approve, deny, list', async (t) => {
  let approvedId = '';
  let deniedId = '';

  await t.test('the vendor requests access from My access; it waits for one approval', async () => {
    await signInAs(vendor, gw.url, VENDOR, VENDOR_PASSWORD);
    await vendor.getByTestId('nav-my-access').click();
    await vendor.waitForURL(/\/access$/);
    // A vendor with nothing to decide has no Approvals entry.
    assert.equal(await vendor.getByTestId('nav-requests-inbox').count(), 0);
    await submitRequest(vendor, { purpose: 'Firmware update of the line PLC', ticket: `CHG-${run}-1`, start: START_1, minutes: 60 });
    await vendor.getByTestId('request-form').waitFor({ state: 'detached' });
    assert.match((await vendor.getByTestId('request-created').textContent()) ?? '', /waiting for 1 approval from an administrator/);
    const row = vendor.locator(`[data-testid="my-access-pending"] [data-testid="request-row"][data-ticket="CHG-${run}-1"]`);
    await row.waitFor();
    approvedId = (await row.getAttribute('data-request-id')) ?? '';
    assert.equal(await row.getAttribute('data-state'), 'pending');
    assert.match((await row.getByTestId('request-approvals').textContent()) ?? '', /^0 of 1/);
    // The start was entered on the site's wall clock: the gateway has exactly that instant.
    const got = await api.get(`/api/v1/requests/${approvedId}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.start, new Date(START_1).toISOString());
    assert.equal(got.json.end, new Date(START_1 + 60 * 60_000).toISOString());
    assert.equal(got.json.timeZone, TZ);
    assert.deepEqual(got.json.protocols, ['ssh']);
    assert.match((await row.getByTestId('request-window').textContent()) ?? '', new RegExp(TZ));
  });

  await t.test('a request above the maximum duration shows the 422 policy reasons in the form', async () => {
    await submitRequest(vendor, { purpose: 'Long commissioning job', ticket: `CHG-${run}-2`, start: START_3 + 24 * 3_600_000, minutes: 600 });
    const violations = vendor.getByTestId('request-violations');
    await violations.waitFor();
    const reasons = await vendor.getByTestId('request-violation').allTextContents();
    assert.ok(reasons.some((r) => r.includes(`duration 600 min is above the maximum of ${MAX_MINUTES} min`)), reasons.join('\n'));
    assert.ok(reasons.every((r) => r.includes(ASSET)), 'each reason names the asset');
    // Nothing was created; the form stays open with what was typed.
    assert.equal(await vendor.getByTestId('request-purpose').inputValue(), 'Long commissioning job');
    const mine = await api.get(`/api/v1/requests?userId=${vendorId}`);
    assert.equal(mine.json.items.length, 1);
    await vendor.keyboard.press('Escape');
    await vendor.getByTestId('request-form').waitFor({ state: 'detached' });
  });

  await t.test('a third request, to be denied', async () => {
    await submitRequest(vendor, { purpose: 'Replace the HMI panel', ticket: `CHG-${run}-3`, start: START_3, minutes: 90 });
    await vendor.getByTestId('request-form').waitFor({ state: 'detached' });
    const row = vendor.locator(`[data-testid="my-access-pending"] [data-testid="request-row"][data-ticket="CHG-${run}-3"]`);
    await row.waitFor();
    deniedId = (await row.getAttribute('data-request-id')) ?? '';
  });

  await t.test('the admin sees the pending count and approves in the Approvals inbox with a comment', async () => {
    await signInAs(admin, gw.url, gw.admin.username, gw.admin.password);
    await admin.getByTestId('stat-approvals-value').filter({ hasText: /^2$/ }).waitFor();
    await admin.getByTestId('nav-inbox-count').filter({ hasText: /^2$/ }).waitFor();
    await admin.getByTestId('nav-requests-inbox').click();
    const row = admin.locator(`[data-testid="inbox-table"] [data-testid="request-row"][data-request-id="${approvedId}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    for (const s of [VENDOR, ASSET, 'Firmware update of the line PLC', `CHG-${run}-1`, '0 of 1', TZ]) assert.ok(text.includes(s), `${s} in ${text}`);
    await row.getByTestId('inbox-approve').click();
    const form = admin.getByTestId('decision-form');
    await form.waitFor();
    assert.match((await admin.getByTestId('decision-summary').textContent()) ?? '', /Approvals so far: 0 of 1/);
    await admin.getByTestId('decision-comment').fill('OK, coordinate with the shift lead');
    await admin.getByTestId('decision-submit').click();
    await form.waitFor({ state: 'detached' });
    await row.waitFor({ state: 'detached' });
    await admin.getByTestId('nav-inbox-count').filter({ hasText: /^1$/ }).waitFor();
  });

  await t.test('a denial needs a reason (the gateway says so next to the field), then it is denied', async () => {
    const row = admin.locator(`[data-testid="inbox-table"] [data-testid="request-row"][data-request-id="${deniedId}"]`);
    await row.getByTestId('inbox-deny').click();
    const form = admin.getByTestId('decision-form');
    await form.waitFor();
    await admin.getByTestId('decision-submit').click();
    await form.getByText('give a reason', { exact: true }).waitFor();
    assert.equal((await api.get(`/api/v1/requests/${deniedId}`)).json.state, 'pending', 'nothing changed');
    await admin.getByTestId('decision-comment').fill('No HMI work during the audit week');
    await admin.getByTestId('decision-submit').click();
    await form.waitFor({ state: 'detached' });
    await admin.locator('[data-testid="inbox-table"]').getByText('Nothing waits for your decision.').waitFor();
  });

  await t.test('the vendor sees the approval and the denial in My access', async () => {
    await vendor.reload();
    const approved = vendor.locator(`[data-testid="my-access-upcoming"] [data-testid="request-row"][data-request-id="${approvedId}"]`);
    await approved.waitFor();
    assert.equal(await approved.getAttribute('data-state'), 'approved');
    assert.match((await approved.getByTestId('request-state').textContent()) ?? '', /Approved/);
    assert.match((await approved.getByTestId('request-approvals').textContent()) ?? '', /Approved/);
    assert.match((await approved.textContent()) ?? '', /OK, coordinate with the shift lead/);
    assert.match((await approved.getByTestId('request-next-window').textContent()) ?? '', /^Starts /);
    const denied = vendor.locator(`[data-testid="my-access-closed"] [data-testid="request-row"][data-request-id="${deniedId}"]`);
    await denied.waitFor();
    assert.equal(await denied.getAttribute('data-state'), 'denied');
    assert.match((await denied.getByTestId('request-decision').textContent()) ?? '', new RegExp(`Denied by ${gw.admin.username}: No HMI work during the audit week`));
    assert.equal(await vendor.locator('[data-testid="my-access-pending"] [data-testid="request-row"]').count(), 0);
    // The emails' link (/requests/:id) opens the request.
    await vendor.goto(`${gw.url}/requests/${deniedId}`);
    await vendor.locator(`[data-testid="request-detail-table"] [data-testid="request-row"][data-request-id="${deniedId}"][data-state="denied"]`).waitFor();
  });

  await t.test('the staff Requests list filters by state and exports CSV', async () => {
    await admin.getByTestId('nav-requests').click();
    await admin.locator('[data-testid="requests-table"] [data-testid="request-row"]').nth(1).waitFor();
    await admin.getByTestId('filter-state').click();
    await admin.getByRole('option', { name: 'Denied', exact: true }).click();
    await admin.waitForURL(/state=denied/);
    await admin.locator(`[data-testid="requests-table"] [data-testid="request-row"][data-request-id="${approvedId}"]`).waitFor({ state: 'detached' });
    assert.equal(await admin.locator('[data-testid="requests-table"] [data-testid="request-row"]').count(), 1);
    const csv = (await admin.getByTestId('csv-button').getAttribute('href')) ?? '';
    assert.match(csv, /^\/api\/v1\/requests\?format=csv&state=denied/);
    const body = await admin.evaluate(async (href) => (await fetch(href, { credentials: 'same-origin' })).text(), csv);
    assert.match(body, new RegExp(`${deniedId}.*denied`));
    assert.ok(!body.includes(approvedId));
    // The approved row offers revoke and extend to the Administrator.
    await admin.getByTestId('filter-state').click();
    await admin.getByRole('option', { name: 'Approved', exact: true }).click();
    const row = admin.locator(`[data-testid="requests-table"] [data-testid="request-row"][data-request-id="${approvedId}"]`);
    await row.getByTestId('request-revoke').waitFor();
    await row.getByTestId('request-extend').waitFor();
  });

  await t.test('no page errors or CSP violations', () => {
    // The 400 (empty reason) and 422 (policy) answers are expected; Chrome logs every 4xx.
    const unexpected = problems.filter((p) => !/Failed to load resource: the server responded with a status of (400|422)/.test(p));
    assert.deepEqual(unexpected, []);
  });
});
