import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createSecretBox } from '../../src/server/crypto/secretbox.js';
import { createLogger } from '../../src/server/logger.js';
import { backoffMs, EMAIL_RETRY, Notifier } from '../../src/server/notify/notifier.js';
import { signPayload } from '../../src/server/notify/signing.js';
import { putSmtpSettings } from '../../src/server/notify/smtp-settings.js';
import { createWebhook } from '../../src/server/notify/webhooks.js';
import { ManualClock } from '../helpers/clock.js';
import { openTestDatabase } from '../helpers/db.js';
import { DIALECTS } from '../helpers/pg.js';
import { deadPort, startReceiver, startSmtp } from './helpers.js';

const SECRET = 'whsec-0123456789abcdef-ITSM';

for (const dialect of DIALECTS) {
  describe(`notification outbox on ${dialect}`, () => {
    let t: Awaited<ReturnType<typeof openTestDatabase>>;
    const secrets = createSecretBox(randomBytes(32));
    const logger = createLogger('silent');
    before(async () => {
      t = await openTestDatabase(dialect);
    });
    after(async () => {
      await t?.cleanup();
    });
    const ctx = () => ({ ...t.ctx, secrets });

    it('retries an email with exponential backoff while the server is down, then gives up and audits', async () => {
      const port = await deadPort();
      await putSmtpSettings(ctx(), { enabled: true, host: '127.0.0.1', port, security: 'none', username: '', fromAddress: 'portcullis@plant.test', fromName: 'Portcullis', acceptSelfSigned: false, heloName: '' });
      const clock = new ManualClock();
      const n = new Notifier({ db: t.database.db, secrets, logger, clock, email: { maxAttempts: 4 } });
      const id = await n.email('window_ending', ['vendor@plant.test'], { requestId: 'r-1', assets: ['PLC-07'], end: '2026-03-10T10:00:00Z' });
      assert.ok(id);
      const row = () => t.database.db.selectFrom('email_outbox').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();

      let r = await n.runDue();
      assert.equal(r.emailsRetrying, 1);
      let o = await row();
      assert.equal(o.state, 'queued');
      assert.equal(o.attempts, 1);
      assert.match(o.last_error!, /connection refused/);
      assert.equal(Date.parse(o.next_attempt_at) - clock.now(), backoffMs(EMAIL_RETRY, 1));
      assert.equal(backoffMs(EMAIL_RETRY, 1), 30_000);

      // Not due yet: nothing happens.
      clock.advance(29_000);
      r = await n.runDue();
      assert.equal(r.emailsRetrying, 0);
      assert.equal((await row()).attempts, 1);

      clock.advance(1_000);
      await n.runDue();
      o = await row();
      assert.equal(o.attempts, 2);
      assert.equal(Date.parse(o.next_attempt_at) - clock.now(), 60_000, 'doubles');

      clock.advance(60_000);
      await n.runDue();
      o = await row();
      assert.equal(o.attempts, 3);
      assert.equal(Date.parse(o.next_attempt_at) - clock.now(), 120_000);

      clock.advance(120_000);
      r = await n.runDue();
      assert.equal(r.emailsFailed, 1);
      o = await row();
      assert.equal(o.state, 'failed');
      assert.equal(o.attempts, 4);
      const ev = await t.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'notify.email_failed').where('target_id', '=', id!).executeTakeFirstOrThrow();
      assert.equal(ev.result, 'failure');
      assert.equal(ev.actor_name, 'system');
      const details = JSON.parse(ev.details);
      assert.deepEqual(details.recipients, ['vendor@plant.test']);
      assert.equal(details.attempts, 4);
      assert.match(details.error, /connection refused/);

      // Nothing more is tried.
      clock.advance(10 * 3_600_000);
      r = await n.runDue();
      assert.equal(r.emailsRetrying + r.emailsFailed + r.emailsSent, 0);
      await n.stop();
    });

    it('sends what was waiting once the server is back (background sender on the injected clock)', async () => {
      const smtp = await startSmtp();
      try {
        const port = await deadPort();
        await putSmtpSettings(ctx(), { enabled: true, host: '127.0.0.1', port, security: 'none', username: '', fromAddress: 'portcullis@plant.test', fromName: '', acceptSelfSigned: false, heloName: '' });
        const clock = new ManualClock();
        const n = new Notifier({ db: t.database.db, secrets, logger, clock, pollMs: 5000 });
        n.start();
        const id = await n.email('request_decided', ['vendor@plant.test'], { requestId: 'r-2', decision: 'denied', decidedBy: { username: 'alice' }, comment: 'Not during the shutdown.', assets: ['PLC-07'], start: '2026-03-10T08:00:00Z', end: '2026-03-10T10:00:00Z' });
        clock.advance(10); // the kick after enqueue
        await n.idle();
        const first = await t.database.db.selectFrom('email_outbox').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
        assert.equal(first.state, 'queued');
        assert.equal(first.attempts, 1);
        // The server comes back at another port: the admin fixes the settings.
        await putSmtpSettings(ctx(), { enabled: true, host: '127.0.0.1', port: smtp.port, security: 'none', username: '', fromAddress: 'portcullis@plant.test', fromName: '', acceptSelfSigned: false, heloName: '' });
        // The sender polls every 5 s of the injected clock; the retry is due 30 s after the first attempt.
        for (let i = 0; i < 6; i++) {
          clock.advance(5000);
          await n.idle();
        }
        await smtp.waitFor(1);
        const m = smtp.messages[0]!;
        assert.deepEqual(m.envelopeTo, ['vendor@plant.test']);
        assert.match(m.headers.get('subject')!, /was denied/);
        assert.match(m.text, /Comment:\n> Not during the shutdown\./);
        const sent = await t.database.db.selectFrom('email_outbox').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
        assert.equal(sent.state, 'sent');
        assert.equal(sent.attempts, 2);
        await n.stop();
      } finally {
        await smtp.close();
      }
    });

    it('delivers signed webhooks, retries on HTTP 500 with backoff, and gives up with an audit', async () => {
      const rx = await startReceiver([500, 500]);
      try {
        const clock = new ManualClock();
        const n = new Notifier({ db: t.database.db, secrets, logger, clock, webhook: { maxAttempts: 3, baseDelayMs: 10_000 } });
        const hook = await createWebhook(ctx(), { name: `ITSM ${dialect}`, url: rx.url, events: ['request.*'], secret: SECRET, enabled: true, allowRestricted: true });
        assert.equal(await n.emit('session.started', { sessionId: 's1' }), 0, 'filtered out');
        assert.equal(await n.emit('request.approved', { requestId: 'r-9', approvedBy: 'alice' }), 1);

        let r = await n.runDue();
        assert.equal(r.webhooksRetrying, 1);
        clock.advance(10_000);
        r = await n.runDue();
        assert.equal(r.webhooksRetrying, 1);
        clock.advance(19_999);
        r = await n.runDue();
        assert.equal(r.webhooksRetrying + r.webhooksDelivered, 0, 'second backoff is 20 s');
        clock.advance(1);
        r = await n.runDue();
        assert.equal(r.webhooksDelivered, 1);
        assert.equal(rx.requests.length, 3);

        // Every attempt: same delivery id, fresh timestamp, valid signature over `${timestamp}.${body}`.
        const ids = new Set(rx.requests.map((q) => q.headers['x-portcullis-delivery']));
        assert.equal(ids.size, 1);
        for (const q of rx.requests) {
          const ts = Number(q.headers['x-portcullis-timestamp']);
          assert.equal(q.headers['x-portcullis-signature'], signPayload(SECRET, ts, q.body));
          assert.equal(q.headers['x-portcullis-event'], 'request.approved');
          assert.equal(q.headers['content-type'], 'application/json');
        }
        const body = JSON.parse(rx.requests[2]!.body);
        assert.equal(body.id, [...ids][0]);
        assert.equal(body.event, 'request.approved');
        assert.deepEqual(body.data, { requestId: 'r-9', approvedBy: 'alice' });
        assert.notEqual(rx.requests[0]!.headers['x-portcullis-timestamp'], rx.requests[2]!.headers['x-portcullis-timestamp']);
        const h = await t.database.db.selectFrom('webhooks').selectAll().where('id', '=', hook.id).executeTakeFirstOrThrow();
        assert.equal(h.last_delivery_state, 'delivered');

        // A receiver that keeps failing: given up after 3 attempts, audited.
        rx.statuses.push(500, 500, 500);
        await n.emit('request.denied', { requestId: 'r-10' });
        await n.runDue();
        clock.advance(10_000);
        await n.runDue();
        clock.advance(20_000);
        r = await n.runDue();
        assert.equal(r.webhooksFailed, 1);
        const failed = await t.database.db.selectFrom('webhook_deliveries').selectAll().where('event', '=', 'request.denied').executeTakeFirstOrThrow();
        assert.equal(failed.state, 'failed');
        assert.equal(failed.last_status, 500);
        assert.match(failed.last_error!, /HTTP 500: receiver is broken/);
        const ev = await t.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'notify.webhook_failed').executeTakeFirstOrThrow();
        assert.equal(JSON.parse(ev.details).deliveryId, failed.id);
        const h2 = await t.database.db.selectFrom('webhooks').selectAll().where('id', '=', hook.id).executeTakeFirstOrThrow();
        assert.equal(h2.last_delivery_state, 'failed');
        // The secret is nowhere in clear in the database or the audit.
        const audit = await t.database.db.selectFrom('audit_events').select('details').execute();
        assert.ok(!audit.some((a) => a.details.includes(SECRET)));
        assert.ok(!h2.secret_enc.includes(SECRET));
        await n.stop();
      } finally {
        await rx.close();
      }
    });

    it('stops without waiting for a silent mail server; the message goes back to the queue', async () => {
      // A "server" that accepts connections and never greets.
      const sockets: import('node:net').Socket[] = [];
      const silent = net.createServer((s) => sockets.push(s));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      try {
        const port = (silent.address() as import('node:net').AddressInfo).port;
        await putSmtpSettings(ctx(), { enabled: true, host: '127.0.0.1', port, security: 'none', username: '', fromAddress: 'portcullis@plant.test', fromName: '', acceptSelfSigned: false, heloName: '' });
        const n = new Notifier({ db: t.database.db, secrets, logger, clock: new ManualClock() });
        const id = await n.email('window_starting', ['vendor@plant.test'], { requestId: 'r-3', assets: ['PLC-07'], start: '2026-03-10T08:00:00Z', end: '2026-03-10T10:00:00Z' });
        const run = n.runDue();
        const until = Date.now() + 5000;
        while (!sockets.length) {
          assert.ok(Date.now() < until, 'the sender connected');
          await new Promise((r) => setTimeout(r, 20));
        }
        const t0 = Date.now();
        await n.stop();
        await run;
        assert.ok(Date.now() - t0 < 2000, `stop took ${Date.now() - t0} ms`);
        const o = await t.database.db.selectFrom('email_outbox').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
        assert.equal(o.state, 'queued');
        assert.equal(o.attempts, 0, 'an interrupted send is not counted');
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => silent.close(() => r()));
      }
    });

    it('enqueues inside the caller transaction: a rollback queues nothing', async () => {
      const n = new Notifier({ db: t.database.db, secrets, logger, clock: new ManualClock() });
      const before = await t.database.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      await assert.rejects(
        t.database.db.transaction().execute(async (tx) => {
          assert.equal(await n.emit('request.created', { requestId: 'r-11' }, { ex: tx }), 1);
          throw new Error('the request was not created after all');
        }),
        /not created/,
      );
      const after = await t.database.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(after.n), Number(before.n));
      await n.stop();
    });

    it('two senders on one database never deliver the same item twice (lease)', async () => {
      const rx = await startReceiver();
      try {
        const clock = new ManualClock();
        const a = new Notifier({ db: t.database.db, secrets, logger, clock });
        const b = new Notifier({ db: t.database.db, secrets, logger, clock });
        await createWebhook(ctx(), { name: `Lease ${dialect}`, url: rx.url, events: ['session.*'], secret: SECRET, enabled: true, allowRestricted: true });
        for (let i = 0; i < 6; i++) await a.emit('session.ended', { i });
        await Promise.all([a.runDue(), b.runDue()]);
        const got = rx.requests.filter((q) => q.headers['x-portcullis-event'] === 'session.ended');
        assert.equal(got.length, 6);
        assert.equal(new Set(got.map((q) => q.headers['x-portcullis-delivery'])).size, 6);
        await a.stop();
        await b.stop();
      } finally {
        await rx.close();
      }
    });
  });
}
