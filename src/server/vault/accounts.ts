import ssh2 from 'ssh2';
import { z } from 'zod';
import { audit } from '../audit/log.js';
import type { SecretCtx } from '../context.js';
import type { Executor } from '../db/index.js';
import type { AssetAccountsTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { conflict, invalid, notFound } from '../errors.js';
import { newId, nowIso } from '../util.js';
import { decryptSecret, encryptSecret } from './envelope.js';

/** Asset accounts: the credentials the gateway uses to log in to an asset. Secrets are write-only. */
const label = z.string().trim().min(1, 'must not be empty').max(64).regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');
const assetUsername = z.string().min(1, 'must not be empty').max(256).regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');
const password = z.string().min(1, 'must not be empty').max(1024);
const privateKey = z.string().min(1).max(16_384).refine((k) => /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(k), 'must be a PEM / OpenSSH private key');

export const accountCreateSchema = z.discriminatedUnion('kind', [
  z.strictObject({ name: label, username: assetUsername, kind: z.literal('password'), password }),
  z.strictObject({ name: label, username: assetUsername, kind: z.literal('ssh_key'), privateKey, passphrase: z.string().max(1024).optional() }),
]);
export const accountUpdateSchema = z.strictObject({
  name: label.optional(),
  username: assetUsername.optional(),
  password: password.optional(),
  privateKey: privateKey.optional(),
  passphrase: z.string().max(1024).nullable().optional(),
});

/** What the API shows: never the secret, only whether it is set and when it changed. */
export interface AssetAccount {
  id: string;
  assetId: string;
  name: string;
  username: string;
  kind: 'password' | 'ssh_key';
  secretSet: true;
  secretChangedAt: string;
  createdAt: string;
  updatedAt: string;
}

/** The revealed credential, for the broker's one connection. */
export interface RevealedCredential {
  username: string;
  password?: string;
  privateKey?: string;
  passphrase?: string;
}

type Secret = { password: string } | { privateKey: string; passphrase?: string };

const toAccount = (r: AssetAccountsTable): AssetAccount => ({
  id: r.id,
  assetId: r.asset_id,
  name: r.name,
  username: r.username,
  kind: r.kind,
  secretSet: true,
  secretChangedAt: r.secret_changed_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

// The row id is bound to the ciphertext: a secret copied to another account does not decrypt.
const aadFor = (accountId: string) => `asset-account:${accountId}`;

function checkKey(key: string, passphrase: string | undefined): void {
  const parsed = ssh2.utils.parseKey(key, passphrase);
  if (parsed instanceof Error) {
    const msg = /passphrase|decrypt|bad decrypt/i.test(parsed.message) ? 'the passphrase does not open this private key' : 'the private key cannot be read (OpenSSH or PEM format expected)';
    throw invalid(msg, [{ path: passphrase !== undefined ? '/passphrase' : '/privateKey', message: msg }]);
  }
}

async function assetName(ex: Executor, assetId: string): Promise<string> {
  const a = await ex.selectFrom('assets').select('name').where('id', '=', assetId).executeTakeFirst();
  if (!a) throw notFound('asset', assetId);
  return a.name;
}

export async function listAccounts(ex: Executor, assetId: string): Promise<AssetAccount[]> {
  await assetName(ex, assetId);
  return (await ex.selectFrom('asset_accounts').selectAll().where('asset_id', '=', assetId).orderBy('name').execute()).map(toAccount);
}

async function getRow(ex: Executor, assetId: string, accountId: string): Promise<AssetAccountsTable> {
  const r = await ex.selectFrom('asset_accounts').selectAll().where('id', '=', accountId).where('asset_id', '=', assetId).executeTakeFirst();
  if (!r) throw notFound('asset account', accountId);
  return r;
}

export async function createAccount(ctx: SecretCtx, assetId: string, input: z.output<typeof accountCreateSchema>): Promise<AssetAccount> {
  const secret: Secret = input.kind === 'password' ? { password: input.password } : { privateKey: input.privateKey, ...(input.passphrase !== undefined ? { passphrase: input.passphrase } : {}) };
  if (input.kind === 'ssh_key') checkKey(input.privateKey, input.passphrase);
  return inTx(ctx.db, async (tx) => {
    const asset = await assetName(tx, assetId);
    const dup = await tx.selectFrom('asset_accounts').select('id').where('asset_id', '=', assetId).where('name', '=', input.name).executeTakeFirst();
    if (dup) throw conflict(`asset "${asset}" already has an account named "${input.name}"`);
    const id = newId();
    const env = encryptSecret(ctx.secrets, JSON.stringify(secret), aadFor(id));
    const now = nowIso();
    const row: AssetAccountsTable = { id, asset_id: assetId, name: input.name, username: input.username, kind: input.kind, secret_enc: env.secretEnc, dek_sealed: env.dekSealed, secret_changed_at: now, created_at: now, updated_at: now };
    await tx.insertInto('asset_accounts').values(row).execute();
    await audit(tx, ctx.actor, { action: 'vault.account_create', target: { type: 'asset', id: assetId, name: asset }, details: { account: input.name, username: input.username, kind: input.kind } });
    return toAccount(row);
  });
}

export async function updateAccount(ctx: SecretCtx, assetId: string, accountId: string, input: z.output<typeof accountUpdateSchema>): Promise<AssetAccount> {
  return inTx(ctx.db, async (tx) => {
    const asset = await assetName(tx, assetId);
    const before = await getRow(tx, assetId, accountId);
    if (input.name && input.name !== before.name) {
      const dup = await tx.selectFrom('asset_accounts').select('id').where('asset_id', '=', assetId).where('name', '=', input.name).executeTakeFirst();
      if (dup) throw conflict(`asset "${asset}" already has an account named "${input.name}"`);
    }
    const changingSecret = input.password !== undefined || input.privateKey !== undefined || input.passphrase !== undefined;
    let secretFields = {};
    if (changingSecret) {
      const old = JSON.parse(decryptSecret(ctx.secrets, { secretEnc: before.secret_enc, dekSealed: before.dek_sealed }, aadFor(accountId))) as Secret;
      let next: Secret;
      if (before.kind === 'password') {
        if (input.privateKey !== undefined || input.passphrase !== undefined) throw invalid('this is a password account: send password', [{ path: '/privateKey', message: 'not for password accounts' }]);
        next = { password: input.password! };
      } else {
        if (input.password !== undefined) throw invalid('this is an SSH key account: send privateKey (and passphrase)', [{ path: '/password', message: 'not for key accounts' }]);
        const key = input.privateKey ?? ('privateKey' in old ? old.privateKey : '');
        const pass = input.passphrase === null ? undefined : (input.passphrase ?? ('passphrase' in old ? old.passphrase : undefined));
        checkKey(key, pass);
        next = { privateKey: key, ...(pass !== undefined ? { passphrase: pass } : {}) };
      }
      const env = encryptSecret(ctx.secrets, JSON.stringify(next), aadFor(accountId));
      secretFields = { secret_enc: env.secretEnc, dek_sealed: env.dekSealed, secret_changed_at: nowIso() };
    }
    await tx
      .updateTable('asset_accounts')
      .set({ name: input.name ?? before.name, username: input.username ?? before.username, ...secretFields, updated_at: nowIso() })
      .where('id', '=', accountId)
      .execute();
    const after = await getRow(tx, assetId, accountId);
    await audit(tx, ctx.actor, {
      action: 'vault.account_update',
      target: { type: 'asset', id: assetId, name: asset },
      details: { account: after.name, ...(input.name && input.name !== before.name ? { renamedFrom: before.name } : {}), ...(input.username ? { username: { from: before.username, to: input.username } } : {}), secretChanged: changingSecret },
    });
    return toAccount(after);
  });
}

export async function deleteAccount(ctx: SecretCtx, assetId: string, accountId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const asset = await assetName(tx, assetId);
    const before = await getRow(tx, assetId, accountId);
    await tx.deleteFrom('asset_accounts').where('id', '=', accountId).execute();
    await audit(tx, ctx.actor, { action: 'vault.account_delete', target: { type: 'asset', id: assetId, name: asset }, details: { account: before.name, username: before.username } });
  });
}

/**
 * Opens a credential for one brokered connection. Only the broker calls this; it is audited there
 * with the session it serves. The result must never be logged, stored or sent to a browser.
 */
export async function revealAccount(ctx: SecretCtx, assetId: string, accountId: string): Promise<RevealedCredential> {
  const r = await getRow(ctx.db, assetId, accountId);
  const secret = JSON.parse(decryptSecret(ctx.secrets, { secretEnc: r.secret_enc, dekSealed: r.dek_sealed }, aadFor(accountId))) as Secret;
  return { username: r.username, ...secret };
}
