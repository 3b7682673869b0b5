import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadMasterKey } from '../../src/server/crypto/secretbox.js';
import { putSmtpSettings, smtpConnection } from '../../src/server/notify/smtp-settings.js';
import { createWebhook, WEBHOOK_SECRET_PURPOSE } from '../../src/server/notify/webhooks.js';
import { rotateMasterKey } from '../../src/server/vault/rotate.js';
import { openTestDatabase, TEST_ACTOR } from '../helpers/db.js';

describe('master key rotation re-seals the notification secrets', () => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  before(async () => {
    t = await openTestDatabase('sqlite');
  });
  after(async () => {
    await t?.cleanup();
  });

  it('re-seals the SMTP password (inside its settings document) and webhook secrets', async () => {
    const prev = process.env.PORTCULLIS_MASTER_KEY_FILE;
    delete process.env.PORTCULLIS_MASTER_KEY_FILE;
    try {
      const box = loadMasterKey(t.dataDir);
      const ctx = { ...t.ctx, secrets: box };
      await putSmtpSettings(ctx, { enabled: true, host: 'mail.plant.test', port: 587, security: 'starttls', username: 'svc', password: 'smtp-pass-1', fromAddress: 'p@plant.test', fromName: '', acceptSelfSigned: false, heloName: '' });
      const hook = await createWebhook(ctx, { name: 'ITSM', url: 'https://itsm.plant.test/h', events: ['*'], secret: 'webhook-secret-0123456789', enabled: true, allowRestricted: false });
      const oldKey = box.keyId;
      const report = await rotateMasterKey(t.database.db, box, t.dataDir, TEST_ACTOR);
      assert.equal(report.oldKeyId, oldKey);
      assert.ok(report.sealedSecrets >= 2, JSON.stringify(report));
      const doc = JSON.parse((await t.database.db.selectFrom('settings').select('value').where('key', '=', 'smtp').executeTakeFirstOrThrow()).value);
      assert.equal(box.keyIdOf(doc.passwordSealed), report.newKeyId);
      assert.equal((await smtpConnection(t.database.db, box)).password, 'smtp-pass-1');
      const row = await t.database.db.selectFrom('webhooks').select('secret_enc').where('id', '=', hook.id).executeTakeFirstOrThrow();
      assert.equal(box.keyIdOf(row.secret_enc), report.newKeyId);
      assert.equal(box.open(row.secret_enc, WEBHOOK_SECRET_PURPOSE), 'webhook-secret-0123456789');
    } finally {
      if (prev !== undefined) process.env.PORTCULLIS_MASTER_KEY_FILE = prev;
    }
  });
});
