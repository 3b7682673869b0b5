import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';
import { deadPort, startSmtp, type TestSmtp } from './helpers.js';

const PASSWORD = 'Smtp-Relay-Secret-42!';

/** Email end to end: SMTP settings API, "send test email", and notify.email() through the outbox to a real SMTP server. */
describe('email over SMTP (real smtp-server with AUTH and STARTTLS)', () => {
  let t: TestGateway;
  let c: ApiClient;
  let smtp: TestSmtp;
  let plain: TestSmtp;
  const log: string[] = [];

  before(async () => {
    smtp = await startSmtp({ auth: { user: 'portcullis', pass: PASSWORD }, starttls: true });
    plain = await startSmtp();
    const logTo = new Writable({
      write(chunk, _enc, cb) {
        log.push(String(chunk));
        cb();
      },
    });
    t = await startGateway({ tls: false, logLevel: 'debug', logTo });
    c = await adminClient(t);
  });
  after(async () => {
    await t?.stop();
    await smtp?.close();
    await plain?.close();
  });

  const settings = (extra: Record<string, unknown> = {}) => ({
    enabled: true,
    host: '127.0.0.1',
    port: smtp.port,
    security: 'starttls',
    username: 'portcullis',
    password: PASSWORD,
    fromAddress: 'portcullis@plant.test',
    fromName: 'Portcullis Gateway',
    acceptSelfSigned: true,
    heloName: 'gateway.plant.test',
    ...extra,
  });

  it('starts with email off, and a PUT stores the password write-only', async () => {
    const d = await c.get('/api/v1/settings/smtp');
    assert.equal(d.status, 200);
    assert.equal(d.json.enabled, false);
    assert.equal(d.json.hasPassword, false);
    const r = await c.request('PUT', '/api/v1/settings/smtp', settings());
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.hasPassword, true);
    assert.equal(r.json.password, undefined);
    assert.ok(!r.text.includes(PASSWORD));
    const g = await c.get('/api/v1/settings/smtp');
    assert.equal(g.json.hasPassword, true);
    assert.equal(g.json.port, smtp.port);
    assert.ok(!g.text.includes(PASSWORD));
  });

  it('sends a test email over STARTTLS with AUTH and reports success', async () => {
    const r = await c.post('/api/v1/settings/smtp/test', { to: 'ot-admin@plant.test' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.ok, true, r.json.message);
    assert.match(r.json.message, /STARTTLS, signed in as portcullis/);
    await smtp.waitFor(1);
    const m = smtp.messages[0]!;
    assert.deepEqual(m.envelopeTo, ['ot-admin@plant.test']);
    assert.equal(m.envelopeFrom, 'portcullis@plant.test');
    assert.equal(m.user, 'portcullis');
    assert.equal(m.secure, true, 'upgraded with STARTTLS before the message');
    assert.equal(m.headers.get('subject'), '[Portcullis] Test email');
    assert.equal(m.headers.get('to'), 'ot-admin@plant.test');
    assert.match(m.headers.get('from')!, /"?Portcullis Gateway"? <portcullis@plant\.test>/);
    assert.equal(m.headers.get('x-portcullis-template'), 'test');
    assert.equal(m.headers.get('auto-submitted'), 'auto-generated');
    assert.match(m.text, /Test email from Portcullis/);
    assert.match(m.text, /Sent by: admin/);
    assert.match(m.html, /<h2[^>]*>Test email from Portcullis<\/h2>/);
  });

  it('says "authentication failed" for a wrong password', async () => {
    const put = await c.request('PUT', '/api/v1/settings/smtp', settings({ password: 'wrong-password-123' }));
    assert.equal(put.status, 200, put.text);
    const r = await c.post('/api/v1/settings/smtp/test', { to: 'ot-admin@plant.test' });
    assert.equal(r.status, 200);
    assert.equal(r.json.ok, false);
    assert.match(r.json.message, /authentication failed/);
    assert.match(r.json.message, /portcullis/);
    assert.ok(!r.text.includes('wrong-password-123'));
  });

  it('says "TLS failure" for an untrusted self-signed certificate', async () => {
    await c.request('PUT', '/api/v1/settings/smtp', settings({ acceptSelfSigned: false }));
    const r = await c.post('/api/v1/settings/smtp/test', { to: 'ot-admin@plant.test' });
    assert.equal(r.json.ok, false);
    assert.match(r.json.message, /TLS failure/);
    assert.match(r.json.message, /self-signed/);
  });

  it('says "connection refused" when no server listens', async () => {
    const port = await deadPort();
    await c.request('PUT', '/api/v1/settings/smtp', settings({ port }));
    const r = await c.post('/api/v1/settings/smtp/test', { to: 'ot-admin@plant.test' });
    assert.equal(r.json.ok, false);
    assert.match(r.json.message, /connection refused by 127\.0\.0\.1:\d+/);
  });

  it('refuses to send a stored password to a new server without re-entering it', async () => {
    await c.request('PUT', '/api/v1/settings/smtp', settings());
    const { password: _p, ...noPassword } = settings({ host: 'mail.attacker.test' });
    const r = await c.request('PUT', '/api/v1/settings/smtp', noPassword);
    assert.equal(r.status, 400);
    assert.match(r.json.detail, /re-enter the password/);
    // The same server without the password keeps it.
    const same = await c.request('PUT', '/api/v1/settings/smtp', { ...noPassword, host: '127.0.0.1' });
    assert.equal(same.status, 200, same.text);
    assert.equal(same.json.hasPassword, true);
  });

  it('refuses credentials over an unencrypted connection, and works with an internal relay on plain SMTP', async () => {
    const r = await c.request('PUT', '/api/v1/settings/smtp', settings({ security: 'none', acceptSelfSigned: false }));
    assert.equal(r.status, 400);
    assert.match(r.json.detail, /clear text/);
    const relay = await c.request('PUT', '/api/v1/settings/smtp', { enabled: true, host: '127.0.0.1', port: plain.port, security: 'none', fromAddress: 'portcullis@plant.test' });
    assert.equal(relay.status, 200, relay.text);
    assert.equal(relay.json.hasPassword, false, 'no username: the password is dropped');
    const test = await c.post('/api/v1/settings/smtp/test', { to: 'relay@plant.test' });
    assert.equal(test.json.ok, true, test.json.message);
    assert.match(test.json.message, /no encryption, no authentication/);
    await plain.waitFor(1);
    assert.equal(plain.messages[0]!.secure, false);
  });

  it('notify.email() queues a break-glass message that the background sender delivers, escaped', async () => {
    await c.request('PUT', '/api/v1/settings/smtp', settings());
    const before = smtp.messages.length;
    const id = await t.gw.notify.email('break_glass', ['admin1@plant.test', 'ADMIN1@plant.test', 'admin2@plant.test', 'not-an-address'], {
      sessionId: '2f1d6b0e-52c4-4b8e-9d7e-2b6a1c9e0a11',
      user: { username: 'vendor.bob', displayName: 'Bob <Vendor>' },
      asset: 'PLC-07',
      protocol: 'ssh',
      reason: 'Line 3 stopped; <script>alert(1)</script> & no approver reachable',
      at: '2026-03-10T02:15:00Z',
      timeZone: 'Europe/Berlin',
    });
    assert.ok(id, 'queued');
    await smtp.waitFor(before + 1);
    const m = smtp.messages[before]!;
    assert.deepEqual(m.envelopeTo.sort(), ['admin1@plant.test', 'admin2@plant.test']);
    assert.equal(m.headers.get('x-portcullis-template'), 'break_glass');
    assert.match(m.headers.get('subject')!, /^\[Portcullis\] BREAK-GLASS access used by Bob <Vendor> \(vendor\.bob\) on PLC-07$/);
    assert.match(m.text, /Reason given:\n> Line 3 stopped; <script>alert\(1\)<\/script> & no approver reachable/);
    assert.match(m.text, /At: 10 Mar 2026, 03:15 \(Europe\/Berlin\)/);
    assert.ok(!m.html.includes('<script>'), 'HTML is escaped');
    assert.match(m.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; no approver/);
    // The outbox says sent.
    await t.gw.notify.idle();
    const ob = await c.get('/api/v1/notify/emails?state=sent');
    assert.ok(ob.json.items.some((e: { id: string; template: string }) => e.id === id && e.template === 'break_glass'));
  });

  it('queues nothing while email is turned off', async () => {
    await c.request('PUT', '/api/v1/settings/smtp', settings({ enabled: false }));
    const id = await t.gw.notify.email('window_ending', ['vendor@plant.test'], { requestId: 'r1', assets: ['PLC-07'], end: '2026-03-10T10:00:00Z' });
    assert.equal(id, null);
  });

  it('audits every change and test send, never the password; logs carry no password', async () => {
    const a = await c.get('/api/v1/audit?action=settings.smtp_update&limit=50');
    assert.ok(a.json.items.length >= 5);
    const tests = await c.get('/api/v1/audit?action=notify.smtp_test&limit=50');
    assert.ok(tests.json.items.some((e: { result: string }) => e.result === 'failure'));
    assert.ok(tests.json.items.some((e: { result: string }) => e.result === 'success'));
    const all = await c.get('/api/v1/audit?limit=500');
    assert.ok(!all.text.includes(PASSWORD), 'no password in the audit');
    assert.ok(!all.text.includes('wrong-password-123'));
    assert.ok(all.text.includes('smtpCredential'), 'the audit says the credential was replaced');
    const rows = await t.gw.database.db.selectFrom('settings').select('value').where('key', '=', 'smtp').executeTakeFirstOrThrow();
    assert.ok(!rows.value.includes(PASSWORD), 'sealed at rest');
    const logs = log.join('');
    assert.ok(logs.includes('email sent'), 'the sender logs');
    assert.ok(!logs.includes(PASSWORD) && !logs.includes('wrong-password-123'), 'no password in the logs');
    assert.ok(!logs.includes(Buffer.from(`\u0000portcullis\u0000${PASSWORD}`).toString('base64')), 'no AUTH PLAIN blob in the logs');
  });
});
