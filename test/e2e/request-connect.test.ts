/**
 * End-to-end test of issue 6's whole access-request flow in the console, in the Debian chromium
 * through playwright-core, against a real gateway over HTTPS and the lab's real sshd: vendor
 * requests -> admin approves -> vendor connects.
 *
 * A vendor (a Client with affiliation vendor, granted the SSH asset) signs in and, on My access,
 * asks through the Request access form for the asset "now": the gateway refuses a start that is
 * not in the future (shown next to the Start field), so the request starts at the nearest minute
 * that leaves time to decide it (a request must be decided before its window starts). Before the
 * approval, Connect on My assets opens the terminal tab and the gateway refuses it with the policy
 * reasons on the end screen ("needs 1 approval", "an approved access request is needed"). The
 * admin, in a second browser context, approves in the Approvals inbox with a comment; the vendor
 * sees the request as upcoming. The gateway's clock then jumps to the window's start (real time
 * plus an offset, the JumpClock of test/helpers/clock.ts), My access lists it as reachable now,
 * and the vendor's Connect opens an SSH session in the xterm: `echo REQ-$((6*7))` answers REQ-42.
 * The session row names the vendor and the asset, the audit log has the refused open, the
 * approval (with its comment) and the session's open, and no page had errors or CSP violations.
 *
 * Run: node --import tsx --test test/e2e/request-connect.test.ts
 * dist/web is rebuilt first when src/web is newer (PORTCULLIS_E2E_SKIP_BUILD=1 skips that).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type Lab, type LabTarget, removeLabAccount, startLab } from '../../lab/index.js';
import { JumpClock, wallClock } from '../helpers/clock.js';
import { ensureConsoleBuilt, launchChromium, signIn as signInAs, watchedContext, screen, waitForScreen, closeAll } from '../helpers/browser.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';



const LAB_ACCOUNT = 'pce2ereqconn';
const run = Date.now().toString(36);
const TZ = 'Europe/Berlin';
const SITE = `Request Connect Plant ${run}`;
const ASSET = `PLC-RQC-${run}`;
const VENDOR = `vendor.rqc.${run}`;
const VENDOR_PASSWORD = `Vendor-Rqc-${run}-Passw0rd!`;
const RULE = `Vendor approval ${run}`;
const TICKET = `CHG-${run}-42`;
const PURPOSE = 'Check the PLC after the firmware update';
const COMMENT = 'OK for today, tell the shift lead';
const MINUTES = 60;

let lab: Lab;
let ssh: LabTarget;
let gw: TestGateway;
let api: ApiClient;
let browser: Browser;
let adminCtx: BrowserContext;
let vendorCtx: BrowserContext;
let admin: Page;
let vendor: Page;
let assetId = '';
let vendorId = '';
const labDir = mkdtempSync(join(tmpdir(), 'portcullis-e2e-reqconn-'));
const clock = new JumpClock();
const problems: string[] = [];




/** My assets (a Client's start page) -> Connect on the asset's row -> SSH: the session's new tab. */
async function connectFromMyAssets(p: Page): Promise<Page> {
  await p.getByTestId('nav-dashboard').click();
  await p.locator(`[data-testid="my-asset-row"][data-asset-name="${ASSET}"] [data-testid="asset-connect"]`).click();
  const item = p.getByTestId('connect-ssh');
  assert.equal(await item.getAttribute('data-port'), String(ssh.port), 'Connect offers the asset’s SSH port');
  const [tab] = await Promise.all([p.context().waitForEvent('page'), item.click()]);
  await tab.waitForLoadState();
  assert.equal(new URL(tab.url()).pathname, '/sessions/new');
  assert.equal(new URL(tab.url()).searchParams.get('assetId'), assetId);
  return tab;
}

before(async () => {
  ensureConsoleBuilt();
  lab = await startLab({ dataDir: labDir, ports: { ssh: 7261, telnet: 7363, vnc: 7961, rdp: 7461 }, displayBase: 262, account: LAB_ACCOUNT });
  ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
  gw = await startGateway({ clock });
  api = await adminClient(gw);
  const site = await api.post('/api/v1/sites', { name: SITE, timezone: TZ });
  assert.equal(site.status, 201, site.text);
  const a = await api.post('/api/v1/assets', { name: ASSET, siteId: site.json.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] });
  assert.equal(a.status, 201, a.text);
  assetId = a.json.id;
  const acc = await api.post(`/api/v1/assets/${assetId}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password });
  assert.equal(acc.status, 201, acc.text);
  const company = await api.post('/api/v1/vendors', { name: `ACME Automation ${run}` });
  assert.equal(company.status, 201, company.text);
  const u = await api.post('/api/v1/users', { username: VENDOR, role: 'Client', password: VENDOR_PASSWORD, mustChangePassword: false, affiliation: 'vendor', vendorId: company.json.id });
  assert.equal(u.status, 201, u.text);
  vendorId = u.json.user.id;
  const g = await api.post('/api/v1/grants', { subjectType: 'user', subjectId: vendorId, targetType: 'asset', target: assetId });
  assert.equal(g.status, 201, g.text);
  // Vendors need one approval (an Administrator: no approver group) for this asset.
  const rule = await api.post('/api/v1/policy/rules', { name: RULE, subjects: { everyone: true }, appliesTo: 'vendors', targets: { assets: [assetId] }, approvals: { required: 1 } });
  assert.equal(rule.status, 201, rule.text);

  browser = await launchChromium();
  adminCtx = await watchedContext(browser, 'admin', problems);
  vendorCtx = await watchedContext(browser, 'vendor', problems);
  admin = await adminCtx.newPage();
  vendor = await vendorCtx.newPage();
});

after(() => closeAll([() => adminCtx?.close(), () => vendorCtx?.close(), () => browser?.close(), () => gw?.stop(), () => lab?.stop(), () => removeLabAccount(LAB_ACCOUNT), () => rmSync(labDir, { recursive: true, force: true })]));

test('access request flow: vendor requests, admin approves, vendor connects', async (t) => {
  let requestId = '';
  let sessionId = '';
  let start = 0;

  await t.test('the vendor asks for access now on My access; the nearest allowed start is taken', async () => {
    await signInAs(vendor, gw.url, VENDOR, VENDOR_PASSWORD);
    await vendor.getByTestId('nav-my-access').click();
    await vendor.waitForURL(/\/access$/);
    await vendor.getByTestId('request-access').click();
    const form = vendor.getByTestId('request-form');
    await form.waitFor();
    await vendor.getByTestId('request-assets').click();
    await vendor.getByTestId('request-assets').fill(ASSET.slice(0, 8));
    await vendor.getByRole('option', { name: new RegExp(`^${ASSET} `) }).click();
    await vendor.keyboard.press('Escape');
    await vendor.waitForFunction(() => (document.querySelector('[data-testid="request-protocol-ssh"]') as HTMLInputElement | null)?.checked === true);
    await vendor.getByTestId('request-zone').filter({ hasText: `${TZ} (the site’s time zone)` }).waitFor();
    await form.getByTestId('request-purpose').fill(PURPOSE);
    await form.getByTestId('request-ticket').fill(TICKET);
    await form.getByTestId('request-duration').fill(String(MINUTES));

    // "Now" (this minute on the site's wall clock) is not in the future: the gateway says so next to Start.
    await form.getByTestId('request-start').fill(wallClock(Date.now(), TZ));
    await form.getByTestId('request-submit').click();
    await form.getByText(/^must be in the future \(now is .*\): a request must be decided before its window starts$/).waitFor();
    assert.equal((await api.get(`/api/v1/requests?userId=${vendorId}`)).json.items.length, 0, 'nothing was created');

    // The nearest start the form can express (whole minutes) that still leaves time to approve it.
    start = Math.ceil((Date.now() + 90_000) / 60_000) * 60_000;
    await form.getByTestId('request-start').fill(wallClock(start, TZ));
    await form.getByTestId('request-submit').click();
    await form.waitFor({ state: 'detached' });
    assert.match((await vendor.getByTestId('request-created').textContent()) ?? '', new RegExp(`${ASSET}: waiting for 1 approval from an administrator`));
    const row = vendor.locator(`[data-testid="my-access-pending"] [data-testid="request-row"][data-ticket="${TICKET}"]`);
    await row.waitFor();
    requestId = (await row.getAttribute('data-request-id')) ?? '';
    assert.match(requestId, /^[0-9a-f-]{36}$/);
    assert.match((await row.getByTestId('request-approvals').textContent()) ?? '', /^0 of 1/);
    const got = await api.get(`/api/v1/requests/${requestId}`);
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.state, 'pending');
    assert.equal(got.json.start, new Date(start).toISOString());
    assert.equal(got.json.end, new Date(start + MINUTES * 60_000).toISOString());
    assert.deepEqual(got.json.protocols, ['ssh']);
    assert.equal(got.json.purpose, PURPOSE);
  });

  await t.test('before the approval, Connect is refused with the policy’s reasons', async () => {
    const tab = await connectFromMyAssets(vendor);
    const ended = tab.getByTestId('session-ended');
    await ended.waitFor();
    assert.equal(await ended.getAttribute('data-state'), 'failed');
    assert.equal(await ended.getAttribute('data-reason'), 'denied');
    assert.match((await ended.textContent()) ?? '', /Could not open the session/);
    const message = (await tab.getByTestId('session-end-message').textContent()) ?? '';
    assert.match(message, /^access denied: /);
    assert.match(message, /needs 1 approval/);
    assert.match(message, /an approved access request is needed/);
    assert.equal(await tab.getByTestId('session-state').getAttribute('data-state'), 'failed');
    assert.equal((await screen(tab)).trim(), '', 'nothing reached the terminal');
    await tab.close();
    // The refusal opened no session.
    const sessions = await api.get(`/api/v1/sessions?user=${encodeURIComponent(VENDOR)}`);
    assert.equal(sessions.status, 200, sessions.text);
    assert.equal(sessions.json.items.length, 0);
  });

  await t.test('the admin approves it in the Approvals inbox with a comment', async () => {
    await signInAs(admin, gw.url, gw.admin.username, gw.admin.password);
    await admin.getByTestId('nav-inbox-count').filter({ hasText: /^1$/ }).waitFor();
    await admin.getByTestId('nav-requests-inbox').click();
    const row = admin.locator(`[data-testid="inbox-table"] [data-testid="request-row"][data-request-id="${requestId}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    for (const s of [VENDOR, ASSET, PURPOSE, TICKET, '0 of 1', TZ]) assert.ok(text.includes(s), `${s} in ${text}`);
    await row.getByTestId('inbox-approve').click();
    const form = admin.getByTestId('decision-form');
    await form.waitFor();
    assert.match((await admin.getByTestId('decision-summary').textContent()) ?? '', /Approvals so far: 0 of 1/);
    await admin.getByTestId('decision-comment').fill(COMMENT);
    await admin.getByTestId('decision-submit').click();
    await form.waitFor({ state: 'detached' });
    await row.waitFor({ state: 'detached' });
    await admin.locator('[data-testid="inbox-table"]').getByText('Nothing waits for your decision.').waitFor();
    assert.ok(clock.now() < start, 'decided before its start');
  });

  await t.test('the vendor sees it approved and upcoming; at its start it is reachable now', async () => {
    // A fresh load of My access (within the console's 10 s staleTime a client-side visit shows the cached list).
    await vendor.goto(`${gw.url}/access`);
    const upcoming = vendor.locator(`[data-testid="my-access-upcoming"] [data-testid="request-row"][data-request-id="${requestId}"]`);
    await upcoming.waitFor();
    assert.equal(await upcoming.getAttribute('data-state'), 'approved');
    assert.match((await upcoming.getByTestId('request-approvals').textContent()) ?? '', /Approved/);
    assert.match((await upcoming.textContent()) ?? '', new RegExp(`${gw.admin.username}: ${COMMENT}`));
    assert.match((await upcoming.getByTestId('request-next-window').textContent()) ?? '', /^Starts /);

    // The gateway's clock moves to the window's start (plus a second).
    clock.jump(start - clock.now() + 1000);
    await vendor.reload();
    const now = vendor.locator(`[data-testid="my-access-now"] [data-testid="request-row"][data-request-id="${requestId}"]`);
    await now.waitFor();
    const open = now.getByTestId('request-next-window');
    assert.equal(await open.getAttribute('data-open'), 'true');
    assert.match((await open.textContent()) ?? '', /^Open now until /);
    assert.equal(await vendor.locator('[data-testid="my-access-upcoming"] [data-testid="request-row"]').count(), 0);
  });

  await t.test('the vendor connects from My assets and works in the terminal', async () => {
    const tab = await connectFromMyAssets(vendor);
    await tab.locator('[data-testid="session-state"][data-state="active"]').waitFor();
    assert.match((await tab.getByTestId('terminal-asset').textContent()) ?? '', new RegExp(ASSET));
    assert.match((await tab.getByTestId('terminal-protocol').textContent()) ?? '', new RegExp(`SSH :${ssh.port}`));
    await waitForScreen(tab, /\$ $/m);
    await tab.getByTestId('terminal').click();
    await tab.keyboard.type('echo REQ-$((6*7))');
    await tab.keyboard.press('Enter');
    const text = await waitForScreen(tab, /^REQ-42$/m);
    assert.ok(text.includes('echo REQ-$((6*7))'), text);

    // The gateway's session row: the vendor on the asset, through the browser, live.
    const live = await api.get(`/api/v1/sessions?user=${encodeURIComponent(VENDOR)}&state=live`);
    assert.equal(live.status, 200, live.text);
    assert.equal(live.json.items.length, 1, live.text);
    const s = live.json.items[0];
    assert.deepEqual(s.user, { id: vendorId, username: VENDOR });
    assert.deepEqual(s.asset, { id: assetId, name: ASSET });
    assert.equal(s.site.name, SITE);
    assert.equal(s.protocol, 'ssh');
    assert.equal(s.port, ssh.port);
    assert.equal(s.via, 'browser');
    assert.equal(s.state, 'active');
    sessionId = s.id;

    await tab.getByTestId('terminal-disconnect').click();
    await tab.getByTestId('session-ended').waitFor();
    assert.match((await tab.getByTestId('session-end-message').textContent()) ?? '', /You closed the session/);
    await tab.close();
    // Closing ends it on the gateway too.
    const t0 = Date.now();
    for (;;) {
      const got = await api.get(`/api/v1/sessions/${s.id}`);
      if (got.json.state === 'ended') break;
      if (Date.now() - t0 > 10_000) assert.fail(`the session is still ${got.json.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  await t.test('the audit log has the refused open, the approval and the session', async () => {
    const approve = await api.get(`/api/v1/audit?action=request.approve&target=${encodeURIComponent(ASSET)}`);
    assert.equal(approve.status, 200, approve.text);
    assert.equal(approve.json.items.length, 1, approve.text);
    const e = approve.json.items[0];
    assert.equal(e.result, 'success');
    assert.equal(e.actor.name, gw.admin.username);
    assert.deepEqual(e.target, { type: 'access_request', id: requestId, name: ASSET });
    assert.equal(e.details.requester, VENDOR);
    assert.equal(e.details.final, true);
    assert.equal(e.details.approvals, 1);
    assert.equal(e.details.comment, COMMENT);

    const opens = await api.get(`/api/v1/audit?action=session.open&actor=${encodeURIComponent(VENDOR)}`);
    assert.equal(opens.status, 200, opens.text);
    // Newest first: the session, then the refusal.
    assert.deepEqual(opens.json.items.map((x: { result: string }) => x.result), ['success', 'failure'], opens.text);
    const [ok, refused] = opens.json.items;
    assert.equal(refused.target.id, assetId);
    assert.equal(refused.details.outcome, 'require_approval');
    assert.ok(refused.details.reasons.includes('an approved access request is needed'), JSON.stringify(refused.details));
    assert.equal(ok.target.id, assetId);
    assert.equal(ok.details.protocol, 'ssh');
    assert.equal(ok.details.via, 'browser');
    assert.equal(ok.details.session, sessionId);
  });

  await t.test('no page errors or CSP violations', () => {
    // The refused "now" start is the gateway's expected 400 (Chrome logs every 4xx): that one only.
    const expected = `vendor console: Failed to load resource: the server responded with a status of 400 (Bad Request) (${new URL('/api/v1/requests', gw.url).href})`;
    assert.deepEqual(problems.filter((p) => p !== expected), []);
    assert.equal(problems.length, 1, 'the refused start was logged once');
  });
});
