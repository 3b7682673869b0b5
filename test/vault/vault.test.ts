/** The vault: envelope encryption, write-only API, SSH key checks, master-key rotation without downtime (SQLite and PostgreSQL). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generate } from 'otplib';
import { createSecretBox } from '../../src/server/crypto/secretbox.js';
import { decryptSecret, encryptSecret } from '../../src/server/vault/envelope.js';
import { revealAccount } from '../../src/server/vault/accounts.js';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';
import { DIALECTS } from '../helpers/pg.js';

const run = promisify(execFile);

async function sshKey(passphrase: string): Promise<string> {
  const dir = (await run('mktemp', ['-d'])).stdout.trim();
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-f', join(dir, 'k'), '-C', 'vault-test']);
  return readFileSync(join(dir, 'k'), 'utf8');
}

describe('envelope encryption', () => {
  it('encrypts each secret under its own data key, bound to its row', () => {
    const box = createSecretBox(Buffer.alloc(32, 7));
    const a = encryptSecret(box, 'S3cret!', 'asset-account:1');
    const b = encryptSecret(box, 'S3cret!', 'asset-account:1');
    assert.notEqual(a.secretEnc, b.secretEnc);
    assert.notEqual(a.dekSealed, b.dekSealed);
    assert.equal(decryptSecret(box, a, 'asset-account:1'), 'S3cret!');
    assert.throws(() => decryptSecret(box, a, 'asset-account:2'), 'a ciphertext moved to another row does not open');
    assert.throws(() => decryptSecret(createSecretBox(Buffer.alloc(32, 8)), a, 'asset-account:1'), /master key/);
  });
});

for (const dialect of DIALECTS) {
  describe(`vault on ${dialect}`, () => {
    let t: TestGateway;
    let admin: ApiClient;
    let assetId: string;
    before(async () => {
      t = await startGateway({ tls: false, dialect });
      admin = await adminClient(t);
      const site = (await admin.post('/api/v1/sites', { name: 'Vault plant' })).json;
      assetId = (await admin.post('/api/v1/assets', { name: 'PLC-V', siteId: site.id, purdueLevel: 1, host: '10.9.9.9', accessMethods: [{ protocol: 'ssh' }] })).json.id;
    });
    after(async () => {
      await t?.stop();
    });

    it('stores secrets write-only: the API and the audit never show them', async () => {
      const pw = 'Asset-Passw0rd-For-PLC';
      const r = await admin.post(`/api/v1/assets/${assetId}/accounts`, { name: 'maintenance', username: 'maint', kind: 'password', password: pw });
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(Object.keys(r.json).sort(), ['assetId', 'createdAt', 'id', 'kind', 'name', 'secretChangedAt', 'secretSet', 'updatedAt', 'username']);
      const list = await admin.get(`/api/v1/assets/${assetId}/accounts`);
      assert.equal(list.json.items.length, 1);
      const everything = JSON.stringify([list.json, (await admin.get('/api/v1/audit?limit=500')).json, await t.gw.database.db.selectFrom('asset_accounts').selectAll().execute()]);
      assert.ok(!everything.includes(pw), 'the password appears nowhere in clear');
      const revealed = await revealAccount({ db: t.gw.database.db, actor: { id: null, name: 'broker', ip: null }, secrets: t.gw.secrets }, assetId, r.json.id);
      assert.deepEqual(revealed, { username: 'maint', password: pw });
      const before = r.json.secretChangedAt;
      await new Promise((res) => setTimeout(res, 5));
      const u = await admin.patch(`/api/v1/assets/${assetId}/accounts/${r.json.id}`, { password: 'New-Asset-Passw0rd' });
      assert.equal(u.status, 200);
      assert.notEqual(u.json.secretChangedAt, before);
      assert.equal((await admin.get('/api/v1/audit?action=vault.account_update')).json.items[0].details.secretChanged, true);
    });

    it('checks SSH private keys and their passphrases before storing them', async () => {
      const plain = await sshKey('');
      const locked = await sshKey('key-passphrase-1');
      assert.equal((await admin.post(`/api/v1/assets/${assetId}/accounts`, { name: 'key', username: 'eng', kind: 'ssh_key', privateKey: plain })).status, 201);
      const wrong = await admin.post(`/api/v1/assets/${assetId}/accounts`, { name: 'locked', username: 'eng', kind: 'ssh_key', privateKey: locked, passphrase: 'not-it' });
      assert.equal(wrong.status, 400);
      assert.match(wrong.json.detail, /passphrase does not open/);
      const ok = await admin.post(`/api/v1/assets/${assetId}/accounts`, { name: 'locked', username: 'eng', kind: 'ssh_key', privateKey: locked, passphrase: 'key-passphrase-1' });
      assert.equal(ok.status, 201, ok.text);
      const revealed = await revealAccount({ db: t.gw.database.db, actor: { id: null, name: 'broker', ip: null }, secrets: t.gw.secrets }, assetId, ok.json.id);
      assert.equal(revealed.privateKey, locked);
      assert.equal(revealed.passphrase, 'key-passphrase-1');
    });

    it('rotates the master key with the gateway running: everything still opens, new seals use the new key', async () => {
      // Sealed secrets outside the vault: a TOTP seed.
      await admin.post('/api/v1/users', { username: 'rot.user', role: 'Client', password: 'Rotation-passphrase-6', mustChangePassword: false });
      const u = t.client();
      await u.login('rot.user', 'Rotation-passphrase-6');
      const enroll = await u.post('/api/v1/me/mfa/totp/enroll');
      assert.equal((await u.post('/api/v1/me/mfa/totp/confirm', { code: await generate({ secret: enroll.json.secret }) })).status, 200);

      const keyDir = join(t.dataDir, 'keys');
      const oldId = t.gw.secrets.keyId;
      const env = { ...process.env, PORTCULLIS_DATA_DIR: t.dataDir, PORTCULLIS_DATABASE_URL: t.gw.database.dialect === 'postgres' ? t.gw.database.describe : '' };
      const cli = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'vault', 'rotate-master-key'], { env });
      assert.match(cli.stdout, new RegExp(`master key rotated: ${oldId} -> \\S+; re-sealed 3 vault data key\\(s\\) and 1 other secret\\(s\\)`));
      const newId = t.gw.secrets.keyId;
      assert.notEqual(newId, oldId, 'the running gateway sees the new key');
      assert.deepEqual(readdirSync(keyDir).filter((f) => f.startsWith('master')).sort(), ['master.key', `master-${oldId}.key`].sort(), 'the old key is retired beside the new one');
      assert.equal(statSync(join(keyDir, 'master.key')).mode & 0o777, 0o600);
      const rows = await t.gw.database.db.selectFrom('asset_accounts').select(['id', 'dek_sealed']).execute();
      assert.ok(rows.every((r) => r.dek_sealed.split('.')[1] === newId), 'every data key re-sealed');
      const totpRow = await t.gw.database.db.selectFrom('mfa_totp').select('secret_enc').executeTakeFirstOrThrow();
      assert.equal(totpRow.secret_enc!.split('.')[1], newId);
      // The running gateway still reveals, signs in with TOTP, and seals new secrets with the new key.
      const ctx = { db: t.gw.database.db, actor: { id: null, name: 'broker', ip: null }, secrets: t.gw.secrets };
      assert.equal((await revealAccount(ctx, assetId, rows[0]!.id)).username.length > 0, true);
      const c = t.client();
      await c.login('rot.user', 'Rotation-passphrase-6');
      await new Promise((r) => setTimeout(r, 30_000 - (Date.now() % 30_000) + 100));
      assert.equal((await c.post('/api/v1/auth/mfa/totp', { code: await generate({ secret: enroll.json.secret }) })).status, 200);
      const fresh = await admin.post(`/api/v1/assets/${assetId}/accounts`, { name: 'after-rotation', username: 'x', kind: 'password', password: 'p' });
      const freshRow = await t.gw.database.db.selectFrom('asset_accounts').select('dek_sealed').where('id', '=', fresh.json.id).executeTakeFirstOrThrow();
      assert.equal(freshRow.dek_sealed.split('.')[1], newId);
      assert.equal((await admin.get('/api/v1/audit?action=vault.rotate_master_key')).json.items[0].details.newKeyId, newId);
    });
  });
}
