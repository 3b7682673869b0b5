/**
 * End-to-end test of brokered terminal sessions in the console, in the Debian chromium through
 * playwright-core, against a real gateway over HTTPS and the lab's real sshd and telnetd: the admin
 * puts the asset's account into the vault through the UI; an operator clicks Connect on the SSH
 * asset, types into the xterm and reads the answer off the screen; the admin watches from Active
 * Sessions (the user sees "Watched by: admin"), terminates with a reason (the user's end screen
 * says so), finds the session in the History by what was typed, and plays the recording with its
 * verified seal (with the built-in player under the gateway's CSP, and with asciinema-player where
 * the CSP allows WebAssembly). Then the pinned host key is forgotten and pinned again, the Telnet
 * asset connects and meets the idle warning and timeout (the broker's clock is jumped ahead), a
 * wrong vaulted password gives the "refused the vaulted credential" end screen, and a Client gets
 * Connect on "My assets".
 *
 * Run: node --import tsx --test test/e2e/sessions.test.ts
 * dist/web is rebuilt first when src/web is newer (PORTCULLIS_E2E_SKIP_BUILD=1 skips that).
 * PORTCULLIS_E2E_SCREENSHOTS=<dir> keeps the screenshots.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { type Lab, type LabTarget, removeLabAccount, startLab } from '../../lab/index.js';
import { JumpClock } from '../helpers/clock.js';
import { ensureConsoleBuilt, launchChromium, signIn as signInAs, watchedContext, screen, waitForScreen, closeAll } from '../helpers/browser.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';


const LAB_ACCOUNT = 'pce2esess';



const run = Date.now().toString(36);
const SSH_ASSET = `PLC-SESS-${run}`;
const TELNET_ASSET = `RTU-SESS-${run}`;
const OPERATOR = 'ops.e2e';
const OPERATOR_PASSWORD = `Ops-E2e-${run}-Passw0rd!`;
const CLIENT = 'client.e2e';
const CLIENT_PASSWORD = `Client-E2e-${run}-Passw0rd!`;
const REASON = 'e2e: maintenance window is over';

let lab: Lab;
let gw: TestGateway;
let api: ApiClient;
let browser: Browser;
let adminCtx: BrowserContext;
let userCtx: BrowserContext;
let admin: Page;
let user: Page;
let ssh: LabTarget;
let telnet: LabTarget;
let sshAssetId = '';
let sessionId = '';
const labDir = mkdtempSync(join(tmpdir(), 'portcullis-e2e-sess-'));
const shots = process.env.PORTCULLIS_E2E_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'portcullis-e2e-'));
const problems: string[] = [];
const clock = new JumpClock();
/** The gateway's defaults: 15 min without input ends a session, with a warning 60 s before. */
const IDLE_MS = 15 * 60_000;
const WARN_MS = 60_000;

const newContext = (who: string) => watchedContext(browser, who, problems);
const signIn = (p: Page, username: string, password: string) => signInAs(p, gw.url, username, password);



/** Clicks Connect on the asset's row (Assets page) and the protocol; returns the terminal's new tab. */
async function connect(p: Page, assetName: string, protocol: 'ssh' | 'telnet'): Promise<Page> {
  await p.getByTestId('nav-assets').click();
  await p.locator(`[data-testid="asset-connect"][data-asset-name="${assetName}"]`).click();
  const [tab] = await Promise.all([p.context().waitForEvent('page'), p.getByTestId(`connect-${protocol}`).click()]);
  await tab.waitForLoadState();
  assert.match(new URL(tab.url()).pathname, /^\/sessions\/new$/);
  return tab;
}

before(async () => {
  ensureConsoleBuilt();
  lab = await startLab({ dataDir: labDir, ports: { ssh: 7201, telnet: 7323, vnc: 7901, rdp: 7389 }, displayBase: 230, account: LAB_ACCOUNT });
  ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
  telnet = lab.targets.find((x) => x.protocol === 'telnet')!;
  gw = await startGateway({ clock, limits: { idleTimeoutMs: IDLE_MS, warnBeforeMs: WARN_MS } });
  api = await adminClient(gw);
  const site = (await api.post('/api/v1/sites', { name: `Session Plant ${run}` })).json;
  const a1 = await api.post('/api/v1/assets', { name: SSH_ASSET, siteId: site.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }, { protocol: 'vnc', port: 5900 }, { protocol: 'tcp', port: 502 }] });
  assert.equal(a1.status, 201, a1.text);
  sshAssetId = a1.json.id;
  const a2 = await api.post('/api/v1/assets', { name: TELNET_ASSET, siteId: site.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'telnet', port: telnet.port }] });
  assert.equal(a2.status, 201, a2.text);
  // The Telnet asset's account goes in through the API; the SSH one through the UI below.
  const acc = await api.post(`/api/v1/assets/${a2.json.id}/accounts`, { name: 'default', username: telnet.username, kind: 'password', password: telnet.password });
  assert.equal(acc.status, 201, acc.text);
  const u = await api.post('/api/v1/users', { username: OPERATOR, role: 'Operator', password: OPERATOR_PASSWORD, mustChangePassword: false });
  assert.equal(u.status, 201, u.text);
  for (const assetId of [sshAssetId, a2.json.id]) {
    const g = await api.post('/api/v1/grants', { subjectType: 'user', subjectId: u.json.user.id, targetType: 'asset', target: assetId });
    assert.equal(g.status, 201, g.text);
  }
  const c = await api.post('/api/v1/users', { username: CLIENT, role: 'Client', password: CLIENT_PASSWORD, mustChangePassword: false });
  assert.equal(c.status, 201, c.text);
  const cg = await api.post('/api/v1/grants', { subjectType: 'user', subjectId: c.json.user.id, targetType: 'asset', target: sshAssetId });
  assert.equal(cg.status, 201, cg.text);

  browser = await launchChromium();
  adminCtx = await newContext('admin');
  userCtx = await newContext('user');
  await userCtx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url });
  admin = await adminCtx.newPage();
  user = await userCtx.newPage();
  mkdirSync(shots, { recursive: true });
});

after(() => closeAll([() => adminCtx?.close(), () => userCtx?.close(), () => browser?.close(), () => gw?.stop(), () => lab?.stop(), () => removeLabAccount(LAB_ACCOUNT), () => rmSync(labDir, { recursive: true, force: true })]));

test('sessions: vault, terminal, watch, terminate, history, playback', async (t) => {
  let term: Page;
  let watch: Page;

  await t.test('the admin adds the SSH asset’s account to the vault through the UI', async () => {
    await signIn(admin, gw.admin.username, gw.admin.password);
    await admin.getByTestId('nav-assets').click();
    await admin.locator(`[data-testid="asset-row"][data-asset-name="${SSH_ASSET}"] [data-testid="asset-link"]`).click();
    await admin.getByTestId('asset-title').filter({ hasText: SSH_ASSET }).waitFor();
    await admin.getByTestId('vault-accounts').getByText('No account yet').waitFor();
    await admin.getByTestId('new-account').click();
    await admin.getByTestId('account-form').waitFor();
    assert.equal(await admin.getByTestId('account-name').inputValue(), 'default', 'the first account is suggested as "default"');
    await admin.getByTestId('account-username').fill(ssh.username!);
    await admin.getByTestId('account-password').fill(ssh.password);
    await admin.getByTestId('account-save').click();
    await admin.getByTestId('account-form').waitFor({ state: 'detached' });
    const row = admin.locator('[data-testid="account-row"][data-account-name="default"]');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', new RegExp(`${ssh.username}.*Password.*set · changed`));
    // Write-only: the API never gives the secret back.
    const listed = await api.get(`/api/v1/assets/${sshAssetId}/accounts`);
    assert.equal(listed.json.items.length, 1);
    assert.ok(!listed.text.includes(ssh.password), 'the secret is not in the answer');
    assert.equal(listed.json.items[0].secretSet, true);
  });

  await t.test('a user clicks Connect on the SSH asset and works in the terminal', async () => {
    await signIn(user, OPERATOR, OPERATOR_PASSWORD);
    // VNC opens the remote display; TCP tunnels are listed but not offered yet.
    await user.getByTestId('nav-assets').click();
    await user.locator(`[data-testid="asset-connect"][data-asset-name="${SSH_ASSET}"]`).click();
    const vnc = user.getByTestId('connect-vnc');
    await vnc.waitFor();
    assert.match((await vnc.getAttribute('href')) ?? '', /protocol=vnc/);
    const tcp = user.getByTestId('connect-tcp');
    assert.ok((await tcp.getAttribute('data-disabled')) === 'true' || (await tcp.isDisabled()), 'TCP is "coming soon"');
    assert.match((await tcp.textContent()) ?? '', /coming soon/);
    await user.keyboard.press('Escape');

    term = await connect(user, SSH_ASSET, 'ssh');
    await term.locator('[data-testid="session-state"][data-state="active"]').waitFor();
    assert.match((await term.getByTestId('terminal-asset').textContent()) ?? '', new RegExp(SSH_ASSET));
    assert.match((await term.getByTestId('terminal-protocol').textContent()) ?? '', new RegExp(`SSH :${ssh.port}`));
    await waitForScreen(term, /\$ $/m);
    await term.getByTestId('terminal').click();
    await term.keyboard.type('echo portcullis-$((6*7))');
    await term.keyboard.press('Enter');
    const text = await waitForScreen(term, /^portcullis-42$/m);
    assert.ok(text.includes('echo portcullis-$((6*7))'));
    await term.getByTestId('session-elapsed').waitFor();

    // The window's size reaches the asset (fit addon -> resize message -> pty).
    await term.setViewportSize({ width: 1000, height: 600 });
    await term.waitForFunction(() => (window.portcullisTerminal?.size().cols ?? 0) < 120);
    await term.waitForTimeout(300);
    const size = await term.evaluate(() => window.portcullisTerminal!.size());
    await term.keyboard.type('stty size');
    await term.keyboard.press('Enter');
    await waitForScreen(term, new RegExp(`^${size.rows} ${size.cols}$`, 'm'));

    // Paste (Ctrl+Shift+V, the browser's paste into xterm).
    await term.evaluate(() => navigator.clipboard.writeText('echo pasted-$((2+3))'));
    await term.keyboard.press('Control+Shift+V');
    await term.keyboard.press('Enter');
    await waitForScreen(term, /^pasted-5$/m);
    await term.setViewportSize({ width: 1280, height: 720 });
    await term.waitForTimeout(300);
    await term.screenshot({ path: join(shots, 'terminal.png') });
  });

  await t.test('Active Sessions lists it; the admin watches it read-only and the user sees the banner', async () => {
    await admin.getByTestId('nav-sessions-active').click();
    const row = admin.locator(`[data-testid="live-session-row"][data-username="${OPERATOR}"]`);
    await row.waitFor();
    sessionId = (await row.getAttribute('data-session-id')) ?? '';
    assert.match(sessionId, /^[0-9a-f-]{36}$/);
    const rowText = (await row.textContent()) ?? '';
    assert.ok(rowText.includes(sessionId.slice(0, 8)) && rowText.includes(SSH_ASSET) && rowText.includes(`Session Plant ${run}`) && rowText.includes('Browser'), rowText);
    // The duration ticks.
    const d1 = await row.getByTestId('session-duration').textContent();
    await admin.waitForTimeout(1300);
    assert.notEqual(await row.getByTestId('session-duration').textContent(), d1);
    // Filters: a user that is not there hides it.
    await admin.getByTestId('filter-user').fill('nobody-here');
    await row.waitFor({ state: 'detached' });
    await admin.getByRole('button', { name: 'Clear User' }).click();
    await row.waitFor();
    const csv = await admin.getByTestId('csv-button').getAttribute('href');
    assert.match(csv ?? '', /^\/api\/v1\/sessions\?format=csv&state=live/);

    const [tab] = await Promise.all([adminCtx.waitForEvent('page'), row.getByTestId('session-watch').click()]);
    watch = tab;
    await watch.waitForLoadState();
    assert.equal(new URL(watch.url()).pathname, `/sessions/${sessionId}/watch`);
    await watch.getByTestId('read-only-badge').waitFor();
    await waitForScreen(watch, /^portcullis-42$/m);
    // The watcher sees the owner's terminal at the owner's size, whatever its own window.
    const ownerSize = await term.evaluate(() => window.portcullisTerminal!.size());
    await watch.setViewportSize({ width: 520, height: 360 });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await watch.evaluate(() => window.portcullisTerminal!.size()), ownerSize);
    const banner = term.getByTestId('watchers-banner');
    await banner.waitFor();
    assert.match((await banner.textContent()) ?? '', /Watched by: admin/);
    // Live output reaches the watcher; the watcher cannot type.
    await term.getByTestId('terminal').click();
    await term.keyboard.type('echo live-$((20+1))');
    await term.keyboard.press('Enter');
    await waitForScreen(watch, /^live-21$/m);
    await watch.getByTestId('terminal').click();
    await watch.keyboard.type('echo watcher-typed');
    await watch.keyboard.press('Enter');
    await admin.bringToFront();
    await admin.locator(`[data-testid="live-session-row"][data-session-id="${sessionId}"]`).getByText('admin', { exact: true }).waitFor();
    await admin.mouse.move(0, 0);
    await admin.screenshot({ path: join(shots, 'active-sessions.png'), fullPage: true });
    await watch.screenshot({ path: join(shots, 'watch.png') });
    assert.ok(!(await screen(term)).includes('watcher-typed'), 'watchers are read-only');
  });

  await t.test('the admin terminates it with a reason; the user sees the end screen', async () => {
    const row = admin.locator(`[data-testid="live-session-row"][data-session-id="${sessionId}"]`);
    await row.getByTestId('session-terminate').click();
    await admin.getByTestId('terminate-form').waitFor();
    await admin.getByTestId('terminate-confirm').click();
    await admin.getByText('Say why').waitFor();
    await admin.getByTestId('terminate-reason').fill(REASON);
    await admin.getByTestId('terminate-confirm').click();
    await admin.getByTestId('terminate-form').waitFor({ state: 'detached' });
    await row.waitFor({ state: 'detached' });

    const ended = term.getByTestId('session-ended');
    await ended.waitFor();
    assert.equal(await ended.getAttribute('data-state'), 'terminated');
    assert.equal((await term.getByTestId('session-end-message').textContent())?.trim(), `terminated by admin: ${REASON}`);
    assert.match((await ended.textContent()) ?? '', /Session terminated/);
    await term.screenshot({ path: join(shots, 'terminal-ended.png') });
    await watch.getByTestId('session-ended').waitFor();
    await term.getByTestId('back-to-assets').click();
    await term.getByTestId('assets-table').waitFor();
    await term.close();
    await watch.close();
  });

  await t.test('History lists it; the text search finds it by what was typed or shown', async () => {
    await admin.getByTestId('nav-sessions-history').click();
    const row = admin.locator(`[data-testid="history-row"][data-session-id="${sessionId}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'terminated');
    assert.match((await row.textContent()) ?? '', new RegExp(`terminated by admin: ${REASON}`));

    // The text index is written once the recording is sealed: allow it a moment.
    await admin.getByTestId('filter-text').fill('no-such-command-typed');
    await row.waitFor({ state: 'detached' });
    await admin.getByTestId('filter-text').fill('portcullis');
    await row.waitFor({ timeout: 30_000 });
    assert.match(admin.url(), /text=portcullis/);
    // "portcullis-42" was only shown (typed was "$((6*7))").
    await admin.getByTestId('filter-text').fill('portcullis-42');
    await row.waitFor({ state: 'detached' });
    await admin.getByText('Typed or shown').click();
    await row.waitFor();
    assert.match(admin.url(), /in=all/);
    await admin.mouse.move(0, 0);
    await admin.screenshot({ path: join(shots, 'history.png'), fullPage: true });
    const csv = await admin.getByTestId('csv-button').getAttribute('href');
    assert.match(csv ?? '', /text=portcullis-42/);
    assert.match(csv ?? '', /in=all/);
  });

  await t.test('Play opens the player with the verified seal and the session facts', async () => {
    await admin.locator(`[data-testid="history-row"][data-session-id="${sessionId}"]`).getByTestId('session-play').click();
    await admin.waitForURL(new RegExp(`/sessions/${sessionId}/play$`));
    const seal = admin.getByTestId('recording-seal');
    await seal.waitFor();
    assert.equal(await seal.getAttribute('data-ok'), 'true');
    assert.match((await seal.textContent()) ?? '', /Sealed ✓.*SHA-256 [0-9a-f]{64}/);
    const facts = (await admin.getByTestId('session-facts').textContent()) ?? '';
    assert.ok(facts.includes(OPERATOR) && facts.includes(SSH_ASSET) && facts.includes(`port ${ssh.port}`) && facts.includes(REASON), facts);
    const player = admin.getByTestId('recording-player');
    await player.waitFor();
    assert.equal(await player.getAttribute('data-engine'), 'asciinema', "the gateway's CSP allows the player's WebAssembly");
    await admin.getByTestId('player-speed').getByText('8×').click();
    await admin.waitForFunction(() => /^portcullis-42\s*$/m.test(window.portcullisPlayer?.text() ?? ''), undefined, { timeout: 30_000 });
    // Played to the end, then seek with the player's own progress bar: its left edge is the start.
    await admin.waitForFunction(() => /^live-21\s*$/m.test(window.portcullisPlayer?.text() ?? ''), undefined, { timeout: 30_000 });
    const bar = admin.locator('.ap-progressbar .ap-bar');
    // The player re-renders its bar while it plays to the end: a click that lands during one is
    // lost, so click again until it seeks (at most three times).
    for (let i = 0; ; i++) {
      await bar.click({ position: { x: 1, y: 2 } });
      const seeked = await admin.waitForFunction(() => (window.portcullisPlayer?.time() ?? 99) < 1, undefined, { timeout: 7_000 }).then(() => true, () => false);
      if (seeked) break;
      assert.ok(i < 2, `three clicks on the start of the progress bar did not seek (time ${await admin.evaluate(() => window.portcullisPlayer?.time())})`);
    }
    assert.ok(!(await admin.evaluate(() => window.portcullisPlayer!.text())).includes('live-21'), 'the start shows none of the end');
    // A marker seeks to its moment: the red button, after the last output.
    await admin.getByTestId('player-markers').getByText(/started watching/).waitFor();
    await admin.getByTestId('player-markers').getByText(`terminated by admin: ${REASON}`).click();
    await admin.waitForFunction(() => /^live-21\s*$/m.test(window.portcullisPlayer?.text() ?? ''));
    await admin.mouse.move(0, 0);
    await admin.evaluate(() => window.scrollTo(0, 0));
    await admin.screenshot({ path: join(shots, 'playback.png'), fullPage: true });
  });

  await t.test('behind a CSP without WebAssembly, the console plays it with its own xterm player', async () => {
    const playUrl = admin.url();
    await admin.route(playUrl, async (route) => {
      const res = await route.fetch();
      const headers = res.headers();
      headers['content-security-policy'] = (headers['content-security-policy'] ?? '').replace(" 'wasm-unsafe-eval'", '');
      await route.fulfill({ response: res, headers });
    });
    await admin.reload();
    const player = admin.getByTestId('recording-player');
    await player.waitFor();
    assert.equal(await player.getAttribute('data-engine'), 'xterm');
    await admin.getByTestId('player-speed').getByText('8×').click();
    await admin.waitForFunction(() => /^portcullis-42\s*$/m.test(window.portcullisPlayer?.text() ?? ''), undefined, { timeout: 30_000 });
    // Pause, seek to the start (empty screen), then to the end.
    const toggle = admin.getByTestId('player-toggle');
    if ((await toggle.getAttribute('data-playing')) === 'true') await toggle.click();
    await admin.locator('[data-testid="player-seek"] [role="slider"]').focus();
    await admin.keyboard.press('Home');
    await admin.waitForFunction(() => !(window.portcullisPlayer?.text() ?? '').includes('portcullis-42'));
    await admin.keyboard.press('End');
    await admin.waitForFunction(() => /^live-21\s*$/m.test(window.portcullisPlayer?.text() ?? ''));
    await admin.getByTestId('player-markers').getByText(/started watching/).waitFor();
    await admin.getByTestId('player-markers').getByText(`terminated by admin: ${REASON}`).waitFor();
    await admin.evaluate(() => window.scrollTo(0, 0));
    await admin.screenshot({ path: join(shots, 'playback-xterm.png'), fullPage: true });
    await admin.unroute(playUrl);
  });

  await t.test('the pinned host key is listed and can be forgotten', async () => {
    await admin.goto(`${gw.url}/assets/${sshAssetId}`);
    const key = admin.locator(`[data-testid="host-key-row"][data-port="${ssh.port}"]`);
    await key.waitFor();
    assert.match((await key.getByTestId('host-key-fingerprint').textContent()) ?? '', /^SHA256:/);
    await admin.screenshot({ path: join(shots, 'asset-detail.png'), fullPage: true });
    await key.getByTestId('host-key-forget').click();
    await admin.getByTestId('confirm-button').click();
    await key.waitFor({ state: 'detached' });
    await admin.getByTestId('host-keys').getByText('No key pinned yet').waitFor();
  });

  await t.test('Disconnect ends a session; the next SSH connection pins the host key again', async () => {
    const tab = await connect(user, SSH_ASSET, 'ssh');
    await tab.locator('[data-testid="session-state"][data-state="active"]').waitFor();
    await waitForScreen(tab, /\$ $/m);
    await tab.getByTestId('terminal-disconnect').click();
    await tab.getByTestId('session-ended').waitFor();
    assert.match((await tab.getByTestId('session-end-message').textContent()) ?? '', /You closed the session/);
    await tab.close();
    await admin.reload();
    await admin.locator(`[data-testid="host-key-row"][data-port="${ssh.port}"]`).waitFor();
  });

  await t.test('the Telnet asset connects too; the idle warning shows, then the idle timeout ends it', async () => {
    const tab = await connect(user, TELNET_ASSET, 'telnet');
    await tab.locator('[data-testid="session-state"][data-state="active"]').waitFor();
    assert.match((await tab.getByTestId('terminal-protocol').textContent()) ?? '', new RegExp(`Telnet :${telnet.port}`));
    await waitForScreen(tab, /\$ $/m, 20_000);
    await tab.getByTestId('terminal').click();
    await tab.keyboard.type('echo telnet-$((5*5))');
    await tab.keyboard.press('Enter');
    await waitForScreen(tab, /^telnet-25$/m);

    clock.jump(IDLE_MS - WARN_MS + 1000);
    const warning = tab.getByTestId('session-warning');
    await warning.waitFor();
    assert.match((await warning.textContent()) ?? '', /\d+ s left.*no input for a while: this session ends in 60 seconds unless you type/);
    await tab.screenshot({ path: join(shots, 'terminal-warning.png') });
    // Typing keeps it open (and takes the warning away).
    await tab.keyboard.type('echo still-here');
    await tab.keyboard.press('Enter');
    await warning.waitFor({ state: 'detached' });
    await waitForScreen(tab, /^still-here$/m);

    clock.jump(IDLE_MS + 1000);
    const ended = tab.getByTestId('session-ended');
    await ended.waitFor();
    assert.equal(await ended.getAttribute('data-reason'), 'idle_timeout');
    assert.equal((await tab.getByTestId('session-end-message').textContent())?.trim(), 'Session ended: idle timeout (15 min without input)');
    await tab.close();
  });

  await t.test('a wrong vaulted password gives the "refused the vaulted credential" end screen; the account can be deleted', async () => {
    await admin.getByTestId('account-edit').click();
    await admin.getByTestId('account-form').waitFor();
    await admin.getByTestId('account-replace-secret').check();
    await admin.getByTestId('account-password').fill('not-the-right-password');
    await admin.getByTestId('account-save').click();
    await admin.getByTestId('account-form').waitFor({ state: 'detached' });

    const tab = await connect(user, SSH_ASSET, 'ssh');
    const ended = tab.getByTestId('session-ended');
    await ended.waitFor({ timeout: 30_000 });
    assert.equal(await ended.getAttribute('data-state'), 'failed');
    assert.match((await tab.getByTestId('session-end-message').textContent()) ?? '', new RegExp(`${SSH_ASSET} refused the vaulted credential`));
    assert.match((await ended.textContent()) ?? '', /Could not open the session/);
    await tab.close();

    await admin.getByTestId('account-delete').click();
    await admin.getByTestId('confirm-button').click();
    await admin.locator('[data-testid="account-row"]').waitFor({ state: 'detached' });
  });

  await t.test('a Client gets Connect on My assets, and no session pages', async () => {
    const ctx = await newContext('client');
    const p = await ctx.newPage();
    await signIn(p, CLIENT, CLIENT_PASSWORD);
    const row = p.locator(`[data-testid="my-asset-row"][data-asset-name="${SSH_ASSET}"]`);
    await row.getByTestId('asset-connect').click();
    const href = (await p.getByTestId('connect-ssh').getAttribute('href')) ?? '';
    assert.match(href, new RegExp(`^/sessions/new\\?assetId=${sshAssetId}&protocol=ssh&port=\\d+$`));
    assert.match((await p.getByTestId('connect-vnc').getAttribute('href')) ?? '', /protocol=vnc/);
    assert.match((await p.getByTestId('connect-tcp').textContent()) ?? '', /coming soon/);
    await p.keyboard.press('Escape');
    assert.equal(await p.getByTestId('nav-sessions-active').count(), 0);
    await p.goto(`${gw.url}/sessions/history`);
    await p.getByText('Not available for your role').waitFor();
    await ctx.close();
  });

  await t.test('no script errors and no CSP violations', () => {
    t.diagnostic(`screenshots in ${shots}`);
    assert.deepEqual(problems, []);
  });
});
