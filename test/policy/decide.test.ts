/** policy.decide, the broker's single seam: grants, login times in the site's time zone, account state, site limits (the rules: engine.test.ts). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getAsset } from '../../src/server/inventory/assets.js';
import { decide, type DecideInput } from '../../src/server/policy/decide.js';
import { describeWindows, localTime, withinWindows } from '../../src/server/policy/schedule.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';

describe('weekly login windows', () => {
  const weekdays = [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'] as ('mon' | 'tue' | 'wed' | 'thu' | 'fri')[], start: '06:00', end: '18:00' }];
  it('evaluates in the site time zone, across DST', () => {
    // 2026-11-23 is a Monday. 05:30 UTC = 06:30 in Berlin (CET, UTC+1).
    assert.deepEqual(localTime(new Date('2026-11-23T05:30:00Z'), 'Europe/Berlin'), { day: 'mon', hhmm: '06:30' });
    assert.equal(withinWindows(weekdays, new Date('2026-11-23T05:30:00Z'), 'Europe/Berlin'), true);
    assert.equal(withinWindows(weekdays, new Date('2026-11-23T05:30:00Z'), 'America/New_York'), false, '00:30 in New York');
    // Summer time: 2026-07-06 (Monday) 04:30 UTC = 06:30 CEST.
    assert.equal(withinWindows(weekdays, new Date('2026-07-06T04:30:00Z'), 'Europe/Berlin'), true);
    assert.equal(withinWindows(weekdays, new Date('2026-07-06T03:59:00Z'), 'Europe/Berlin'), false);
    // The end is exclusive; Saturday is out.
    assert.equal(withinWindows(weekdays, new Date('2026-11-23T17:00:00Z'), 'Europe/Berlin'), false);
    assert.equal(withinWindows(weekdays, new Date('2026-11-28T10:00:00Z'), 'Europe/Berlin'), false);
    assert.equal(withinWindows(null, new Date(), 'UTC'), true);
  });
  it('describes windows in words a user can read', () => {
    assert.equal(describeWindows([...weekdays, { days: ['sat'], start: '08:00', end: '12:00' }], 'Europe/Berlin'), 'Mon-Fri 06:00-18:00; Sat 08:00-12:00 Europe/Berlin');
  });
});

describe('policy.decide', () => {
  let t: TestGateway;
  let admin: ApiClient;
  let input: DecideInput;
  before(async () => {
    t = await startGateway({ tls: false });
    admin = await adminClient(t);
    const site = (await admin.post('/api/v1/sites', { name: 'Decide plant', timezone: 'Europe/Berlin', maxConnections: 2 })).json;
    const a = (await admin.post('/api/v1/assets', { name: 'HMI-D', siteId: site.id, purdueLevel: 2, host: '10.2.2.2', accessMethods: [{ protocol: 'vnc' }, { protocol: 'ssh' }], loginTimes: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '06:00', end: '18:00' }] })).json;
    const u = (await admin.post('/api/v1/users', { username: 'decide.user', role: 'Client' })).json.user;
    const row = await t.gw.database.db.selectFrom('users').selectAll().where('id', '=', u.id).executeTakeFirstOrThrow();
    input = { user: row, asset: await getAsset(t.gw.database.db, a.id), method: { protocol: 'ssh', port: 22, options: {} }, at: new Date('2026-11-23T09:00:00Z'), activeSessionsOnSite: 0, siteMaxConnections: 2, siteTimezone: 'Europe/Berlin' };
  });
  after(async () => {
    await t?.stop();
  });

  it('denies without a grant, with the reason', async () => {
    const d = await decide(t.gw.database.db, input);
    assert.deepEqual({ outcome: d.outcome, reasons: d.reasons, prohibited: d.prohibited }, { outcome: 'deny', reasons: ['no grant gives you access to HMI-D'], prohibited: false });
  });

  it('allows with a grant inside the window, and names every reason to deny otherwise', async () => {
    await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: input.user.id, targetType: 'asset', target: input.asset.id });
    assert.equal((await decide(t.gw.database.db, input)).outcome, 'allow');
    const d = await decide(t.gw.database.db, { ...input, at: new Date('2026-11-28T09:00:00Z'), method: { protocol: 'telnet', port: 23, options: {} }, activeSessionsOnSite: 2 });
    assert.equal(d.outcome, 'deny');
    assert.deepEqual(d.reasons, [
      'asset HMI-D has no telnet access on port 23',
      'outside the allowed login times (Mon-Fri 06:00-18:00 Europe/Berlin)',
      'site Decide plant already has 2 of 2 allowed connections',
    ]);
    const disabled = await decide(t.gw.database.db, { ...input, user: { ...input.user, status: 'disabled' } });
    assert.deepEqual(disabled.reasons, ['your account is disabled']);
  });
});
