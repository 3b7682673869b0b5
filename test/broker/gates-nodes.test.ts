/**
 * Live session approval across two gateway nodes on one PostgreSQL database: the session waits on
 * node A (which holds the user's connection); approvers list and decide it on node B; node A
 * opens it (or fails it) from the decisions in the database. Against the lab's real sshd.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Lab, removeLabAccount, startLab } from '../../lab/index.js';
import type { OpenRequest } from '../../src/server/broker/types.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

const ACCOUNT = 'pcgatenodes';
const PW = 'Gate-nodes-passphrase-7';

describe('live session approval across two gateway nodes (PostgreSQL)', () => {
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
