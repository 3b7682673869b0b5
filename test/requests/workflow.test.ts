/**
 * Access requests through the real gateway on both storage back ends, on an injectable clock:
 * policy violations refused at submission (nothing created), dual approval from the rules' group
 * (one is not enough, self-approval and outsiders refused), approved windows turning
 * require_approval into allow exactly inside [start, end), expiry before the start, extension,
 * cancellation, revocation, weekly windows across the spring-forward change in Europe/Berlin,
 * the ITSM webhook (good, badly signed, stale, replayed), API tokens, emails in the outbox (one
 * delivered to a real SMTP server), an audit event for every transition, the inbox behind 500
 * requests the approver may not decide, the ?ticket= filter and the site time zone of /me/assets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HEADER_DELIVERY, HEADER_SIGNATURE, HEADER_TIMESTAMP, signPayload } from '../../src/server/notify/signing.js';
import { ManualClock } from '../helpers/clock.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';
import { DIALECTS } from '../helpers/pg.js';
import { startSmtp, type TestSmtp } from '../notify/helpers.js';

const HOUR = 3_600_000;
const PW = 'Requests-Test-Passw0rd!';
const SECRET = 'itsm-shared-secret-0123456789';

for (const dialect of DIALECTS) {
  describe(`access requests on ${dialect}`, () => {
    let t: TestGateway;
    let admin: ApiClient;
    let smtp: TestSmtp;
    const clock = new ManualClock();
    const ids: Record<string, string> = {};
    const as: Record<string, ApiClient> = {};

    /** A minute-aligned instant `h` hours from the gateway's clock. */
    const inHours = (h: number) => new Date(Math.ceil((clock.now() + h * HOUR) / 60_000) * 60_000).toISOString();
    const evaluate = async (assetKey: string, at: string, user = 'vendor') => (await admin.post('/api/v1/policy/evaluate', { userId: ids[user], assetId: ids[assetKey], protocol: 'ssh', at })).json;
    const outbox = async (template: string) => t.gw.database.db.selectFrom('email_outbox').selectAll().where('template', '=', template).orderBy('created_at').execute();
    const audits = async (action: string) => (await admin.get(`/api/v1/audit?action=${action}&limit=100`)).json.items as { actor: { name: string }; target: { id: string }; details: Record<string, unknown> }[];
    const countRequests = async () => Number((await t.gw.database.db.selectFrom('access_requests').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

    before(async () => {
      smtp = await startSmtp();
      t = await startGateway({ tls: false, dialect, clock });
      admin = await adminClient(t);
      const smtpPut = await admin.request('PUT', '/api/v1/settings/smtp', { enabled: true, host: '127.0.0.1', port: smtp.port, security: 'none', fromAddress: 'portcullis@plant.test' });
      assert.equal(smtpPut.status, 200, smtpPut.text);
      ids.site = (await admin.post('/api/v1/sites', { name: 'Werk Berlin', timezone: 'Europe/Berlin', maxConnections: 10 })).json.id;
      for (const [key, name, methods] of [['plc', 'PLC-1', [{ protocol: 'ssh' }]], ['sis', 'SIS-01', [{ protocol: 'ssh' }]], ['hmi', 'HMI-2', [{ protocol: 'ssh' }, { protocol: 'telnet' }]], ['rtu', 'RTU-3', [{ protocol: 'ssh' }]]] as const) {
        const a = await admin.post('/api/v1/assets', { name, siteId: ids.site, purdueLevel: 2, host: '10.0.0.1', accessMethods: methods });
        assert.equal(a.status, 201, a.text);
        ids[key] = a.json.id;
      }
      for (const [key, username, role] of [['vendor', 'acme.jo', 'Client'], ['a', 'approver.a', 'Operator'], ['b', 'approver.b', 'Operator'], ['c', 'approver.c', 'Operator'], ['itsm', 'itsm.bot', 'Operator']] as const) {
        const u = await admin.post('/api/v1/users', { username, role, email: `${username}@plant.test`, password: PW, mustChangePassword: false });
        assert.equal(u.status, 201, u.text);
        ids[key] = u.json.user.id;
        as[key] = t.client();
        const l = await as[key]!.login(username, PW);
        assert.equal(l.status, 200, l.text);
      }
      // The admin gets an address too (approver of requests without a group).
      await admin.patch(`/api/v1/users/${(await admin.get('/api/v1/me')).json.user.id}`, { email: 'ot-admin@plant.test' });
      ids.group = (await admin.post('/api/v1/groups', { name: 'Shift leads', kind: 'user_management' })).json.id;
      for (const k of ['a', 'b', 'itsm']) assert.equal((await admin.post(`/api/v1/groups/${ids.group}/members`, { userId: ids[k] })).status < 300, true);
      await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids.vendor, targetType: 'site', target: ids.site });
      const rules = [
        { name: 'No safety systems', effect: 'deny', subjects: { everyone: true }, targets: { namePatterns: ['SIS-*'] } },
        { name: 'PLC dual control', subjects: { everyone: true }, targets: { assets: [ids.plc] }, approvals: { required: 2, groupId: ids.group }, maxSessionMinutes: 240, advanceNoticeHours: 24 },
        { name: 'HMI and RTU one approval', subjects: { everyone: true }, targets: { assets: [ids.hmi, ids.rtu] }, approvals: { required: 1 }, blockedProtocols: ['telnet'] },
      ];
      for (const r of rules) {
        const res = await admin.post('/api/v1/policy/rules', r);
        assert.equal(res.status, 201, res.text);
      }
    });
    after(async () => {
      await t?.stop();
      await smtp?.close();
    });

    const plcRequest = (extra: Record<string, unknown> = {}) => ({ assets: [ids.plc], protocols: ['ssh'], purpose: 'Firmware update on PLC-1', start: inHours(48), durationMinutes: 60, ...extra });

    it('refuses policy violations and bad windows at submission, and creates nothing', async () => {
      const cases: [Record<string, unknown>, number, RegExp][] = [
        [plcRequest({ assets: [ids.sis] }), 422, /SIS-01 is a prohibited target \(pattern SIS-\*\)/],
        [plcRequest({ assets: [ids.hmi], protocols: ['telnet'] }), 422, /protocol telnet is blocked/],
        [plcRequest({ durationMinutes: 300 }), 422, /duration 300 min is above the maximum of 240 min/],
        [plcRequest({ start: inHours(2) }), 422, /at least 24 h ahead/],
        [plcRequest({ start: inHours(-1) }), 400, /start must be in the future/],
        [plcRequest({ durationMinutes: 0 }), 400, /at least 1 minute/],
        [plcRequest({ durationMinutes: 2 * 365 * 24 * 60 }), 400, /at most 10080 minutes/],
        [plcRequest({ durationMinutes: undefined, recurrence: { windows: [{ days: ['tue'], start: '18:00', end: '14:00' }], until: '2027-06-01' } }), 400, /start must be before end/],
        [plcRequest({ durationMinutes: undefined, recurrence: { windows: [{ days: ['tue'], start: '08:00', end: '12:00' }, { days: ['tue'], start: '11:00', end: '14:00' }], until: '2027-06-01' } }), 400, /windows overlap on Tue/],
        [plcRequest({ timeZone: 'Mars/Olympus' }), 400, /IANA time zone/],
        [plcRequest({ start: '2027-01-01 10:00' }), 400, /ISO 8601 timestamp/],
        [plcRequest({ assets: [ids.plc], userId: ids.a }), 403, /only Administrators may request access on behalf/],
      ];
      for (const [body, status, re] of cases) {
        const r = await as.vendor!.post('/api/v1/requests', body);
        assert.equal(r.status, status, `${JSON.stringify(body)} -> ${r.text}`);
        assert.match(r.json.detail, re);
      }
      assert.equal(await countRequests(), 0, 'nothing was created');
    });

    it('dual approval: one approval is not enough, self-approval and outsiders are refused; access only inside [start, end)', async () => {
      const created = await as.vendor!.post('/api/v1/requests', plcRequest({ ticket: 'CHG-1000' }));
      assert.equal(created.status, 201, created.text);
      const req = created.json;
      ids.dual = req.id;
      assert.equal(req.state, 'pending');
      assert.equal(req.approvalsRequired, 2);
      assert.equal(req.approverGroup.name, 'Shift leads');
      // The approvers (the group, not approver.c, never the requester) got the request_created email, queued with the request.
      const mails = await outbox('request_created');
      assert.equal(mails.length, 1);
      assert.deepEqual(JSON.parse(mails[0]!.recipients).sort(), ['approver.a@plant.test', 'approver.b@plant.test', 'itsm.bot@plant.test']);
      assert.match(mails[0]!.subject, /Access request from acme\.jo for PLC-1/);
      // Delivered end to end to the real SMTP server.
      await t.gw.notify.runDue();
      await smtp.waitFor(1);
      assert.deepEqual(smtp.messages[0]!.envelopeTo.sort(), ['approver.a@plant.test', 'approver.b@plant.test', 'itsm.bot@plant.test']);
      assert.match(smtp.messages[0]!.text, /Firmware update on PLC-1/);

      const inbox = (await as.a!.get('/api/v1/requests/inbox')).json.items;
      assert.deepEqual(inbox.map((x: { id: string }) => x.id), [req.id]);
      assert.deepEqual((await as.c!.get('/api/v1/requests/inbox')).json.items, []);

      const self = await as.vendor!.post(`/api/v1/requests/${req.id}/approve`, {});
      assert.equal(self.status, 403);
      assert.match(self.json.detail, /cannot approve your own request \(no self-approval\)/);
      const outsider = await as.c!.post(`/api/v1/requests/${req.id}/approve`, {});
      assert.equal(outsider.status, 403);
      assert.match(outsider.json.detail, /only members of the approver group Shift leads/);

      const first = await as.a!.post(`/api/v1/requests/${req.id}/approve`, { comment: 'ok from A' });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.json.state, 'pending', 'one approval is not enough');
      assert.equal((await as.a!.post(`/api/v1/requests/${req.id}/approve`, {})).status, 409, 'the same approver twice');
      const mid = await evaluate('plc', new Date(Date.parse(req.start) + 10 * 60_000).toISOString());
      assert.equal(mid.outcome, 'require_approval');

      const second = await as.b!.post(`/api/v1/requests/${req.id}/approve`, {});
      assert.equal(second.status, 200, second.text);
      assert.equal(second.json.state, 'approved');
      assert.deepEqual(second.json.approvals.map((a: { approver: string; via: string }) => `${a.approver} via ${a.via}`).sort(), ['approver.a via console', 'approver.b via console'], 'signed-in browsers decide via the console');
      const decided = await outbox('request_decided');
      assert.equal(decided.length, 1);
      assert.deepEqual(JSON.parse(decided[0]!.recipients), ['acme.jo@plant.test']);

      const inside = await evaluate('plc', new Date(Date.parse(req.start) + 10 * 60_000).toISOString());
      assert.equal(inside.outcome, 'allow', JSON.stringify(inside.reasons));
      assert.ok(inside.reasons.some((r: string) => r.includes(`approved access request ${req.id}`)));
      assert.equal(inside.constraints.maxSessionMinutes, 50, 'the session may last until the window ends');
      assert.equal((await evaluate('plc', new Date(Date.parse(req.start) - 60_000).toISOString())).outcome, 'require_approval', 'before the window');
      assert.equal((await evaluate('plc', req.end)).outcome, 'require_approval', 'the end is exclusive');

      const again = await as.c!.post(`/api/v1/requests/${req.id}/approve`, {});
      assert.equal(again.status, 409, 'already decided');
      const approvals = (await audits('request.approve')).filter((e) => e.target.id === req.id);
      assert.deepEqual(approvals.map((e) => [e.details.by, e.details.final]).sort(), [['approver.a', false], ['approver.b', true]]);
      assert.equal((await audits('request.create')).filter((e) => e.target.id === req.id).length, 1);
    });

    it('refuses an overlapping request of the same user for the same asset (409)', async () => {
      const dual = (await admin.get(`/api/v1/requests/${ids.dual}`)).json;
      const r = await as.vendor!.post('/api/v1/requests', plcRequest({ start: new Date(Date.parse(dual.start) + 30 * 60_000).toISOString() }));
      assert.equal(r.status, 409, r.text);
      assert.match(r.json.detail, /overlaps approved request/);
    });

    it('ITSM webhook: approved counts as one approval by the service user; bad signature 401, replay 409, closed revokes', async () => {
      assert.equal((await admin.request('PUT', '/api/v1/requests/itsm/settings', { enabled: true, serviceUserId: ids.itsm, secret: SECRET })).status, 200);
      const settings = (await admin.get('/api/v1/requests/itsm/settings')).json;
      assert.deepEqual({ ...settings, updatedAt: undefined }, { enabled: true, serviceUserId: ids.itsm, serviceUser: 'itsm.bot', hasSecret: true, updatedAt: undefined });
      const req = (await as.vendor!.post('/api/v1/requests', plcRequest({ start: inHours(72), ticket: 'CHG-1042' }))).json;
      const hook = (body: string, opts: { id?: string; secret?: string; ts?: number } = {}) => {
        const ts = opts.ts ?? Math.floor(clock.now() / 1000);
        return t.client().request('POST', '/api/v1/requests/itsm/webhook', body, {
          'content-type': 'application/json', [HEADER_TIMESTAMP]: String(ts), [HEADER_DELIVERY]: opts.id ?? crypto.randomUUID(), [HEADER_SIGNATURE]: signPayload(opts.secret ?? SECRET, ts, body),
        });
      };
      // Key order and spacing as the ITSM sent them: the signature is over these exact bytes.
      const approved = '{ "state": "approved",  "ticket": "CHG-1042" }';
      const bad = await hook(approved, { secret: 'another-secret-0123456789' });
      assert.equal(bad.status, 401);
      assert.match(bad.json.detail, /signature does not match/);
      const stale = await hook(approved, { ts: Math.floor(clock.now() / 1000) - 3600 });
      assert.equal(stale.status, 401);
      assert.equal((await admin.get(`/api/v1/requests/${req.id}`)).json.approvals.length, 0, 'refused webhooks change nothing');

      const ok = await hook(approved, { id: 'delivery-1' });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.request.state, 'pending', 'one of two approvals');
      assert.deepEqual(ok.json.request.approvals.map((a: { approver: string; via: string }) => [a.approver, a.via]), [['itsm.bot', 'itsm']]);
      const replay = await hook(approved, { id: 'delivery-1' });
      assert.equal(replay.status, 409);
      assert.match(replay.json.detail, /already received/);
      assert.equal((await admin.get(`/api/v1/requests/${req.id}`)).json.approvals.length, 1, 'the replay changed nothing');
      const unknown = await hook('{"ticket":"CHG-9999","state":"approved"}');
      assert.equal(unknown.status, 404);

      assert.equal((await as.a!.post(`/api/v1/requests/${req.id}/approve`, {})).json.state, 'approved');
      const closed = await hook('{"ticket":"CHG-1042","state":"closed"}');
      assert.equal(closed.status, 200, closed.text);
      assert.equal(closed.json.request.state, 'revoked');
      const revoked = (await audits('request.revoke')).find((e) => e.target.id === req.id)!;
      assert.equal(revoked.actor.name, 'itsm.bot (ITSM)');
    });

    it('API token (Bearer pct_...): create on behalf of a vendor, approve, deny and revoke', async () => {
      const tok = await admin.post('/api/v1/tokens', { name: 'ITSM automation', role: 'Administrator', expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString() });
      assert.equal(tok.status, 201, tok.text);
      const bearer = { authorization: `Bearer ${tok.json.secret ?? tok.json.token.secret ?? tok.json.plaintext}` };
      assert.match(bearer.authorization, /^Bearer pct_/);
      const api = t.client();
      const body = { userId: ids.vendor, assets: [ids.rtu], protocols: ['ssh'], purpose: 'Vendor maintenance (ticket from ITSM)', ticket: 'INC-7', start: inHours(30), durationMinutes: 90 };
      const created = await api.request('POST', '/api/v1/requests', body, bearer);
      assert.equal(created.status, 201, created.text);
      assert.equal(created.json.requester.username, 'acme.jo');
      assert.match(created.json.createdBy.username, /\(token ITSM automation\)/);
      assert.equal(created.json.approvalsRequired, 1);
      assert.equal(created.json.approverGroup, null, 'no group: Administrators approve');
      const approved = await api.request('POST', `/api/v1/requests/${created.json.id}/approve`, { comment: 'CAB approved' }, bearer);
      assert.equal(approved.status, 200, approved.text);
      assert.equal(approved.json.state, 'approved');
      assert.deepEqual(approved.json.approvals.map((a: { via: string }) => a.via), ['api'], 'a token decides via the API');
      const revoked = await api.request('POST', `/api/v1/requests/${created.json.id}/revoke`, { comment: 'change rolled back' }, bearer);
      assert.equal(revoked.json.state, 'revoked');
      const other = await api.request('POST', '/api/v1/requests', { ...body, start: inHours(100) }, bearer);
      const denied = await api.request('POST', `/api/v1/requests/${other.json.id}/deny`, { comment: 'no change window' }, bearer);
      assert.equal(denied.json.state, 'denied');
      const deny = (await audits('request.deny')).find((e) => e.target.id === other.json.id)!;
      assert.equal(deny.details.reason, 'no change window');
      assert.equal((await api.request('POST', `/api/v1/requests/${other.json.id}/approve`, {}, bearer)).status, 409, 'already denied');
      // A Client cannot revoke.
      assert.equal((await as.vendor!.post(`/api/v1/requests/${other.json.id}/revoke`, { comment: 'x' })).status, 403);
    });

    it('extension is a new approval round; cancel ends the request', async () => {
      const req = (await as.vendor!.post('/api/v1/requests', { assets: [ids.hmi], protocols: ['ssh'], purpose: 'HMI screens', start: inHours(5), durationMinutes: 60 })).json;
      assert.equal((await admin.post(`/api/v1/requests/${req.id}/approve`, {})).json.state, 'approved');
      const newEnd = new Date(Date.parse(req.end) + HOUR).toISOString();
      const ext = await as.vendor!.post(`/api/v1/requests/${req.id}/extend`, { end: newEnd, comment: 'more screens' });
      assert.equal(ext.status, 200, ext.text);
      assert.deepEqual(ext.json.extension, { end: newEnd });
      assert.equal(ext.json.end, req.end, 'pending until approved');
      assert.equal((await evaluate('hmi', new Date(Date.parse(req.end) + 60_000).toISOString())).outcome, 'require_approval');
      assert.equal((await as.vendor!.post(`/api/v1/requests/${req.id}/extend`, { end: newEnd })).status, 409, 'one extension at a time');
      const ok = await admin.post(`/api/v1/requests/${req.id}/approve`, {});
      assert.equal(ok.json.end, newEnd);
      assert.equal(ok.json.extension, null);
      assert.equal((await evaluate('hmi', new Date(Date.parse(req.end) + 60_000).toISOString())).outcome, 'allow');
      assert.equal((await audits('request.extend')).filter((e) => e.target.id === req.id).length, 1);
      const cancel = await as.vendor!.post(`/api/v1/requests/${req.id}/cancel`, { comment: 'done early' });
      assert.equal(cancel.json.state, 'cancelled');
      assert.equal((await evaluate('hmi', new Date(Date.parse(req.start) + 60_000).toISOString())).outcome, 'require_approval');
      assert.equal((await audits('request.cancel')).filter((e) => e.target.id === req.id).length, 1);
      assert.equal((await admin.post(`/api/v1/requests/${req.id}/revoke`, { comment: 'x' })).status, 409);
    });

    it('recurring weekly windows follow local time across the spring-forward change (Europe/Berlin)', async () => {
      // Tuesdays 14:00-18:00 Berlin from 16 March to 6 April 2027; clocks go forward on 28 March.
      const r = await as.vendor!.post('/api/v1/requests', { assets: [ids.hmi], protocols: ['ssh'], purpose: 'Standing contract: weekly maintenance', start: '2027-03-15T00:00:00Z', recurrence: { windows: [{ days: ['tue'], start: '14:00', end: '18:00' }], until: '2027-04-06' }, timeZone: 'Europe/Berlin' });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.start, '2027-03-16T13:00:00.000Z', 'the series starts with its first window (14:00 CET)');
      assert.equal(r.json.end, '2027-04-06T22:00:00.000Z', 'end of the last day (CEST)');
      assert.equal((await admin.post(`/api/v1/requests/${r.json.id}/approve`, {})).json.state, 'approved');
      const at = async (iso: string) => (await evaluate('hmi', iso)).outcome;
      assert.equal(await at('2027-03-23T13:30:00Z'), 'allow', '14:30 CET');
      assert.equal(await at('2027-03-23T12:30:00Z'), 'require_approval', '13:30 CET');
      assert.equal(await at('2027-03-23T17:00:00Z'), 'require_approval', '18:00 CET: the end is exclusive');
      assert.equal(await at('2027-03-30T12:30:00Z'), 'allow', '14:30 CEST');
      assert.equal(await at('2027-03-30T16:30:00Z'), 'require_approval', '18:30 CEST');
      assert.equal(await at('2027-03-31T12:30:00Z'), 'require_approval', 'a Wednesday');
      assert.equal(await at('2027-04-13T12:30:00Z'), 'require_approval', 'after the series');
      const inside = await evaluate('hmi', '2027-03-30T15:00:00Z');
      assert.equal(inside.constraints.maxSessionMinutes, 60, 'until 18:00 CEST = 16:00 UTC');
    });

    it('expires a request not decided before its start; approving it then is a 409 and changes nothing', async () => {
      const req = (await as.vendor!.post('/api/v1/requests', { assets: [ids.rtu], protocols: ['ssh'], purpose: 'Quick look', start: inHours(1), durationMinutes: 30 })).json;
      clock.advance(HOUR + 60_000);
      const late = await admin.post(`/api/v1/requests/${req.id}/approve`, {});
      assert.equal(late.status, 409);
      assert.match(late.json.detail, /expired/);
      assert.equal((await admin.get(`/api/v1/requests/${req.id}`)).json.approvals.length, 0, 'nothing changed');
      await t.gw.requests.sweep();
      const after = (await admin.get(`/api/v1/requests/${req.id}`)).json;
      assert.equal(after.state, 'expired');
      const ev = (await audits('request.expire')).filter((e) => e.target.id === req.id);
      assert.equal(ev.length, 1);
      assert.equal(ev[0]!.actor.name, 'system');
      assert.equal((await admin.post(`/api/v1/requests/${req.id}/approve`, {})).status, 409);
      // The list filters by state, and exports CSV.
      const list = (await admin.get(`/api/v1/requests?state=expired&assetId=${ids.rtu}`)).json.items;
      assert.deepEqual(list.map((x: { id: string }) => x.id), [req.id]);
      const csv = await admin.get('/api/v1/requests?format=csv');
      assert.match(String(csv.headers['content-type']), /text\/csv/);
      assert.match(csv.text, /^id,state,requester,assets/);
      // Clients see their own requests only; a request of someone else is not found for them.
      const mine = (await as.vendor!.get('/api/v1/requests?limit=500')).json.items;
      assert.ok(mine.length > 0 && mine.every((x: { requester: { username: string } }) => x.requester.username === 'acme.jo'));
    });

    it('the inbox filters what the approver may decide before its 500-row limit', async () => {
      const req = (await as.vendor!.post('/api/v1/requests', plcRequest({ start: inHours(240), ticket: 'CHG-2000' }))).json;
      assert.equal(req.approverGroup.name, 'Shift leads');
      // 510 open requests only Administrators may decide (no group), all starting earlier.
      const at = new Date(clock.now()).toISOString();
      const fillers = Array.from({ length: 510 }, (_, i) => ({
        id: `filler-${String(i).padStart(4, '0')}`, requester_id: ids.vendor!, requester_name: 'acme.jo', created_by_id: ids.vendor!, created_by_name: 'acme.jo', purpose: 'filler', ticket: null,
        protocols: '["ssh"]', start_at: inHours(100 + i / 60), end_at: inHours(101 + i / 60), recurrence: null, time_zone: 'Europe/Berlin', state: 'pending' as const, approvals_required: 1,
        approver_group_id: null, round: 0, approved_round: null, extension_end_at: null, warned_end_at: null, announced_start_at: null, decided_at: null, decided_by_name: null,
        decision_comment: null, version: 0, created_at: at, updated_at: at,
      }));
      const db = t.gw.database.db;
      await db.insertInto('access_requests').values(fillers).execute();
      try {
        const inboxOf = async (c: ApiClient) => (await c.get('/api/v1/requests/inbox')).json.items as { id: string; approverGroup: { name: string } | null }[];
        const a = await inboxOf(as.a!);
        assert.deepEqual(a.map((x) => x.id), [req.id], 'the group member still sees the group request behind 510 others');
        const adm = await inboxOf(admin);
        assert.equal(adm.length, 500, 'at most 500');
        assert.ok(adm.every((x) => x.approverGroup === null), 'the Administrator (not in the group) sees requests without a group only');
        assert.equal((await inboxOf(as.c!)).length, 0, 'neither in the group nor an Administrator');
        // Decided in this round: gone from that approver's inbox, still in the other's.
        assert.equal((await as.a!.post(`/api/v1/requests/${req.id}/approve`, {})).json.state, 'pending');
        assert.deepEqual((await inboxOf(as.a!)).map((x) => x.id), []);
        assert.deepEqual((await inboxOf(as.b!)).map((x) => x.id), [req.id]);
      } finally {
        await db.deleteFrom('access_requests').where('id', 'like', 'filler-%').execute();
      }
    });

    it('?ticket= is a case-insensitive contains match (wildcards literal)', async () => {
      const tickets = async (q: string) => ((await admin.get(`/api/v1/requests?ticket=${encodeURIComponent(q)}&limit=500`)).json.items as { ticket: string }[]).map((x) => x.ticket).sort();
      assert.deepEqual(await tickets('chg-10'), ['CHG-1000', 'CHG-1042']);
      assert.deepEqual(await tickets('1042'), ['CHG-1042']);
      assert.deepEqual(await tickets('CHG'), ['CHG-1000', 'CHG-1042', 'CHG-2000']);
      assert.deepEqual(await tickets('inc-7'), ['INC-7', 'INC-7']);
      assert.deepEqual(await tickets('%'), [], 'a LIKE wildcard matches literally');
      assert.deepEqual(await tickets('CHG_1000'), [], 'so does _');
      // Combined with the other filters.
      assert.deepEqual(((await admin.get(`/api/v1/requests?ticket=chg&state=approved&assetId=${ids.plc}`)).json.items as { ticket: string }[]).map((x) => x.ticket), ['CHG-1000']);
    });

    it('GET /me/assets names each asset\'s site time zone', async () => {
      const mine = (await as.vendor!.get('/api/v1/me/assets')).json;
      assert.ok(mine.assets.length >= 4, JSON.stringify(mine));
      for (const a of mine.assets) assert.equal(a.siteTimezone, 'Europe/Berlin', a.name);
      const other = await admin.post('/api/v1/sites', { name: 'Plant Chicago', timezone: 'America/Chicago', maxConnections: 2 });
      const asset = await admin.post('/api/v1/assets', { name: 'PLC-CHI', siteId: other.json.id, purdueLevel: 1, host: '10.0.9.1', accessMethods: [{ protocol: 'ssh' }] });
      await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids.vendor, targetType: 'asset', target: asset.json.id });
      const again = (await as.vendor!.get('/api/v1/me/assets')).json.assets as { name: string; siteTimezone: string }[];
      assert.equal(again.find((a) => a.name === 'PLC-CHI')?.siteTimezone, 'America/Chicago');
      // The same report for a user (an Administrator requesting on their behalf).
      const report = (await admin.get(`/api/v1/users/${ids.vendor}/reachable-assets`)).json.assets as { name: string; siteTimezone: string }[];
      assert.deepEqual(report.map((a) => [a.name, a.siteTimezone]), again.map((a) => [a.name, a.siteTimezone]));
    });
  });
}
