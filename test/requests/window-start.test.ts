/**
 * The request sweeper announces approved windows as they open (issue 6): one window_starting email
 * to the requester and one request.window_started webhook per window, or per occurrence of a
 * recurring series, at its start on the gateway's injectable clock; never twice (also not from two
 * gateways sweeping one database, nor after an extension), and recurring occurrences at their
 * local times across both daylight-saving changes in Europe/Berlin. Both storage back ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RequestWorkflow } from '../../src/server/requests/workflow.js';
import { ManualClock } from '../helpers/clock.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';
import { DIALECTS } from '../helpers/pg.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** The EU changes: the last Sunday of March / October, at 01:00 UTC. */
function lastSunday(year: number, month0: number): number {
  const last = Date.UTC(year, month0 + 1, 0);
  return last - new Date(last).getUTCDay() * DAY;
}

/**
 * The next spring-forward and fall-back Sundays (00:00 UTC of that day) at least 3 days from now,
 * with Berlin's UTC offset (hours) before and after the change: worked out by hand from the EU
 * rule, independent of the gateway's time-zone code.
 */
function nextChanges(now: number): { name: string; day: number; before: number; after: number }[] {
  const pick = (month0: number) => {
    const y = new Date(now).getUTCFullYear();
    for (const year of [y, y + 1]) {
      const d = lastSunday(year, month0);
      if (d - 2 * DAY > now + DAY) return d;
    }
    throw new Error('unreachable');
  };
  return [
    { name: 'spring forward', day: pick(2), before: 1, after: 2 },
    { name: 'fall back', day: pick(9), before: 2, after: 1 },
  ].sort((a, b) => a.day - b.day);
}

const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** "28 Mar 2027, 08:00 (Europe/Berlin)" as the templates print a local wall-clock time. */
const local = (dayMs: number, hhmm: string) => {
  const d = new Date(dayMs);
  return `${String(d.getUTCDate()).padStart(2, '0')} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${hhmm} (Europe/Berlin)`;
};
const hm = (h: number, m = 0) => (h * 60 + m) * MIN;

for (const dialect of DIALECTS) {
  describe(`window_starting announcements on ${dialect}`, () => {
    let t: TestGateway;
    let admin: ApiClient;
    const clock = new ManualClock();
    const ids: Record<string, string> = {};

    const to = (ms: number) => {
      assert.ok(ms >= clock.now(), `the clock only moves forward (${new Date(ms).toISOString()})`);
      clock.advance(ms - clock.now());
    };
    const starting = () => t.gw.database.db.selectFrom('email_outbox').selectAll().where('template', '=', 'window_starting').orderBy('created_at').orderBy('id').execute();
    const hooks = async () =>
      (await t.gw.database.db.selectFrom('webhook_deliveries').select(['event', 'body', 'created_at']).where('event', '=', 'request.window_started').orderBy('created_at').execute()).map(
        (d) => JSON.parse(d.body) as { event: string; occurredAt: string; data: { requestId: string; window: { start: string; end: string } } },
      );
    const create = async (body: Record<string, unknown>) => {
      const r = await admin.post('/api/v1/requests', { userId: ids.vendor, assets: [ids.hmi], protocols: ['ssh'], purpose: 'Maintenance', ...body });
      assert.equal(r.status, 201, r.text);
      const ok = await admin.post(`/api/v1/requests/${r.json.id}/approve`, {});
      assert.equal(ok.json.state, 'approved', ok.text);
      return r.json as { id: string; start: string; end: string };
    };

    before(async () => {
      t = await startGateway({ tls: false, dialect, clock });
      admin = await adminClient(t);
      // Email on (the server refuses connections: the rows stay in the outbox).
      assert.equal((await admin.request('PUT', '/api/v1/settings/smtp', { enabled: true, host: '127.0.0.1', port: 2, security: 'none', fromAddress: 'portcullis@plant.test' })).status, 200);
      const hook = await admin.post('/api/v1/webhooks', { name: 'Shift chat', url: 'http://127.0.0.1:9/hook', events: ['request.window_started'], secret: 'window-start-secret-0123456789', allowRestricted: true });
      assert.equal(hook.status, 201, hook.text);
      ids.site = (await admin.post('/api/v1/sites', { name: 'Werk Berlin', timezone: 'Europe/Berlin', maxConnections: 5 })).json.id;
      const a = await admin.post('/api/v1/assets', { name: 'HMI-7', siteId: ids.site, purdueLevel: 2, host: '10.0.0.7', accessMethods: [{ protocol: 'ssh' }] });
      assert.equal(a.status, 201, a.text);
      ids.hmi = a.json.id;
      ids.vendor = (await admin.post('/api/v1/users', { username: 'acme.kim', role: 'Client', email: 'acme.kim@plant.test' })).json.user.id;
      await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids.vendor, targetType: 'site', target: ids.site });
      assert.equal((await admin.post('/api/v1/policy/rules', { name: 'HMI-7 by request', subjects: { everyone: true }, targets: { assets: [ids.hmi] }, approvals: { required: 1 } })).status, 201);
    });
    after(async () => {
      await t?.stop();
    });

    it('a one-off window: announced once at its start, not again after an extension approved mid-window', async () => {
      const start = Math.ceil((clock.now() + 2 * HOUR) / MIN) * MIN;
      const req = await create({ start: new Date(start).toISOString(), durationMinutes: 60 });
      to(start - 1000);
      await t.gw.requests.sweep();
      assert.equal((await starting()).length, 0, 'not before the start');
      to(start);
      await t.gw.requests.sweep();
      const mails = await starting();
      assert.equal(mails.length, 1);
      assert.deepEqual(JSON.parse(mails[0]!.recipients), ['acme.kim@plant.test']);
      assert.equal(mails[0]!.created_at, new Date(start).toISOString(), 'queued at the start');
      assert.match(mails[0]!.subject, /Your access window starts now: HMI-7/);
      assert.match(mails[0]!.text_body, /From: .+ \(Europe\/Berlin\)\nUntil: .+ \(Europe\/Berlin\)/, 'in the request\'s (the site\'s) time zone');
      const ev = await hooks();
      assert.equal(ev.length, 1);
      assert.equal(ev[0]!.data.requestId, req.id);
      assert.deepEqual(ev[0]!.data.window, { start: req.start, end: req.end });
      const row = await t.gw.database.db.selectFrom('access_requests').select('announced_start_at').where('id', '=', req.id).executeTakeFirstOrThrow();
      assert.equal(row.announced_start_at, req.start);

      to(start + 20 * MIN);
      await t.gw.requests.sweep();
      const newEnd = new Date(Date.parse(req.end) + HOUR).toISOString();
      assert.equal((await admin.post(`/api/v1/requests/${req.id}/extend`, { end: newEnd })).status, 200);
      assert.equal((await admin.post(`/api/v1/requests/${req.id}/approve`, {})).json.end, newEnd);
      to(start + 30 * MIN);
      await t.gw.requests.sweep();
      to(Date.parse(newEnd) + MIN);
      await t.gw.requests.sweep();
      assert.equal((await starting()).length, 1, 'the same window: announced once');
      assert.equal((await hooks()).length, 1);
    });

    it('two gateways sweeping one database announce a window once', async () => {
      const start = Math.ceil((clock.now() + HOUR) / MIN) * MIN;
      const req = await create({ start: new Date(start).toISOString(), durationMinutes: 30 });
      const other = new RequestWorkflow({ db: t.gw.database.db, notify: t.gw.notify, sessions: { terminateOn: async () => 0, warnOn: async () => {}, refreshLimits: async () => {} }, clock, logger: t.gw.logger });
      const before = (await starting()).length;
      to(start);
      await Promise.all([t.gw.requests.sweep(), other.sweep(), other.sweep(), t.gw.requests.sweep()]);
      assert.equal((await starting()).length, before + 1);
      assert.equal((await hooks()).filter((e) => e.data.requestId === req.id).length, 1);
      to(start + 31 * MIN);
    });

    it('recurring windows: each occurrence announced once, at its local start, across both daylight-saving changes (Europe/Berlin)', async () => {
      // Sat and Mon 08:00-10:00, and a Sunday night window 01:30-03:30 across the change itself.
      const windows = [
        { days: ['sat', 'mon'], start: '08:00', end: '10:00' },
        { days: ['sun'], start: '01:30', end: '03:30' },
        { days: ['sun'], start: '08:00', end: '10:00' },
      ];
      const changes = nextChanges(clock.now());
      // Every request is submitted and approved now (the series start less than a year ahead).
      const series = [];
      for (const c of changes) {
        assert.equal(DAYS[new Date(c.day).getUTCDay()], 'sun');
        const sat = c.day - DAY;
        const mon = c.day + DAY;
        const req = await create({ start: new Date(c.day - 2 * DAY + hm(12)).toISOString(), recurrence: { windows, until: ymd(mon) }, timeZone: 'Europe/Berlin' });
        // Local wall clock minus the offset in force: before the change on Saturday and at 01:30, after it from 03:00.
        const expected = [
          { start: sat + hm(8) - c.before * HOUR, end: sat + hm(10) - c.before * HOUR, from: local(sat, '08:00'), until: local(sat, '10:00') },
          { start: c.day + hm(1, 30) - c.before * HOUR, end: c.day + hm(3, 30) - c.after * HOUR, from: local(c.day, '01:30'), until: local(c.day, '03:30') },
          { start: c.day + hm(8) - c.after * HOUR, end: c.day + hm(10) - c.after * HOUR, from: local(c.day, '08:00'), until: local(c.day, '10:00') },
          { start: mon + hm(8) - c.after * HOUR, end: mon + hm(10) - c.after * HOUR, from: local(mon, '08:00'), until: local(mon, '10:00') },
        ];
        assert.equal(req.start, new Date(expected[0]!.start).toISOString(), `${c.name}: the series starts with its first window`);
        series.push({ c, req, expected });
      }
      for (const { c, req, expected } of series) {
        const night = expected[1]!;
        assert.equal(night.end - night.start, (c.before < c.after ? 1 : 3) * HOUR, `${c.name}: the night window is ${c.before < c.after ? 'an hour shorter' : 'an hour longer'}`);
        for (const w of expected) {
          const label = `${c.name} ${new Date(w.start).toISOString()}`;
          const n = (await starting()).length;
          to(w.start - 1000);
          await t.gw.requests.sweep();
          assert.equal((await starting()).length, n, `${label}: nothing a second before the start`);
          to(w.start);
          await t.gw.requests.sweep();
          const mails = await starting();
          assert.equal(mails.length, n + 1, `${label}: one email at the start`);
          const m = mails.at(-1)!;
          assert.equal(m.created_at, new Date(w.start).toISOString(), label);
          assert.deepEqual(JSON.parse(m.recipients), ['acme.kim@plant.test']);
          assert.ok(m.text_body.includes(`From: ${w.from}`), `${label}: ${m.text_body}`);
          assert.ok(m.text_body.includes(`Until: ${w.until}`), `${label}: ${m.text_body}`);
          const ev = (await hooks()).filter((e) => e.data.requestId === req.id).at(-1)!;
          assert.deepEqual(ev.data.window, { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() }, label);
          // Later sweeps inside the same occurrence send nothing more.
          to(w.start + 15 * MIN);
          await t.gw.requests.sweep();
          to(w.end - MIN);
          await t.gw.requests.sweep();
          assert.equal((await starting()).length, n + 1, `${label}: once per occurrence`);
        }
        to(Date.parse(req.end) + HOUR);
        await t.gw.requests.sweep();
        const all = (await hooks()).filter((e) => e.data.requestId === req.id);
        assert.deepEqual(all.map((e) => e.data.window.start), expected.map((w) => new Date(w.start).toISOString()), `${c.name}: one webhook per occurrence`);
        assert.deepEqual(all.map((e) => e.occurredAt), expected.map((w) => new Date(w.start).toISOString()));
      }
    });
  });
}
