/**
 * End-to-end test of graphical sessions (VNC, RDP) in the console, in the Debian chromium through
 * playwright-core, against a real gateway over HTTPS and the lab's real desktops: an operator
 * clicks Connect -> VNC and sees the lab's HMI desktop (its blue background, read off a screenshot
 * of the remote display), clicks into a real xterm started on the lab's X display and types into
 * it (the text arrives in a file on the target); the admin watches read-only from Active Sessions
 * (the owner sees "Watched by: admin") and terminates it from the watch page with a reason (the
 * owner's end screen says so); the admin plays the recording (seek to the middle, a marker seeks
 * to the red button). Then RDP (NLA, freerdp-shadow) opens at the browser's size, shows the RDP
 * desktop and takes typing too; Disconnect ends it and leaves no Xvnc/xfreerdp behind; an xrdp
 * desktop follows the browser window when it gets smaller; and a wrong
 * vaulted password (VNC and RDP) gives the "refused the vaulted credential" end screen.
 *
 * Run: node --import tsx --test test/e2e/display.test.ts
 * dist/web is rebuilt first when src/web is newer (PORTCULLIS_E2E_SKIP_BUILD=1 skips that).
 * PORTCULLIS_E2E_SCREENSHOTS=<dir> keeps the screenshots.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { type Lab, type LabTarget, removeLabAccount, startLab, startXrdpTarget, XRDP_DESKTOP_COLOUR, type XrdpTarget } from '../../lab/index.js';
import { decodePng } from '../display/png-decode.js';
import { ensureConsoleBuilt, launchChromium, signIn as signInAs, watchedContext } from '../helpers/browser.js';
import { rdpHelpers as rdpHelpersOf } from '../helpers/rdp.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

/** The console's test hooks (src/web/sessions/displayMedia.ts, GuacPlayer.tsx). */
declare global {
  interface Window {
    portcullisDisplay?: { size: () => { width: number; height: number }; frames: () => number; scale: () => number };
    portcullisGuacPlayer?: { position: () => number; duration: () => number; playing: () => boolean; canvas: () => HTMLCanvasElement };
  }
}

const LAB_ACCOUNT = 'pce2edisp';
/** The lab VNC desktop's background (lab/vnc.ts) and geometry (lab/x11.ts). */
const VNC_BACKGROUND = '#1f6feb';
const VNC_GEOMETRY = { width: 1280, height: 800 };
/** The lab RDP desktop's background (lab/rdp.ts). */
const RDP_BACKGROUND = '#8250df';
/**
 * The test's own xterm on the lab desktops: a colour found on neither desktop, placed below the
 * panel and away from where the X pointer starts (the middle of the screen), so that it appears
 * without a cursor change; clicking into it changes the cursor (and must not freeze the display).
 */
const XTERM_BG = '#00e000';
const XTERM_AT = { x: 800, y: 480 };
/** Per channel: lossless PNG tiles are exact, JPEG tiles of a flat area are within a few levels. */
const TOLERANCE = 10;
const VIEWPORT = { width: 1440, height: 900 };
/** The session page's top bar (SessionScreen.tsx). */
const BAR_HEIGHT = 50;

const run = Date.now().toString(36);
const VNC_ASSET = `HMI-DISP-${run}`;
const RDP_ASSET = `SCADA-DISP-${run}`;
const VNC_BAD = `HMI-BADPW-${run}`;
/** On a site with the default stream quality (medium): the asset may send Tight JPEG rectangles. */
const VNC_MEDIUM = `HMI-MEDIUM-${run}`;
const XRDP_ASSET = `SCADA-XRDP-${run}`;
const RDP_BAD = `SCADA-BADPW-${run}`;
const OPERATOR = 'ops.display';
const OPERATOR_PASSWORD = `Ops-Disp-${run}-Passw0rd!`;
const REASON = 'e2e: display maintenance window is over';

let lab: Lab;
let gw: TestGateway;
let api: ApiClient;
let browser: Browser;
let adminCtx: BrowserContext;
let userCtx: BrowserContext;
let admin: Page;
let user: Page;
let vnc: LabTarget;
let rdp: LabTarget;
let xrdp: XrdpTarget;
const XRDP_PORT = 7398;
const XRDP_ACCOUNT = 'pce2exrdp';
let sessionId = '';
const labDir = mkdtempSync(join(tmpdir(), 'portcullis-e2e-disp-'));
const work = mkdtempSync(join(tmpdir(), 'portcullis-e2e-disp-work-'));
const shots = process.env.PORTCULLIS_E2E_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'portcullis-e2e-'));
const problems: string[] = [];
const xterms = new Set<ChildProcess>();

const newContext = (who: string) => watchedContext(browser, who, problems);
const signIn = (p: Page, username: string, password: string) => signInAs(p, gw.url, username, password);

/** Clicks Connect on the asset's row (Assets page) and the protocol; returns the session's new tab. */
async function connect(p: Page, assetName: string, protocol: 'vnc' | 'rdp'): Promise<Page> {
  await p.getByTestId('nav-assets').click();
  await p.locator(`[data-testid="asset-connect"][data-asset-name="${assetName}"]`).click();
  const item = p.getByTestId(`connect-${protocol}`);
  assert.match((await item.getAttribute('href')) ?? '', new RegExp(`^/sessions/new\\?assetId=[0-9a-f-]{36}&protocol=${protocol}&port=\\d+$`));
  const [tab] = await Promise.all([p.context().waitForEvent('page'), item.click()]);
  await tab.waitForLoadState();
  assert.match(new URL(tab.url()).pathname, /^\/sessions\/new$/);
  return tab;
}

/** Waits for the session page's "active" badge; on a timeout, says what the page shows instead. */
async function waitActive(p: Page, timeout = 20_000): Promise<void> {
  try {
    await p.locator('[data-testid="session-state"][data-state="active"], [data-testid="session-ended"]').first().waitFor({ timeout });
  } catch (err) {
    const state = await p.getByTestId('session-state').getAttribute('data-state').catch(() => '?');
    throw new Error(`the session is not active after ${timeout} ms: state ${state} (${(err as Error).message.split('\n')[0]})`);
  }
  const end = await endScreen(p);
  if (end) throw new Error(`the session ended instead of becoming active: ${end}`);
}

/** Polls `fn` until it returns something truthy; the error says what was awaited and the last value. */
async function until<T>(what: string, fn: () => Promise<T> | T, timeout = 15_000, every = 100): Promise<NonNullable<T>> {
  const t0 = Date.now();
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() - t0 > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, every));
  }
}

const rgbOf = (hex: string): [number, number, number] => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
const near = (rgba: Uint8Array, p: number, [r, g, b]: [number, number, number], tol = TOLERANCE) =>
  Math.abs(rgba[p]! - r) <= tol && Math.abs(rgba[p + 1]! - g) <= tol && Math.abs(rgba[p + 2]! - b) <= tol;

interface Shot {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** Share of the picture within TOLERANCE of a colour. */
function share(s: Shot, hex: string): number {
  const rgb = rgbOf(hex);
  let hit = 0;
  for (let p = 0; p < s.width * s.height * 4; p += 4) if (near(s.rgba, p, rgb)) hit++;
  return hit / (s.width * s.height);
}

/** Bounding box (screenshot pixels) of the pixels of a colour, or null when there are few of them. */
function boxOf(s: Shot, hex: string, tol: number, minPixels = 2000): { left: number; top: number; right: number; bottom: number; count: number } | null {
  const rgb = rgbOf(hex);
  let [left, top, right, bottom, count] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, -1, -1, 0];
  for (let y = 0; y < s.height; y++) {
    for (let x = 0; x < s.width; x++) {
      if (!near(s.rgba, (y * s.width + x) * 4, rgb, tol)) continue;
      count++;
      left = Math.min(left, x);
      top = Math.min(top, y);
      right = Math.max(right, x);
      bottom = Math.max(bottom, y);
    }
  }
  return count >= minPixels ? { left, top, right, bottom, count } : null;
}

/** A screenshot of the page's remote display, decoded (optionally also saved). */
async function displayShot(p: Page, path?: string): Promise<Shot> {
  const png = await p.getByTestId('remote-display').screenshot(path ? { path } : {});
  return decodePng(png);
}

const displayInfo = (p: Page) =>
  p.evaluate(() => {
    const d = window.portcullisDisplay;
    const host = document.querySelector('[data-testid="remote-display"]')?.parentElement;
    return d ? { ...d.size(), frames: d.frames(), scale: d.scale(), hostWidth: host?.clientWidth ?? 0, hostHeight: host?.clientHeight ?? 0 } : null;
  });

/** The session page's end screen, if it shows one (state, reason, message). */
async function endScreen(p: Page): Promise<string | null> {
  const ended = p.getByTestId('session-ended');
  if ((await ended.count()) === 0) return null;
  return `${await ended.getAttribute('data-state')} (${await ended.getAttribute('data-reason')}): ${await p.getByTestId('session-end-message').textContent()}`;
}

/**
 * Waits until the page's display has drawn frames (and, when given, is of that size); fails at
 * once if the session ends meanwhile, with the end screen's message.
 */
async function firstFrames(p: Page, timeout = 20_000, size?: { width: number; height: number }) {
  return until('the first frames of the remote display', async () => {
    const end = await endScreen(p);
    if (end) throw new Error(`the session ended instead of drawing the desktop: ${end}`);
    const d = await displayInfo(p);
    if (!d || d.frames === 0 || d.width === 0 || d.height === 0) return null;
    return !size || (d.width === size.width && d.height === size.height) ? d : null;
  }, timeout);
}

/** Starts an xterm on a lab X display whose typed lines go to `file` (no window manager: focus follows the pointer). */
function startXterm(target: 'vnc' | 'rdp', file: string): ChildProcess {
  const display = lab.displays[target];
  const xauthority = join(lab.labDir, target, 'Xauthority');
  assert.ok(existsSync(xauthority), `${xauthority} exists`);
  const child = spawn(
    'xterm',
    [
      '-geometry', `30x5+${XTERM_AT.x}+${XTERM_AT.y}`,
      '-fa', 'DejaVu Sans Mono', '-fs', '12',
      '-bg', XTERM_BG, '-fg', '#000000', '+sb',
      '-T', `e2e typing ${target}`,
      '-e', 'sh', '-c', `exec cat > '${file}'`,
    ],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DISPLAY: `:${display}`, XAUTHORITY: xauthority, HOME: work, LANG: 'C.UTF-8' }, detached: true, stdio: 'ignore' },
  );
  xterms.add(child);
  child.once('exit', () => xterms.delete(child));
  return child;
}

function stopXterm(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  return exited;
}

/**
 * Starts an xterm on the lab display, waits until the browser shows it, clicks into it through
 * the browser and types a line; resolves once the line is in the file the xterm's `cat` writes.
 * Returns where the browser showed the xterm (remote display pixels).
 */
async function typeIntoXterm(p: Page, target: 'vnc' | 'rdp', text: string) {
  const file = join(work, `typed-${target}.txt`);
  const child = startXterm(target, file);
  try {
    const scale = (await displayInfo(p))!.scale;
    const found = await until(`the xterm on the ${target} desktop in the browser`, async () => {
      if (child.exitCode !== null) throw new Error(`xterm exited with ${child.exitCode}`);
      const end = await endScreen(p);
      if (end) throw new Error(`the session ended: ${end}`);
      return boxOf(await displayShot(p), XTERM_BG, 40);
    }, 20_000, 200);
    const el = (await p.getByTestId('remote-display').boundingBox())!;
    const cx = (found.left + found.right) / 2;
    const cy = (found.top + found.bottom) / 2;
    await p.mouse.click(el.x + cx, el.y + cy);
    // In one burst, as a paste or a fast typist would: the gateway spaces a re-press of a key just
    // released (xfreerdp would take it for autorepeat and drop the second "l" of "hello").
    await p.keyboard.type(text);
    await p.keyboard.press('Enter');
    await until(`"${text}" in ${file}`, () => existsSync(file) && readFileSync(file, 'utf8').includes(text), 15_000);
    assert.equal(readFileSync(file, 'utf8'), `${text}\n`, 'exactly the typed line arrives');
    // The display keeps following the desktop after the click (the pointer over the xterm changed
    // the cursor): once the xterm is gone, the browser shows the background there again.
    await stopXterm(child);
    await until(`the xterm gone from the ${target} desktop in the browser (the display still updates after the cursor changed)`, async () => {
      const end = await endScreen(p);
      if (end) throw new Error(`the session ended: ${end}`);
      return boxOf(await displayShot(p), XTERM_BG, 40, 50) === null;
    }, 15_000, 250);
    return { left: found.left / scale, top: found.top / scale, right: found.right / scale, bottom: found.bottom / scale };
  } finally {
    await stopXterm(child);
  }
}

/**
 * Processes of this gateway's RDP sessions: running as the unprivileged portcullis-rdp user (Xvnc,
 * xfreerdp) and belonging to this test (the gateway's runtime dir, or a connection to this lab's
 * RDP port): other suites may run RDP sessions on this machine at the same time.
 */
const rdpHelpers = () => rdpHelpersOf(gw.dataDir, rdp.port);

before(async () => {
  ensureConsoleBuilt();
  lab = await startLab({ dataDir: labDir, ports: { ssh: 7211, telnet: 7333, vnc: 7911, rdp: 7399 }, displayBase: 240, account: LAB_ACCOUNT });
  vnc = lab.targets.find((x) => x.protocol === 'vnc')!;
  rdp = lab.targets.find((x) => x.protocol === 'rdp')!;
  // The RDP server without NLA (xrdp, TLS only): its own port and account.
  xrdp = await startXrdpTarget({ dataDir: labDir, port: XRDP_PORT, account: XRDP_ACCOUNT, displayOffset: 960 });
  gw = await startGateway();
  api = await adminClient(gw);
  // The main flow on a lossless site (as test/broker/display.test.ts); the default quality gets its own subtest.
  const site = (await api.post('/api/v1/sites', { name: `Display Plant ${run}`, streamQuality: 'high' })).json;
  const mediumSite = (await api.post('/api/v1/sites', { name: `Display Plant default quality ${run}` })).json;
  assert.equal(mediumSite.streamQuality, 'medium');
  const asset = async (name: string, protocol: 'vnc' | 'rdp', username: string, password: string, siteId = site.id as string) => {
    const a = await api.post('/api/v1/assets', { name, siteId, purdueLevel: protocol === 'vnc' ? 2 : 3, host: '127.0.0.1', accessMethods: [{ protocol, port: protocol === 'vnc' ? vnc.port : rdp.port }] });
    assert.equal(a.status, 201, a.text);
    const acc = await api.post(`/api/v1/assets/${a.json.id}/accounts`, { name: 'default', username, kind: 'password', password });
    assert.equal(acc.status, 201, acc.text);
    return a.json.id as string;
  };
  const assets = [
    await asset(VNC_ASSET, 'vnc', 'vnc', vnc.password),
    await asset(RDP_ASSET, 'rdp', rdp.username!, rdp.password),
    await asset(VNC_BAD, 'vnc', 'vnc', 'not-the-password'),
    await asset(RDP_BAD, 'rdp', rdp.username!, 'Not-the-password-1'),
    await asset(VNC_MEDIUM, 'vnc', 'vnc', vnc.password, mediumSite.id),
  ];
  const x = await api.post('/api/v1/assets', { name: XRDP_ASSET, siteId: site.id, purdueLevel: 3, host: '127.0.0.1', accessMethods: [{ protocol: 'rdp', port: xrdp.port, options: { security: 'tls' } }] });
  assert.equal(x.status, 201, x.text);
  const xacc = await api.post(`/api/v1/assets/${x.json.id}/accounts`, { name: 'default', username: xrdp.username, kind: 'password', password: xrdp.password });
  assert.equal(xacc.status, 201, xacc.text);
  assets.push(x.json.id);
  const u = await api.post('/api/v1/users', { username: OPERATOR, role: 'Operator', password: OPERATOR_PASSWORD, mustChangePassword: false });
  assert.equal(u.status, 201, u.text);
  for (const assetId of assets) {
    const g = await api.post('/api/v1/grants', { subjectType: 'user', subjectId: u.json.user.id, targetType: 'asset', target: assetId });
    assert.equal(g.status, 201, g.text);
  }

  browser = await launchChromium();
  adminCtx = await newContext('admin');
  userCtx = await newContext('user');
  admin = await adminCtx.newPage();
  user = await userCtx.newPage();
  mkdirSync(shots, { recursive: true });
  await Promise.all([signIn(admin, gw.admin.username, gw.admin.password), signIn(user, OPERATOR, OPERATOR_PASSWORD)]);
});

after(async () => {
  await Promise.all([...xterms].map(stopXterm));
  await adminCtx?.close().catch(() => {});
  await userCtx?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await gw?.stop();
  await xrdp?.stop();
  await lab?.stop();
  await removeLabAccount(LAB_ACCOUNT);
  await removeLabAccount(XRDP_ACCOUNT);
  rmSync(labDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

test('display sessions: VNC, typing, watch, terminate, playback, RDP, wrong password', async (t) => {
  let tab: Page;
  let watch: Page;

  await t.test('Connect -> VNC shows the lab desktop in the browser', async () => {
    tab = await connect(user, VNC_ASSET, 'vnc');
    await waitActive(tab);
    assert.match((await tab.getByTestId('terminal-asset').textContent()) ?? '', new RegExp(VNC_ASSET));
    assert.match((await tab.getByTestId('terminal-protocol').textContent()) ?? '', new RegExp(`VNC :${vnc.port}`));
    const d = await firstFrames(tab, 20_000, VNC_GEOMETRY);
    // 1280x800 fits the 1428x838 drawing area: shown 1:1.
    assert.equal(d.scale, 1);
    const s = await displayShot(tab, join(shots, 'vnc.png'));
    assert.deepEqual([s.width, s.height], [Math.round(d.width * d.scale), Math.round(d.height * d.scale)]);
    const bg = share(s, VNC_BACKGROUND);
    assert.ok(bg > 0.5, `share of the lab background ${VNC_BACKGROUND}: ${bg.toFixed(3)}`);
  });

  await t.test('a click into an xterm on the VNC desktop and typing arrive on the target', async () => {
    const at = await typeIntoXterm(tab, 'vnc', 'hello-vnc');
    // The browser shows the remote desktop 1:1 (the xterm is where X put it, inside its border).
    assert.ok(at.left >= XTERM_AT.x && at.left <= XTERM_AT.x + 8 && at.top >= XTERM_AT.y && at.top <= XTERM_AT.y + 8, `xterm shown at ${JSON.stringify(at)}`);
  });

  await t.test('the admin watches from Active Sessions: read-only, the same screen, the owner sees the banner', async () => {
    await admin.getByTestId('nav-sessions-active').click();
    const row = admin.locator(`[data-testid="live-session-row"][data-username="${OPERATOR}"][data-asset-name="${VNC_ASSET}"]`);
    await row.waitFor();
    sessionId = (await row.getAttribute('data-session-id')) ?? '';
    assert.match(sessionId, /^[0-9a-f-]{36}$/);
    const [w] = await Promise.all([adminCtx.waitForEvent('page'), row.getByTestId('session-watch').click()]);
    watch = w;
    await watch.waitForLoadState();
    assert.equal(new URL(watch.url()).pathname, `/sessions/${sessionId}/watch`);
    await watch.getByTestId('read-only-badge').waitFor();
    await watch.locator('[data-testid="session-state"][data-state="active"]').waitFor();
    const d = await firstFrames(watch);
    assert.deepEqual([d.width, d.height], [VNC_GEOMETRY.width, VNC_GEOMETRY.height]);
    const s = await displayShot(watch, join(shots, 'watch.png'));
    const bg = share(s, VNC_BACKGROUND);
    assert.ok(bg > 0.5, `watcher: share of the lab background: ${bg.toFixed(3)}`);
    const banner = tab.getByTestId('watchers-banner');
    await banner.waitFor();
    assert.match((await banner.textContent()) ?? '', new RegExp(`Watched by: ${gw.admin.username}`));
  });

  await t.test('the admin terminates it from the watch page; the owner sees why', async () => {
    await watch.getByTestId('watch-terminate').click();
    await watch.getByTestId('terminate-form').waitFor();
    await watch.getByTestId('terminate-reason').fill(REASON);
    const t0 = Date.now();
    await watch.getByTestId('terminate-confirm').click();
    await watch.getByTestId('terminate-form').waitFor({ state: 'detached' });
    const ended = tab.getByTestId('session-ended');
    await ended.waitFor({ timeout: 5000 });
    assert.ok(Date.now() - t0 < 5000, `the owner's end screen after ${Date.now() - t0} ms`);
    assert.equal(await ended.getAttribute('data-state'), 'terminated');
    assert.equal((await tab.getByTestId('session-end-message').textContent())?.trim(), `terminated by admin: ${REASON}`);
    assert.match((await ended.textContent()) ?? '', /Session terminated/);
    await watch.getByTestId('session-ended').waitFor();
    await tab.close();
    await watch.close();
  });

  await t.test('the recording plays: seek to the middle shows the desktop, the red button is a marker near the end', async () => {
    // The recording is sealed just after the session ends.
    await until('the sealed recording', async () => (await api.get(`/api/v1/sessions/${sessionId}/recording/verify`)).json?.ok === true);
    const rec = await api.get(`/api/v1/sessions/${sessionId}/recording`);
    assert.equal(rec.status, 200);
    // The frames of the recording (relative `sync` times), to know where a seek may land.
    const syncs = [...rec.text.matchAll(/(?:^|;)4\.sync,\d+\.(\d+)/g)].map((m) => Number(m[1]));
    assert.ok(syncs.length >= 2, `frames in the recording: ${syncs.length}`);
    const frames = syncs.map((ts) => ts - syncs[0]!);

    await admin.bringToFront();
    await admin.goto(`${gw.url}/sessions/${sessionId}/play`);
    const player = admin.locator('[data-testid="recording-player"][data-engine="guacamole"]');
    await player.waitFor();
    await admin.locator('[data-testid="recording-player"][data-loaded="true"]').waitFor({ timeout: 30_000 });
    const duration = await admin.evaluate(() => window.portcullisGuacPlayer!.duration());
    assert.ok(duration > 0, `duration ${duration}`);
    assert.equal(duration, frames.at(-1), 'the duration is the last frame');
    const toggle = admin.getByTestId('player-toggle');
    if ((await toggle.getAttribute('data-playing')) === 'true') await toggle.click();
    await admin.locator('[data-testid="player-toggle"][data-playing="false"]').waitFor();

    // The keyboard on the timeline: End goes to the last frame.
    await admin.locator('[data-testid="player-seek"] [role="slider"]').focus();
    await admin.keyboard.press('End');
    await until('the seek to the end', async () => (await admin.evaluate(() => window.portcullisGuacPlayer!.position())) === duration, 10_000);
    // Click the middle of the timeline: the player lands on a frame next to it (frames come only
    // when the screen changes), not at the end any more unless no frame is nearer.
    const track = (await admin.getByTestId('player-seek').boundingBox())!;
    await admin.mouse.click(track.x + track.width / 2, track.y + track.height / 2);
    // The click's value is the middle give or take the slider's step and padding: 45-55 %.
    const target = duration / 2;
    const before = frames.filter((f) => f <= duration * 0.45 - 100).at(-1) ?? 0;
    const afterIt = frames.find((f) => f >= duration * 0.55 + 100) ?? duration;
    const { pos } = await until('the seek to the middle', async () => {
      const p = await admin.evaluate(() => window.portcullisGuacPlayer!.position());
      // Still at the end: the click has not been handled yet (unless no frame is nearer).
      if (afterIt < duration && p === duration) return null;
      return p >= before - 150 && p <= afterIt + 150 ? { pos: p } : null;
    }, 10_000);
    assert.ok(pos >= before - 150 && pos <= afterIt + 150, `position ${pos}, middle ${target}, frames around it ${before}..${afterIt}`);
    if (afterIt < duration) assert.ok(pos < duration, 'the click moved the position back from the end');
    assert.match((await admin.getByTestId('player-time').textContent()) ?? '', /\d+:\d\d \/ \d+:\d\d/);
    const canvasShare = await until('the desktop on the player', async () => {
      const v = await admin.evaluate(
        ([hex, tol]) => {
          const c = window.portcullisGuacPlayer!.canvas();
          const ctx = c.getContext('2d');
          if (!ctx || !c.width || !c.height) return 0;
          const px = ctx.getImageData(0, 0, c.width, c.height).data;
          const rgb = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
          let hit = 0;
          for (let p = 0; p < px.length; p += 4) if (Math.abs(px[p]! - rgb[0]!) <= tol && Math.abs(px[p + 1]! - rgb[1]!) <= tol && Math.abs(px[p + 2]! - rgb[2]!) <= tol) hit++;
          return { share: hit / (c.width * c.height), width: c.width, height: c.height };
        },
        [VNC_BACKGROUND, TOLERANCE] as const,
      );
      return v && v.share > 0.5 ? v : null;
    }, 10_000);
    assert.deepEqual([canvasShare.width, canvasShare.height], [VNC_GEOMETRY.width, VNC_GEOMETRY.height]);
    await admin.mouse.move(0, 0);
    await admin.evaluate(() => window.scrollTo(0, 0));
    await admin.screenshot({ path: join(shots, 'playback-display.png'), fullPage: true });

    // The red button is a marker; clicking it seeks to (near) the end.
    const markers = admin.getByTestId('player-markers');
    await markers.getByText(/started watching/).waitFor();
    const red = admin.locator('[data-testid="player-marker"]', { hasText: `terminated by admin: ${REASON}` });
    await red.waitFor();
    await red.click();
    const { pos: end } = await until('the seek to the red button', async () => {
      const p = await admin.evaluate(() => window.portcullisGuacPlayer!.position());
      return p >= duration * 0.9 ? { pos: p } : null;
    }, 10_000);
    assert.ok(end >= duration * 0.9 && end <= duration, `position ${end} of ${duration}`);
  });

  await t.test('Connect -> RDP opens at the browser size, shows the RDP desktop, takes typing; Disconnect leaves nothing behind', async () => {
    tab = await connect(user, RDP_ASSET, 'rdp');
    try {
      await waitActive(tab, 30_000);
      assert.match((await tab.getByTestId('terminal-protocol').textContent()) ?? '', new RegExp(`RDP :${rdp.port}`));
      const d = await firstFrames(tab, 30_000);
      // The session opened at the size of the drawing area: the window less the top bar (and padding).
      assert.ok(Math.abs(d.width - d.hostWidth) <= 4 && Math.abs(d.height - d.hostHeight) <= 4, `display ${d.width}x${d.height}, drawing area ${d.hostWidth}x${d.hostHeight}`);
      assert.ok(Math.abs(d.hostWidth - VIEWPORT.width) <= 20 && Math.abs(d.hostHeight - (VIEWPORT.height - BAR_HEIGHT)) <= 20, `drawing area ${d.hostWidth}x${d.hostHeight}`);
      assert.equal(d.scale, 1);
      const s = await until('the RDP desktop in the browser', async () => {
        const end = await endScreen(tab);
        if (end) throw new Error(`the session ended: ${end}`);
        const shot = await displayShot(tab);
        return share(shot, RDP_BACKGROUND) > 0.3 ? shot : null;
      }, 20_000, 250);
      await tab.getByTestId('remote-display').screenshot({ path: join(shots, 'rdp.png') });
      assert.ok(share(s, RDP_BACKGROUND) > 0.3);
      assert.ok(rdpHelpers().length >= 2, `helpers running: ${rdpHelpers().join('; ')}`);

      await typeIntoXterm(tab, 'rdp', 'hello-rdp');

      await tab.getByTestId('terminal-disconnect').click();
      const ended = tab.getByTestId('session-ended');
      await ended.waitFor();
      assert.equal(await ended.getAttribute('data-state'), 'ended');
      assert.equal(await ended.getAttribute('data-reason'), 'user_closed');
      assert.match((await tab.getByTestId('session-end-message').textContent()) ?? '', /You closed the session/);
      await until('no Xvnc or xfreerdp left', () => rdpHelpers().length === 0, 10_000).catch(() => {
        assert.deepEqual(rdpHelpers(), [], 'no Xvnc or xfreerdp left');
      });
    } finally {
      // Closing the tab ends the session (and its helpers) even when a step above failed.
      await tab.close();
    }
  });

  await t.test('Connect -> RDP without NLA (xrdp, TLS) shows its desktop, follows a window resize; Disconnect leaves nothing behind', async () => {
    const p = await connect(user, XRDP_ASSET, 'rdp');
    try {
      await waitActive(p, 30_000);
      await firstFrames(p, 30_000);
      const s = await until('the xrdp desktop in the browser', async () => {
        const end = await endScreen(p);
        if (end) throw new Error(`the session ended: ${end}`);
        const shot = await displayShot(p);
        return share(shot, XRDP_DESKTOP_COLOUR) > 0.3 ? shot : null;
      }, 30_000, 250);
      await p.getByTestId('remote-display').screenshot({ path: join(shots, 'xrdp.png') });
      assert.ok(share(s, XRDP_DESKTOP_COLOUR) > 0.3);

      // The window gets smaller: the desktop follows it (a reconnect at the new size) instead of
      // being scaled down, and xrdp shows the same session again.
      await p.setViewportSize({ width: VIEWPORT.width - 240, height: VIEWPORT.height - 160 });
      const r = await until('the remote desktop at the new window size', async () => {
        const end = await endScreen(p);
        if (end) throw new Error(`the session ended: ${end}`);
        const d = await displayInfo(p);
        return d && d.hostWidth < VIEWPORT.width - 200 && Math.abs(d.width - d.hostWidth) <= 2 && Math.abs(d.height - d.hostHeight) <= 2 ? d : null;
      }, 30_000, 250);
      assert.equal(r.scale, 1);
      await until('the xrdp desktop again', async () => share(await displayShot(p), XRDP_DESKTOP_COLOUR) > 0.5, 30_000, 250);
      await p.getByTestId('remote-display').screenshot({ path: join(shots, 'xrdp-resized.png') });
      await p.getByTestId('terminal-disconnect').click();
      await p.locator('[data-testid="session-ended"][data-reason="user_closed"]').waitFor();
      await until('no Xvnc or xfreerdp left', () => rdpHelpersOf(gw.dataDir, xrdp.port).length === 0, 10_000);
    } finally {
      await p.close();
    }
  });

  await t.test('Connect -> VNC on a site with the default stream quality (medium: Tight JPEG from the asset) shows the desktop too', async () => {
    const p = await connect(user, VNC_MEDIUM, 'vnc');
    try {
      await waitActive(p);
      const d = await firstFrames(p, 20_000, VNC_GEOMETRY);
      // Frames keep coming (the asset's JPEG rectangles decode) and the session stays up.
      const s = await until('the lab desktop at medium quality', async () => {
        const end = await endScreen(p);
        if (end) throw new Error(`the session ended: ${end}`);
        const shot = await displayShot(p);
        return share(shot, VNC_BACKGROUND) > 0.5 ? shot : null;
      }, 15_000, 250);
      await p.getByTestId('remote-display').screenshot({ path: join(shots, 'vnc-medium.png') });
      assert.deepEqual([s.width, s.height], [Math.round(d.width * d.scale), Math.round(d.height * d.scale)]);
      assert.equal(await endScreen(p), null);
      await p.getByTestId('terminal-disconnect').click();
      await p.locator('[data-testid="session-ended"][data-reason="user_closed"]').waitFor();
    } finally {
      await p.close();
    }
  });

  await t.test('a wrong vaulted password gives the "refused the vaulted credential" end screen (VNC, RDP)', async () => {
    for (const [name, protocol] of [[VNC_BAD, 'vnc'], [RDP_BAD, 'rdp']] as const) {
      const p = await connect(user, name, protocol);
      const ended = p.getByTestId('session-ended');
      await ended.waitFor({ timeout: 30_000 });
      assert.equal(await ended.getAttribute('data-state'), 'failed', `${protocol}: ${await ended.textContent()}`);
      assert.equal(await ended.getAttribute('data-reason'), 'auth_failed');
      assert.match((await p.getByTestId('session-end-message').textContent()) ?? '', new RegExp(`${name} refused the vaulted credential`));
      assert.match((await ended.textContent()) ?? '', /Could not open the session/);
      await p.close();
    }
    await until('no Xvnc or xfreerdp left after the failed RDP login', () => rdpHelpers().length === 0, 10_000).catch(() => {
      assert.deepEqual(rdpHelpers(), [], 'a failed RDP session leaves no helper behind');
    });
  });

  await t.test('no script errors and no CSP violations', () => {
    t.diagnostic(`screenshots in ${shots}`);
    assert.deepEqual(problems, []);
  });
});
