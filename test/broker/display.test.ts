/**
 * Graphical sessions through the real HTTP server against the lab's real VNC desktop (TigerVNC
 * Xvnc with a VNC password): the Guacamole stream a browser would get draws the lab's screen, a
 * late watcher gets a full-frame snapshot that matches, the recording is sealed, a wrong vaulted
 * password fails clearly, and the red button ends it within a second.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { type Lab, removeLabAccount, startLab } from '../../lab/index.js';
import { loadSigningKey, verifyRecording } from '../../src/server/recording/index.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';
import { GuacScreen } from '../helpers/guac-screen.js';
import { rdpHelpers as rdpHelpersOf } from '../helpers/rdp.js';

const ACCOUNT = 'pcdisplay';
const PW = 'Display-session-passphrase-8';
/** The lab VNC desktop's background (lab/vnc.ts). */
const VNC_BACKGROUND = '#1f6feb';
/** The lab RDP (freerdp-shadow, NLA) desktop's background (lab/rdp.ts). */
const RDP_BACKGROUND = '#8250df';

interface Viewer {
  ws: WebSocket;
  screen: GuacScreen;
  events: { type: string; [k: string]: unknown }[];
  send(text: string): void;
  waitUntil(check: () => boolean, what: string, ms?: number): Promise<void>;
  closed: Promise<number>;
}

/** `ack`: acknowledge every frame, as a browser does (else the gateway stops after two). */
function viewer(url: string, cookie: string, origin: string, o: { ack?: boolean } = {}): Viewer {
  const ws = new WebSocket(url, { headers: { cookie, origin } });
  const screen = new GuacScreen();
  const events: Viewer['events'] = [];
  ws.on('message', (m, binary) => {
    const text = (m as Buffer).toString('utf8');
    if (!binary && text.startsWith('{')) events.push(JSON.parse(text));
    else {
      const before = screen.syncs.length;
      screen.feed(text);
      const last = screen.syncs.at(-1);
      if (o.ack && screen.syncs.length > before && last !== undefined) ws.send(`4.sync,${String(last).length}.${last};`);
    }
  });
  return {
    ws,
    screen,
    events,
    send: (text) => ws.send(text),
    async waitUntil(check, what, ms = 15_000) {
      const t0 = Date.now();
      while (!check()) {
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; events ${JSON.stringify(events)}; opcodes ${JSON.stringify([...screen.opcodes])}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    closed: new Promise((r) => ws.on('close', (code) => r(code))),
  };
}

describe('graphical sessions (VNC) over WebSocket', () => {
  let lab: Lab;
  let t: TestGateway;
  let admin: ApiClient;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-display-'));
  let cookie = '';
  let adminCookie = '';
  let connectUrl = '';
  let badUrl = '';
  let rdpUrl = '';
  let rdpBadUrl = '';
  let rdpAsset = '';
  let rdpPort = 0;
  const rdpHelpers = () => rdpHelpersOf(t.dataDir, rdpPort);
  let clipUrl = '';
  let modUrl = '';
  let hostileUrl = '';
  let hostile: net.Server | undefined;
  /** Runs an X client on the lab VNC desktop. */
  const onVnc = (cmd: string, args: string[], input?: string) =>
    execFileSync(cmd, args, { env: { PATH: process.env.PATH, DISPLAY: `:${lab.displays.vnc}`, XAUTHORITY: join(lab.labDir, 'vnc', 'Xauthority') }, ...(input !== undefined ? { input } : {}), encoding: 'utf8', timeout: 5000 });
  const cookieOf = async (username: string, password: string) => {
    const r = await fetch(`${t.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    assert.equal(r.status, 200);
    return r.headers.get('set-cookie')!.split(';')[0]!;
  };
  const rowOf = (id: string) => t.gw.database.db.selectFrom('remote_sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const settled = async (id: string) => {
    for (let i = 0; i < 200; i++) {
      const row = await rowOf(id);
      if (row.state !== 'active' && row.state !== 'pending') return row;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`session ${id} did not end`);
  };

  before(async () => {
    lab = await startLab({ dataDir: dir, ports: { ssh: 27511, telnet: 27633, vnc: 29961, rdp: 28961 }, displayBase: 195, account: ACCOUNT });
    t = await startGateway({ tls: false });
    admin = await adminClient(t);
    const vnc = lab.targets.find((x) => x.protocol === 'vnc')!;
    const site = (await admin.post('/api/v1/sites', { name: 'Display lab', streamQuality: 'high' })).json;
    const mk = async (name: string, password: string) => {
      const a = await admin.post('/api/v1/assets', { name, siteId: site.id, purdueLevel: 2, host: '127.0.0.1', accessMethods: [{ protocol: 'vnc', port: vnc.port }] });
      assert.equal(a.status, 201, a.text);
      const acc = await admin.post(`/api/v1/assets/${a.json.id}/accounts`, { name: 'default', username: 'vnc', kind: 'password', password });
      assert.equal(acc.status, 201, acc.text);
      return a.json.id as string;
    };
    const good = await mk('HMI-VNC', vnc.password!);
    // The same desktop with the clipboard allowed both ways (access-method options).
    const clip = await admin.post('/api/v1/assets', { name: 'HMI-CLIP', siteId: site.id, purdueLevel: 2, host: '127.0.0.1', accessMethods: [{ protocol: 'vnc', port: vnc.port, options: { clipboardToAsset: true, clipboardFromAsset: true } }] });
    assert.equal(clip.status, 201, clip.text);
    await admin.post(`/api/v1/assets/${clip.json.id}/accounts`, { name: 'default', username: 'vnc', kind: 'password', password: vnc.password });
    // A hostile VNC server: a proper handshake, then a desktop of 65535x65535.
    hostile = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.write('RFB 003.008\n');
      let step = 0;
      sock.on('data', () => {
        step++;
        if (step === 1) sock.write(Buffer.from([1, 1])); // one security type: None
        if (step === 2) {
          const init = Buffer.alloc(24 + 4);
          init.writeUInt16BE(640, 0);
          init.writeUInt16BE(480, 2);
          Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]).copy(init, 4);
          init.writeUInt32BE(4, 20);
          init.write('evil', 24);
          sock.write(Buffer.concat([Buffer.from([0, 0, 0, 0]), init])); // SecurityResult OK, ServerInit
        }
        if (step >= 3) {
          const rect = Buffer.alloc(4 + 12);
          rect.writeUInt16BE(1, 2); // FramebufferUpdate, 1 rectangle
          rect.writeUInt16BE(65535, 8);
          rect.writeUInt16BE(65535, 10);
          rect.writeInt32BE(-223, 12); // DesktopSize
          sock.write(rect);
        }
      });
    });
    await new Promise<void>((r) => hostile!.listen(0, '127.0.0.1', r));
    const hostilePort = (hostile.address() as net.AddressInfo).port;
    const evil = await admin.post('/api/v1/assets', { name: 'HMI-EVIL', siteId: site.id, purdueLevel: 2, host: '127.0.0.1', accessMethods: [{ protocol: 'vnc', port: hostilePort }] });
    await admin.post(`/api/v1/assets/${evil.json.id}/accounts`, { name: 'default', username: 'vnc', kind: 'password', password: 'x' });
    const bad = await mk('HMI-BADPW', 'not-the-password');
    const rdp = lab.targets.find((x) => x.protocol === 'rdp')!;
    rdpPort = rdp.port;
    const mkRdp = async (name: string, password: string) => {
      const a = await admin.post('/api/v1/assets', { name, siteId: site.id, purdueLevel: 3, host: '127.0.0.1', accessMethods: [{ protocol: 'rdp', port: rdp.port }] });
      assert.equal(a.status, 201, a.text);
      const acc = await admin.post(`/api/v1/assets/${a.json.id}/accounts`, { name: 'default', username: rdp.username, kind: 'password', password });
      assert.equal(acc.status, 201, acc.text);
      return a.json.id as string;
    };
    rdpAsset = await mkRdp('SCADA-RDP', rdp.password!);
    const rdpBad = await mkRdp('SCADA-BADPW', 'Not-the-password-1');
    const user = (await admin.post('/api/v1/users', { username: 'hmi.user', role: 'Client', password: PW, mustChangePassword: false })).json.user.id;
    await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: user, targetType: 'site', target: site.id });
    cookie = await cookieOf('hmi.user', PW);
    adminCookie = await cookieOf('admin', t.admin.password);
    const base = `${t.url.replace(/^http/, 'ws')}/api/v1/sessions/connect`;
    connectUrl = `${base}?assetId=${good}&protocol=vnc&port=${vnc.port}&width=1280&height=800`;
    badUrl = `${base}?assetId=${bad}&protocol=vnc&port=${vnc.port}`;
    clipUrl = `${base}?assetId=${clip.json.id}&protocol=vnc&port=${vnc.port}`;
    // The same desktop, moderated (watch required), with the clipboard to the asset allowed.
    const mod = await admin.post('/api/v1/assets', { name: 'HMI-MOD', siteId: site.id, purdueLevel: 2, host: '127.0.0.1', accessMethods: [{ protocol: 'vnc', port: vnc.port, options: { clipboardToAsset: true } }] });
    assert.equal(mod.status, 201, mod.text);
    await admin.post(`/api/v1/assets/${mod.json.id}/accounts`, { name: 'default', username: 'vnc', kind: 'password', password: vnc.password });
    assert.equal((await admin.post('/api/v1/policy/rules', { name: 'HMI-MOD is moderated', subjects: { everyone: true }, targets: { assets: [mod.json.id] }, watchRequired: true })).status, 201);
    modUrl = `${base}?assetId=${mod.json.id}&protocol=vnc&port=${vnc.port}`;
    hostileUrl = `${base}?assetId=${evil.json.id}&protocol=vnc&port=${hostilePort}`;
    rdpUrl = `${base}?assetId=${rdpAsset}&protocol=rdp&port=${rdp.port}&width=1024&height=700`;
    rdpBadUrl = `${base}?assetId=${rdpBad}&protocol=rdp&port=${rdp.port}&width=1024&height=700`;
  });
  after(async () => {
    hostile?.close();
    await t?.stop();
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    rmSync(dir, { recursive: true, force: true });
  });

  it("draws the asset's screen, lets a late watcher start from a full frame, records and seals it, and the red button ends it", async () => {
    const v = viewer(connectUrl, cookie, t.url);
    await v.waitUntil(() => v.events.some((e) => e.type === 'opened'), 'opened');
    const opened = v.events.find((e) => e.type === 'opened') as unknown as { session: { id: string; kind: string; cols: number; rows: number } };
    assert.equal(opened.session.kind, 'display');
    const id = opened.session.id;
    // The first frame: the whole desktop, mostly the lab's blue background.
    await v.waitUntil(() => v.screen.syncs.length > 0 && v.screen.width > 0, 'the first frame');
    assert.deepEqual([v.screen.width, v.screen.height], [opened.session.cols, opened.session.rows]);
    assert.ok(v.screen.share(VNC_BACKGROUND) > 0.5, `background share ${v.screen.share(VNC_BACKGROUND)}; pixel(5,5) ${v.screen.pixel(5, 5)}`);
    assert.ok(v.screen.mimetypes.has('image/png'), 'high quality: lossless PNG tiles');
    // The browser acknowledges frames, moves and clicks the mouse and types: accepted, no error.
    v.send(`4.sync,${String(v.screen.syncs.at(-1)).length}.${v.screen.syncs.at(-1)};`);
    v.send('5.mouse,3.100,3.100,1.0;5.mouse,3.100,3.100,1.1;5.mouse,3.100,3.100,1.0;');
    v.send('3.key,3.120,1.1;3.key,3.120,1.0;');

    // A watcher joining late starts from a full frame that matches what the owner sees.
    const w = viewer(`${t.url.replace(/^http/, 'ws')}/api/v1/sessions/${id}/watch`, adminCookie, t.url);
    await w.waitUntil(() => w.screen.syncs.length > 0, "the watcher's snapshot");
    assert.deepEqual([w.screen.width, w.screen.height], [v.screen.width, v.screen.height]);
    await v.waitUntil(() => v.events.some((e) => e.type === 'watchers' && (e.watchers as unknown[]).length === 1), 'the owner sees the watcher');
    const same = w.screen.rgba.every((b, i) => Math.abs(b - v.screen.rgba[i]!) <= 0);
    assert.ok(same, 'the snapshot equals the owner screen');

    const t0 = Date.now();
    const r = await admin.post(`/api/v1/sessions/${id}/terminate`, { reason: 'display test over' });
    assert.equal(r.status, 200, r.text);
    await v.closed;
    assert.ok(Date.now() - t0 < 1000, `ended after ${Date.now() - t0} ms`);
    const ended = v.events.find((e) => e.type === 'ended') as unknown as { state: string; message: string };
    assert.equal(ended.state, 'terminated');
    assert.match(ended.message, /terminated by admin: display test over/);
    await w.closed;

    const row = await settled(id);
    assert.equal(row.state, 'terminated');
    assert.equal(row.protocol, 'vnc');
    assert.match(row.recording_path ?? '', /\.guac$/);
    const path = resolve(t.dataDir, row.recording_path!);
    const verdict = await verifyRecording(path, loadSigningKey(t.dataDir).publicKeyPem);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    // The recording replays to the same screen, with the watcher and the red button as markers.
    const replay = new GuacScreen();
    replay.feed(readFileSync(path, 'utf8'));
    assert.ok(replay.share(VNC_BACKGROUND) > 0.5);
    assert.ok(replay.markers.some((m) => /started watching/.test(m)));
    assert.ok(replay.markers.some((m) => /terminated by admin: display test over/.test(m)));
    assert.ok((replay.opcodes.get('key') ?? 0) >= 2, 'key events are in the recording');
    const rec = await admin.get(`/api/v1/sessions/${id}/recording`);
    assert.equal(rec.status, 200);
    assert.match(String(rec.headers['content-type']), /guacamole/);

    // An administrator exports it to MP4 (real ffmpeg) in the background, with progress.
    assert.equal((await admin.get(`/api/v1/sessions/${id}/recording/video`)).json.state, 'none');
    const started = await admin.post(`/api/v1/sessions/${id}/recording/video`);
    assert.equal(started.status, 202, started.text);
    assert.ok(['running', 'done'].includes(started.json.state));
    let job = started.json;
    for (let i = 0; i < 300 && job.state === 'running'; i++) {
      await new Promise((res) => setTimeout(res, 100));
      job = (await admin.get(`/api/v1/sessions/${id}/recording/video`)).json;
    }
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.equal(job.progress, 1);
    const mp4 = join(dir, 'export.mp4');
    const file = await fetch(`${t.url}/api/v1/sessions/${id}/recording/video/file`, { headers: { cookie: adminCookie } });
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('content-type'), 'video/mp4');
    writeFileSync(mp4, Buffer.from(await file.arrayBuffer()));
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', mp4], { encoding: 'utf8' })).streams[0];
    assert.deepEqual(probe, { codec_name: 'h264', width: v.screen.width, height: v.screen.height });
    // Its last picture is the lab's screen (blue background, within video compression).
    const rgb = execFileSync('ffmpeg', ['-v', 'error', '-sseof', '-0.5', '-i', mp4, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 64 << 20 });
    let blue = 0;
    for (let i = 0; i < rgb.length; i += 3) if (Math.abs(rgb[i]! - 0x1f) < 24 && Math.abs(rgb[i + 1]! - 0x6f) < 24 && Math.abs(rgb[i + 2]! - 0xeb) < 24) blue++;
    assert.ok(blue / (rgb.length / 3) > 0.5, `blue share ${blue / (rgb.length / 3)}`);
  });

  it('a wrong vaulted VNC password fails the session with a clear message', async () => {
    const v = viewer(badUrl, cookie, t.url);
    await v.closed;
    const ended = v.events.find((e) => e.type === 'ended') as unknown as { state: string; reason: string; message: string; sessionId: string };
    assert.equal(ended.state, 'failed');
    assert.equal(ended.reason, 'auth_failed');
    assert.match(ended.message, /refused the vaulted credential/);
    assert.equal((await rowOf(ended.sessionId)).state, 'failed');
  });

  it('malformed display input from the browser ends only that session, clearly', async () => {
    const v = viewer(connectUrl, cookie, t.url);
    await v.waitUntil(() => v.screen.syncs.length > 0, 'the first frame');
    v.send('99999999999.nonsense;');
    await v.closed;
    const ended = v.events.find((e) => e.type === 'ended') as unknown as { message: string };
    assert.match(ended.message, /malformed display input/);
  });

  it('RDP (NLA): a private Xvnc + xfreerdp at the browser size, which follows the window, the certificate pinned, nothing left after the red button', async () => {
    const v = viewer(rdpUrl, cookie, t.url, { ack: true });
    await v.waitUntil(() => v.events.some((e) => e.type === 'opened' || e.type === 'ended'), 'opened', 30_000);
    const opened = v.events.find((e) => e.type === 'opened') as unknown as { session: { id: string; cols: number; rows: number } } | undefined;
    assert.ok(opened, JSON.stringify(v.events));
    assert.deepEqual([opened.session.cols, opened.session.rows], [1024, 700], 'the session takes the browser size');
    await v.waitUntil(() => v.screen.syncs.length > 0 && v.screen.share(RDP_BACKGROUND) > 0.3, 'the remote desktop', 30_000);
    const pin = await t.gw.database.db.selectFrom('asset_host_keys').selectAll().where('asset_id', '=', rdpAsset).executeTakeFirst();
    assert.match(pin?.fingerprint ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i, 'the certificate is pinned on first use');
    assert.ok(rdpHelpers().length >= 2, `helpers running: ${rdpHelpers().join('; ')}`);

    // The browser window changes size: the desktop follows once the window has settled (one
    // reconnect for a burst of sizes), in the same private Xvnc, with a new xfreerdp.
    const pidOf = (name: string) => rdpHelpers().filter((h) => h.includes(name)).map((h) => Number(h.split(':')[0]));
    const [xvncBefore, clientBefore] = [pidOf('Xvnc '), pidOf('xfreerdp')];
    assert.equal(xvncBefore.length, 1);
    const sizeMsg = (w: number, h: number) => `4.size,${String(w).length}.${w},${String(h).length}.${h};`;
    v.send(sizeMsg(900, 650) + sizeMsg(1100, 720));
    await new Promise((res) => setTimeout(res, 200));
    v.send(sizeMsg(1201, 759)); // odd sizes become even
    await v.waitUntil(() => v.screen.width === 1202 && v.screen.height === 760, 'the display at the new size', 30_000);
    const syncsAtResize = v.screen.syncs.length;
    await v.waitUntil(() => v.screen.syncs.length > syncsAtResize && v.screen.share(RDP_BACKGROUND) > 0.3, 'the remote desktop again, at the new size', 30_000);
    assert.deepEqual(pidOf('Xvnc '), xvncBefore, 'the same private Xvnc');
    const clientAfter = pidOf('xfreerdp');
    assert.equal(clientAfter.length, 1, rdpHelpers().join('; '));
    assert.notDeepEqual(clientAfter, clientBefore, 'xfreerdp reconnected');
    assert.ok(v.events.every((e) => e.type !== 'ended'), JSON.stringify(v.events));
    assert.equal((await rowOf(opened.session.id)).state, 'active');
    // The same size again changes nothing.
    v.send(sizeMsg(1202, 760));
    await new Promise((res) => setTimeout(res, 1600));
    assert.deepEqual(pidOf('xfreerdp'), clientAfter);
    // Input still reaches the desktop after the reconnect.
    v.send('5.mouse,2.50,2.50,1.0;');

    const t0 = Date.now();
    const r = await admin.post(`/api/v1/sessions/${opened.session.id}/terminate`, { reason: 'rdp test over' });
    assert.equal(r.status, 200, r.text);
    await v.closed;
    assert.ok(Date.now() - t0 < 1000, `ended after ${Date.now() - t0} ms`);
    for (let i = 0; i < 40 && rdpHelpers().length; i++) await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(rdpHelpers(), [], 'no Xvnc or xfreerdp left');
    const row = await settled(opened.session.id);
    assert.equal(row.state, 'terminated');
    const verdict = await verifyRecording(resolve(t.dataDir, row.recording_path!), loadSigningKey(t.dataDir).publicKeyPem);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    const replay = new GuacScreen();
    replay.feed(readFileSync(resolve(t.dataDir, row.recording_path!), 'utf8'));
    assert.deepEqual(replay.markers.filter((m) => /display resized/.test(m)), ['display resized to 1202x760 (the browser window changed)']);
    assert.deepEqual([replay.width, replay.height], [1202, 760]);
  });

  it('RDP: a wrong vaulted password fails clearly, and a changed certificate is refused', async () => {
    const v = viewer(rdpBadUrl, cookie, t.url);
    await v.closed;
    const ended = v.events.find((e) => e.type === 'ended') as unknown as { state: string; reason: string; message: string };
    assert.equal(ended.state, 'failed');
    assert.equal(ended.reason, 'auth_failed', ended.message);
    assert.match(ended.message, /refused the vaulted credential/);
    assert.deepEqual(rdpHelpers(), []);

    await t.gw.database.db.updateTable('asset_host_keys').set({ fingerprint: Array(32).fill('AA').join(':') }).where('asset_id', '=', rdpAsset).execute();
    const w = viewer(rdpUrl, cookie, t.url);
    await w.closed;
    const refused = w.events.find((e) => e.type === 'ended') as unknown as { reason: string; message: string };
    assert.equal(refused.reason, 'host_key_mismatch', refused.message);
    assert.match(refused.message, /certificate changed/);
    assert.deepEqual(rdpHelpers(), []);
  });

  const sendClip = (v: Viewer, text: string) => {
    const b64 = Buffer.from(text).toString('base64');
    v.send(`9.clipboard,1.7,10.text/plain;4.blob,1.7,${b64.length}.${b64};3.end,1.7;`);
  };
  const xclipOut = () => {
    try {
      return onVnc('xclip', ['-o', '-selection', 'clipboard']);
    } catch {
      return '';
    }
  };

  it('the clipboard crosses only where the access method allows it, in each direction', async () => {
    // Default (no options): nothing crosses.
    const off = viewer(connectUrl, cookie, t.url);
    await off.waitUntil(() => off.screen.syncs.length > 0, 'the first frame');
    sendClip(off, 'blocked-to-asset');
    onVnc('sh', ['-c', 'printf %s blocked-from-asset | xclip -i -selection clipboard -loops 1 & sleep 0.5']);
    await new Promise((r) => setTimeout(r, 1000));
    assert.notEqual(xclipOut(), 'blocked-to-asset');
    assert.equal(off.screen.opcodes.get('clipboard') ?? 0, 0, 'no clipboard reached the browser');
    off.ws.close();
    await off.closed;

    const on = viewer(clipUrl, cookie, t.url);
    await on.waitUntil(() => on.screen.syncs.length > 0, 'the first frame');
    sendClip(on, 'allowed-to-asset');
    for (let i = 0; i < 40 && xclipOut() !== 'allowed-to-asset'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(xclipOut(), 'allowed-to-asset');
    onVnc('sh', ['-c', 'printf %s allowed-from-asset | xclip -i -selection clipboard -loops 1 & sleep 0.5']);
    await on.waitUntil(() => (on.screen.opcodes.get('clipboard') ?? 0) > 0, 'the clipboard from the asset');
    on.ws.close();
    await on.closed;
  });

  it('a moderated VNC session opens when a moderator watches, and drops the user\'s input while none does', async () => {
    const owner = viewer(modUrl, cookie, t.url);
    await owner.waitUntil(() => owner.events.some((e) => e.type === 'waiting'), 'the waiting event');
    const sessionId = String(owner.events.find((e) => e.type === 'waiting')!.sessionId);
    const watchUrl = `${t.url.replace(/^http/, 'ws')}/api/v1/sessions/${sessionId}/watch`;
    const mod = viewer(watchUrl, adminCookie, t.url);
    await owner.waitUntil(() => owner.screen.syncs.length > 0, 'the first frame once the moderator joined');
    await mod.waitUntil(() => mod.screen.syncs.length > 0, "the moderator's first frame");
    sendClip(owner, 'moderated-one');
    for (let i = 0; i < 40 && xclipOut() !== 'moderated-one'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(xclipOut(), 'moderated-one');

    // (The owner may have been told "paused" once already, before the moderator's watch attached.)
    const pausedEvents = () => owner.events.filter((e) => e.type === 'paused');
    const before = pausedEvents().length;
    mod.ws.close();
    await owner.waitUntil(() => pausedEvents().length > before && pausedEvents().at(-1)!.paused === true, 'paused');
    sendClip(owner, 'paused-two');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(xclipOut(), 'moderated-one', 'input while paused never reaches the asset');

    const mod2 = viewer(watchUrl, adminCookie, t.url);
    await owner.waitUntil(() => pausedEvents().at(-1)!.paused === false, 'resumed');
    sendClip(owner, 'resumed-three');
    for (let i = 0; i < 40 && xclipOut() !== 'resumed-three'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(xclipOut(), 'resumed-three');
    owner.ws.close();
    await owner.closed;
    await mod2.closed;
    const row = await settled(sessionId);
    assert.equal(row.moderated, 1);
  });

  it('a hostile VNC server (a 65535x65535 desktop) ends only its own session, with a clear error', async () => {
    const v = viewer(hostileUrl, cookie, t.url);
    await v.closed;
    const ended = v.events.find((e) => e.type === 'ended') as unknown as { state: string; reason: string; message: string };
    assert.ok(ended, JSON.stringify(v.events));
    assert.ok(['asset_error', 'protocol'].includes(ended.reason), JSON.stringify(ended));
    assert.match(ended.message, /desktop|size|limit/i);
    // The gateway is fine: the real desktop still opens.
    const ok = viewer(connectUrl, cookie, t.url);
    await ok.waitUntil(() => ok.screen.syncs.length > 0 && ok.screen.share(VNC_BACKGROUND) > 0.5, 'the first frame');
    ok.ws.close();
    await ok.closed;
  });
});
