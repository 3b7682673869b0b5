/**
 * The policy API through the real gateway, on both storage back ends: rule CRUD (audited, in the
 * same transaction), who may do what, clear 400s that change nothing, the Purdue-level defaults
 * document, the admin "what if" evaluator and the user's own "why can't I connect".
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';
import { DIALECTS } from '../helpers/pg.js';

const PW = 'Policy-api-passphrase-7';
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri'];

for (const dialect of DIALECTS) {
  describe(`policy API on ${dialect}`, () => {
    let t: TestGateway;
    let admin: ApiClient;
    let operator: ApiClient;
    let vendor: ApiClient;
    const ids: Record<string, string> = {};

    before(async () => {
      t = await startGateway({ tls: false, dialect });
      admin = await adminClient(t);
      const site = (await admin.post('/api/v1/sites', { name: 'Werk Nord', timezone: 'Europe/Berlin' })).json;
      ids.site = site.id;
      const mk = async (body: Record<string, unknown>) => {
        const r = await admin.post('/api/v1/assets', { siteId: site.id, host: '10.1.1.1', ...body });
        assert.equal(r.status, 201, r.text);
        return r.json.id as string;
      };
      ids.plc = await mk({ name: 'PLC-7', purdueLevel: 1, accessMethods: [{ protocol: 'ssh' }, { protocol: 'telnet' }] });
      ids.sis = await mk({ name: 'SIS-01', purdueLevel: 1, safetyCritical: true, accessMethods: [{ protocol: 'ssh' }] });
      ids.hist = await mk({ name: 'HIST-3', purdueLevel: 3, accessMethods: [{ protocol: 'ssh' }] });
      ids.hidden = await mk({ name: 'HIDDEN-9', purdueLevel: 3, accessMethods: [{ protocol: 'ssh' }] });
      const v = (await admin.post('/api/v1/vendors', { name: 'ACME Automation' })).json;
      const vu = await admin.post('/api/v1/users', { username: 'acme.jo', role: 'Client', affiliation: 'vendor', vendorId: v.id, password: PW, mustChangePassword: false });
      assert.equal(vu.status, 201, vu.text);
      ids.vendor = vu.json.user.id;
      ids.operator = (await admin.post('/api/v1/users', { username: 'op.lena', role: 'Operator', password: PW, mustChangePassword: false })).json.user.id;
      ids.group = (await admin.post('/api/v1/groups', { name: 'ACME vendors', kind: 'permission' })).json.id;
      ids.umgroup = (await admin.post('/api/v1/groups', { name: 'Shift leads', kind: 'user_management' })).json.id;
      await admin.post(`/api/v1/groups/${ids.group}/members`, { userId: ids.vendor });
      for (const a of [ids.plc, ids.sis, ids.hist]) await admin.post('/api/v1/grants', { subjectType: 'group', subjectId: ids.group, targetType: 'asset', target: a });
      operator = t.client();
      assert.equal((await operator.login('op.lena', PW)).status, 200);
      vendor = t.client();
      assert.equal((await vendor.login('acme.jo', PW)).status, 200);
    });
    after(async () => {
      await t?.stop();
    });

    const auditActions = async (prefix: string) => ((await admin.get(`/api/v1/audit?action=${prefix}&limit=200`)).json.items as { action: string; targetName?: string; target?: { name: string } }[]);

    it('creates, reads, updates and deletes rules; every change is audited; Operators read, Clients do not', async () => {
      const body = {
        name: 'Vendor hours', description: 'Vendors only on weekdays, day shift',
        subjects: { groups: [ids.group] }, appliesTo: 'vendors', targets: { all: true },
        windows: [{ days: WEEKDAYS, start: '06:00', end: '18:00' }], allowedProtocols: ['ssh'], maxSessionMinutes: 120, idleTimeoutMinutes: 15,
        approvals: { required: 1, groupId: ids.umgroup }, advanceNoticeHours: 24, clipboard: { toAsset: false, fromAsset: true }, fileTransfer: { inbound: false, outbound: false },
      };
      const c = await admin.post('/api/v1/policy/rules', body);
      assert.equal(c.status, 201, c.text);
      const rule = c.json;
      ids.rule = rule.id;
      assert.equal(rule.effect, 'allow');
      assert.equal(rule.enabled, true);
      assert.deepEqual(rule.approvals, { required: 1, groupId: ids.umgroup, noSelfApproval: true });
      assert.deepEqual(rule.labels, { [ids.group!]: 'ACME vendors', [ids.umgroup!]: 'Shift leads' });
      assert.deepEqual(rule.targets, { all: true, assets: [], sites: [], zones: [], tags: [], purdueLevels: [], namePatterns: [], safetyCritical: false });

      const got = await operator.get(`/api/v1/policy/rules/${rule.id}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.json, rule);
      assert.equal((await operator.get('/api/v1/policy/rules')).json.items.length, 1);
      assert.equal((await operator.post('/api/v1/policy/rules', { ...body, name: 'x' })).status, 403, 'Operators only read');
      assert.equal((await vendor.get('/api/v1/policy/rules')).status, 403);
      const csv = await admin.get('/api/v1/policy/rules?format=csv');
      assert.match(csv.text, /^priority,name,enabled,effect,applies_to,subjects,targets/);
      assert.match(csv.text, /Vendor hours,yes,allow,vendors,group:ACME vendors,all,ssh/);

      // A rule read from the API can be sent back unchanged (noSelfApproval: true is accepted, false is not).
      const { id: _i, labels: _l, createdAt: _c, updatedAt: _u, ...roundTrip } = rule;
      const same = await admin.patch(`/api/v1/policy/rules/${rule.id}`, roundTrip);
      assert.equal(same.status, 200, same.text);
      const bad = await admin.patch(`/api/v1/policy/rules/${rule.id}`, { approvals: { required: 1, noSelfApproval: false } });
      assert.equal(bad.status, 400);
      assert.match(bad.json.detail, /self-approval is never allowed/);

      const u = await admin.patch(`/api/v1/policy/rules/${rule.id}`, { maxSessionMinutes: 60, windows: [{ days: ['mon'], start: '07:00', end: '12:00' }, { days: ['mon'], start: '12:00', end: '16:00' }] });
      assert.equal(u.status, 200, u.text);
      assert.equal(u.json.maxSessionMinutes, 60);
      assert.equal(u.json.idleTimeoutMinutes, 15, 'fields left out keep their value');

      const filtered = await admin.get('/api/v1/policy/rules?effect=deny');
      assert.equal(filtered.json.items.length, 0);
      const actions = (await auditActions('policy.')).map((e) => e.action);
      assert.ok(actions.includes('policy.rule_create') && actions.includes('policy.rule_update'), actions.join());
      const upd = (await admin.get('/api/v1/audit?action=policy.rule_update&limit=5')).json.items[0];
      assert.deepEqual(upd.details.changes.maxSessionMinutes, { from: 120, to: 60 });

      const tmp = await admin.post('/api/v1/policy/rules', { name: 'Temporary', subjects: { everyone: true }, targets: { tags: ['x'] } });
      assert.equal(tmp.status, 201, tmp.text);
      assert.equal((await admin.delete(`/api/v1/policy/rules/${tmp.json.id}`)).status, 204);
      assert.equal((await admin.get(`/api/v1/policy/rules/${tmp.json.id}`)).status, 404);
      assert.ok((await auditActions('policy.rule_delete')).some((e) => e.action === 'policy.rule_delete'));
    });

    it('refuses bad rules with clear 400s and changes nothing', async () => {
      const before = (await admin.get('/api/v1/policy/rules')).json.items.length;
      const auditBefore = (await auditActions('policy.')).length;
      const base = { name: 'Bad', subjects: { everyone: true }, targets: { all: true } };
      const cases: [Record<string, unknown>, number, RegExp][] = [
        [{ ...base, windows: [{ days: ['mon'], start: '18:00', end: '06:00' }] }, 400, /start must be before end/],
        [{ ...base, windows: [{ days: ['mon', 'tue'], start: '06:00', end: '12:00' }, { days: ['tue'], start: '11:00', end: '14:00' }] }, 400, /windows overlap on Tue \(06:00-12:00 and 11:00-14:00\)/],
        [{ ...base, windows: [{ days: ['mon'], start: '06:00', end: '12:00' }], timezone: 'Europe/Atlantis' }, 400, /IANA time zone/],
        [{ ...base, timezone: 'Europe/Berlin' }, 400, /give windows/],
        [{ ...base, maxSessionMinutes: 0 }, 400, /maxSessionMinutes must be at least 1 minute/],
        [{ ...base, maxSessionMinutes: 525_600 }, 400, /at most 1440 minutes/],
        [{ ...base, idleTimeoutMinutes: 1.5 }, 400, /whole minutes/],
        [{ ...base, advanceNoticeHours: 8760 }, 400, /at most 720 hours/],
        [{ ...base, allowedProtocols: ['gopher'] }, 400, /unknown protocol/],
        [{ ...base, allowedProtocols: ['ssh'], blockedProtocols: ['ssh'] }, 400, /both allowed and blocked/],
        [{ ...base, targets: { namePatterns: ['SIS-[0-9]'] } }, 400, /invalid pattern/],
        [{ ...base, targets: { namePatterns: ['**'] } }, 400, /wildcards only/],
        [{ ...base, targets: {} }, 400, /name at least one target/],
        [{ ...base, subjects: {} }, 400, /name users or groups, or set everyone/],
        [{ ...base, subjects: { groups: [ids.umgroup] } }, 400, /permission groups/],
        [{ ...base, subjects: { users: ['00000000-0000-4000-8000-000000000000'] } }, 400, /user .* does not exist/],
        [{ ...base, validFrom: '2027-01-01', validUntil: '2026-01-01' }, 400, /validUntil must be after validFrom/],
        [{ ...base, validFrom: '01.01.2027' }, 400, /validFrom must be a date/],
        [{ ...base, effect: 'deny', approvals: { required: 2 } }, 400, /a deny rule refuses access outright/],
        [{ ...base, approvals: { required: 0, groupId: ids.umgroup } }, 400, /approver group needs/],
        [{ ...base, approvals: { required: 11 } }, 400, /at most 10 approvers/],
        [{ ...base, appliesTo: 'contractors' }, 400, /appliesTo/],
        [{ ...base, name: 'vendor HOURS' }, 409, /already exists/],
      ];
      const failures: string[] = [];
      for (const [i, [body, status, re]] of cases.entries()) {
        const r = await admin.post('/api/v1/policy/rules', body);
        if (r.status !== status || !re.test(String(r.json?.detail))) failures.push(`case ${i}: ${r.status} ${r.json?.detail}`);
      }
      assert.deepEqual(failures, []);
      assert.equal((await admin.get('/api/v1/policy/rules')).json.items.length, before, 'no rule was created');
      assert.equal((await auditActions('policy.')).length, auditBefore, 'nothing was audited');
    });

    it('Purdue-level defaults: read by staff, changed by Administrators, audited', async () => {
      const d = await operator.get('/api/v1/policy/defaults');
      assert.equal(d.status, 200);
      assert.equal(d.json.enabled, false);
      assert.deepEqual(d.json.levels['1'], { approvals: 2, approverGroupId: null, watchRequired: true, maxSessionMinutes: null, idleTimeoutMinutes: null });
      assert.deepEqual(d.json.levels['2'].approvals, 1);
      assert.deepEqual(d.json.levels['3'].approvals, 0);
      assert.deepEqual(d.json.recommended, d.json.levels);
      assert.equal((await operator.request('PUT', '/api/v1/policy/defaults', { enabled: true })).status, 403);
      for (const [body, re] of [
        [{ levels: { '6': { approvals: 1 } } }, /unknown field/],
        [{ levels: { '1': { approvals: -1 } } }, /approvals/],
        [{ levels: { '1': { maxSessionMinutes: 0 } } }, /at least 1 minute/],
        [{ levels: { '2': { approverGroupId: '00000000-0000-4000-8000-000000000000' } } }, /group .* does not exist/],
        [{ levels: { '3': { approverGroupId: ids.umgroup } } }, /approver group needs approvals of 1 or more/],
      ] as const) {
        const r = await admin.request('PUT', '/api/v1/policy/defaults', body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(r.json.detail, re);
      }
      const put = await admin.request('PUT', '/api/v1/policy/defaults', { enabled: true, levels: { '2': { approverGroupId: ids.umgroup, idleTimeoutMinutes: 10 } } });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.json.enabled, true);
      assert.deepEqual(put.json.levels['2'], { approvals: 1, approverGroupId: ids.umgroup, watchRequired: false, maxSessionMinutes: null, idleTimeoutMinutes: 10 });
      assert.equal(put.json.levels['1'].approvals, 2, 'other levels unchanged');
      const ev = (await admin.get('/api/v1/audit?action=policy.defaults_update&limit=5')).json.items;
      assert.equal(ev.length, 1);
      assert.deepEqual(ev[0].details.changes.enabled, { from: false, to: true });
      assert.deepEqual(ev[0].details.changes['level 2'].idleTimeoutMinutes, { from: null, to: 10 });
    });

    it('what if: user x asset x protocol x time, for Administrators and Operators', async () => {
      // Defaults are on (previous test): PLC-7 is level 1. Monday 2026-11-23 09:00 Berlin.
      const at = '2026-11-23T08:00:00Z';
      const r = await operator.post('/api/v1/policy/evaluate', { userId: ids.vendor, assetId: ids.plc, protocol: 'ssh', at });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.outcome, 'require_approval');
      assert.deepEqual(r.json.constraints, {
        maxSessionMinutes: 60, rulesMaxSessionMinutes: 60, idleTimeoutMinutes: 15, clipboard: { toAsset: false, fromAsset: true }, fileTransfer: { inbound: false, outbound: false },
        watchRequired: true, approvals: { count: 2, noSelfApproval: true }, advanceNoticeHours: 24,
        windowEndsAt: '2026-11-23T15:00:00.000Z',
      });
      assert.equal(r.json.reasons[0], 'needs 2 approvals (dual authorization), never by the requester (default for Purdue level 1)');
      assert.deepEqual({ user: r.json.user.username, asset: r.json.asset.name, port: r.json.port, at: r.json.at, tz: r.json.timezone }, { user: 'acme.jo', asset: 'PLC-7', port: 22, at: '2026-11-23T08:00:00.000Z', tz: 'Europe/Berlin' });
      const tel = await admin.post('/api/v1/policy/evaluate', { userId: ids.vendor, assetId: ids.plc, protocol: 'telnet', at: '2026-11-28T10:00:00Z' });
      assert.equal(tel.json.outcome, 'deny');
      assert.deepEqual(tel.json.reasons, [
        'protocol telnet not allowed for group ACME vendors (allowed: ssh) (rule: Vendor hours)',
        'outside allowed login times (Mon 07:00-12:00; Mon 12:00-16:00 Europe/Berlin) (rule: Vendor hours)',
      ]);
      const hist = await admin.post('/api/v1/policy/evaluate', { userId: ids.vendor, assetId: ids.hist, protocol: 'ssh', at });
      assert.equal(hist.json.outcome, 'require_approval', 'level 3 needs none, but the rule asks for one');
      assert.deepEqual(hist.json.reasons, [
        'needs 1 approval from group Shift leads, never by the requester (rule: Vendor hours)',
        'rule Vendor hours applies',
        'the allowed login window closes at 16:00 Europe/Berlin: the session ends then',
      ]);
      assert.deepEqual(hist.json.constraints.approvals, { count: 1, group: { id: ids.umgroup, name: 'Shift leads' }, noSelfApproval: true });
      assert.equal((await admin.patch(`/api/v1/policy/rules/${ids.rule}`, { approvals: { required: 0 } })).status, 200);
      const free = await admin.post('/api/v1/policy/evaluate', { userId: ids.vendor, assetId: ids.hist, protocol: 'ssh', at });
      assert.equal(free.json.outcome, 'allow');
      assert.deepEqual(free.json.reasons, ['granted: HIST-3 ssh:22', 'rule Vendor hours applies', 'the allowed login window closes at 16:00 Europe/Berlin: the session ends then']);
      assert.equal(free.json.constraints.maxSessionMinutes, 60, 'the rule is shorter than the 7 hours left in the window');
      assert.equal((await vendor.post('/api/v1/policy/evaluate', { userId: ids.vendor, assetId: ids.plc, protocol: 'ssh' })).status, 403);
      const unknown = await admin.post('/api/v1/policy/evaluate', { userId: '00000000-0000-4000-8000-000000000000', assetId: ids.plc, protocol: 'ssh' });
      assert.equal(unknown.status, 404);
      assert.match(unknown.json.detail, /user .* does not exist/);
      const badProto = await admin.post('/api/v1/policy/evaluate', { userId: ids.vendor, assetId: ids.plc, protocol: 'modbus' });
      assert.equal(badProto.status, 400);
      assert.match(badProto.json.detail, /unknown protocol/);
    });

    it('a user sees why they cannot connect, for assets a grant gives them', async () => {
      const deny = await admin.post('/api/v1/policy/rules', { name: 'No safety systems', effect: 'deny', subjects: { everyone: true }, targets: { namePatterns: ['SIS-*', 'SAFETY-*'] } });
      assert.equal(deny.status, 201, deny.text);
      const why = await vendor.get(`/api/v1/me/assets/${ids.sis}/why?protocol=ssh`);
      assert.equal(why.status, 200, why.text);
      assert.equal(why.json.outcome, 'deny');
      assert.equal(why.json.prohibited, true);
      assert.ok(why.json.reasons.includes('SIS-01 is a prohibited target (pattern SIS-*) (rule: No safety systems)'), why.json.reasons.join(' | '));
      assert.equal(why.json.user.username, 'acme.jo', 'always about the signed-in user');
      const plc = await vendor.get(`/api/v1/me/assets/${ids.plc}/why`);
      assert.equal(plc.status, 200);
      assert.equal(plc.json.protocol, 'ssh', 'the first access method when none is named');
      assert.ok(['deny', 'require_approval'].includes(plc.json.outcome));
      const hidden = await vendor.get(`/api/v1/me/assets/${ids.hidden}/why`);
      assert.equal(hidden.status, 404, 'no grant: the asset is not revealed');
      assert.equal((await operator.get(`/api/v1/me/assets/${ids.hidden}/why`)).status, 200, 'staff may ask about any asset');
      assert.equal((await vendor.get(`/api/v1/me/assets/${ids.plc}/why?protocol=gopher`)).status, 400);
      assert.equal((await t.client().get(`/api/v1/me/assets/${ids.plc}/why`)).status, 401);
    });
  });
}
