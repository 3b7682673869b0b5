/**
 * Two gateway nodes on one PostgreSQL database, against the lab's real sshd.
 * - Live session approval: the session waits on node A (which holds the user's connection);
 *   approvers list and decide it on node B; node A opens it (or fails it) from the decisions.
 * - A session held by node A is ended from node B: the red button (within a second), a user
 *   deactivated there, an access request closed there; warnings and limit refreshes reach it too
 *   (broker/commands.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { type Lab, removeLabAccount, startLab } from '../../lab/index.js';
import type { OpenRequest } from '../../src/server/broker/types.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const ACCOUNT = 'pcgatenodes';

async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const PW = 'Gate-nodes-passphrase-7';

describe('two gateway nodes on one PostgreSQL database: live approval, and ending sessions from any node', () => {
  let lab: Lab;
  let a: TestGateway;
  let b: TestGateway;
  let admin: ApiClient;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-gate-nodes-'));
  const ids: Record<string, string> = {};
  const onB: Record<string, ApiClient> = {};
  let sshPort = 0;
  const waits: string[] = [];
  /** Opens a session on node A; it waits for the live approval. */
  const openOnA = (extra: Partial<OpenRequest> = {}) =>
    a.gw.broker.open({ userId: ids.vendor!, assetId: ids.asset!, protocol: 'ssh', port: sshPort, sourceIp: '127.0.0.1', via: 'browser', size: { cols: 100, rows: 30 }, onWait: (w) => waits.push(w.sessionId), ...extra });
  const nextWait = async (n: number) => {
    for (let i = 0; i < 400 && waits.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(waits.length, n, 'the session waits');
    const id = waits[n - 1]!;
    for (let i = 0; i < 400 && !(await b.gw.broker.gates.find(id)); i++) await new Promise((r) => setTimeout(r, 10));
    return id;
  };
  /** p, or a failure after ms: a broken hand-over between the nodes must fail, not hang. */
  const within = <T,>(p: Promise<T>, ms: number, what: string) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref())]);
  const listedOnB = async (who: string) => ((await onB[who]!.get('/api/v1/sessions/waiting')).json.items as { sessionId: string; approvals?: { needed: number; by: { name: string }[] } }[]);

  before(async () => {
    lab = await startLab({ dataDir: dir, ports: { ssh: 27981, telnet: 27983, vnc: 29981, rdp: 28981 }, displayBase: 268, account: ACCOUNT });
    a = await startGateway({ tls: false, dialect: 'postgres' });
    admin = await adminClient(a);
    b = await startGateway({ tls: false, sameDatabaseAs: a });
    const ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
    sshPort = ssh.port;
    const site = (await admin.post('/api/v1/sites', { name: 'Nodes lab', maxConnections: 10 })).json;
    ids.asset = (await admin.post('/api/v1/assets', { name: 'PLC-NODES', siteId: site.id, purdueLevel: 2, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] })).json.id;
    assert.equal((await admin.post(`/api/v1/assets/${ids.asset}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password })).status, 201);
    ids.leads = (await admin.post('/api/v1/groups', { name: 'Night shift leads', kind: 'permission' })).json.id;
    for (const [key, role, username] of [['vendor', 'Client', 'vendor.nodes'], ['lead1', 'Operator', 'lead.east'], ['lead2', 'Operator', 'lead.west']] as const) {
      const r = await admin.post('/api/v1/users', { username, role, password: PW, mustChangePassword: false });
      assert.equal(r.status, 201, r.text);
      ids[key] = r.json.user.id;
      await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids[key], targetType: 'site', target: site.id });
      if (key !== 'vendor') assert.equal((await admin.post(`/api/v1/groups/${ids.leads}/members`, { userId: ids[key] })).status, 201);
      onB[key] = b.client();
      assert.equal((await onB[key]!.login(username, PW)).status, 200, 'users signed up on node A sign in on node B');
    }
    // A second asset without the approval rule, and an engineer who reaches it.
    ids.open = (await admin.post('/api/v1/assets', { name: 'PLC-NODES-OPEN', siteId: site.id, purdueLevel: 2, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] })).json.id;
    assert.equal((await admin.post(`/api/v1/assets/${ids.open}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password })).status, 201);
    const eng = await admin.post('/api/v1/users', { username: 'eng.nodes', role: 'Client', password: PW, mustChangePassword: false });
    ids.eng = eng.json.user.id;
    await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids.eng, targetType: 'asset', target: ids.open });
    // A third asset whose sessions need a moderator.
    ids.mod = (await admin.post('/api/v1/assets', { name: 'PLC-NODES-MOD', siteId: site.id, purdueLevel: 2, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] })).json.id;
    assert.equal((await admin.post(`/api/v1/assets/${ids.mod}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password })).status, 201);
    await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids.eng, targetType: 'asset', target: ids.mod });
    assert.equal((await admin.post('/api/v1/policy/rules', { name: 'PLC-NODES-MOD: moderated', subjects: { everyone: true }, targets: { assets: [ids.mod] }, watchRequired: true })).status, 201);
    onB.eng = b.client();
    assert.equal((await onB.eng.login('eng.nodes', PW)).status, 200);
    onB.admin = b.client();
    assert.equal((await onB.admin.login(a.admin.username, a.admin.password)).status, 200);
    const rule = await admin.post('/api/v1/policy/rules', { name: 'PLC-NODES: dual live approval', subjects: { everyone: true }, targets: { assets: [ids.asset] }, sessionApproval: { required: 2, groupId: ids.leads } });
    assert.equal(rule.status, 201, rule.text);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    rmSync(dir, { recursive: true, force: true });
  });

  it('approvers on node B see and approve a session waiting on node A, which then connects', async () => {
    const opening = openOnA();
    const id = await nextWait(1);
    assert.equal(b.gw.broker.gates.get(id), undefined, 'node B does not hold the session');
    const listed = await listedOnB('lead1');
    assert.deepEqual(listed.map((x) => [x.sessionId, x.approvals?.needed]), [[id, 2]]);
    assert.deepEqual(await listedOnB('vendor'), [], 'not to its own user');
    assert.equal((await onB.vendor!.post(`/api/v1/sessions/${id}/approve`, {})).status, 403, 'no self-approval on any node');

    const first = await onB.lead1!.post(`/api/v1/sessions/${id}/approve`, { comment: 'ok from the east' });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.passed, false);
    assert.equal((await onB.lead1!.post(`/api/v1/sessions/${id}/approve`, {})).status, 409, 'the same approver twice');
    assert.deepEqual((await listedOnB('lead2'))[0]!.approvals!.by.map((x) => x.name), ['lead.east']);
    const second = await onB.lead2!.post(`/api/v1/sessions/${id}/approve`, {});
    assert.equal(second.status, 200, second.text);
    assert.equal(second.json.passed, true);

    // Node A picks the decisions up from the database and connects.
    const s = await within(opening, 10_000, 'node A opens the approved session');
    assert.equal(s.id, id);
    const out: string[] = [];
    s.attach({ role: 'owner', name: 'vendor.nodes', userId: ids.vendor!, output: (d) => (out.push(d.toString()), true), event: () => {} });
    s.input(Buffer.from('echo NODES-$((6*7))\n'));
    for (let i = 0; i < 400 && !/NODES-42/.test(out.join('')); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(out.join(''), /NODES-42/);
    assert.deepEqual(await listedOnB('lead1'), [], 'no longer waiting anywhere');
    const approvals = (await onB.lead1!.get(`/api/v1/sessions/${id}`)).json.approvals as { approver: string; decision: string }[];
    assert.equal(approvals.length, 2);
    await s.close('done');
  });

  /** A live session of eng.nodes held by node A, with what its owner was told. */
  const liveOnA = async () => {
    const s = await a.gw.broker.open({ userId: ids.eng!, assetId: ids.open!, protocol: 'ssh', port: sshPort, sourceIp: '127.0.0.1', via: 'browser', size: { cols: 100, rows: 30 } });
    const events: { type: string; [k: string]: unknown }[] = [];
    s.attach({ role: 'owner', name: 'eng.nodes', userId: ids.eng!, output: () => true, event: (e) => events.push(e as never) });
    assert.equal(b.gw.broker.get(s.id), undefined, 'node B does not hold it');
    return { s, events };
  };
  const rowOf = (id: string) => a.gw.database.db.selectFrom('remote_sessions').select(['state', 'end_message', 'terminated_by', 'node']).where('id', '=', id).executeTakeFirstOrThrow();

  it('an administrator on node B watches a session held by node A, and its red button ends it within a second', async () => {
    const { s, events } = await liveOnA();
    assert.equal((await rowOf(s.id)).node, a.gw.broker.node);
    // Node B lists it as one to watch...
    const listed = ((await onB.admin!.get('/api/v1/sessions?state=live')).json.items as { id: string; mayWatch?: boolean }[]).find((x) => x.id === s.id);
    assert.equal(listed?.mayWatch, true);
    // ...and an administrator on node B watches it: proxied to node A with a one-time ticket.
    const login = await fetch(`${b.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: a.admin.username, password: a.admin.password }) });
    const ws = new WebSocket(`${b.url.replace(/^http/, 'ws')}/api/v1/sessions/${s.id}/watch`, { headers: { cookie: login.headers.get('set-cookie')!.split(';')[0]!, origin: b.url } });
    const seen: string[] = [];
    const said: { type: string; [k: string]: unknown }[] = [];
    ws.on('message', (m, binary) => (binary ? seen.push(String(m)) : said.push(JSON.parse(String(m)))));
    await waitFor(() => said.some((e) => e.type === 'opened'), `the watcher on node B gets the session; got ${JSON.stringify(said)}`);
    await waitFor(() => events.some((e) => e.type === 'watchers' && JSON.stringify(e.watchers).includes('admin')), 'the owner on node A sees the watcher');
    s.input(Buffer.from('echo WATCHED-$((6*7))\n'));
    await waitFor(() => /WATCHED-42/.test(seen.join('')), 'the output reaches the watcher on node B');
    const watched = (await onB.admin!.get(`/api/v1/audit?action=session.watch&targetId=${s.id}`)).json.items;
    assert.deepEqual(watched.map((e: { actor: { name: string }; result: string }) => `${e.actor.name}:${e.result}`), ['admin:success']);
    // The ticket was for one connection: node A refuses anything else at its internal endpoint.
    const forged = new WebSocket(`${a.url.replace(/^http/, 'ws')}/api/v1/internal/sessions/${s.id}/watch`, { headers: { 'x-portcullis-node-ticket': 'A'.repeat(43) } });
    const refused = await new Promise<number>((resolve) => forged.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).on('error', () => resolve(-1)));
    assert.equal(refused, 401);
    assert.equal((await a.gw.database.db.selectFrom('node_tickets').selectAll().execute()).length, 0, 'the ticket was redeemed');
    const t0 = Date.now();
    const r = await onB.admin!.post(`/api/v1/sessions/${s.id}/terminate`, { reason: 'pump 3 maintenance stop' });
    const took = Date.now() - t0;
    assert.equal(r.status, 200, r.text);
    assert.ok(took < 1000, `ended after ${took} ms`);
    assert.equal(s.state, 'terminated');
    const row = await rowOf(s.id);
    assert.deepEqual([row.state, row.terminated_by], ['terminated', 'admin']);
    assert.match(row.end_message ?? '', /terminated by admin: pump 3 maintenance stop/);
    assert.ok(events.some((e) => e.type === 'ended' && /pump 3 maintenance stop/.test(String(e.message))), JSON.stringify(events));
    await waitFor(() => said.some((e) => e.type === 'ended'), 'the watcher on node B sees the end');
    ws.close();
    const ev = (await onB.admin!.get(`/api/v1/audit?action=session.terminate&targetId=${s.id}`)).json.items;
    assert.equal(ev.length, 1);
    assert.equal(ev[0].actor.name, 'admin');
    // Ended: a second press is a 409 on either node.
    assert.equal((await onB.admin!.post(`/api/v1/sessions/${s.id}/terminate`, { reason: 'again' })).status, 409);
  });

  it("node B deactivating the user, or closing the user's access request, ends the sessions node A holds", async () => {
    const by = { id: null, name: 'admin', ip: null };
    const first = await liveOnA();
    assert.equal(await b.gw.broker.terminateUser(ids.eng!, by, 'account eng.nodes disabled'), 1);
    await waitFor(async () => (await rowOf(first.s.id)).state === 'terminated', 'node A ends the deactivated user\'s session');
    assert.match((await rowOf(first.s.id)).end_message ?? '', /account eng\.nodes disabled/);

    const second = await liveOnA();
    assert.equal(await b.gw.broker.terminateOn(ids.eng!, [ids.asset!], by, 'other asset'), 0, 'not on other assets');
    await b.gw.broker.warnOn(ids.eng!, [ids.open!], 'the approved access window ends at 18:00 (in 5 min)', 300_000);
    await waitFor(() => second.events.some((e) => e.type === 'warning'), 'node A warns its session');
    assert.match(String(second.events.find((e) => e.type === 'warning')!.message), /window ends at 18:00/);
    // An extension approved on node B: node A works the session's limits out again.
    await b.gw.broker.refreshLimits(ids.eng!, [ids.open!]);
    const refresh = () => a.gw.database.db.selectFrom('session_commands').select(['node', 'done_at']).where('kind', '=', 'refresh_limits').execute();
    await waitFor(async () => (await refresh()).every((c) => c.done_at !== null), 'node A takes the refresh');
    assert.deepEqual((await refresh()).map((c) => c.node), [a.gw.broker.node]);
    assert.equal(second.s.state, 'active');
    assert.equal(await b.gw.broker.terminateOn(ids.eng!, [ids.open!], by, 'access request revoked by admin'), 1);
    await waitFor(() => second.s.state === 'terminated', 'node A ends the session of the revoked request');
  });

  it('a moderator on node B lets in a session waiting on node A for one', async () => {
    const waited: string[] = [];
    const opening = a.gw.broker.open({ userId: ids.eng!, assetId: ids.mod!, protocol: 'ssh', port: sshPort, sourceIp: '127.0.0.1', via: 'browser', size: { cols: 100, rows: 30 }, onWait: (w) => waited.push(w.sessionId) });
    await waitFor(() => waited.length === 1, 'the session waits for a moderator');
    const id = waited[0]!;
    // Node B's Dashboard lists it for moderators.
    let listed: { sessionId: string; waitingFor: string }[] = [];
    await waitFor(async () => (listed = (await onB.admin!.get('/api/v1/sessions/waiting')).json.items).some((w: { sessionId: string }) => w.sessionId === id), 'node B lists the waiting session');
    assert.equal(listed.find((w) => w.sessionId === id)!.waitingFor, 'moderator');
    assert.deepEqual(((await onB.eng!.get('/api/v1/sessions/waiting')).json.items as unknown[]), [], 'not to its own user');
    const login = await fetch(`${b.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: a.admin.username, password: a.admin.password }) });
    const ws = new WebSocket(`${b.url.replace(/^http/, 'ws')}/api/v1/sessions/${id}/watch`, { headers: { cookie: login.headers.get('set-cookie')!.split(';')[0]!, origin: b.url } });
    const said: { type: string; [k: string]: unknown }[] = [];
    ws.on('message', (m, binary) => !binary && said.push(JSON.parse(String(m))));
    const s = await within(opening, 10_000, 'node A opens the session its moderator on node B joined');
    assert.equal(s.id, id);
    await waitFor(() => said.some((e) => e.type === 'opened' && e.moderator === true), `the moderator on node B gets it; got ${JSON.stringify(said)}`);
    assert.equal(((await onB.admin!.get('/api/v1/sessions/waiting')).json.items as { sessionId: string }[]).filter((w) => w.sessionId === id).length, 0, 'no longer waiting');
    assert.equal(s.view().paused, false);
    // The moderator leaves: the session pauses on node A.
    ws.close();
    await waitFor(() => s.view().paused, 'node A pauses the session without its moderator');
    // Node B's Dashboard lists it as paused, for a moderator to rejoin.
    await waitFor(async () => ((await onB.admin!.get('/api/v1/sessions/waiting')).json.items as { sessionId: string; paused: boolean }[]).some((w) => w.sessionId === id && w.paused), 'node B lists the paused session');
    await s.close('done');
  });

  it('the red button for a session whose node is gone answers 503 with the reason, and the node takes it later', async () => {
    const { s } = await liveOnA();
    // Node A stops reading its commands for a while (as if it hung).
    const node = a.gw.broker.node;
    await a.gw.database.db.updateTable('remote_sessions').set({ node: `${node}-away` }).where('id', '=', s.id).execute();
    const r = await onB.admin!.post(`/api/v1/sessions/${s.id}/terminate`, { reason: 'node away' });
    assert.equal(r.status, 503, r.text);
    assert.match(r.json.detail, /did not end it within 5 s/);
    assert.equal(s.state, 'active');
    // The command waits in the table for that node id.
    const pending = await a.gw.database.db.selectFrom('session_commands').select(['node', 'done_at']).where('node', '=', `${node}-away`).execute();
    assert.deepEqual(pending.map((c) => c.done_at), [null]);
    await a.gw.database.db.updateTable('remote_sessions').set({ node }).where('id', '=', s.id).execute();
    await a.gw.database.db.updateTable('session_commands').set({ node }).where('node', '=', `${node}-away`).execute();
    await waitFor(() => s.state === 'terminated', 'node A carries it out once it reads it');
  });

  it('a rejection on node B ends the session waiting on node A with the reason', async () => {
    const opening = openOnA();
    const id = await nextWait(2);
    const r = await onB.lead2!.post(`/api/v1/sessions/${id}/reject`, { reason: 'no work order for tonight' });
    assert.equal(r.status, 204, r.text);
    await assert.rejects(within(opening, 10_000, 'node A fails the rejected session'), /rejected by lead\.west: no work order for tonight/);
    const row = await a.gw.database.db.selectFrom('remote_sessions').select(['state', 'end_reason', 'waiting_for', 'gate']).where('id', '=', id).executeTakeFirstOrThrow();
    assert.deepEqual([row.state, row.end_reason, row.waiting_for, row.gate], ['failed', 'rejected', null, null]);
    assert.equal((await onB.lead1!.post(`/api/v1/sessions/${id}/approve`, {})).status, 409, 'decided: no longer waiting');
  });
});
