/**
 * The rule engine behind policy.decide, on both storage back ends: rules on users, groups,
 * employees and vendors; targets by asset, pattern, tag, zone, site, Purdue level and the
 * safety-critical flag; windows in the site's time zone across daylight-saving changes; validity;
 * protocols; the strictest combination; Purdue-level defaults; the approved-request hook.
 * Every decision is taken at a fixed instant (`at`), so no test depends on the wall clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createGrant } from '../../src/server/access/grants.js';
import { addMember, createGroup } from '../../src/server/identity/groups.js';
import { createUser } from '../../src/server/identity/users.js';
import { createVendor } from '../../src/server/identity/vendors.js';
import { type Asset, createAsset, getAsset, type Protocol } from '../../src/server/inventory/assets.js';
import { createSite } from '../../src/server/inventory/sites.js';
import { createZone } from '../../src/server/inventory/zones.js';
import { type ApprovedRequest, setApprovedRequestSource } from '../../src/server/policy/approvals.js';
import { type Decision, decide } from '../../src/server/policy/decide.js';
import { getPolicyDefaults, updatePolicyDefaults } from '../../src/server/policy/defaults.js';
import { createRule, deleteRule, globToRegExp, ruleCreateSchema, updateRule } from '../../src/server/policy/rules.js';
import { openTestDatabase } from '../helpers/db.js';
import { DIALECTS } from '../helpers/pg.js';

const userInput = (username: string, extra: Record<string, unknown> = {}) => ({
  username, displayName: '', email: '', role: 'Client' as const, type: 'local' as const, affiliation: 'employee' as const,
  vendorId: null, expiresAt: null, otpRequired: false, mustChangePassword: true, ...extra,
});
const assetInput = (name: string, siteId: string, extra: Record<string, unknown> = {}) => ({
  name, siteId, zoneId: null, host: '10.0.0.1', accessMethods: [{ protocol: 'ssh' as const, port: 22, options: {} }], tags: [] as string[],
  safetyCritical: false, loginTimes: null, vendor: '', model: '', firmware: '', description: '', state: 'active' as const, ...extra,
});
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri'];
// 2026-11-23 is a Monday; 2026-11-28 a Saturday. Berlin is UTC+1 in winter, UTC+2 in summer.
const MON_0900_BERLIN = '2026-11-23T08:00:00Z';
const SAT_1100_BERLIN = '2026-11-28T10:00:00Z';

describe('globToRegExp', () => {
  it('matches whole names, case-insensitively, with * and ? only', () => {
    const sis = globToRegExp('SIS-*');
    assert.ok(sis.test('SIS-01') && sis.test('sis-tank-3') && sis.test('SIS-'));
    assert.ok(!sis.test('XSIS-01') && !sis.test('SIS'));
    const one = globToRegExp('PLC-?1');
    assert.ok(one.test('PLC-01') && !one.test('PLC-001'));
    assert.ok(globToRegExp('a.b+(c)').test('A.B+(C)') && !globToRegExp('a.b').test('axb'), 'regex characters are literal');
  });
});

for (const dialect of DIALECTS) {
  describe(`policy engine on ${dialect}`, () => {
    let t: Awaited<ReturnType<typeof openTestDatabase>>;
    const assets: Record<string, Asset> = {};
    const users: Record<string, string> = {};
    const groups: Record<string, string> = {};

    const userRow = (name: string) => t.database.db.selectFrom('users').selectAll().where('id', '=', users[name]!).executeTakeFirstOrThrow();
    async function dec(user: string, asset: string, at: string, protocol: Protocol = 'ssh', extra: { approvedRequest?: ApprovedRequest | null } = {}): Promise<Decision> {
      const a = assets[asset]!;
      const m = a.accessMethods.find((x) => x.protocol === protocol) ?? { protocol, port: 23, options: {} };
      return decide(t.database.db, { user: await userRow(user), asset: a, method: m, at: new Date(at), activeSessionsOnSite: 0, siteMaxConnections: 10, siteTimezone: 'Europe/Berlin', ...extra });
    }
    /** Creates the rules, runs fn, deletes them again (each test starts from no rules). */
    async function withRules(specs: Record<string, unknown>[], fn: (ids: string[]) => Promise<void>): Promise<void> {
      const ids: string[] = [];
      try {
        for (const s of specs) ids.push((await createRule(t.ctx, ruleCreateSchema.parse(s))).id);
        await fn(ids);
      } finally {
        for (const id of ids) await deleteRule(t.ctx, id);
      }
    }

    before(async () => {
      t = await openTestDatabase(dialect);
      const site = await createSite(t.ctx, { name: 'Werk Berlin', description: '', timezone: 'Europe/Berlin', streamQuality: 'medium', maxConnections: 10 });
      const control = await createZone(t.ctx, { siteId: site.id, name: 'Control', purdueLevel: 1, targetSecurityLevel: 3, description: '' });
      for (const [name, extra] of [
        ['PLC-1', { zoneId: control.id, tags: ['line-1'], accessMethods: [{ protocol: 'ssh', port: 22, options: {} }, { protocol: 'telnet', port: 23, options: {} }] }],
        ['SIS-01', { zoneId: control.id, safetyCritical: true }],
        ['HMI-2', { purdueLevel: 2, accessMethods: [{ protocol: 'vnc', port: 5900, options: {} }, { protocol: 'ssh', port: 22, options: {} }] }],
        ['HIST-3', { purdueLevel: 3 }],
      ] as const) {
        const a = await createAsset(t.ctx, assetInput(name, site.id, extra as Record<string, unknown>));
        assets[name] = await getAsset(t.database.db, a.id);
      }
      const vendor = await createVendor(t.ctx, { name: 'ACME Automation', contacts: [], contractEnd: '2030-01-31', lastSecurityAssessment: null, termsAccepted: true, description: '' });
      users.vendor = (await createUser(t.ctx, userInput('acme.jo', { affiliation: 'vendor', vendorId: vendor.id }))).user.id;
      users.employee = (await createUser(t.ctx, userInput('eng.max'))).user.id;
      for (const n of ['approver.a', 'approver.b', 'approver.c']) users[n] = (await createUser(t.ctx, userInput(n, { role: 'Operator' }))).user.id;
      groups.acme = (await createGroup(t.ctx, { name: 'ACME vendors', kind: 'permission', description: '' })).id;
      groups.eng = (await createGroup(t.ctx, { name: 'Engineers', kind: 'permission', description: '' })).id;
      groups.approvers = (await createGroup(t.ctx, { name: 'Shift leads', kind: 'user_management', description: '' })).id;
      await addMember(t.ctx, groups.acme, users.vendor);
      await addMember(t.ctx, groups.eng, users.employee);
      await addMember(t.ctx, groups.approvers, users['approver.a']!);
      await addMember(t.ctx, groups.approvers, users['approver.b']!);
      for (const g of [groups.acme, groups.eng]) await createGrant(t.ctx, { subjectType: 'group', subjectId: g, targetType: 'site', target: site.id });
    });
    after(async () => {
      await t?.cleanup();
    });

    it('without rules: the grant decides, and nothing is restricted', async () => {
      const d = await dec('vendor', 'PLC-1', MON_0900_BERLIN);
      assert.deepEqual(d, {
        outcome: 'allow', reasons: ['granted: PLC-1 ssh:22'], rules: [], prohibited: false, breakGlass: { available: false, used: false },
        constraints: { clipboard: { toAsset: true, fromAsset: true }, fileTransfer: { inbound: true, outbound: true }, watchRequired: false },
      });
    });

    it('vendor hours apply to vendors only, in the site time zone', async () => {
      await withRules([{ name: 'Vendor hours', subjects: { everyone: true }, appliesTo: 'vendors', targets: { all: true }, windows: [{ days: WEEKDAYS, start: '06:00', end: '18:00' }] }], async () => {
        const sat = await dec('vendor', 'PLC-1', SAT_1100_BERLIN);
        assert.equal(sat.outcome, 'deny');
        assert.deepEqual(sat.reasons, ['outside allowed login times (Mon-Fri 06:00-18:00 Europe/Berlin) (rule: Vendor hours)']);
        assert.equal(sat.prohibited, false, 'a closed window is not a prohibited-target attempt');
        assert.equal((await dec('vendor', 'PLC-1', MON_0900_BERLIN)).outcome, 'allow');
        assert.equal((await dec('employee', 'PLC-1', SAT_1100_BERLIN)).outcome, 'allow', 'employees are not vendors');
        // 17:59 in Berlin is 16:59 UTC in November: inside; 18:00 is the (exclusive) end.
        assert.equal((await dec('vendor', 'PLC-1', '2026-11-23T16:59:00Z')).outcome, 'allow');
        assert.equal((await dec('vendor', 'PLC-1', '2026-11-23T17:00:00Z')).outcome, 'deny');
      });
    });

    it('windows across daylight-saving changes (Europe/Berlin, last Sundays of March and October 2026)', async () => {
      await withRules([
        { name: 'Night slot', subjects: { users: [users.employee] }, targets: { assets: [assets['PLC-1']!.id] }, windows: [{ days: ['sun'], start: '02:00', end: '03:00' }] },
        { name: 'Day shift', subjects: { users: [users.employee] }, targets: { assets: [assets['HIST-3']!.id] }, windows: [{ days: WEEKDAYS, start: '06:00', end: '18:00' }] },
      ], async () => {
        const night = async (at: string) => (await dec('employee', 'PLC-1', at)).outcome;
        // 29 March: 02:00 CET jumps to 03:00 CEST; the hour 02:00-03:00 does not exist that day.
        assert.equal(await night('2026-03-29T00:59:00Z'), 'deny', '01:59 CET');
        assert.equal(await night('2026-03-29T01:00:00Z'), 'deny', '03:00 CEST');
        assert.equal(await night('2026-03-29T01:30:00Z'), 'deny', '03:30 CEST');
        assert.equal(await night('2026-04-05T00:30:00Z'), 'allow', 'a week later 02:30 CEST exists');
        const d = await dec('employee', 'PLC-1', '2026-03-29T01:00:00Z');
        assert.deepEqual(d.reasons, ['outside allowed login times (Sun 02:00-03:00 Europe/Berlin) (rule: Night slot)']);
        // 25 October: 03:00 CEST falls back to 02:00 CET; 02:00-03:00 happens twice (two hours open).
        assert.equal(await night('2026-10-25T00:00:00Z'), 'allow', '02:00 CEST');
        assert.equal(await night('2026-10-25T00:59:00Z'), 'allow', '02:59 CEST');
        assert.equal(await night('2026-10-25T01:30:00Z'), 'allow', '02:30 CET (the second time)');
        assert.equal(await night('2026-10-25T02:00:00Z'), 'deny', '03:00 CET');
        assert.equal(await night('2026-10-24T23:59:00Z'), 'deny', '01:59 CEST');

        const day = async (at: string) => (await dec('employee', 'HIST-3', at)).outcome;
        // Friday 27 March (CET, UTC+1) and Monday 30 March (CEST, UTC+2): 06:00 local moves by an hour in UTC.
        assert.equal(await day('2026-03-27T04:59:00Z'), 'deny', '05:59 CET');
        assert.equal(await day('2026-03-27T05:00:00Z'), 'allow', '06:00 CET');
        assert.equal(await day('2026-03-30T03:59:00Z'), 'deny', '05:59 CEST');
        assert.equal(await day('2026-03-30T04:00:00Z'), 'allow', '06:00 CEST');
        assert.equal(await day('2026-03-30T15:59:00Z'), 'allow', '17:59 CEST');
        assert.equal(await day('2026-03-30T16:00:00Z'), 'deny', '18:00 CEST');
        // Access exists only inside the windows: the session may last until they close, counted in real time.
        const fallBack = await dec('employee', 'PLC-1', '2026-10-25T00:30:00Z');
        assert.equal(fallBack.constraints.windowEndsAt, '2026-10-25T02:00:00.000Z', '03:00 CET, after 02:00-03:00 happened twice');
        assert.equal(fallBack.constraints.maxSessionMinutes, 90);
        assert.ok(fallBack.reasons.includes('the allowed login window closes at 03:00 Europe/Berlin: the session ends then'), fallBack.reasons.join(' | '));
        const spring = await dec('employee', 'HIST-3', '2026-03-30T04:00:00Z');
        assert.deepEqual([spring.constraints.windowEndsAt, spring.constraints.maxSessionMinutes], ['2026-03-30T16:00:00.000Z', 720]);
        const lateFriday = await dec('employee', 'HIST-3', '2026-03-27T16:45:30Z');
        assert.deepEqual([lateFriday.constraints.windowEndsAt, lateFriday.constraints.maxSessionMinutes], ['2026-03-27T17:00:00.000Z', 14], '17:45:30 CET: 14.5 minutes, rounded down');
        // Friday 23 October (CEST) and Monday 26 October (CET).
        assert.equal(await day('2026-10-23T15:59:00Z'), 'allow', '17:59 CEST');
        assert.equal(await day('2026-10-23T16:00:00Z'), 'deny', '18:00 CEST');
        assert.equal(await day('2026-10-26T16:59:00Z'), 'allow', '17:59 CET');
        assert.equal(await day('2026-10-26T17:00:00Z'), 'deny', '18:00 CET');
      });
    });

    it('a rule can carry its own time zone for its windows', async () => {
      await withRules([{ name: 'US vendor desk', subjects: { users: [users.vendor] }, targets: { all: true }, windows: [{ days: WEEKDAYS, start: '08:00', end: '17:00' }], timezone: 'America/New_York' }], async () => {
        // Monday 09:00 Berlin = 03:00 New York.
        const d = await dec('vendor', 'PLC-1', MON_0900_BERLIN);
        assert.deepEqual(d.reasons, ['outside allowed login times (Mon-Fri 08:00-17:00 America/New_York) (rule: US vendor desk)']);
        assert.equal((await dec('vendor', 'PLC-1', '2026-11-23T15:00:00Z')).outcome, 'allow', '10:00 in New York');
      });
    });

    it('prohibited targets by name pattern: deny wins over every allow, and is flagged', async () => {
      await withRules([
        { name: 'Everyone, business hours', subjects: { everyone: true }, targets: { all: true }, windows: [{ days: WEEKDAYS, start: '06:00', end: '18:00' }] },
        { name: 'No safety systems', effect: 'deny', subjects: { everyone: true }, targets: { namePatterns: ['SIS-*', 'SAFETY-*'] } },
      ], async () => {
        const d = await dec('employee', 'SIS-01', MON_0900_BERLIN);
        assert.equal(d.outcome, 'deny');
        assert.deepEqual(d.reasons, ['SIS-01 is a prohibited target (pattern SIS-*) (rule: No safety systems)']);
        assert.equal(d.prohibited, true);
        assert.deepEqual(d.rules.map((r) => `${r.name}:${r.effect}`), ['Everyone, business hours:allow', 'No safety systems:deny']);
        assert.equal((await dec('employee', 'PLC-1', MON_0900_BERLIN)).outcome, 'allow', 'PLC-1 matches no pattern');
        const both = await dec('employee', 'SIS-01', SAT_1100_BERLIN);
        assert.equal(both.reasons.length, 2, 'every reason is listed');
      });
    });

    it('safety-critical assets: vendors denied, employees not', async () => {
      await withRules([{ name: 'Vendors off safety systems', effect: 'deny', subjects: { everyone: true }, appliesTo: 'vendors', targets: { safetyCritical: true } }], async () => {
        const d = await dec('vendor', 'SIS-01', MON_0900_BERLIN);
        assert.deepEqual(d.reasons, ['safety-critical asset: vendors denied (rule: Vendors off safety systems)']);
        assert.equal(d.prohibited, true);
        assert.equal((await dec('vendor', 'PLC-1', MON_0900_BERLIN)).outcome, 'allow', 'PLC-1 is not safety-critical');
        assert.equal((await dec('employee', 'SIS-01', MON_0900_BERLIN)).outcome, 'allow');
      });
    });

    it('prohibited by tag or zone names the target and who', async () => {
      await withRules([{ name: 'Line 1 frozen', effect: 'deny', subjects: { groups: [groups.acme] }, targets: { tags: ['line-1'] } }], async () => {
        assert.deepEqual((await dec('vendor', 'PLC-1', MON_0900_BERLIN)).reasons, ['PLC-1 is a prohibited target for group ACME vendors (tag line-1) (rule: Line 1 frozen)']);
        assert.equal((await dec('employee', 'PLC-1', MON_0900_BERLIN)).outcome, 'allow', 'not in the group');
      });
    });

    it('allowed and blocked protocols', async () => {
      await withRules([
        { name: 'ACME protocols', subjects: { groups: [groups.acme] }, targets: { all: true }, allowedProtocols: ['ssh', 'vnc'] },
        { name: 'No telnet', subjects: { everyone: true }, targets: { all: true }, blockedProtocols: ['telnet'] },
      ], async () => {
        assert.deepEqual((await dec('vendor', 'PLC-1', MON_0900_BERLIN, 'telnet')).reasons, [
          'protocol telnet not allowed for group ACME vendors (allowed: ssh, vnc) (rule: ACME protocols)',
          'protocol telnet is blocked (rule: No telnet)',
        ]);
        assert.deepEqual((await dec('employee', 'PLC-1', MON_0900_BERLIN, 'telnet')).reasons, ['protocol telnet is blocked (rule: No telnet)']);
        assert.equal((await dec('vendor', 'PLC-1', MON_0900_BERLIN, 'ssh')).outcome, 'allow');
      });
    });

    it('validity dates: an allow rule outside its validity denies; a deny rule outside its validity does not apply', async () => {
      await withRules([
        { name: 'ACME contract December', subjects: { users: [users.vendor] }, targets: { all: true }, validFrom: '2026-12-01', validUntil: '2027-01-01' },
        { name: 'Turnaround freeze', effect: 'deny', subjects: { everyone: true }, targets: { sites: [assets['PLC-1']!.siteId] }, validFrom: '2026-12-24T00:00:00Z', validUntil: '2026-12-27T00:00:00Z' },
      ], async () => {
        assert.deepEqual((await dec('vendor', 'PLC-1', MON_0900_BERLIN)).reasons, ['access under this rule starts 2026-12-01 00:00 UTC (rule: ACME contract December)']);
        assert.equal((await dec('vendor', 'PLC-1', '2026-12-10T09:00:00Z')).outcome, 'allow');
        assert.deepEqual((await dec('vendor', 'PLC-1', '2027-01-04T09:00:00Z')).reasons, ['access under this rule ended 2027-01-01 00:00 UTC (rule: ACME contract December)']);
        const xmas = await dec('employee', 'HIST-3', '2026-12-25T09:00:00Z');
        assert.deepEqual(xmas.reasons, ['HIST-3 is a prohibited target (site Werk Berlin) (rule: Turnaround freeze)']);
        assert.equal((await dec('employee', 'HIST-3', '2026-12-28T09:00:00Z')).outcome, 'allow');
      });
    });

    it('the strictest combination of every matching rule', async () => {
      await withRules([
        { name: 'Line 1 conditions', priority: 10, subjects: { everyone: true }, targets: { tags: ['line-1'] }, maxSessionMinutes: 120, idleTimeoutMinutes: 30, approvals: { required: 1, groupId: groups.approvers },
          clipboard: { toAsset: false }, fileTransfer: { inbound: false }, advanceNoticeHours: 24 },
        { name: 'Control zone conditions', priority: 20, subjects: { everyone: true }, targets: { zones: [assets['PLC-1']!.zoneId] }, maxSessionMinutes: 60, idleTimeoutMinutes: 45, approvals: { required: 2 },
          watchRequired: true, clipboard: { fromAsset: false }, advanceNoticeHours: 48 },
        { name: 'Disabled rule', enabled: false, subjects: { everyone: true }, targets: { all: true }, maxSessionMinutes: 1, blockedProtocols: ['ssh'] },
      ], async () => {
        const d = await dec('employee', 'PLC-1', MON_0900_BERLIN);
        assert.equal(d.outcome, 'require_approval');
        assert.deepEqual(d.constraints, {
          maxSessionMinutes: 60, rulesMaxSessionMinutes: 60, idleTimeoutMinutes: 30,
          clipboard: { toAsset: false, fromAsset: false }, fileTransfer: { inbound: false, outbound: true },
          watchRequired: true, approvals: { count: 2, noSelfApproval: true }, advanceNoticeHours: 48,
        });
        assert.deepEqual(d.reasons, [
          'needs 2 approvals (dual authorization), never by the requester (rule: Control zone conditions)',
          'rule Line 1 conditions applies',
          'rule Control zone conditions applies',
          'a moderator must watch the session (watch required) (rule: Control zone conditions)',
        ]);
        assert.deepEqual(d.rules.map((r) => r.name), ['Line 1 conditions', 'Control zone conditions'], 'disabled rules do not match');
        const sis = await dec('employee', 'SIS-01', MON_0900_BERLIN);
        assert.deepEqual(sis.constraints.approvals, { count: 2, noSelfApproval: true }, 'SIS-01 is in the zone, not tagged');
        assert.equal(sis.constraints.idleTimeoutMinutes, 45);
      });
      // One rule asking for one approval from a group: the group comes with it.
      await withRules([{ name: 'One from shift leads', subjects: { everyone: true }, targets: { purdueLevels: [2] }, approvals: { required: 1, groupId: groups.approvers } }], async () => {
        const d = await dec('vendor', 'HMI-2', MON_0900_BERLIN, 'vnc');
        assert.equal(d.outcome, 'require_approval');
        assert.deepEqual(d.constraints.approvals, { count: 1, group: { id: groups.approvers, name: 'Shift leads' }, noSelfApproval: true });
        assert.equal(d.reasons[0], 'needs 1 approval from group Shift leads, never by the requester (rule: One from shift leads)');
      });
    });

    it('live session approvals combine (most approvers, with their group); break-glass bypasses only approvals and moderation, only where a rule allows it', async () => {
      await withRules([
        { name: 'Live one', priority: 10, subjects: { everyone: true }, targets: { tags: ['line-1'] }, sessionApproval: { required: 1, groupId: groups.approvers } },
        { name: 'Live two', priority: 20, subjects: { everyone: true }, targets: { zones: [assets['PLC-1']!.zoneId] }, sessionApproval: { required: 2 }, watchRequired: true },
        { name: 'Vendors break glass', priority: 30, subjects: { groups: [groups.acme] }, targets: { assets: [assets['PLC-1']!.id] }, breakGlass: true },
        { name: 'Everyone needs a request on HIST-3', priority: 40, subjects: { everyone: true }, targets: { assets: [assets['HIST-3']!.id] }, approvals: { required: 1 } },
      ], async () => {
        const emp = await dec('employee', 'PLC-1', MON_0900_BERLIN);
        assert.equal(emp.outcome, 'allow', 'live approval and moderation are gates of an allowed session');
        assert.deepEqual(emp.constraints.sessionApproval, { count: 2 });
        assert.equal(emp.constraints.watchRequired, true);
        assert.ok(emp.reasons.includes('each session waits for 2 live approvals from an administrator, never by the user (rule: Live two)'), emp.reasons.join('\n'));
        assert.deepEqual(emp.breakGlass, { available: false, used: false }, 'no rule lets employees break glass');
        const empBg = await decide(t.database.db, { user: await userRow('employee'), asset: assets['PLC-1']!, method: { protocol: 'ssh', port: 22 }, at: new Date(MON_0900_BERLIN), activeSessionsOnSite: 0, siteMaxConnections: 10, siteTimezone: 'Europe/Berlin', breakGlass: true });
        assert.equal(empBg.outcome, 'deny');
        assert.match(empBg.reasons[0]!, /break-glass is not allowed for you on PLC-1/);

        const ven = await dec('vendor', 'PLC-1', MON_0900_BERLIN);
        assert.deepEqual(ven.breakGlass, { available: true, used: false });
        assert.ok(ven.reasons.includes('break-glass allowed (rule: Vendors break glass)'));
        const bg = await decide(t.database.db, { user: await userRow('vendor'), asset: assets['PLC-1']!, method: { protocol: 'ssh', port: 22 }, at: new Date(MON_0900_BERLIN), activeSessionsOnSite: 0, siteMaxConnections: 10, siteTimezone: 'Europe/Berlin', breakGlass: true });
        assert.equal(bg.outcome, 'allow');
        assert.deepEqual(bg.breakGlass, { available: true, used: true });
        assert.equal(bg.constraints.watchRequired, false);
        assert.equal(bg.constraints.sessionApproval, undefined);
        assert.match(bg.reasons[0]!, /^break-glass: approvals and moderation bypassed \(rule: Vendors break glass\)/);
        // Break-glass never lifts a denial: outside the windows it stays a deny.
        const telnet = await decide(t.database.db, { user: await userRow('vendor'), asset: assets['PLC-1']!, method: { protocol: 'telnet', port: 99 }, at: new Date(MON_0900_BERLIN), activeSessionsOnSite: 0, siteMaxConnections: 10, siteTimezone: 'Europe/Berlin', breakGlass: true });
        assert.equal(telnet.outcome, 'deny');
        assert.match(telnet.reasons.join(' '), /no telnet access on port 99/);
        // Nothing to bypass: break-glass is refused, and not offered.
        const hist = await decide(t.database.db, { user: await userRow('vendor'), asset: assets['HIST-3']!, method: { protocol: 'ssh', port: 22 }, at: new Date(MON_0900_BERLIN), activeSessionsOnSite: 0, siteMaxConnections: 10, siteTimezone: 'Europe/Berlin', breakGlass: true });
        assert.equal(hist.outcome, 'deny');
        assert.match(hist.reasons[0]!, /not allowed for you on HIST-3/, 'the break-glass rule targets PLC-1 only');
      });
    });

    it('Purdue-level defaults: off until enabled; then level 0-1 dual approval + moderator, level 2 one approval, level 3 grant-based', async () => {
      const initial = await getPolicyDefaults(t.database.db);
      assert.equal(initial.enabled, false);
      assert.equal((await dec('employee', 'PLC-1', MON_0900_BERLIN)).outcome, 'allow');
      await updatePolicyDefaults(t.ctx, { enabled: true });
      try {
        const l1 = await dec('employee', 'PLC-1', MON_0900_BERLIN);
        assert.equal(l1.outcome, 'require_approval');
        assert.deepEqual(l1.constraints.approvals, { count: 2, noSelfApproval: true });
        assert.equal(l1.constraints.watchRequired, true);
        assert.equal(l1.reasons[0], 'needs 2 approvals (dual authorization), never by the requester (default for Purdue level 1)');
        assert.deepEqual(l1.rules, [{ id: null, name: 'Purdue level 1 default', effect: 'allow' }]);
        const l2 = await dec('employee', 'HMI-2', MON_0900_BERLIN, 'vnc');
        assert.equal(l2.outcome, 'require_approval');
        assert.deepEqual(l2.constraints.approvals, { count: 1, noSelfApproval: true });
        assert.equal(l2.constraints.watchRequired, false);
        const l3 = await dec('employee', 'HIST-3', MON_0900_BERLIN);
        assert.equal(l3.outcome, 'allow');
        assert.equal(l3.constraints.approvals, undefined);
        // An admin changes level 3: an idle timeout, still no approval; and an explicit rule stays stricter.
        await updatePolicyDefaults(t.ctx, { levels: { '3': { idleTimeoutMinutes: 20 } } });
        await withRules([{ name: 'Historian short idle', subjects: { everyone: true }, targets: { assets: [assets['HIST-3']!.id] }, idleTimeoutMinutes: 5 }], async () => {
          assert.equal((await dec('employee', 'HIST-3', MON_0900_BERLIN)).constraints.idleTimeoutMinutes, 5);
        });
        assert.equal((await dec('employee', 'HIST-3', MON_0900_BERLIN)).constraints.idleTimeoutMinutes, 20);
        // A deny still wins over the default's approval requirement.
        await withRules([{ name: 'No safety systems', effect: 'deny', subjects: { everyone: true }, targets: { namePatterns: ['SIS-*'] } }], async () => {
          assert.equal((await dec('employee', 'SIS-01', MON_0900_BERLIN)).outcome, 'deny');
        });
      } finally {
        await updatePolicyDefaults(t.ctx, { enabled: false, levels: { '3': { idleTimeoutMinutes: null } } });
      }
    });

    it('the approved-request hook: enough distinct approvers from the group, never the requester, inside the window', async () => {
      const req = (over: Partial<ApprovedRequest> = {}): ApprovedRequest => ({
        id: 'req-1', requesterId: users.employee!, approverIds: [users['approver.a']!, users['approver.b']!], assetId: assets['PLC-1']!.id, protocols: ['ssh'],
        validFrom: '2026-11-23T07:00:00Z', validUntil: '2026-11-23T09:30:00Z', ...over,
      });
      await withRules([{ name: 'Dual authorization', subjects: { everyone: true }, targets: { assets: [assets['PLC-1']!.id] }, approvals: { required: 2, groupId: groups.approvers }, maxSessionMinutes: 240 }], async () => {
        const ok = await dec('employee', 'PLC-1', MON_0900_BERLIN, 'ssh', { approvedRequest: req() });
        assert.equal(ok.outcome, 'allow');
        assert.equal(ok.approvedRequestId, 'req-1');
        assert.equal(ok.constraints.maxSessionMinutes, 90, 'the session may last only until the approved window ends');
        assert.match(ok.reasons[1]!, /approved access request req-1, valid until 2026-11-23 09:30 UTC/);
        const self = await dec('employee', 'PLC-1', MON_0900_BERLIN, 'ssh', { approvedRequest: req({ approverIds: [users.employee!, users['approver.a']!, users['approver.a']!] }) });
        assert.equal(self.outcome, 'require_approval');
        assert.match(self.reasons[1]!, /has 1 of 2 required approvals from group Shift leads \(self-approval does not count\)/);
        const outsider = await dec('employee', 'PLC-1', MON_0900_BERLIN, 'ssh', { approvedRequest: req({ approverIds: [users['approver.a']!, users['approver.c']!] }) });
        assert.match(outsider.reasons[1]!, /has 1 of 2/, 'approver.c is not in the approver group');
        assert.match((await dec('employee', 'PLC-1', '2026-11-23T09:30:00Z', 'ssh', { approvedRequest: req() })).reasons[1]!, /ended 2026-11-23 09:30 UTC/);
        assert.match((await dec('employee', 'PLC-1', MON_0900_BERLIN, 'telnet', { approvedRequest: req() })).reasons.join(' '), /does not cover telnet/);
        assert.match((await dec('vendor', 'PLC-1', MON_0900_BERLIN, 'ssh', { approvedRequest: req() })).reasons[1]!, /made by another user/);
        // The registered source (what the request workflow will provide) is asked when no request is passed.
        setApprovedRequestSource(async (_ex, q) => (q.userId === users.employee && q.assetId === assets['PLC-1']!.id ? req() : undefined));
        try {
          assert.equal((await dec('employee', 'PLC-1', MON_0900_BERLIN)).outcome, 'allow');
          assert.equal((await dec('employee', 'PLC-1', MON_0900_BERLIN, 'ssh', { approvedRequest: null })).outcome, 'require_approval', 'null: do not ask');
        } finally {
          setApprovedRequestSource(undefined);
        }
        assert.equal((await dec('employee', 'PLC-1', MON_0900_BERLIN)).outcome, 'require_approval');
      });
    });

    it('an update is re-validated as a whole rule', async () => {
      await withRules([{ name: 'Editable', subjects: { everyone: true }, targets: { all: true } }], async ([id]) => {
        await assert.rejects(updateRule(t.ctx, id!, { effect: 'deny', maxSessionMinutes: 30 }), /a deny rule refuses access outright/);
        await assert.rejects(updateRule(t.ctx, id!, { validFrom: '2027-01-01', validUntil: '2026-01-01' }), /validUntil must be after validFrom/);
        const r = await updateRule(t.ctx, id!, { maxSessionMinutes: 30, subjects: { everyone: false, users: [users.vendor!], groups: [] } });
        assert.equal(r.maxSessionMinutes, 30);
        assert.equal(r.labels[users.vendor!], 'acme.jo');
        assert.equal((await dec('vendor', 'PLC-1', MON_0900_BERLIN)).constraints.maxSessionMinutes, 30);
        assert.equal((await dec('employee', 'PLC-1', MON_0900_BERLIN)).constraints.maxSessionMinutes, undefined);
      });
    });
  });
}
