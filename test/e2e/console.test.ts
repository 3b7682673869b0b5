/**
 * End-to-end test of the console (React SPA) against a real gateway over HTTPS, driven by the
 * Debian chromium through playwright-core: first sign-in with the one-time password, forced
 * password change, a site and an asset created through the UI, the CSV export, the CSV import with
 * row errors and activation, the Audit log (filters, details, CSV, chain check naming an edited
 * row), and the way back to the login page when the session is gone.
 *
 * Run: node --import tsx --test test/e2e/console.test.ts
 * The console is (re)built into dist/web first when it is missing or older than src/web
 * (set PORTCULLIS_E2E_SKIP_BUILD=1 to skip). PORTCULLIS_E2E_SCREENSHOTS=<dir> keeps the screenshots.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { consolePage, ensureConsoleBuilt, launchChromium } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';



let gw: TestGateway;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const shots = process.env.PORTCULLIS_E2E_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'portcullis-e2e-'));
const problems: string[] = [];

const run = Date.now().toString(36);
const siteName = `E2E Plant ${run}`;
const assetName = `PLC-E2E-${run}`;
const newPassword = `E2e-Console-${run}-Passw0rd!`;

/** Picks an option of a Mantine Select (a combobox whose options render in a portal). */
async function choose(testId: string, option: string): Promise<void> {
  await page.getByTestId(testId).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

async function apiFromPage<T = unknown>(path: string): Promise<{ status: number; type: string; body: T }> {
  return page.evaluate(async (p) => {
    const r = await fetch(p, { credentials: 'same-origin' });
    const type = r.headers.get('content-type') ?? '';
    const body = type.includes('json') ? await r.json() : await r.text();
    return { status: r.status, type, body };
  }, path) as Promise<{ status: number; type: string; body: T }>;
}

before(async () => {
  ensureConsoleBuilt();
  gw = await startGateway();
  browser = await launchChromium();
  // Expected non-2xx fetches: the session probe 401, the bad login 401, the rejected import 422.
  ({ context, page } = await consolePage(browser, problems, [401, 422]));
});

after(async () => {
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await gw?.stop();
});

test('console: first sign-in, sites, assets, CSV, import, session end', async (t) => {
  await t.test('a wrong password is refused with a clear message', async () => {
    await page.goto(gw.url);
    await page.waitForURL(/\/login$/);
    await page.getByTestId('login-username').fill(gw.admin.username);
    await page.getByTestId('login-password').fill('not-the-password');
    await page.getByTestId('login-submit').click();
    const err = page.getByTestId('login-error');
    await err.waitFor();
    assert.match((await err.textContent()) ?? '', /sign-in failed/i);
  });

  await t.test('the one-time password forces a password change first', async () => {
    await page.getByTestId('login-password').fill(gw.admin.password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('change-password-form').waitFor();
    // Nothing else is reachable before the change: the app sends us back here.
    await page.goto(`${gw.url}/assets`);
    await page.getByTestId('change-password-form').waitFor();
    await page.getByTestId('current-password').fill(gw.admin.password);
    await page.getByTestId('new-password').fill(newPassword);
    await page.getByTestId('repeat-password').fill(newPassword);
    await page.getByTestId('change-password-submit').click();
    // Back where we wanted to go, signed in.
    await page.getByTestId('new-asset').waitFor();
    assert.match(new URL(page.url()).pathname, /^\/assets$/);
    await page.getByTestId('user-menu').waitFor();
  });

  await t.test('the dashboard shows the inventory counts', async () => {
    await page.getByTestId('nav-dashboard').click();
    await page.getByTestId('stat-sites-value').waitFor();
    assert.equal((await page.getByTestId('stat-sites-value').textContent())?.trim(), '0');
    assert.equal((await page.getByTestId('stat-users-value').textContent())?.trim(), '1');
  });

  await t.test('a site is created through the Sites page', async () => {
    await page.getByTestId('nav-sites').click();
    await page.getByTestId('new-site').click();
    await page.getByTestId('site-name').fill(siteName);
    await page.getByTestId('site-description').fill('Created by the console end-to-end test');
    await page.getByTestId('site-save').click();
    await page.getByTestId('site-form').waitFor({ state: 'detached' });
    await page.getByRole('link', { name: siteName, exact: true }).waitFor();
  });

  await t.test('an asset is created through the Assets page', async () => {
    await page.getByTestId('nav-assets').click();
    await page.getByTestId('new-asset').click();
    await page.getByTestId('asset-form').waitFor();
    await page.getByTestId('asset-name').fill(assetName);
    await page.getByTestId('asset-host').fill('10.20.30.40');
    await choose('asset-site', siteName);
    await choose('asset-purdue-level', 'Level 1 – Basic control (PLC, RTU, safety)');
    await choose('access-protocol-0', 'SSH');
    await page.getByTestId('access-port-0').fill('22');
    await page.getByTestId('asset-tags').fill('line3, plc');
    await page.getByTestId('asset-safety-critical').check();
    await page.getByTestId('asset-vendor').fill('Siemens');
    await page.getByTestId('asset-model').fill('S7-1500');
    await page.getByTestId('asset-firmware').fill('V2.9.4');
    await page.getByTestId('asset-description').fill('Line 3 main PLC');
    await page.getByTestId('asset-save').click();
    await page.getByTestId('asset-form').waitFor({ state: 'detached' });

    const row = page.locator(`[data-testid="asset-row"][data-asset-name="${assetName}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    assert.match(text, /10\.20\.30\.40/);
    assert.match(text, /SSH 22/);
    assert.match(text, new RegExp(siteName));

    // The gateway has it, seen through the page's own session cookie.
    const res = await apiFromPage<{ items: { name: string; host: string; purdueLevel: number; safetyCritical: boolean; tags: string[]; accessMethods: { protocol: string; port: number }[] }[] }>(
      `/api/v1/assets?name=${encodeURIComponent(assetName)}`,
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.items.length, 1);
    const [a] = res.body.items;
    assert.ok(a);
    assert.equal(a.name, assetName);
    assert.equal(a.host, '10.20.30.40');
    assert.equal(a.purdueLevel, 1);
    assert.equal(a.safetyCritical, true);
    assert.deepEqual([...a.tags].sort(), ['line3', 'plc']);
    assert.deepEqual(
      a.accessMethods.map((m) => [m.protocol, m.port]),
      [['ssh', 22]],
    );
  });

  await t.test('the CSV button exports the filtered list as text/csv', async () => {
    await page.getByTestId('filter-name').fill(assetName);
    await page.waitForFunction(
      (name) => (document.querySelector('[data-testid="csv-button"]') as HTMLAnchorElement | null)?.href.includes(encodeURIComponent(name)),
      assetName,
    );
    const href = (await page.getByTestId('csv-button').getAttribute('href')) ?? '';
    assert.ok(href.startsWith('/api/v1/assets?'), `CSV link: ${href}`);
    assert.match(href, /format=csv/);
    const res = await apiFromPage<string>(href);
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/csv/);
    assert.ok(res.body.includes(assetName), 'the CSV names the asset');

    // And the button itself downloads it.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv-button').click()]);
    const file = await download.path();
    assert.ok(readFileSync(file, 'utf8').includes(assetName));
    await page.getByRole('button', { name: 'Clear Name' }).click();
  });

  await t.test('a CSV import with bad rows names each row and column; a good one can be activated', async () => {
    await page.getByTestId('tab-imported').click();
    await page.getByTestId('import-csv').click();
    const header = 'name,site,zone,purdue_level,host,access_methods,tags,safety_critical,vendor,model,firmware,description\n';
    const bad = `${header}HMI-E2E-${run},${siteName},,2,10.20.30.50,vnc:5900,,no,,,,\nBAD-E2E-${run},No Such Site,,2,10.20.30.51,carrier-pigeon:1,,no,,,,\n`;
    await page.locator('[data-testid="import-form"] input[type="file"]').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await page.getByTestId('import-submit').click();
    const errors = page.getByTestId('problem-errors');
    await errors.waitFor();
    const listed = (await errors.textContent()) ?? '';
    assert.match(listed, /row \d+, column \w+:/, listed);

    const good = `${header}HMI-E2E-${run},${siteName},,2,10.20.30.50,vnc:5900;rdp:3389,line3;hmi,no,Siemens,TP1500,,Operator panel\n`;
    await page.locator('[data-testid="import-form"] input[type="file"]').setInputFiles({ name: 'good.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
    await page.getByTestId('import-submit').click();
    await page.getByTestId('import-form').waitFor({ state: 'detached' });
    await page.getByTestId('assets-notice').waitFor();
    const row = page.locator(`[data-testid="asset-row"][data-asset-name="HMI-E2E-${run}"]`);
    await row.waitFor();
    // The freshly imported rows come preselected; activate them.
    await page.getByRole('button', { name: /Activate 1 selected/ }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByTestId('tab-active').click();
    await page.locator(`[data-testid="asset-row"][data-asset-name="HMI-E2E-${run}"]`).waitFor();
  });

  await t.test('screenshot of the Assets page', async () => {
    mkdirSync(shots, { recursive: true });
    await page.getByTestId('asset-row').first().waitFor();
    await page.mouse.move(0, 0);
    const file = join(shots, 'assets.png');
    await page.screenshot({ path: file, fullPage: true });
    await page.getByTestId('new-asset').click();
    await page.getByTestId('asset-form').waitFor();
    await page.waitForTimeout(400); // let the modal finish fading in
    await page.screenshot({ path: join(shots, 'asset-form.png') });
    await page.keyboard.press('Escape');
    await page.getByTestId('asset-form').waitFor({ state: 'detached' });
    t.diagnostic(`screenshots in ${shots}`);
  });

  await t.test('the Audit log filters and details what was done, exports it, verifies the chain and names an edited row', async () => {
    await page.getByTestId('nav-system-audit').click();
    await page.getByTestId('audit-row').first().waitFor();
    // Filter: asset events on the asset created above.
    await page.getByTestId('filter-action').fill('asset.');
    await page.getByTestId('filter-target').fill(assetName);
    const created = page.locator('[data-testid="audit-row"][data-action="asset.create"]');
    await created.waitFor();
    await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-testid="audit-row"]')).every((r) => r.getAttribute('data-action')?.startsWith('asset.')));
    assert.match(new URL(page.url()).search, /action=asset\./);
    // The event's details, then every event of the same asset (by its id).
    await created.click();
    const event = page.getByTestId('audit-event');
    await event.waitFor();
    const text = (await event.textContent()) ?? '';
    assert.ok(text.includes(assetName) && text.includes(gw.admin.username) && text.includes('asset.create'), text);
    await page.getByTestId('audit-same-target').click();
    await page.getByTestId('filter-target-id').waitFor();
    assert.match(new URL(page.url()).search, /targetId=/);
    // The CSV of the filtered view.
    const href = (await page.getByTestId('csv-button').getAttribute('href')) ?? '';
    assert.match(href, /format=csv/);
    assert.match(href, /targetId=/);
    const csv = await apiFromPage<string>(href);
    assert.equal(csv.status, 200);
    assert.match(csv.type, /^text\/csv/);
    assert.ok(csv.body.split('\n')[0]!.startsWith('seq,at,actor'), csv.body.slice(0, 200));
    assert.ok(csv.body.includes('asset.create') && csv.body.includes(assetName));

    // The chain: intact, with the checkpoint the gateway signed at start; sign one more.
    await page.getByTestId('audit-verify').click();
    const result = page.getByTestId('audit-verify-result');
    await result.waitFor();
    assert.equal(await result.getAttribute('data-ok'), 'true', (await result.textContent()) ?? '');
    assert.match((await result.textContent()) ?? '', /every hash link holds.*signed checkpoint/);
    await page.getByTestId('audit-sign').click();
    await page.getByTestId('audit-signed').waitFor();
    await page.screenshot({ path: join(shots, 'audit.png'), fullPage: true });

    // Someone with database access edits an event: the check names it.
    const row = await gw.gw.database.db.selectFrom('audit_events').select(['seq', 'details']).where('action', '=', 'asset.create').where('target_name', '=', assetName).executeTakeFirstOrThrow();
    await gw.gw.database.db.updateTable('audit_events').set({ details: row.details.replace(assetName, 'PLC-innocent') }).where('seq', '=', row.seq).execute();
    await page.getByTestId('audit-verify').click();
    await page.locator('[data-testid="audit-verify-result"][data-ok="false"]').waitFor();
    assert.match((await result.textContent()) ?? '', new RegExp(`tampered.*#${row.seq}`));
  });

  await t.test('a 401 anywhere returns to the login page', async () => {
    await context.clearCookies();
    // The Users list has not been loaded yet, so opening it must ask the gateway (and get 401).
    await page.getByTestId('nav-users').click();
    await page.waitForURL(/\/login$/);
    await page.getByTestId('session-expired').waitFor();
    // Signing in again lands on the page we were sent away from.
    await page.getByTestId('login-username').fill(gw.admin.username);
    await page.getByTestId('login-password').fill(newPassword);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('new-user').waitFor();
    assert.equal(new URL(page.url()).pathname, '/users');
    await page.locator('[data-testid="user-row"][data-username="admin"]').waitFor();
  });

  await t.test('no script errors and no CSP violations', () => {
    assert.deepEqual(problems, []);
  });
});
