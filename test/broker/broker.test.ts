/**
 * The broker against the lab's real sshd and telnetd: open with vaulted credentials, relay,
 * watch late, terminate, idle/max limits on an injectable clock, failures, recording.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Lab, removeLabAccount, startLab } from '../../lab/index.js';
import { SessionOpenError } from '../../src/server/broker/broker.js';
import type { LiveSession, Participant, ParticipantEvent } from '../../src/server/broker/types.js';
import { indexRecording, loadSigningKey, readRecording, verifyRecording } from '../../src/server/recording/index.js';
import { ManualClock } from '../helpers/clock.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const ACCOUNT = 'pcbrokertest';

class Collector implements Participant {
  out = '';
  events: ParticipantEvent[] = [];
  constructor(readonly role: 'owner' | 'watcher', readonly name: string, readonly userId: string) {}
  output(data: Buffer): boolean {
    this.out += data.toString('utf8');
    return true;
  }
  event(ev: ParticipantEvent): void {
    this.events.push(ev);
  }
  async waitFor(re: RegExp, ms = 8000): Promise<void> {
    const t0 = Date.now();
    while (!re.test(this.out)) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re} in: ${this.out.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

describe('broker with real SSH and Telnet assets', () => {
  let lab: Lab;
  let t: TestGateway;
  let admin: ApiClient;
  const clock = new ManualClock();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-broker-'));
  const ids: Record<string, string> = {};
  before(async () => {
    lab = await startLab({ dataDir: dir, ports: { ssh: 27201, telnet: 27323, vnc: 29901, rdp: 28891 }, displayBase: 210, account: ACCOUNT });
    t = await startGateway({ tls: false, clock, limits: { idleTimeoutMs: 10 * 60_000, maxDurationMs: 60 * 60_000, warnBeforeMs: 60_000 } });
    admin = await adminClient(t);
    const site = (await admin.post('/api/v1/sites', { name: 'Broker lab', maxConnections: 5 })).json;
    const ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
    const tel = lab.targets.find((x) => x.protocol === 'telnet')!;
    ids.ssh = (await admin.post('/api/v1/assets', { name: 'PLC-SSH', siteId: site.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] })).json.id;
    ids.telnet = (await admin.post('/api/v1/assets', { name: 'RTU-TEL', siteId: site.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'telnet', port: tel.port }] })).json.id;
    for (const [k, target] of [['ssh', ssh], ['telnet', tel]] as const) {
      const a = await admin.post(`/api/v1/assets/${ids[k]}/accounts`, { name: 'default', username: target.username, kind: 'password', password: target.password });
      assert.equal(a.status, 201, a.text);
      ids[`${k}Account`] = a.json.id;
    }
    const u = await admin.post('/api/v1/users', { username: 'eng.broker', role: 'Client' });
    ids.user = u.json.user.id;
    await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids.user, targetType: 'site', target: site.id });
  });
  after(async () => {
    await t?.stop();
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (kind: 'ssh' | 'telnet', port: number) =>
    t.gw.broker.open({ userId: ids.user!, assetId: ids[kind]!, protocol: kind, port, sourceIp: '127.0.0.1', via: 'browser', size: { cols: 100, rows: 30 } });
  const port = (p: 'ssh' | 'telnet') => lab.targets.find((x) => x.protocol === p)!.port;

  it('opens an SSH session with the vaulted password, relays, lets a late watcher see the screen, and terminates within 1 s', async () => {
    const s = await open('ssh', port('ssh'));
    const owner = new Collector('owner', 'eng.broker', ids.user!);
    s.attach(owner);
    s.input(Buffer.from('echo portcullis-$((6*7))\r'));
    await owner.waitFor(/portcullis-42/);
    const pin = await t.gw.database.db.selectFrom('asset_host_keys').selectAll().where('asset_id', '=', ids.ssh!).executeTakeFirstOrThrow();
    assert.match(pin.fingerprint, /^SHA256:/, 'host key pinned on first use');
    const watcher = new Collector('watcher', 'admin', 'x');
    s.attach(watcher);
    await watcher.waitFor(/portcullis-42/);
    assert.deepEqual(owner.events.filter((e) => e.type === 'watchers').at(-1), { type: 'watchers', watchers: [{ name: 'admin', since: (s.view().watchers[0]!).since }] });
    const t0 = Date.now();
    await t.gw.broker.terminate(s.id, { id: null, name: 'admin', ip: '127.0.0.1' }, 'maintenance window over');
    const done = await s.done;
    assert.ok(Date.now() - t0 < 1000, 'ended within 1 s');
    assert.deepEqual(done, { state: 'terminated', reason: 'terminated' });
    assert.match(owner.out, /Session ended: terminated by admin: maintenance window over/);
    const row = await t.gw.database.db.selectFrom('remote_sessions').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow();
    assert.equal(row.state, 'terminated');
    assert.equal(row.terminated_by, 'admin');
    assert.ok(Number(row.bytes_out) > 0 && Number(row.bytes_in) > 0);
    const path = resolve(t.dataDir, row.recording_path!);
    const v = await verifyRecording(path, loadSigningKey(t.dataDir).publicKeyPem);
    assert.equal(v.ok, true, JSON.stringify(v));
    const rec = await readRecording(path);
    assert.ok(rec.events.some((e) => e[1] === 'o' && String(e[2]).includes('portcullis-42')));
    const idx = await indexRecording(path);
    assert.ok(idx.commands.some((c) => c.includes('echo portcullis-$((6*7))')), JSON.stringify(idx.commands));
    const found = await admin.get('/api/v1/sessions?text=echo%20portcullis');
    assert.deepEqual(found.json.items.map((x: { id: string }) => x.id), [s.id], 'found by what was typed');
    assert.equal((await admin.get('/api/v1/sessions?text=rm%20-rf')).json.items.length, 0);
    const cast = await admin.get(`/api/v1/sessions/${s.id}/recording`);
    assert.equal(cast.status, 200);
    assert.match(cast.text.split('\n')[0]!, /"version":2/);
    assert.deepEqual((await admin.get(`/api/v1/sessions/${s.id}/recording/verify`)).json.ok, true);
    const audit = (await admin.get('/api/v1/audit?action=session.')).json.items.map((e: { action: string }) => e.action);
    assert.ok(audit.includes('session.open') && audit.includes('session.terminate'));
    assert.ok(!JSON.stringify((await admin.get('/api/v1/audit?limit=500')).json).includes(lab.targets[0]!.password), 'the vaulted password is not in the audit');
  });

  it('runs Telnet the same way (scripted login with the vaulted credential)', async () => {
    const s = await open('telnet', port('telnet'));
    const owner = new Collector('owner', 'eng.broker', ids.user!);
    s.attach(owner);
    s.input(Buffer.from('echo telnet-$((5*5))\r'));
    await owner.waitFor(/telnet-25/);
    s.input(Buffer.from('exit\r'));
    const done = await s.done;
    assert.equal(done.state, 'ended');
  });

  it('warns, then ends an idle session; and a session at its maximum duration', async () => {
    const s: LiveSession = await open('ssh', port('ssh'));
    const owner = new Collector('owner', 'eng.broker', ids.user!);
    s.attach(owner);
    clock.advance(9 * 60_000 + 1000);
    assert.ok(owner.events.some((e) => e.type === 'warning'), 'warned a minute before');
    assert.match(owner.out, /ends in 60 seconds unless you type/);
    clock.advance(60_000);
    assert.deepEqual(await s.done, { state: 'ended', reason: 'idle_timeout' });

    const m = await open('ssh', port('ssh'));
    const o2 = new Collector('owner', 'eng.broker', ids.user!);
    m.attach(o2);
    for (let i = 0; i < 7; i++) {
      clock.advance(9 * 60_000);
      m.input(Buffer.from(' ')); // activity keeps the idle timer away
    }
    assert.match(o2.out, /maximum duration in 60 seconds/);
    clock.advance(10 * 60_000);
    assert.deepEqual(await m.done, { state: 'ended', reason: 'max_duration' });
  });

  it('fails cleanly: wrong vaulted password, changed host key, no grant', async () => {
    await admin.patch(`/api/v1/assets/${ids.ssh}/accounts/${ids.sshAccount}`, { password: 'not-the-password' });
    await assert.rejects(open('ssh', port('ssh')), (e: unknown) => e instanceof SessionOpenError && /refused the vaulted credential/.test(e.message) && Boolean(e.sessionId));
    const failed = await t.gw.database.db.selectFrom('remote_sessions').select(['state', 'end_reason']).where('state', '=', 'failed').executeTakeFirstOrThrow();
    assert.deepEqual(failed, { state: 'failed', end_reason: 'auth_failed' });
    await admin.patch(`/api/v1/assets/${ids.ssh}/accounts/${ids.sshAccount}`, { password: lab.targets.find((x) => x.protocol === 'ssh')!.password });

    await t.gw.database.db.updateTable('asset_host_keys').set({ fingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }).where('asset_id', '=', ids.ssh!).execute();
    await assert.rejects(open('ssh', port('ssh')), (e: unknown) => e instanceof SessionOpenError && /host key changed/.test(e.message));
    await t.gw.database.db.deleteFrom('asset_host_keys').where('asset_id', '=', ids.ssh!).execute();

    const other = (await admin.post('/api/v1/users', { username: 'no.grant', role: 'Client' })).json.user.id;
    await assert.rejects(
      t.gw.broker.open({ userId: other, assetId: ids.ssh!, protocol: 'ssh', port: port('ssh'), sourceIp: null, via: 'browser', size: { cols: 80, rows: 24 } }),
      (e: unknown) => e instanceof SessionOpenError && /no grant gives you access to PLC-SSH/.test(e.message),
    );
  });

  it('pins the host key once when several first connections open at the same moment', async () => {
    await t.gw.database.db.deleteFrom('asset_host_keys').where('asset_id', '=', ids.ssh!).execute();
    const pins = async () => (await t.gw.database.db.selectFrom('audit_events').select('seq').where('action', '=', 'asset.host_key_pin').execute()).length;
    const before = await pins();
    const sessions = await Promise.all(Array.from({ length: 4 }, () => open('ssh', port('ssh'))));
    const rows = await t.gw.database.db.selectFrom('asset_host_keys').selectAll().where('asset_id', '=', ids.ssh!).execute();
    assert.equal(rows.length, 1);
    assert.equal(await pins(), before + 1, 'one pin, audited once');
    for (const s of sessions) await s.close('test over');
  });
});
