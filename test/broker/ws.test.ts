/** Browser path of a brokered session over the real HTTP server: WebSocket terminal, watcher, red button, deactivation. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { term } from '../helpers/ws-term.js';
import { type Lab, removeLabAccount, startLab } from '../../lab/index.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const ACCOUNT = 'pcwstest';
const PW = 'Ws-terminal-passphrase-4';

describe('brokered sessions over WebSocket', () => {
  let lab: Lab;
  let t: TestGateway;
  let admin: ApiClient;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-ws-'));
  let wsBase = '';
  let connectUrl = '';
  let userId = '';
  const cookieOf = async (username: string, password: string) => {
    const r = await fetch(`${t.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    assert.equal(r.status, 200);
    return r.headers.get('set-cookie')!.split(';')[0]!;
  };
  before(async () => {
    lab = await startLab({ dataDir: dir, ports: { ssh: 27211, telnet: 27333, vnc: 29911, rdp: 28892 }, displayBase: 215, account: ACCOUNT });
    t = await startGateway({ tls: false });
    admin = await adminClient(t);
    wsBase = t.url.replace(/^http/, 'ws');
    const site = (await admin.post('/api/v1/sites', { name: 'WS lab' })).json;
    const ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
    const asset = (await admin.post('/api/v1/assets', { name: 'PLC-WS', siteId: site.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] })).json;
    await admin.post(`/api/v1/assets/${asset.id}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password });
    userId = (await admin.post('/api/v1/users', { username: 'ws.user', role: 'Client', password: PW, mustChangePassword: false })).json.user.id;
    await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: userId, targetType: 'asset', target: asset.id });
    connectUrl = `${wsBase}/api/v1/sessions/connect?assetId=${asset.id}&protocol=ssh&port=${ssh.port}&cols=120&rows=40`;
  });
  after(async () => {
    await t?.stop();
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a terminal in the browser path, shows watchers, and the red button ends it with the reason', async () => {
    const cookie = await cookieOf('ws.user', PW);
    const owner = await term(connectUrl, cookie);
    const opened = await owner.waitEvent('opened');
    const sessionId = (opened.session as { id: string }).id;
    owner.ws.send(JSON.stringify({ type: 'resize', cols: 100, rows: 30 }));
    owner.ws.send(Buffer.from('stty size; echo ws-$((7*6))\r'));
    await owner.waitFor(/30 100[\s\S]*ws-42/);

    const adminCookie = await cookieOf(t.admin.username, t.admin.password);
    const watcher = await term(`${wsBase}/api/v1/sessions/${sessionId}/watch`, adminCookie);
    await watcher.waitFor(/ws-42/);
    await owner.waitFor(/./);
    const w = await (async () => {
      for (let i = 0; i < 100; i++) {
        const e = [...owner.events].reverse().find((x) => x.type === 'watchers') as { watchers: { name: string }[] } | undefined;
        if (e?.watchers.length) return e;
        await new Promise((r) => setTimeout(r, 25));
      }
      return undefined;
    })();
    assert.deepEqual(w?.watchers.map((x) => x.name), ['admin'], 'the user sees who watches');
    watcher.ws.send(Buffer.from('echo should-not-run\r'));
    const live = (await admin.get('/api/v1/sessions?state=live')).json.items;
    assert.equal(live.length, 1);
    assert.deepEqual(live[0].watchers.map((x: { name: string }) => x.name), ['admin']);

    const t0 = Date.now();
    const r = await admin.post(`/api/v1/sessions/${sessionId}/terminate`, { reason: 'suspicious command' });
    assert.equal(r.status, 200, r.text);
    const ended = await owner.waitEvent('ended');
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(ended.message, 'terminated by admin: suspicious command');
    await owner.closed;
    assert.ok(!owner.out.includes('should-not-run'), 'watchers are read-only');
    const hist = await admin.get('/api/v1/sessions?format=csv&user=ws.user');
    assert.match(hist.text, /terminated/);
  });

  it('refuses a WebSocket from another origin, and anonymous ones', async () => {
    const cookie = await cookieOf('ws.user', PW);
    await assert.rejects(term(connectUrl, cookie, 'https://evil.example'), /upgrade refused: 403/);
    await assert.rejects(term(connectUrl, ''), /upgrade refused: 401/);
  });

  it('tells the browser why a session cannot open', async () => {
    const cookie = await cookieOf('ws.user', PW);
    const bad = await term(connectUrl.replace(/assetId=[^&]+/, `assetId=${crypto.randomUUID()}`), cookie);
    const e = await bad.waitEvent('ended');
    assert.equal(e.state, 'failed');
    assert.match(String(e.message), /does not exist/);
  });

  it('ends the live sessions of a user who is disabled', async () => {
    const cookie = await cookieOf('ws.user', PW);
    const owner = await term(connectUrl, cookie);
    await owner.waitEvent('opened');
    await admin.patch(`/api/v1/users/${userId}`, { status: 'disabled' });
    const e = await owner.waitEvent('ended');
    assert.equal(e.state, 'terminated');
    assert.match(String(e.message), /account ws.user disabled/);
    await admin.patch(`/api/v1/users/${userId}`, { status: 'active' });
  });
});
