/**
 * kill -9 the gateway in the middle of a recorded session: after a restart the session shows
 * 'interrupted' and its recording is readable and sealed up to at most ~1 s before the kill.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { type Lab, removeLabAccount, startLab } from '../../lab/index.js';
import { loadSigningKey, readRecording, verifyRecording } from '../../src/server/recording/index.js';

const ACCOUNT = 'pccrashtest';
const ADMIN_PW = 'Crash-test-gateway-passphrase-1';

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

describe('gateway crash during a session', () => {
  let lab: Lab;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-crash-'));
  const dataDir = join(dir, 'data');
  let port = 0;
  let gw: ChildProcess | undefined;
  const base = () => `http://127.0.0.1:${port}`;
  const env = () => ({ ...process.env, PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_PORT: String(port), PORTCULLIS_TLS: 'false', PORTCULLIS_ADMIN_PASSWORD: ADMIN_PW, PORTCULLIS_LOG_LEVEL: 'warn', PORTCULLIS_DATABASE_URL: '', PORTCULLIS_SSH: 'false', PORTCULLIS_SSH_PORT: '0' });
  async function startGw(): Promise<ChildProcess> {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(`${base()}/healthz`)).ok) return p;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('gateway did not start');
  }
  let cookie = '';
  let csrf = '';
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base()}${path}`, { method, headers: { cookie, 'x-csrf-token': csrf, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };
  const signIn = async () => {
    const r = await fetch(`${base()}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PW }) });
    cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    csrf = ((await r.json()) as { csrfToken: string }).csrfToken;
  };

  before(async () => {
    lab = await startLab({ dataDir: dir, ports: { ssh: 27221, telnet: 27343, vnc: 29921, rdp: 28893 }, displayBase: 225, account: ACCOUNT });
    port = await freePort();
    gw = await startGw();
    await signIn();
  });
  after(async () => {
    gw?.kill('SIGKILL');
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    rmSync(dir, { recursive: true, force: true });
  });

  it('marks the session interrupted and keeps its recording readable and sealed', async () => {
    const ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
    const site = (await api('POST', '/api/v1/sites', { name: 'Crash plant' })).json;
    const asset = (await api('POST', '/api/v1/assets', { name: 'PLC-CRASH', siteId: site.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] })).json;
    assert.equal((await api('POST', `/api/v1/assets/${asset.id}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password })).status, 201);
    const me = (await api('GET', '/api/v1/users?username=admin')).json.items[0];
    await api('POST', '/api/v1/grants', { subjectType: 'user', subjectId: me.id, targetType: 'asset', target: asset.id });

    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/sessions/connect?assetId=${asset.id}&protocol=ssh&port=${ssh.port}`, { headers: { cookie } });
    let sessionId = '';
    let out = '';
    ws.on('message', (d, bin) => {
      if (bin) out += d.toString();
      else {
        const m = JSON.parse(d.toString());
        if (m.type === 'opened') sessionId = m.session.id;
      }
    });
    ws.on('error', () => {});
    await new Promise((r) => ws.on('open', r));
    for (let i = 0; i < 100 && !sessionId; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(sessionId, 'session opened');
    ws.send(Buffer.from('for i in $(seq 1 1000); do echo tick-$i; sleep 0.1; done\r'));
    for (let i = 0; i < 100 && !/tick-20\b/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /tick-20\b/);
    gw!.kill('SIGKILL');
    await new Promise((r) => gw!.once('exit', r));
    ws.terminate();

    gw = await startGw();
    await signIn();
    const row = (await api('GET', `/api/v1/sessions/${sessionId}`)).json;
    assert.equal(row.state, 'interrupted');
    assert.equal(row.endReason, 'gateway_restart');
    const path = resolve(dataDir, 'recordings', `${sessionId}.cast`);
    const rec = await readRecording(path);
    assert.ok(rec.events.some((e) => e[1] === 'o' && /tick-1\d/.test(String(e[2]))));
    const v = await verifyRecording(path, loadSigningKey(dataDir).publicKeyPem);
    assert.equal(v.ok, true, JSON.stringify(v));
    // Ticks are at least 100 ms apart, so losing at most ~1 s means at most 10 ticks behind what
    // the client had already seen when the gateway was killed.
    const seen = Number(out.match(/tick-(\d+)/g)?.at(-1)?.slice(5));
    const ticks = rec.events.filter((e) => e[1] === 'o').map((e) => String(e[2])).join('').match(/tick-\d+/g) ?? [];
    const recorded = Number(ticks.at(-1)?.slice(5));
    assert.ok(seen - recorded <= 10, `the recording stops at tick-${recorded}, the client had seen tick-${seen} when the gateway was killed`);
    assert.equal(v.ok && v.interrupted, true);
  });
});
