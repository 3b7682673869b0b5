/**
 * Session gates against the lab's real sshd, through the real HTTP API and WebSockets, on the
 * gateway's injectable clock: manual session approval (pending -> N distinct approvers from the
 * rules' group, never the user -> connected; rejection; timeout; the user leaving), moderated
 * sessions (watch required: opens when a moderator joins, pauses while none watches, ends when
 * none comes back) and break-glass (a written reason, only where a rule allows it, every
 * administrator emailed through a real SMTP server, flagged for a review that an administrator
 * other than the user signs off once).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Lab, removeLabAccount, startLab } from '../../lab/index.js';
import type { LiveSession, OpenRequest, Participant, ParticipantEvent } from '../../src/server/broker/types.js';
import { ManualClock } from '../helpers/clock.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';
import { cookieOf, term } from '../helpers/ws-term.js';
import { startSmtp, type TestSmtp } from '../notify/helpers.js';

const ACCOUNT = 'pcgates';
const MIN = 60_000;
const GATE_WAIT = 10 * MIN;
const ABSENT = 5 * MIN;
const PW = 'Gates-Test-Passw0rd-42';

describe('session gates: live approval, moderated sessions, break-glass (real lab sshd)', () => {
  let lab: Lab;
  let t: TestGateway;
  let admin: ApiClient;
  let smtp: TestSmtp;
  const clock = new ManualClock();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-gates-'));
  const ids: Record<string, string> = {};
  const as: Record<string, ApiClient> = {};
  let sshPort = 0;

  const db = () => t.gw.database.db;
  const row = (id: string) => db().selectFrom('remote_sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const waits: { sessionId: string; waitingFor: string; message: string }[] = [];
  const open = (asset: string, extra: Partial<OpenRequest> = {}, user = 'vendor') =>
    t.gw.broker.open({ userId: ids[user]!, assetId: ids[asset]!, protocol: 'ssh', port: sshPort, sourceIp: '127.0.0.1', via: 'browser', size: { cols: 100, rows: 30 }, onWait: (w) => waits.push(w), ...extra });
  /** The next session that starts waiting (its id), once the broker reported it. */
  const nextWait = async (n: number) => {
    for (let i = 0; i < 400 && waits.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(waits.length, n, 'the session reported that it waits');
    // The gate is registered right after the report.
    for (let i = 0; i < 400 && !t.gw.broker.gates.get(waits[n - 1]!.sessionId); i++) await new Promise((r) => setTimeout(r, 10));
    return waits[n - 1]!;
  };
  const participant = (role: 'owner' | 'watcher', name: string, userId: string, moderator = false) => {
    const p = { out: '', events: [] as ParticipantEvent[] };
    const part: Participant = { role, name, userId, ...(moderator ? { moderator } : {}), output: (d) => ((p.out += d.toString()), true), event: (ev) => p.events.push(ev) };
    return { ...p, part, get text() { return p.out; }, get evs() { return p.events; } };
  };
  const until = async (what: string, fn: () => boolean, ms = 8000) => {
    const t0 = Date.now();
    while (!fn()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  before(async () => {
    lab = await startLab({ dataDir: dir, ports: { ssh: 27951, telnet: 27953, vnc: 29951, rdp: 28951 }, displayBase: 264, account: ACCOUNT });
    smtp = await startSmtp();
    t = await startGateway({ tls: false, clock, limits: { idleTimeoutMs: 4 * 3_600_000, maxDurationMs: 8 * 3_600_000, warnBeforeMs: 60_000, gateWaitMs: GATE_WAIT, moderatorAbsentMs: ABSENT } });
    admin = await adminClient(t);
    assert.equal((await admin.request('PUT', '/api/v1/settings/smtp', { enabled: true, host: '127.0.0.1', port: smtp.port, security: 'none', fromAddress: 'portcullis@plant.test' })).status, 200);
    assert.equal((await admin.patch(`/api/v1/users/${(await admin.get('/api/v1/me')).json.user.id}`, { email: 'root.admin@plant.test' })).status, 200);
    const site = (await admin.post('/api/v1/sites', { name: 'Gates lab', maxConnections: 10 })).json;
    const ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
    sshPort = ssh.port;
    for (const name of ['PLC-GATE', 'HMI-MOD', 'RTU-BG', 'PLC-FREE']) {
      ids[name] = (await admin.post('/api/v1/assets', { name, siteId: site.id, purdueLevel: 2, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] })).json.id;
      assert.equal((await admin.post(`/api/v1/assets/${ids[name]}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password })).status, 201);
    }
    const users: [string, string, string][] = [['vendor', 'Client', 'vendor.gate'], ['lead1', 'Operator', 'lead.one'], ['lead2', 'Operator', 'lead.two'], ['admin2', 'Administrator', 'admin.two'], ['other', 'Client', 'other.gate']];
    for (const [key, role, username] of users) {
      const r = await admin.post('/api/v1/users', { username, role, email: `${username}@plant.test`, password: PW, mustChangePassword: false });
      assert.equal(r.status, 201, r.text);
      ids[key] = r.json.user.id;
      as[key] = t.client();
      assert.equal((await as[key].login(username, PW)).status, 200);
      await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids[key], targetType: 'site', target: site.id });
    }
    ids.leads = (await admin.post('/api/v1/groups', { name: 'Shift leads', kind: 'permission' })).json.id;
    for (const k of ['lead1', 'lead2', 'vendor']) assert.equal((await admin.post(`/api/v1/groups/${ids.leads}/members`, { userId: ids[k] })).status, 201);
    const rule = async (body: Record<string, unknown>) => {
      const r = await admin.post('/api/v1/policy/rules', body);
      assert.equal(r.status, 201, r.text);
      return r.json;
    };
    await rule({ name: 'PLC-GATE: dual live approval', subjects: { everyone: true }, targets: { assets: [ids['PLC-GATE']] }, sessionApproval: { required: 2, groupId: ids.leads } });
    await rule({ name: 'HMI-MOD: moderated', subjects: { everyone: true }, targets: { assets: [ids['HMI-MOD']] }, watchRequired: true });
    await rule({ name: 'RTU-BG: approved requests only', subjects: { everyone: true }, targets: { assets: [ids['RTU-BG']] }, approvals: { required: 1 } });
    await rule({ name: 'RTU-BG: on-call may break glass', subjects: { users: [ids.vendor, ids.admin2] }, targets: { assets: [ids['RTU-BG']] }, breakGlass: true });
  });
  after(async () => {
    await t?.stop();
    await smtp?.close();
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the rule API keeps sessionApproval and breakGlass, and refuses them on deny rules and with an approver group but no count', async () => {
    const rules = (await admin.get('/api/v1/policy/rules')).json.items as { name: string; sessionApproval: unknown; breakGlass: boolean; labels: Record<string, string> }[];
    const dual = rules.find((r) => r.name === 'PLC-GATE: dual live approval')!;
    assert.deepEqual(dual.sessionApproval, { required: 2, groupId: ids.leads });
    assert.equal(dual.labels[ids.leads!], 'Shift leads');
    assert.equal(rules.find((r) => r.name === 'RTU-BG: on-call may break glass')!.breakGlass, true);
    const deny = await admin.post('/api/v1/policy/rules', { name: 'bad deny', effect: 'deny', subjects: { everyone: true }, targets: { all: true }, breakGlass: true });
    assert.equal(deny.status, 400, deny.text);
    assert.match(deny.text, /breakGlass/);
    const noCount = await admin.post('/api/v1/policy/rules', { name: 'bad group', subjects: { everyone: true }, targets: { all: true }, sessionApproval: { required: 0, groupId: ids.leads } });
    assert.equal(noCount.status, 400, noCount.text);
    const whatIf = await admin.post('/api/v1/policy/evaluate', { userId: ids.vendor, assetId: ids['PLC-GATE'], protocol: 'ssh', port: sshPort });
    assert.equal(whatIf.status, 200, whatIf.text);
    assert.equal(whatIf.json.outcome, 'allow');
    assert.match(whatIf.json.reasons.join('\n'), /each session waits for 2 live approvals from group Shift leads, never by the user/);
  });

  it('manual session approval: the session waits until two distinct approvers from the group said yes, then connects', async () => {
    const opening = open('PLC-GATE');
    const w = await nextWait(1);
    assert.equal(w.waitingFor, 'approval');
    assert.match(w.message, /2 approvers from group Shift leads must approve/);
    const r0 = await row(w.sessionId);
    assert.equal(r0.state, 'pending');
    assert.equal(r0.waiting_for, 'approval');

    const inbox = (await as.lead1!.get('/api/v1/sessions/waiting')).json.items as { sessionId: string; approvals: { needed: number } }[];
    assert.deepEqual(inbox.map((x) => x.sessionId), [w.sessionId], 'approvers see it on their dashboard');
    assert.equal(inbox[0]!.approvals.needed, 2);
    assert.deepEqual((await as.vendor!.get('/api/v1/sessions/waiting')).json.items, [], 'not the user');
    assert.deepEqual((await admin.get('/api/v1/sessions/waiting')).json.items, [], 'an administrator outside the group is no approver here');

    const self = await as.vendor!.post(`/api/v1/sessions/${w.sessionId}/approve`, {});
    assert.equal(self.status, 403, self.text);
    assert.match(self.text, /no self-approval/);
    const outsider = await admin.post(`/api/v1/sessions/${w.sessionId}/approve`, {});
    assert.equal(outsider.status, 403);
    assert.match(outsider.text, /only members of group Shift leads/);

    const first = await as.lead1!.post(`/api/v1/sessions/${w.sessionId}/approve`, { comment: 'planned PLC update' });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.passed, false);
    assert.equal((await as.lead1!.post(`/api/v1/sessions/${w.sessionId}/approve`, {})).status, 409, 'one approver counts once');
    assert.equal((await row(w.sessionId)).state, 'pending', 'one approval is not enough');

    const second = await as.lead2!.post(`/api/v1/sessions/${w.sessionId}/approve`, {});
    assert.equal(second.json.passed, true);
    const s = await opening;
    assert.equal(s.id, w.sessionId);
    const owner = participant('owner', 'vendor.gate', ids.vendor!);
    s.attach(owner.part);
    s.input(Buffer.from('echo GATE-$((6*7))\n'));
    await until('the command output', () => /GATE-42/.test(owner.text));
    const detail = (await admin.get(`/api/v1/sessions/${s.id}`)).json;
    // (Same instant on the test's frozen clock: compared as a set.)
    assert.deepEqual(detail.approvals.map((a: { by: string; decision: string }) => `${a.by}:${a.decision}`).sort(), ['lead.one:approve', 'lead.two:approve']);
    assert.equal(detail.waitingFor, null);
    assert.equal((await as.lead1!.post(`/api/v1/sessions/${s.id}/approve`, {})).status, 409, 'a live session is not waiting any more');
    await s.close('done');

    const audits = await db().selectFrom('audit_events').select(['action', 'actor_name']).where('target_id', '=', s.id).where('action', '=', 'session.approve').execute();
    assert.deepEqual(audits.map((a) => a.actor_name).sort(), ['lead.one', 'lead.two']);
    const mail = await db().selectFrom('email_outbox').selectAll().where('template', '=', 'session_pending').execute();
    assert.equal(mail.length, 1);
    assert.deepEqual(JSON.parse(mail[0]!.recipients).sort(), ['lead.one@plant.test', 'lead.two@plant.test'], 'the group\'s approvers, not the user');
  });

  it('a rejection ends the waiting session with the reason; deciding it again is a 409', async () => {
    const opening = open('PLC-GATE');
    const w = await nextWait(2);
    const r = await as.lead2!.post(`/api/v1/sessions/${w.sessionId}/reject`, { reason: 'no work order for today' });
    assert.equal(r.status, 204, r.text);
    await assert.rejects(opening, /rejected by lead\.two: no work order for today/);
    const after = await row(w.sessionId);
    assert.equal(after.state, 'failed');
    assert.equal(after.end_reason, 'rejected');
    assert.equal(after.waiting_for, null);
    assert.equal((await as.lead1!.post(`/api/v1/sessions/${w.sessionId}/approve`, {})).status, 409);
    assert.equal((await as.lead1!.post(`/api/v1/sessions/${w.sessionId}/reject`, { reason: '' })).status, 400, 'a rejection says why');
    assert.equal((await as.lead1!.post(`/api/v1/sessions/${crypto.randomUUID()}/approve`, {})).status, 404);
  });

  it('nobody answers: the wait times out; the user leaves: the wait ends', async () => {
    const opening = open('PLC-GATE');
    const w = await nextWait(3);
    clock.advance(GATE_WAIT);
    await assert.rejects(opening, /no approver approved the session within 10 min/);
    assert.equal((await row(w.sessionId)).end_reason, 'approval_timeout');

    const left = new AbortController();
    const opening2 = open('PLC-GATE', { signal: left.signal });
    const w2 = await nextWait(4);
    left.abort();
    await assert.rejects(opening2, /the user left while the session waited/);
    const r = await row(w2.sessionId);
    assert.equal(r.state, 'ended');
    assert.equal(r.end_reason, 'cancelled');
    assert.equal(t.gw.broker.gates.get(w2.sessionId), undefined);
  });

  it('watch required: the session opens when a moderator joins, pauses while none watches, and ends when none comes back', async () => {
    const opening = open('HMI-MOD');
    const w = await nextWait(5);
    assert.equal(w.waitingFor, 'moderator');
    assert.deepEqual((await as.lead1!.get('/api/v1/sessions/waiting')).json.items.map((x: { sessionId: string }) => x.sessionId), [w.sessionId]);
    assert.deepEqual((await as.other!.get('/api/v1/sessions/waiting')).json.items, [], 'Clients do not moderate');
    // The moderator joins from the console: the watch WebSocket of the waiting session.
    const modCookie = await cookieOf(t.url, 'lead.one', PW);
    const mod = await term(`${t.url.replace(/^http/, 'ws')}/api/v1/sessions/${w.sessionId}/watch`, modCookie);
    const s: LiveSession = await opening;
    const opened = await mod.waitEvent('opened');
    assert.equal(opened.moderator, true);
    const owner = participant('owner', 'vendor.gate', ids.vendor!);
    s.attach(owner.part);
    await until('the moderator is attached', () => !s.view().paused);
    s.input(Buffer.from('echo MOD-$((6*7))\n'));
    await until('output to the owner', () => /MOD-42/.test(owner.text));
    await mod.waitFor(/MOD-42/);
    assert.equal((await row(s.id)).moderated, 1);

    // The moderator leaves: paused, keystrokes dropped.
    mod.ws.close();
    await until('paused', () => s.view().paused);
    await until('the owner is told', () => owner.evs.some((e) => e.type === 'paused' && e.paused));
    const waitingAgain = (await as.lead2!.get('/api/v1/sessions/waiting')).json.items as { sessionId: string; paused: boolean; waitingFor: string; port: number }[];
    assert.deepEqual(waitingAgain.map((x) => [x.sessionId, x.waitingFor, x.paused, x.port]), [[s.id, 'moderator', true, sshPort]], 'a paused session is listed for moderators to rejoin');
    assert.deepEqual((await as.vendor!.get('/api/v1/sessions/waiting')).json.items, [], 'not to its user');
    assert.match(owner.text, /paused: the moderator lead\.one left/);
    s.input(Buffer.from('echo LOST-$((1+1))\n'));
    await new Promise((r) => setTimeout(r, 400));
    assert.doesNotMatch(owner.text, /LOST-2/, 'input while paused never reaches the asset');

    // A moderator comes back: the session continues.
    const mod2 = await term(`${t.url.replace(/^http/, 'ws')}/api/v1/sessions/${s.id}/watch`, await cookieOf(t.url, 'lead.two', PW));
    await mod2.waitEvent('opened');
    await until('resumed', () => !s.view().paused);
    s.input(Buffer.from('echo BACK-$((2*3))\n'));
    await until('output after resuming', () => /BACK-6/.test(owner.text));
    await mod2.waitFor(/BACK-6/);

    // Nobody comes back within ABSENT: the session ends.
    mod2.ws.close();
    await until('paused again', () => s.view().paused);
    clock.advance(ABSENT);
    const done = await s.done;
    assert.equal(done.reason, 'moderator_absent');
    const audit = await db().selectFrom('audit_events').select(['action', 'actor_name']).where('target_id', '=', s.id).where('action', '=', 'session.moderate').execute();
    assert.deepEqual(audit.map((a) => a.actor_name), ['lead.one']);
  });

  it('break-glass: a written reason, only where a rule allows it, every administrator emailed, flagged for a review signed off once by another administrator', async () => {
    await assert.rejects(open('RTU-BG'), (err: Error & { breakGlassAvailable?: boolean }) => /an approved access request is needed/.test(err.message) && err.breakGlassAvailable === true);
    await assert.rejects(open('RTU-BG', { breakGlass: { reason: 'urgent' } }), /break-glass needs a written reason of 10 to 1000 characters/);
    await assert.rejects(open('RTU-BG', { breakGlass: { reason: 'the line is down, need to reset' } }, 'other'), /break-glass is not allowed for you on RTU-BG/);
    await assert.rejects(open('PLC-FREE', { breakGlass: { reason: 'the line is down, need to reset' } }), /break-glass is only for access that needs approval or a moderator/);

    const before = smtp.messages.length;
    const reason = 'Line 3 stopped, <PLC> fault E-17; on-call fix';
    const s = await open('RTU-BG', { breakGlass: { reason } });
    const r = await row(s.id);
    assert.equal(r.break_glass_reason, reason);
    assert.equal(r.review_state, 'pending');
    assert.equal(r.recording_path, `recordings/${s.id}.cast`, 'recorded');
    assert.equal(s.view().breakGlass, true);
    const owner = participant('owner', 'vendor.gate', ids.vendor!);
    s.attach(owner.part);
    s.input(Buffer.from('echo BG-$((40+2))\n'));
    await until('output', () => /BG-42/.test(owner.text));

    await t.gw.notify.runDue();
    await smtp.waitFor(before + 1);
    const mail = smtp.messages.at(-1)!;
    assert.deepEqual(mail.envelopeTo.sort(), ['admin.two@plant.test', 'root.admin@plant.test'], 'every administrator at once');
    assert.match(mail.headers.get('subject') ?? '', /BREAK-GLASS access used by vendor\.gate on RTU-BG/);
    assert.match(mail.text, /Line 3 stopped, <PLC> fault E-17; on-call fix/);
    assert.doesNotMatch(mail.html, /<PLC>/, 'the reason is escaped in HTML');
    const bgAudit = await db().selectFrom('audit_events').select(['action', 'details']).where('target_id', '=', s.id).where('action', '=', 'session.break_glass').execute();
    assert.equal(bgAudit.length, 1);

    const queue = (await admin.get('/api/v1/sessions?breakGlass=pending')).json.items as { id: string; breakGlass: { reason: string } }[];
    assert.deepEqual(queue.map((x) => x.id), [s.id]);
    assert.equal(queue[0]!.breakGlass.reason, reason);
    assert.equal((await admin.post(`/api/v1/sessions/${s.id}/review`, { note: 'checked' })).status, 409, 'not while live');
    await s.close('fixed');
    assert.equal((await as.vendor!.post(`/api/v1/sessions/${s.id}/review`, { note: 'all fine' })).status, 403, 'Administrators review');
    assert.equal((await admin.post(`/api/v1/sessions/${s.id}/review`, { note: '' })).status, 400, 'a review says what was checked');
    const signed = await admin.post(`/api/v1/sessions/${s.id}/review`, { note: 'Watched the recording: reset of PLC fault only. OK.' });
    assert.equal(signed.status, 200, signed.text);
    assert.equal(signed.json.breakGlass.review.state, 'reviewed');
    assert.equal(signed.json.breakGlass.review.by, 'admin');
    assert.equal((await as.admin2!.post(`/api/v1/sessions/${s.id}/review`, { note: 'again' })).status, 409, 'signed off once');
    assert.deepEqual((await admin.get('/api/v1/sessions?breakGlass=pending')).json.items, []);
    const review = await db().selectFrom('audit_events').select(['actor_name', 'details']).where('target_id', '=', s.id).where('action', '=', 'session.review').execute();
    assert.equal(review.length, 1);
    assert.match(String(review[0]!.details), /reset of PLC fault only/);

    // An administrator who broke glass does not review their own session.
    const own = await open('RTU-BG', { breakGlass: { reason: 'second incident, same PLC fault' } }, 'admin2');
    await own.close('done');
    const mine = await as.admin2!.post(`/api/v1/sessions/${own.id}/review`, { note: 'fine' });
    assert.equal(mine.status, 403);
    assert.match(mine.text, /your own break-glass session/);
  });

  it('live oversight: Operators watch and moderate as the setting says (all, only where their grants reach, none); Administrators always', async () => {
    const wsBase = t.url.replace(/^http/, 'ws');
    const refused = async (url: string, cookie: string, why: RegExp) => {
      const w = await term(url, cookie);
      const e = await w.waitEvent('ended');
      assert.equal(e.state, 'failed');
      assert.match(String(e.message), why);
    };
    assert.equal((await admin.get('/api/v1/settings/oversight')).json.operators, 'all', 'every Operator by default');
    assert.equal((await as.lead1!.get('/api/v1/settings/oversight')).status, 403, 'Administrators set it');
    assert.equal((await admin.patch('/api/v1/settings/oversight', { operators: 'some' })).status, 400);
    const set = await admin.patch('/api/v1/settings/oversight', { operators: 'granted' });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.operators, 'granted');
    const changed = await db().selectFrom('audit_events').select('details').where('action', '=', 'settings.oversight_update').execute();
    assert.equal(changed.length, 1);
    // An Operator of another plant: no grant reaches the lab's site.
    const r = await admin.post('/api/v1/users', { username: 'lead.three', role: 'Operator', password: PW, mustChangePassword: false });
    assert.equal(r.status, 201, r.text);
    const far = t.client();
    assert.equal((await far.login('lead.three', PW)).status, 200);
    const farCookie = await cookieOf(t.url, 'lead.three', PW);

    const opening = open('HMI-MOD');
    const w = await nextWait(waits.length + 1);
    assert.deepEqual((await far.get('/api/v1/sessions/waiting')).json.items, [], 'not offered to an Operator whose grants do not reach the asset');
    assert.deepEqual((await as.lead1!.get('/api/v1/sessions/waiting')).json.items.map((x: { sessionId: string }) => x.sessionId), [w.sessionId]);
    await refused(`${wsBase}/api/v1/sessions/${w.sessionId}/watch`, farCookie, /no grant of yours reaches this asset/);
    assert.ok(t.gw.broker.gates.get(w.sessionId), 'the refused moderator did not open it: it still waits');

    const mod = await term(`${wsBase}/api/v1/sessions/${w.sessionId}/watch`, await cookieOf(t.url, 'lead.one', PW));
    const s: LiveSession = await opening;
    assert.equal((await mod.waitEvent('opened')).moderator, true);
    await refused(`${wsBase}/api/v1/sessions/${s.id}/watch`, farCookie, /no grant of yours reaches this asset/);
    const tried = await db().selectFrom('audit_events').select(['actor_name', 'result']).where('target_id', '=', s.id).where('action', '=', 'session.watch').execute();
    assert.deepEqual(tried.map((a) => [a.actor_name, a.result]), [['lead.one', 'success'], ['lead.three', 'failure']], 'the refused watch is audited');
    const liveFor = async (c: ApiClient) => ((await c.get('/api/v1/sessions?state=live')).json.items as { id: string; mayWatch?: boolean }[]).find((x) => x.id === s.id)?.mayWatch;
    assert.equal(await liveFor(far), false, 'the console hides Watch');
    assert.equal(await liveFor(as.lead1!), true);

    // Administrators only: Operators are refused, an Administrator still watches.
    assert.equal((await admin.patch('/api/v1/settings/oversight', { operators: 'none' })).status, 200);
    await refused(`${wsBase}/api/v1/sessions/${s.id}/watch`, await cookieOf(t.url, 'lead.two', PW), /only Administrators watch/);
    assert.equal(await liveFor(as.lead2!), false);
    const boss = await term(`${wsBase}/api/v1/sessions/${s.id}/watch`, await cookieOf(t.url, 'admin.two', PW));
    await boss.waitEvent('opened');
    assert.equal(await liveFor(as.admin2!), true);
    boss.ws.close();
    mod.ws.close();
    await s.close('done');
    assert.equal((await admin.patch('/api/v1/settings/oversight', { operators: 'all' })).status, 200);
  });
});
