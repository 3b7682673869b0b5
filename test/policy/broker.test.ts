/**
 * The broker obeys policy.decide through the real gateway: a prohibited target is refused with
 * the rule's reason (audited, flagged for the compliance report), a level-1 asset under the
 * Purdue defaults waits for an approved access request, "watch required" makes the session wait
 * for a moderator without contacting the asset (and fail when none comes), and a rule's shorter idle timeout ends a real (fake-Telnet) session on the
 * injectable clock while the broker's own default is ten minutes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionOpenError } from '../../src/server/broker/broker.js';
import type { OpenRequest, Participant, ParticipantEvent } from '../../src/server/broker/types.js';
import { ManualClock } from '../helpers/clock.js';
import { fakeLogin, fakeServer, type FakeServer } from '../helpers/fake-telnet.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

describe('broker x policy (real gateway, fake Telnet assets)', () => {
  let t: TestGateway;
  let admin: ApiClient;
  let srv: FakeServer;
  const clock = new ManualClock();
  const ids: Record<string, string> = {};

  before(async () => {
    srv = await fakeServer(fakeLogin({ then: () => {} }));
    t = await startGateway({ tls: false, clock, limits: { idleTimeoutMs: 10 * 60_000, maxDurationMs: 60 * 60_000, warnBeforeMs: 60_000 } });
    admin = await adminClient(t);
    ids.site = (await admin.post('/api/v1/sites', { name: 'Policy lab', maxConnections: 10 })).json.id;
    for (const [key, name, purdueLevel] of [['rtu', 'RTU-5', 3], ['sis', 'SIS-05', 3], ['plc', 'PLC-6', 1], ['hmi', 'HMI-7', 3], ['rtu8', 'RTU-8', 3]] as const) {
      const a = await admin.post('/api/v1/assets', { name, siteId: ids.site, purdueLevel, host: '127.0.0.1', accessMethods: [{ protocol: 'telnet', port: srv.port }] });
      assert.equal(a.status, 201, a.text);
      ids[key] = a.json.id;
      const acc = await admin.post(`/api/v1/assets/${a.json.id}/accounts`, { name: 'default', username: 'op', kind: 'password', password: 'Fake-Pass-123' });
      assert.equal(acc.status, 201, acc.text);
    }
    ids.user = (await admin.post('/api/v1/users', { username: 'eng.policy', role: 'Client' })).json.user.id;
    await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids.user, targetType: 'site', target: ids.site });
    const rules = [
      { name: 'No safety systems', effect: 'deny', subjects: { everyone: true }, targets: { namePatterns: ['SIS-*', 'SAFETY-*'] } },
      { name: 'RTU short sessions', subjects: { everyone: true }, targets: { assets: [ids.rtu] }, idleTimeoutMinutes: 2, maxSessionMinutes: 30 },
      { name: 'RTU-8 three minutes', subjects: { everyone: true }, targets: { assets: [ids.rtu8] }, maxSessionMinutes: 3 },
      { name: 'HMI moderated', subjects: { everyone: true }, targets: { assets: [ids.hmi] }, watchRequired: true },
    ];
    for (const r of rules) assert.equal((await admin.post('/api/v1/policy/rules', r)).status, 201);
    assert.equal((await admin.request('PUT', '/api/v1/policy/defaults', { enabled: true })).status, 200);
  });
  after(async () => {
    await t?.stop();
    await srv?.close();
  });

  const open = (asset: string, extra: Partial<OpenRequest> = {}) => t.gw.broker.open({ userId: ids.user!, assetId: ids[asset]!, protocol: 'telnet', port: srv.port, sourceIp: '127.0.0.1', via: 'browser', size: { cols: 80, rows: 24 }, ...extra });
  const lastOpenFailure = async () => (await admin.get('/api/v1/audit?action=session.open&result=failure&limit=1')).json.items[0];

  it('refuses a prohibited target with the rule and pattern, audited with prohibited: true', async () => {
    await assert.rejects(open('sis'), (err: unknown) => {
      assert.ok(err instanceof SessionOpenError);
      assert.equal(err.failure, 'denied');
      assert.equal(err.message, 'access denied: SIS-05 is a prohibited target (pattern SIS-*) (rule: No safety systems)');
      return true;
    });
    const ev = await lastOpenFailure();
    assert.equal(ev.target.name, 'SIS-05');
    assert.equal(ev.details.prohibited, true);
    assert.equal(ev.details.outcome, 'deny');
    assert.deepEqual(ev.details.reasons, ['SIS-05 is a prohibited target (pattern SIS-*) (rule: No safety systems)']);
    assert.equal(srv.sockets.length, 0, 'the asset was never contacted');
  });

  it('refuses a level-1 asset under the Purdue defaults until an access request is approved', async () => {
    await assert.rejects(open('plc'), /access denied: needs 2 approvals \(dual authorization\), never by the requester \(default for Purdue level 1\);.*an approved access request is needed$/);
    const ev = await lastOpenFailure();
    assert.equal(ev.details.outcome, 'require_approval');
    assert.equal(ev.details.prohibited, undefined, 'not a prohibited-target attempt');
  });

  it('a session that must be watched waits for a moderator without contacting the asset, and fails when none comes', async () => {
    const sockets = srv.sockets.length;
    let waiting: { sessionId: string; waitingFor: string } | undefined;
    const opening = open('hmi', { onWait: (w) => (waiting = w) });
    opening.catch(() => {});
    for (let i = 0; i < 200 && !(waiting && t.gw.broker.gates.get(waiting.sessionId)); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(waiting?.waitingFor, 'moderator');
    assert.equal(srv.sockets.length, sockets, 'the asset is not contacted before a moderator joins');
    clock.advance(10 * 60_000);
    await assert.rejects(opening, /no moderator joined within 10 min/);
    const row = await t.gw.database.db.selectFrom('remote_sessions').select(['state', 'end_reason', 'moderated']).where('id', '=', waiting!.sessionId).executeTakeFirstOrThrow();
    assert.deepEqual(row, { state: 'failed', end_reason: 'moderator_timeout', moderated: 1 });
  });

  it("applies the rule's shorter idle timeout to the live session", async () => {
    const s = await open('rtu');
    const events: ParticipantEvent[] = [];
    const p: Participant = { role: 'owner', name: 'eng.policy', userId: ids.user!, output: () => true, event: (ev) => events.push(ev) };
    s.attach(p);
    clock.advance(60_000 + 1000);
    assert.ok(events.some((e) => e.type === 'warning'), 'warned a minute before the 2-minute idle cut');
    clock.advance(60_000);
    assert.deepEqual(await s.done, { state: 'ended', reason: 'idle_timeout' });
    const row = await t.gw.database.db.selectFrom('remote_sessions').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow();
    assert.equal(row.end_reason, 'idle_timeout');
    // The same gateway's default is 10 minutes: an asset without the rule is still open after 2.
    await admin.request('PUT', '/api/v1/policy/defaults', { enabled: false });
    const other = await open('plc');
    other.attach({ ...p, event: () => {} });
    clock.advance(3 * 60_000);
    assert.equal(other.view().state, 'active');
    await t.gw.broker.terminate(other.id, { id: null, name: 'test', ip: null }, 'done');
    await other.done;
  });

  it("applies the rule's shorter maximum duration (the broker's is an hour)", async () => {
    const s = await open('rtu8');
    s.attach({ role: 'owner', name: 'eng.policy', userId: ids.user!, output: () => true, event: () => {} });
    for (let i = 0; i < 5; i++) {
      s.input(Buffer.from('\r'));
      clock.advance(40_000);
    }
    assert.deepEqual(await s.done, { state: 'ended', reason: 'max_duration' });
    const row = await t.gw.database.db.selectFrom('remote_sessions').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow();
    assert.match(row.end_message ?? '', /maximum session duration \(3 min\) reached/);
  });
});
