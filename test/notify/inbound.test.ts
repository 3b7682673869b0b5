import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DomainError } from '../../src/server/errors.js';
import { assertInboundWebhook, signPayload, verifyInboundWebhook, webhookReplayGuard } from '../../src/server/notify/index.js';
import { openTestDatabase } from '../helpers/db.js';
import { DIALECTS } from '../helpers/pg.js';

const SECRET = 'itsm-shared-secret-0123456789';
const NOW = Date.parse('2026-03-10T12:00:00Z');
const TS = Math.floor(NOW / 1000);

/** What an ITSM system sends: the body as bytes, signed over `${timestamp}.${body}`. */
function signed(body: string, opts: { ts?: number; id?: string; secret?: string } = {}) {
  const ts = opts.ts ?? TS;
  return {
    'X-Portcullis-Timestamp': String(ts),
    'X-Portcullis-Signature': signPayload(opts.secret ?? SECRET, ts, body),
    'X-Portcullis-Delivery': opts.id ?? crypto.randomUUID(),
    'content-type': 'application/json',
  };
}

for (const dialect of DIALECTS) {
  describe(`inbound webhook verification on ${dialect}`, () => {
    let t: Awaited<ReturnType<typeof openTestDatabase>>;
    before(async () => {
      t = await openTestDatabase(dialect);
    });
    after(async () => {
      await t?.cleanup();
    });
    const replay = () => ({ replay: webhookReplayGuard(t.database.db, 'itsm') });
    const body = JSON.stringify({ ticket: 'CHG-1042', state: 'approved', requestId: '6d3c1f0e-3a0b-4c59-9f55-6f1c2d7b9e10' });

    it('accepts a correctly signed, fresh, first-seen delivery (headers in any case, body as Buffer)', async () => {
      const h = signed(body, { id: 'dlv-1' });
      const lower = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
      const r = await verifyInboundWebhook(Buffer.from(body), lower, SECRET, NOW, replay());
      assert.deepEqual(r, { ok: true, deliveryId: 'dlv-1', timestamp: TS });
      // Four minutes of clock skew are fine.
      const skewed = await verifyInboundWebhook(body, signed(body, { ts: TS + 240 }), SECRET, NOW, replay());
      assert.equal(skewed.ok, true);
    });

    it('rejects a bad signature: wrong secret, changed body, changed timestamp, garbage', async () => {
      const wrongSecret = await verifyInboundWebhook(body, signed(body, { secret: 'another-secret-0123456789' }), SECRET, NOW, replay());
      assert.deepEqual(wrongSecret.ok ? null : wrongSecret.reason, 'bad_signature');
      const h = signed(body);
      const changed = await verifyInboundWebhook(body.replace('approved', 'closed'), h, SECRET, NOW, replay());
      assert.equal(changed.ok ? null : changed.reason, 'bad_signature');
      const ts = await verifyInboundWebhook(body, { ...signed(body), 'X-Portcullis-Timestamp': String(TS - 1) }, SECRET, NOW, replay());
      assert.equal(ts.ok ? null : ts.reason, 'bad_signature');
      const garbage = await verifyInboundWebhook(body, { ...signed(body), 'X-Portcullis-Signature': 'sha256=00' }, SECRET, NOW, replay());
      assert.equal(garbage.ok ? null : garbage.reason, 'bad_signature');
      const missing = await verifyInboundWebhook(body, { 'X-Portcullis-Timestamp': String(TS) }, SECRET, NOW, replay());
      assert.equal(missing.ok ? null : missing.reason, 'missing_headers');
    });

    it('rejects an old (or far future) timestamp even when correctly signed', async () => {
      const old = await verifyInboundWebhook(body, signed(body, { ts: TS - 301 }), SECRET, NOW, replay());
      assert.equal(old.ok, false);
      assert.equal(old.ok ? null : old.reason, 'stale_timestamp');
      assert.match(old.ok ? '' : old.message, /301 s old/);
      const future = await verifyInboundWebhook(body, signed(body, { ts: TS + 3600 }), SECRET, NOW, replay());
      assert.equal(future.ok ? null : future.reason, 'stale_timestamp');
    });

    it('rejects a replayed delivery id, and a replay under a new delivery id', async () => {
      // (Each test signs its own body: the same body at the same second is the same signature, a replay.)
      const body = JSON.stringify({ ticket: 'CHG-2001', state: 'approved' });
      const h = signed(body, { id: 'dlv-replay' });
      assert.equal((await verifyInboundWebhook(body, h, SECRET, NOW, replay())).ok, true);
      const again = await verifyInboundWebhook(body, h, SECRET, NOW + 1000, replay());
      assert.equal(again.ok ? null : again.reason, 'replayed');
      // The same signed request with another delivery id header: still a replay (the signature was seen).
      const renamed = await verifyInboundWebhook(body, { ...h, 'X-Portcullis-Delivery': 'dlv-other' }, SECRET, NOW + 1000, replay());
      assert.equal(renamed.ok ? null : renamed.reason, 'replayed');
      // A new message under a used id: refused as well.
      const other = JSON.stringify({ ticket: 'CHG-1043', state: 'closed' });
      const reused = await verifyInboundWebhook(other, signed(other, { id: 'dlv-replay' }), SECRET, NOW, replay());
      assert.equal(reused.ok ? null : reused.reason, 'replayed');
      // Another scope has its own memory.
      const elsewhere = await verifyInboundWebhook(body, signed(body, { id: 'dlv-replay' }), SECRET, NOW, { replay: webhookReplayGuard(t.database.db, 'other') });
      assert.equal(elsewhere.ok, true);
    });

    it('assertInboundWebhook throws 401-kind for signatures and 409-kind for replays', async () => {
      const body = JSON.stringify({ ticket: 'CHG-3001', state: 'closed' });
      const h = signed(body, { id: 'dlv-assert' });
      await assertInboundWebhook(body, h, SECRET, NOW, replay());
      await assert.rejects(assertInboundWebhook(body, h, SECRET, NOW, replay()), (e: unknown) => e instanceof DomainError && e.kind === 'conflict');
      await assert.rejects(assertInboundWebhook(body, signed(body, { secret: 'x'.repeat(20) }), SECRET, NOW, replay()), (e: unknown) => e instanceof DomainError && e.kind === 'unauthorized');
    });
  });
}
