import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { signPayload } from '../../src/server/notify/signing.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startReceiver } from './helpers.js';

const SECRET = 'whsec-ITSM-9f8e7d6c5b4a3928';
const SECRET2 = 'whsec-rotated-1a2b3c4d5e6f7788';

describe('outbound webhooks API (real HTTP receiver)', () => {
  let t: TestGateway;
  let c: ApiClient;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let id: string;
  const log: string[] = [];

  before(async () => {
    rx = await startReceiver();
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
    await rx?.close();
  });

  it('refuses non-http URLs and, by default, link-local, metadata and loopback targets', async () => {
    const base = { name: 'ITSM', secret: SECRET };
    const ftp = await c.post('/api/v1/webhooks', { ...base, url: 'ftp://itsm.plant.test/hook' });
    assert.equal(ftp.status, 400);
    assert.match(ftp.json.detail, /http:\/\/ or https:\/\//);
    const meta = await c.post('/api/v1/webhooks', { ...base, url: 'http://169.254.169.254/latest/meta-data/' });
    assert.equal(meta.status, 400);
    assert.match(meta.json.detail, /metadata address.*SSRF/);
    const local = await c.post('/api/v1/webhooks', { ...base, url: rx.url });
    assert.equal(local.status, 400);
    assert.match(local.json.detail, /loopback/);
    const creds = await c.post('/api/v1/webhooks', { ...base, url: 'https://user:pw@itsm.plant.test/hook' });
    assert.equal(creds.status, 400);
    assert.match(creds.json.detail, /user name or password/);
  });

  it('creates a webhook with a write-only secret (admin override for the local receiver)', async () => {
    const r = await c.post('/api/v1/webhooks', { name: 'ITSM', url: rx.url, events: ['request.*', 'break_glass.used'], secret: SECRET, allowRestricted: true });
    assert.equal(r.status, 201, r.text);
    id = r.json.id;
    assert.equal(r.json.hasSecret, true);
    assert.equal(r.json.secret, undefined);
    assert.equal(r.json.lastDelivery, null);
    const list = await c.get('/api/v1/webhooks');
    assert.equal(list.json.items.length, 1);
    assert.ok(!list.text.includes(SECRET) && !r.text.includes(SECRET));
    const dup = await c.post('/api/v1/webhooks', { name: 'itsm', url: 'https://itsm.plant.test/hook', secret: SECRET });
    assert.equal(dup.status, 409);
  });

  it('"send test event" delivers a signed webhook.test now and reports the answer', async () => {
    const r = await c.post(`/api/v1/webhooks/${id}/test`, {});
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { ok: true, status: 200, message: 'the receiver answered HTTP 200' });
    const q = rx.requests.at(-1)!;
    assert.equal(q.headers['x-portcullis-event'], 'webhook.test');
    assert.equal(q.headers['x-portcullis-signature'], signPayload(SECRET, Number(q.headers['x-portcullis-timestamp']), q.body));
    assert.match(String(q.headers['user-agent']), /^Portcullis-Webhook\//);
    rx.statuses.push(503);
    const bad = await c.post(`/api/v1/webhooks/${id}/test`, {});
    assert.equal(bad.json.ok, false);
    assert.equal(bad.json.status, 503);
    assert.match(bad.json.message, /HTTP 503/);
  });

  it('notify.emit() is delivered by the background sender; status shows on the webhook', async () => {
    const n = await t.gw.notify.emit('request.created', { requestId: 'r-77', requester: 'vendor.bob' });
    assert.equal(n, 1);
    const until = Date.now() + 10_000;
    while (!rx.requests.some((q) => q.headers['x-portcullis-event'] === 'request.created')) {
      assert.ok(Date.now() < until, 'delivered within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await t.gw.notify.idle();
    const q = rx.requests.find((x) => x.headers['x-portcullis-event'] === 'request.created')!;
    assert.equal(q.headers['x-portcullis-signature'], signPayload(SECRET, Number(q.headers['x-portcullis-timestamp']), q.body));
    assert.deepEqual(JSON.parse(q.body).data, { requestId: 'r-77', requester: 'vendor.bob' });
    const w = await c.get(`/api/v1/webhooks/${id}`);
    assert.equal(w.json.lastDelivery.state, 'delivered');
    const d = await c.get(`/api/v1/webhooks/${id}/deliveries`);
    assert.equal(d.json.items[0].event, 'request.created');
    assert.equal(d.json.items[0].state, 'delivered');
    assert.equal(d.json.items[0].lastStatus, 200);
  });

  it('updates: a new secret signs from then on, and the audit says only "replaced"', async () => {
    const r = await c.patch(`/api/v1/webhooks/${id}`, { secret: SECRET2, events: ['*'] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.events, ['*']);
    const test = await c.post(`/api/v1/webhooks/${id}/test`, {});
    assert.equal(test.json.ok, true);
    const q = rx.requests.at(-1)!;
    assert.equal(q.headers['x-portcullis-signature'], signPayload(SECRET2, Number(q.headers['x-portcullis-timestamp']), q.body));
    const link = await c.patch(`/api/v1/webhooks/${id}`, { allowRestricted: false });
    assert.equal(link.status, 400, 'the override cannot be dropped while the URL needs it');
  });

  it('never shows the secret in responses, the audit or the logs; deletes', async () => {
    const audit = await c.get('/api/v1/audit?limit=500');
    assert.ok(audit.json.items.some((e: { action: string }) => e.action === 'webhook.create'));
    assert.ok(audit.json.items.some((e: { action: string; result: string }) => e.action === 'webhook.test' && e.result === 'failure'));
    assert.ok(audit.text.includes('signingKey'));
    assert.ok(!audit.text.includes(SECRET) && !audit.text.includes(SECRET2));
    const logs = log.join('');
    assert.ok(logs.includes('webhook delivered'));
    assert.ok(!logs.includes(SECRET) && !logs.includes(SECRET2));
    const del = await c.delete(`/api/v1/webhooks/${id}`);
    assert.equal(del.status, 204);
    assert.equal((await c.get(`/api/v1/webhooks/${id}`)).status, 404);
  });
});
