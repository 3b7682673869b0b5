/**
 * Hostile or broken assets on the OT side, through the whole broker (vault, recorder, screen,
 * participants): each ends or is held back on its own, with a clear reason, while a real SSH
 * session to the lab's sshd keeps working next to them and the gateway's memory stays bounded.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Lab, removeLabAccount, startLab } from '../../lab/index.js';
import type { LiveSession, Participant, ParticipantEvent } from '../../src/server/broker/types.js';
import { loadSigningKey, readRecording, verifyRecording } from '../../src/server/recording/index.js';
import { IAC, OPT, WILL, WONT } from '../../src/server/protocols/telnet/codec.js';
import { fakeLogin, fakeServer, type FakeServer } from '../helpers/fake-telnet.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const ACCOUNT = 'pchostile';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An owner that collects output; `slow` never takes more once its first chunk is in (a stuck browser). */
function owner(o: { slow?: boolean } = {}) {
  let text = '';
  let bytes = 0;
  const events: ParticipantEvent[] = [];
  const p: Participant = {
    role: 'owner',
    name: 'eng.hostile',
    userId: '',
    output(d) {
      bytes += d.length;
      text = (text + d.toString('utf8')).slice(-20_000);
      return !o.slow;
    },
    event: (ev) => events.push(ev),
  };
  return {
    p,
    text: () => text,
    bytes: () => bytes,
    events,
    async waitFor(re: RegExp, ms = 10_000) {
      const t0 = Date.now();
      while (!re.test(text)) {
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re}; got ${JSON.stringify(text.slice(-300))}`);
        await sleep(20);
      }
    },
  };
}

describe('hostile assets through the broker', () => {
  let lab: Lab;
  let t: TestGateway;
  let admin: ApiClient;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-hostile-'));
  const ids: Record<string, string> = {};
  const servers: FakeServer[] = [];
  const ports: Record<string, number> = {};
  let good: LiveSession;
  const goodOwner = owner();

  /** A Telnet asset served by `behave` after a normal login. */
  async function hostileAsset(name: string, behave: (sock: net.Socket) => void): Promise<void> {
    const srv = await fakeServer(fakeLogin({ then: behave }));
    servers.push(srv);
    const a = await admin.post('/api/v1/assets', { name, siteId: ids.site, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'telnet', port: srv.port }] });
    assert.equal(a.status, 201, a.text);
    const acc = await admin.post(`/api/v1/assets/${a.json.id}/accounts`, { name: 'default', username: 'op', kind: 'password', password: 'Fake-Pass-123' });
    assert.equal(acc.status, 201, acc.text);
    ids[name] = a.json.id;
    ports[name] = srv.port;
  }
  const openTelnet = async (name: string, who = owner()) => {
    const s = await t.gw.broker.open({ userId: ids.user!, assetId: ids[name]!, protocol: 'telnet', port: ports[name]!, sourceIp: '127.0.0.1', via: 'browser', size: { cols: 100, rows: 30 } });
    s.attach({ ...who.p, userId: ids.user! });
    return { s, who };
  };
  const row = (id: string) => t.gw.database.db.selectFrom('remote_sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  /** The good session still answers, every time it is asked. */
  const goodStillWorks = async (tag: string) => {
    good.input(Buffer.from(`echo ${tag}-$((40+2))\r`));
    await goodOwner.waitFor(new RegExp(`${tag}-42`));
  };

  before(async () => {
    lab = await startLab({ dataDir: dir, ports: { ssh: 27241, telnet: 27353, vnc: 29941, rdp: 28893 }, displayBase: 250, account: ACCOUNT });
    t = await startGateway({ tls: false });
    admin = await adminClient(t);
    ids.site = (await admin.post('/api/v1/sites', { name: 'Hostile lab', maxConnections: 20 })).json.id;
    const ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
    ids.ssh = (await admin.post('/api/v1/assets', { name: 'PLC-GOOD', siteId: ids.site, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] })).json.id;
    await admin.post(`/api/v1/assets/${ids.ssh}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password });
    ids.user = (await admin.post('/api/v1/users', { username: 'eng.hostile', role: 'Client' })).json.user.id;
    await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids.user, targetType: 'site', target: ids.site });
    good = await t.gw.broker.open({ userId: ids.user!, assetId: ids.ssh!, protocol: 'ssh', port: ssh.port, sourceIp: '127.0.0.1', via: 'browser', size: { cols: 100, rows: 30 } });
    good.attach({ ...goodOwner.p, userId: ids.user! });
    await goodStillWorks('first');
  });
  after(async () => {
    await t?.stop();
    for (const s of servers) await s.close();
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a Telnet option flood ends that session as an asset error with the reason; the SSH session goes on', async () => {
    await hostileAsset('RTU-FLOOD', (sock) =>
      setTimeout(() => {
        const flood = Buffer.alloc(3 * 20_000);
        for (let i = 0; i < 20_000; i++) flood.set([IAC, i % 2 ? WILL : WONT, OPT.ECHO], i * 3);
        sock.write(flood);
      }, 1500), // after the scripted login has settled: the session is open
    );
    const { s, who } = await openTelnet('RTU-FLOOD');
    const done = await s.done;
    assert.deepEqual(done, { state: 'ended', reason: 'asset_error' });
    const r = await row(s.id);
    assert.equal(r.end_reason, 'asset_error');
    assert.match(r.end_message ?? '', /flooded option negotiation/);
    assert.ok(who.events.some((e) => e.type === 'ended' && /flooded option negotiation/.test(e.message)), 'the user is told why');
    await goodStillWorks('after-flood');
  });

  it('garbage (random bytes, broken escapes, invalid UTF-8) is relayed, recorded and sealed; the SSH session goes on', async () => {
    const garbage = Buffer.concat([randomBytes(300_000), Buffer.from('\x1b[999999;999999H\x1b]0;\x07\x1b[?1049h\xff\xfe\x1bP'), randomBytes(100_000)]);
    await hostileAsset('RTU-GARBAGE', (sock) => setTimeout(() => sock.end(garbage), 200));
    const { s, who } = await openTelnet('RTU-GARBAGE');
    const done = await s.done;
    assert.equal(done.state, 'ended');
    assert.ok(who.bytes() > 300_000, `relayed ${who.bytes()} bytes`);
    const r = await row(s.id);
    const path = resolve(t.dataDir, r.recording_path!);
    const v = await verifyRecording(path, loadSigningKey(t.dataDir).publicKeyPem);
    assert.equal(v.ok, true, JSON.stringify(v));
    const rec = await readRecording(path);
    assert.ok(rec.events.filter((e) => e[1] === 'o').length > 1);
    await goodStillWorks('after-garbage');
  });

  it('endless output to a stuck owner is held back at the asset (bounded memory); the red button still ends it within 1 s', async () => {
    let sent = 0;
    let blocked = false;
    await hostileAsset('RTU-ENDLESS', (sock) => {
      const blob = Buffer.alloc(64 * 1024, 0x41);
      const pump = () => {
        while (!sock.destroyed) {
          sent += blob.length;
          if (!sock.write(blob)) {
            blocked = true;
            sock.once('drain', pump);
            return;
          }
        }
      };
      setTimeout(pump, 100);
    });
    const rss0 = process.memoryUsage().rss;
    const { s, who } = await openTelnet('RTU-ENDLESS', owner({ slow: true }));
    await sleep(2000);
    assert.ok(blocked, 'the asset never felt backpressure');
    const sentWhileStuck = sent;
    await sleep(1000);
    assert.ok(sent - sentWhileStuck <= 128 * 1024, `the asset kept sending: ${sent - sentWhileStuck} more bytes`);
    assert.ok(who.bytes() < 2 * 1024 * 1024, `the stuck owner was handed ${who.bytes()} bytes`);
    assert.ok(process.memoryUsage().rss - rss0 < 64 * 1024 * 1024, 'the gateway buffered the flood');
    await goodStillWorks('during-endless');
    const t0 = Date.now();
    await t.gw.broker.terminate(s.id, { id: null, name: 'admin', ip: null }, 'flooding the line');
    await s.done;
    assert.ok(Date.now() - t0 < 1000, `terminate took ${Date.now() - t0} ms`);
    assert.equal((await row(s.id)).state, 'terminated');
    await goodStillWorks('after-endless');
  });

  it('absurd window sizes from the user are clamped, never passed on', async () => {
    good.resize({ cols: 1_000_000, rows: -5 });
    assert.deepEqual({ cols: good.view().cols, rows: good.view().rows }, { cols: 1000, rows: 1 });
    good.resize({ cols: 100, rows: 30 });
    good.input(Buffer.from('stty size\r'));
    await goodOwner.waitFor(/^30 100\s*$/m);
    await goodStillWorks('after-resize');
  });
});
