/**
 * End-to-end test of session gates in the console, in the Debian chromium through playwright-core,
 * against a real gateway over HTTPS and the lab's real sshd. A vendor (a Client granted three SSH
 * assets) works in one browser context, the admin in another.
 *
 * Manual session approval: the vendor clicks Connect on PLC-GATE (its rule needs 1 live approval,
 * no group: an Administrator); the terminal tab shows "Waiting for approval". The admin sees the
 * session on the Dashboard's "Sessions waiting for you" within a few seconds and approves it with a
 * comment; the vendor's tab connects and `echo GATE-$((6*7))` answers GATE-42. The vendor
 * disconnects and clicks "Connect again": the admin rejects that attempt with a reason, and the
 * vendor's end screen says "rejected by admin: <reason>".
 *
 * Moderated session (watch required): Connect on HMI-MOD shows "Waiting for a moderator"; the admin
 * clicks "Join as moderator" (the watch page opens in a new tab), the session opens and works, and
 * the vendor sees "Watched by: admin". When the admin stops watching the vendor's tab shows the
 * "Paused" banner and what is typed meanwhile never reaches the asset; the admin rejoins from
 * Active sessions and the session continues.
 *
 * Break-glass: RTU-BG needs an approved access request, and a rule lets the vendor break glass.
 * Connect fails with the policy's reason and offers "Break glass…"; the vendor writes a reason and
 * connects: the session is active with the Break-glass badge. The admin opens the console and finds
 * it, live, in "Break-glass sessions to review" on the Dashboard; once the vendor disconnects the
 * row offers "Sign off" within a few seconds, the admin signs it off with a note, it leaves the
 * queue, and the audit log's session.review event has the note.
 *
 * None of the flows causes an HTTP error in the browser: no page errors, no CSP violations and no
 * console errors at all are allowed (watchedContext only lets the login page's 401 probe pass).
 *
 * Run: node --import tsx --test test/e2e/gates.test.ts
 * dist/web is rebuilt first when src/web is newer (PORTCULLIS_E2E_SKIP_BUILD=1 skips that).
 * PORTCULLIS_E2E_SCREENSHOTS=<dir> keeps the screenshots.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type Lab, type LabTarget, removeLabAccount, startLab } from '../../lab/index.js';
import { ensureConsoleBuilt, launchChromium, signIn as signInAs, watchedContext, screen, waitForScreen, closeAll } from '../helpers/browser.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';


const LAB_ACCOUNT = 'pce2egates';
const run = Date.now().toString(36);
const SITE = `Gates Plant ${run}`;
const APPROVAL_ASSET = `PLC-GATE-${run}`;
const MODERATED_ASSET = `HMI-MOD-${run}`;
const BREAK_GLASS_ASSET = `RTU-BG-${run}`;
const VENDOR = `vendor.gates.${run}`;
const VENDOR_PASSWORD = `Vendor-Gates-${run}-Passw0rd!`;
const COMMENT = `planned PLC check ${run}`;
const REJECT_REASON = `no work order for a second session ${run}`;
const BG_REASON = `Line 3 stopped with fault E-17, on-call reset ${run}`;
const REVIEW_NOTE = `Watched the recording: only the fault reset ${run}. OK.`;

let lab: Lab;
let ssh: LabTarget;
let gw: TestGateway;
let api: ApiClient;
let browser: Browser;
let adminCtx: BrowserContext;
let vendorCtx: BrowserContext;
let admin: Page;
let vendor: Page;
const labDir = mkdtempSync(join(tmpdir(), 'portcullis-e2e-gates-'));
const shots = process.env.PORTCULLIS_E2E_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'portcullis-e2e-gates-shots-'));
const problems: string[] = [];



/** Types a command into the page's terminal and presses Enter. */
async function typeLine(p: Page, line: string): Promise<void> {
  await p.getByTestId('terminal').click();
  await p.keyboard.type(line);
  await p.keyboard.press('Enter');
}

/** My assets (a Client's start page) -> Connect on the asset's row -> SSH: the session's new tab. */
async function connectFromMyAssets(p: Page, assetName: string): Promise<Page> {
  await p.getByTestId('nav-dashboard').click();
  await p.locator(`[data-testid="my-asset-row"][data-asset-name="${assetName}"] [data-testid="asset-connect"]`).click();
  const [tab] = await Promise.all([p.context().waitForEvent('page'), p.getByTestId('connect-ssh').click()]);
  await tab.waitForLoadState();
  assert.equal(new URL(tab.url()).pathname, '/sessions/new');
  return tab;
}

/** The admin's Dashboard row of the session waiting for the vendor on `assetName` (polled every 3 s). */
async function waitingRow(assetName: string) {
  const row = admin.locator(`[data-testid="waiting-sessions"] [data-testid="waiting-session"][data-user="${VENDOR}"]`).filter({ hasText: assetName });
  await row.waitFor({ timeout: 8_000 });
  return row;
}

before(async () => {
  ensureConsoleBuilt();
  lab = await startLab({ dataDir: labDir, ports: { ssh: 7271, telnet: 7373, vnc: 7971, rdp: 7471 }, displayBase: 266, account: LAB_ACCOUNT });
  ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
  gw = await startGateway();
  api = await adminClient(gw);
  const site = await api.post('/api/v1/sites', { name: SITE });
  assert.equal(site.status, 201, site.text);
  const u = await api.post('/api/v1/users', { username: VENDOR, role: 'Client', password: VENDOR_PASSWORD, mustChangePassword: false });
  assert.equal(u.status, 201, u.text);
  const vendorId = u.json.user.id as string;
  const ids: Record<string, string> = {};
  for (const name of [APPROVAL_ASSET, MODERATED_ASSET, BREAK_GLASS_ASSET]) {
    const a = await api.post('/api/v1/assets', { name, siteId: site.json.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] });
    assert.equal(a.status, 201, a.text);
    ids[name] = a.json.id;
    const acc = await api.post(`/api/v1/assets/${a.json.id}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password });
    assert.equal(acc.status, 201, acc.text);
    const g = await api.post('/api/v1/grants', { subjectType: 'user', subjectId: vendorId, targetType: 'asset', target: a.json.id });
    assert.equal(g.status, 201, g.text);
  }
  const rule = async (body: Record<string, unknown>) => {
    const r = await api.post('/api/v1/policy/rules', body);
    assert.equal(r.status, 201, r.text);
  };
  await rule({ name: `${APPROVAL_ASSET}: one live approval`, subjects: { everyone: true }, targets: { assets: [ids[APPROVAL_ASSET]] }, sessionApproval: { required: 1 } });
  await rule({ name: `${MODERATED_ASSET}: moderated`, subjects: { everyone: true }, targets: { assets: [ids[MODERATED_ASSET]] }, watchRequired: true });
  await rule({ name: `${BREAK_GLASS_ASSET}: approved requests only`, subjects: { everyone: true }, targets: { assets: [ids[BREAK_GLASS_ASSET]] }, approvals: { required: 1 } });
  await rule({ name: `${BREAK_GLASS_ASSET}: the vendor may break glass`, subjects: { users: [vendorId] }, targets: { assets: [ids[BREAK_GLASS_ASSET]] }, breakGlass: true });

  browser = await launchChromium();
  adminCtx = await watchedContext(browser, 'admin', problems);
  vendorCtx = await watchedContext(browser, 'vendor', problems);
  admin = await adminCtx.newPage();
  vendor = await vendorCtx.newPage();
  mkdirSync(shots, { recursive: true });
});

after(() => closeAll([() => adminCtx?.close(), () => vendorCtx?.close(), () => browser?.close(), () => gw?.stop(), () => lab?.stop(), () => removeLabAccount(LAB_ACCOUNT), () => rmSync(labDir, { recursive: true, force: true })]));

test('session gates: live approval, moderated session, break-glass', async (t) => {
  await signInAs(admin, gw.url, gw.admin.username, gw.admin.password);
  await signInAs(vendor, gw.url, VENDOR, VENDOR_PASSWORD);

  await t.test('manual approval: the session waits, the admin approves it on the Dashboard with a comment, it connects', async () => {
    const tab = await connectFromMyAssets(vendor, APPROVAL_ASSET);
    const waiting = tab.getByTestId('session-waiting');
    await waiting.waitFor();
    assert.equal(await waiting.getAttribute('data-waiting-for'), 'approval');
    assert.match((await waiting.textContent()) ?? '', /Waiting for approval/);
    assert.equal((await tab.getByTestId('session-waiting-message').textContent())?.trim(), 'waiting for approval: an approver must approve this session.');
    assert.equal(await tab.getByTestId('session-state').getAttribute('data-state'), 'pending');

    const row = await waitingRow(APPROVAL_ASSET);
    const sessionId = (await row.getAttribute('data-session-id')) ?? '';
    assert.match(sessionId, /^[0-9a-f-]{36}$/);
    assert.ok(((await waiting.textContent()) ?? '').includes(sessionId.slice(0, 8)), 'the vendor’s overlay names the same session');
    assert.match((await row.textContent()) ?? '', /approval 0 of 1/);
    await admin.screenshot({ path: join(shots, 'dashboard-waiting.png'), fullPage: true });
    await row.getByTestId('approve-session').click();
    const form = admin.getByTestId('gate-decision-form');
    await form.waitFor();
    assert.equal(await form.getAttribute('data-action'), 'approve');
    await admin.getByTestId('gate-decision-text').fill(COMMENT);
    await admin.getByTestId('gate-decision-submit').click();
    await form.waitFor({ state: 'detached' });
    await admin.getByTestId('waiting-sessions').waitFor({ state: 'detached' });

    await tab.locator('[data-testid="session-state"][data-state="active"]').waitFor();
    await waiting.waitFor({ state: 'detached' });
    await waitForScreen(tab, /\$ $/m);
    await typeLine(tab, 'echo GATE-$((6*7))');
    await waitForScreen(tab, /^GATE-42$/m);
    await tab.screenshot({ path: join(shots, 'approved-terminal.png') });

    const detail = await api.get(`/api/v1/sessions/${sessionId}`);
    assert.equal(detail.status, 200, detail.text);
    assert.equal(detail.json.state, 'active');
    assert.equal(detail.json.waitingFor, null);
    assert.deepEqual(
      detail.json.approvals.map((a: { by: string; decision: string; comment: string | null }) => [a.by, a.decision, a.comment]),
      [[gw.admin.username, 'approve', COMMENT]],
    );

    // A second attempt (Connect again, same tab) is rejected with a reason the vendor reads.
    await tab.getByTestId('terminal-disconnect').click();
    await tab.getByTestId('session-ended').waitFor();
    await tab.getByTestId('reconnect').click();
    await waiting.waitFor();
    const row2 = await waitingRow(APPROVAL_ASSET);
    const second = (await row2.getAttribute('data-session-id')) ?? '';
    assert.notEqual(second, sessionId, 'a new session waits');
    await row2.getByTestId('reject-session').click();
    await form.waitFor();
    assert.equal(await form.getAttribute('data-action'), 'reject');
    await admin.getByTestId('gate-decision-text').fill(REJECT_REASON);
    await admin.getByTestId('gate-decision-submit').click();
    await form.waitFor({ state: 'detached' });
    await admin.getByTestId('waiting-sessions').waitFor({ state: 'detached' });

    const ended = tab.getByTestId('session-ended');
    await ended.waitFor();
    assert.equal(await ended.getAttribute('data-state'), 'failed');
    assert.equal(await ended.getAttribute('data-reason'), 'rejected');
    assert.equal((await tab.getByTestId('session-end-message').textContent())?.trim(), `rejected by ${gw.admin.username}: ${REJECT_REASON}`);
    assert.match((await ended.textContent()) ?? '', /Could not open the session/);
    assert.equal(await tab.getByTestId('break-glass-open').count(), 0, 'no break-glass offered where no rule allows it');
    await tab.screenshot({ path: join(shots, 'rejected.png') });
    const rejected = await api.get(`/api/v1/sessions/${second}`);
    assert.equal(rejected.json.state, 'failed');
    assert.equal(rejected.json.approvals[0]?.decision, 'reject');
    await tab.close();
  });

  await t.test('moderated: the session waits for a moderator, opens when the admin joins, pauses when the admin leaves', async () => {
    const tab = await connectFromMyAssets(vendor, MODERATED_ASSET);
    const waiting = tab.getByTestId('session-waiting');
    await waiting.waitFor();
    assert.equal(await waiting.getAttribute('data-waiting-for'), 'moderator');
    assert.match((await waiting.textContent()) ?? '', /Waiting for a moderator/);

    const row = await waitingRow(MODERATED_ASSET);
    const sessionId = (await row.getAttribute('data-session-id')) ?? '';
    assert.match((await row.textContent()) ?? '', /a moderator/);
    const [watch] = await Promise.all([adminCtx.waitForEvent('page'), row.getByTestId('moderate-session').click()]);
    await watch.waitForLoadState();
    assert.equal(new URL(watch.url()).pathname, `/sessions/${sessionId}/watch`);
    await watch.getByTestId('read-only-badge').filter({ hasText: 'Moderating · read-only' }).waitFor();

    await tab.locator('[data-testid="session-state"][data-state="active"]').waitFor();
    await waiting.waitFor({ state: 'detached' });
    await tab.getByTestId('watchers-banner').filter({ hasText: `Watched by: ${gw.admin.username}` }).waitFor();
    assert.equal(await tab.getByTestId('session-paused').count(), 0, 'not paused while the moderator watches');
    await waitForScreen(tab, /\$ $/m);
    await typeLine(tab, 'echo MOD-$((6*7))');
    await waitForScreen(tab, /^MOD-42$/m);
    await waitForScreen(watch, /^MOD-42$/m);
    await tab.screenshot({ path: join(shots, 'moderated.png') });

    // The moderator stops watching: the session pauses, and typing reaches nothing.
    await watch.getByTestId('terminal-disconnect').click();
    await watch.getByTestId('session-ended').waitFor();
    await watch.close();
    const paused = tab.getByTestId('session-paused');
    await paused.waitFor();
    assert.match((await paused.textContent()) ?? '', new RegExp(`Paused.*the moderator ${gw.admin.username} left`));
    await tab.screenshot({ path: join(shots, 'paused.png') });
    await typeLine(tab, 'echo LOST-$((1+1))');
    await tab.waitForTimeout(500);
    assert.doesNotMatch(await screen(tab), /LOST/, 'input while paused never reaches the asset');

    // The admin rejoins from Active sessions: the session continues.
    await admin.getByTestId('nav-sessions-active').click();
    const live = admin.locator(`[data-testid="live-session-row"][data-session-id="${sessionId}"]`);
    await live.waitFor();
    const [watch2] = await Promise.all([adminCtx.waitForEvent('page'), live.getByTestId('session-watch').click()]);
    await watch2.waitForLoadState();
    await watch2.getByTestId('read-only-badge').filter({ hasText: 'Moderating' }).waitFor();
    await paused.waitFor({ state: 'detached' });
    await typeLine(tab, 'echo BACK-$((2*3))');
    await waitForScreen(tab, /^BACK-6$/m);
    await waitForScreen(watch2, /^BACK-6$/m);
    assert.doesNotMatch(await screen(tab), /LOST-2/, 'what was typed while paused was dropped');

    await tab.getByTestId('terminal-disconnect').click();
    await tab.getByTestId('session-ended').waitFor();
    await watch2.getByTestId('session-ended').waitFor();
    const detail = await api.get(`/api/v1/sessions/${sessionId}`);
    assert.equal(detail.json.moderated, true);
    const moderate = await api.get(`/api/v1/audit?action=session.moderate`);
    assert.deepEqual(moderate.json.items.map((e: { actor: { name: string }; target: { id: string } }) => [e.actor.name, e.target.id]), [[gw.admin.username, sessionId]]);
    await watch2.close();
    await tab.close();
  });

  await t.test('break-glass: refused with the policy reason, the vendor breaks glass with a reason, the admin signs off the review', async () => {
    const tab = await connectFromMyAssets(vendor, BREAK_GLASS_ASSET);
    const ended = tab.getByTestId('session-ended');
    await ended.waitFor();
    assert.equal(await ended.getAttribute('data-state'), 'failed');
    assert.equal(await ended.getAttribute('data-reason'), 'denied');
    const refusal = (await tab.getByTestId('session-end-message').textContent()) ?? '';
    assert.match(refusal, /^access denied: /);
    assert.match(refusal, /an approved access request is needed/);
    await tab.getByTestId('break-glass-open').click();
    await tab.getByTestId('break-glass-form').waitFor();
    const go = tab.getByTestId('break-glass-connect');
    await tab.getByTestId('break-glass-reason').fill('urgent');
    assert.ok(await go.isDisabled(), 'a reason of at least 10 characters is needed');
    await tab.getByTestId('break-glass-reason').fill(BG_REASON);
    await go.click();

    await tab.locator('[data-testid="session-state"][data-state="active"]').waitFor();
    await tab.getByTestId('break-glass-badge').waitFor();
    await ended.waitFor({ state: 'detached' });
    await waitForScreen(tab, /\$ $/m);
    await typeLine(tab, 'echo BG-$((40+2))');
    await waitForScreen(tab, /^BG-42$/m);
    await tab.screenshot({ path: join(shots, 'break-glass.png') });

    const queue = await api.get('/api/v1/sessions?breakGlass=pending');
    assert.equal(queue.json.items.length, 1);
    const sessionId = queue.json.items[0].id as string;
    assert.equal(queue.json.items[0].breakGlass.reason, BG_REASON);

    // Alerted (every administrator is emailed), the admin opens the console: the Dashboard's review
    // queue lists the session, live, to watch; no sign-off while it runs.
    await admin.goto(gw.url);
    const item = admin.locator(`[data-testid="review-queue"] [data-testid="review-item"][data-session-id="${sessionId}"]`);
    await item.getByRole('link', { name: 'Watch (live)' }).waitFor();
    assert.equal(await item.getByTestId('review-sign-off').count(), 0, 'no sign-off while the session is live');

    await tab.getByTestId('terminal-disconnect').click();
    await tab.getByTestId('session-ended').waitFor();
    assert.match((await tab.getByTestId('session-end-message').textContent()) ?? '', /You closed the session/);
    await tab.close();

    // Once it has ended the Dashboard offers the sign-off within a few seconds, without a reload.
    await item.getByTestId('review-sign-off').waitFor({ timeout: 8_000 });
    const text = (await item.textContent()) ?? '';
    assert.ok(text.includes(VENDOR) && text.includes(BREAK_GLASS_ASSET) && text.includes(BG_REASON), text);
    await admin.screenshot({ path: join(shots, 'review-queue.png'), fullPage: true });
    await item.getByTestId('review-sign-off').click();
    const form = admin.getByTestId('review-form');
    await form.waitFor();
    assert.ok(((await form.textContent()) ?? '').includes(BG_REASON));
    await admin.getByTestId('review-note').fill(REVIEW_NOTE);
    await admin.getByTestId('review-submit').click();
    await form.waitFor({ state: 'detached' });
    await item.waitFor({ state: 'detached' });
    await admin.getByTestId('review-queue').waitFor({ state: 'detached' });

    const reviewed = await api.get(`/api/v1/sessions/${sessionId}`);
    assert.equal(reviewed.json.breakGlass.review.state, 'reviewed');
    assert.equal(reviewed.json.breakGlass.review.by, gw.admin.username);
    const audit = await api.get('/api/v1/audit?action=session.review');
    assert.equal(audit.status, 200, audit.text);
    assert.equal(audit.json.items.length, 1);
    const ev = audit.json.items[0] as { actor: { name: string }; target: { id: string }; details: { note: string; reason: string } };
    assert.equal(ev.actor.name, gw.admin.username);
    assert.equal(ev.target.id, sessionId);
    assert.equal(ev.details.note, REVIEW_NOTE);
    assert.equal(ev.details.reason, BG_REASON);
  });

  await t.test('no script errors and no CSP violations', () => {
    t.diagnostic(`screenshots in ${shots}`);
    assert.deepEqual(problems, []);
  });
});
