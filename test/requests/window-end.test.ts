/**
 * An approved access request against the lab's real sshd, on the gateway's injectable clock: the
 * session opens only inside the window, is warned at T-5 min (terminal line + window_ending email
 * queued by the sweeper), and ends at the window's end; a revoked request ends a live session at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Lab, removeLabAccount, startLab } from '../../lab/index.js';
import type { Participant, ParticipantEvent } from '../../src/server/broker/types.js';
import { ManualClock } from '../helpers/clock.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const ACCOUNT = 'pcrequests';
const MIN = 60_000;

describe('request windows end live sessions (real lab sshd)', () => {
  let lab: Lab;
  let t: TestGateway;
  let admin: ApiClient;
  const clock = new ManualClock();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-requests-'));
  const ids: Record<string, string> = {};
  let sshPort = 0;

  before(async () => {
    lab = await startLab({ dataDir: dir, ports: { ssh: 27901, telnet: 27923, vnc: 29991, rdp: 28991 }, displayBase: 252, account: ACCOUNT });
    t = await startGateway({ tls: false, clock, limits: { idleTimeoutMs: 4 * 3_600_000, maxDurationMs: 8 * 3_600_000, warnBeforeMs: 60_000 } });
    admin = await adminClient(t);
    await admin.request('PUT', '/api/v1/settings/smtp', { enabled: true, host: '127.0.0.1', port: 2, security: 'none', fromAddress: 'portcullis@plant.test' });
    const site = (await admin.post('/api/v1/sites', { name: 'Request lab', maxConnections: 5 })).json;
    const ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
    sshPort = ssh.port;
    ids.asset = (await admin.post('/api/v1/assets', { name: 'PLC-REQ', siteId: site.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] })).json.id;
    assert.equal((await admin.post(`/api/v1/assets/${ids.asset}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password })).status, 201);
    ids.user = (await admin.post('/api/v1/users', { username: 'vendor.req', role: 'Client', email: 'vendor.req@plant.test' })).json.user.id;
    await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids.user, targetType: 'site', target: site.id });
    assert.equal((await admin.post('/api/v1/policy/rules', { name: 'PLC-REQ needs approval', subjects: { everyone: true }, targets: { assets: [ids.asset] }, approvals: { required: 1 } })).status, 201);
  });
  after(async () => {
    await t?.stop();
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    rmSync(dir, { recursive: true, force: true });
  });

  const open = () => t.gw.broker.open({ userId: ids.user!, assetId: ids.asset!, protocol: 'ssh', port: sshPort, sourceIp: '127.0.0.1', via: 'browser', size: { cols: 100, rows: 30 } });
  it('opens only inside the window, warns at T-5 min and ends the session at the window end', async () => {
    const start = new Date(Math.ceil((clock.now() + 10 * MIN) / MIN) * MIN).toISOString();
    const created = await admin.post('/api/v1/requests', { userId: ids.user, assets: [ids.asset], protocols: ['ssh'], purpose: 'lab maintenance', start, durationMinutes: 30 });
    assert.equal(created.status, 201, created.text);
    const req = created.json;
    await assert.rejects(open(), /an approved access request is needed/);
    assert.equal((await admin.post(`/api/v1/requests/${req.id}/approve`, {})).json.state, 'approved');
    await assert.rejects(open(), /access request .* starts|an approved access request is needed/, 'not before the window');
    clock.advance(Date.parse(req.start) - clock.now());
    const s = await open();
    const events: ParticipantEvent[] = [];
    let out = '';
    const p: Participant = { role: 'owner', name: 'vendor.req', userId: ids.user!, output: (d) => ((out += d.toString()), true), event: (ev) => events.push(ev) };
    s.attach(p);
    clock.advance(25 * MIN + 30_000); // T-4.5 min
    await t.gw.requests.sweep();
    const warning = events.find((e) => e.type === 'warning' && /approved access window ends/.test(e.message));
    assert.ok(warning, JSON.stringify(events));
    assert.match(out, /\[Portcullis\] the approved access window ends at/);
    const mails = await t.gw.database.db.selectFrom('email_outbox').selectAll().where('template', '=', 'window_ending').execute();
    assert.equal(mails.length, 1);
    assert.deepEqual(JSON.parse(mails[0]!.recipients), ['vendor.req@plant.test']);
    assert.match(mails[0]!.subject, /ends in 5 minutes/);
    await t.gw.requests.sweep();
    assert.equal((await t.gw.database.db.selectFrom('email_outbox').select('id').where('template', '=', 'window_ending').execute()).length, 1, 'warned once');
    assert.equal(s.view().state, 'active');
    clock.advance(5 * MIN);
    const done = await s.done;
    assert.equal(done.reason, 'max_duration');
    await assert.rejects(open(), /an approved access request is needed/, 'after the window the access is gone');
  });

  it('an approved extension moves the end of the live session to the new window end', async () => {
    const start = new Date(Math.ceil((clock.now() + 5 * MIN) / MIN) * MIN).toISOString();
    const req = (await admin.post('/api/v1/requests', { userId: ids.user, assets: [ids.asset], protocols: ['ssh'], purpose: 'lab maintenance 3', start, durationMinutes: 30 })).json;
    assert.equal((await admin.post(`/api/v1/requests/${req.id}/approve`, {})).json.state, 'approved');
    clock.advance(Date.parse(req.start) - clock.now() + MIN);
    const s = await open();
    const events: ParticipantEvent[] = [];
    s.attach({ role: 'owner', name: 'vendor.req', userId: ids.user!, output: () => true, event: (ev) => events.push(ev) });
    const newEnd = new Date(Date.parse(req.start) + 60 * MIN).toISOString();
    const ext = await admin.post(`/api/v1/requests/${req.id}/extend`, { end: newEnd, comment: 'the firmware update takes longer' });
    assert.equal(ext.status, 200, ext.text);
    const approved = await admin.post(`/api/v1/requests/${req.id}/approve`, { comment: 'ok, one more half hour' });
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.json.end, newEnd);
    clock.advance(Date.parse(req.end) - clock.now() + MIN);
    assert.equal(s.view().state, 'active', 'past the old end, inside the extension');
    clock.advance(Date.parse(newEnd) - clock.now() - 30_000);
    assert.ok(events.some((e) => e.type === 'warning' && /access request extended until/.test(e.message)), JSON.stringify(events));
    clock.advance(30_000);
    const done = await s.done;
    assert.equal(done.reason, 'max_duration');
  });

  it('revoking an approved request ends the live session at once', async () => {
    const start = new Date(Math.ceil((clock.now() + 5 * MIN) / MIN) * MIN).toISOString();
    const req = (await admin.post('/api/v1/requests', { userId: ids.user, assets: [ids.asset], protocols: ['ssh'], purpose: 'lab maintenance 2', start, durationMinutes: 60 })).json;
    await admin.post(`/api/v1/requests/${req.id}/approve`, {});
    clock.advance(Date.parse(req.start) - clock.now() + MIN);
    const s = await open();
    s.attach({ role: 'owner', name: 'vendor.req', userId: ids.user!, output: () => true, event: () => {} });
    const r = await admin.post(`/api/v1/requests/${req.id}/revoke`, { comment: 'incident on the line' });
    assert.equal(r.json.state, 'revoked');
    const done = await s.done;
    assert.equal(done.state, 'terminated');
    const row = await t.gw.database.db.selectFrom('remote_sessions').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow();
    assert.match(row.end_message ?? '', /access request revoked: incident on the line/);
  });
});
