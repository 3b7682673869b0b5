import { audit, type Actor } from '../audit/log.js';
import { rotateMasterKeyFile, type SecretBox } from '../crypto/secretbox.js';
import type { Db } from '../db/index.js';
import { resealDek } from './envelope.js';

export interface RotationReport {
  oldKeyId: string;
  newKeyId: string;
  dataKeys: number;
  sealedSecrets: number;
}

/** Sealed columns outside the vault that use the master key directly (purpose per column). */
const SEALED_COLUMNS = [
  { table: 'mfa_totp', key: 'user_id', column: 'secret_enc', purpose: 'mfa.totp' },
  { table: 'mfa_totp', key: 'user_id', column: 'pending_secret_enc', purpose: 'mfa.totp' },
  { table: 'ldap_domains', key: 'id', column: 'bind_password_enc', purpose: 'ldap.bind' },
  { table: 'webhooks', key: 'id', column: 'secret_enc', purpose: 'notify.webhook' },
] as const;

/** Secrets sealed inside a settings document (JSON field), e.g. the SMTP password. */
const SEALED_SETTINGS = [
  { key: 'smtp', field: 'passwordSealed', purpose: 'notify.smtp' },
  { key: 'itsm', field: 'secretSealed', purpose: 'requests.itsm' },
] as const;

/**
 * Rotates the master key without downtime: a new key becomes current (running gateways pick it
 * up before their next seal, and still open values sealed with the old one), then every vault
 * data key and every sealed column is re-sealed under the new key, row by row. Re-running it
 * finishes an interrupted rotation. The retired key file stays (0600) so backups taken before the
 * rotation remain readable; delete it once no backup needs it.
 */
export async function rotateMasterKey(db: Db, box: SecretBox, dataDir: string, actor: Actor): Promise<RotationReport> {
  const { oldKeyId, newKeyId } = rotateMasterKeyFile(dataDir);
  let dataKeys = 0;
  let sealedSecrets = 0;
  const accounts = await db.selectFrom('asset_accounts').select(['id', 'dek_sealed']).execute();
  for (const a of accounts) {
    if (box.keyIdOf(a.dek_sealed) === newKeyId) continue;
    // Compare-and-set: a concurrent change of the same secret wins over the re-seal.
    const r = await db.updateTable('asset_accounts').set({ dek_sealed: resealDek(box, a.dek_sealed) }).where('id', '=', a.id).where('dek_sealed', '=', a.dek_sealed).executeTakeFirst();
    dataKeys += Number(r.numUpdatedRows);
  }
  for (const c of SEALED_COLUMNS) {
    const rows = (await db.selectFrom(c.table).select([`${c.key} as k`, `${c.column} as v`] as never).execute()) as unknown as { k: string; v: string | null }[];
    for (const row of rows) {
      if (!row.v || box.keyIdOf(row.v) === newKeyId) continue;
      const resealed = box.seal(box.open(row.v, c.purpose), c.purpose);
      const r = await db
        .updateTable(c.table)
        .set({ [c.column]: resealed } as never)
        .where(c.key as never, '=', row.k as never)
        .where(c.column as never, '=', row.v as never)
        .executeTakeFirst();
      sealedSecrets += Number(r.numUpdatedRows);
    }
  }
  for (const c of SEALED_SETTINGS) {
    const row = await db.selectFrom('settings').select('value').where('key', '=', c.key).executeTakeFirst();
    let doc: Record<string, unknown>;
    try {
      doc = row ? (JSON.parse(row.value) as Record<string, unknown>) : {};
    } catch {
      continue;
    }
    const v = doc[c.field];
    if (!row || typeof v !== 'string' || box.keyIdOf(v) === newKeyId) continue;
    const value = JSON.stringify({ ...doc, [c.field]: box.seal(box.open(v, c.purpose), c.purpose) });
    const r = await db.updateTable('settings').set({ value }).where('key', '=', c.key).where('value', '=', row.value).executeTakeFirst();
    sealedSecrets += Number(r.numUpdatedRows);
  }
  await audit(db, actor, { action: 'vault.rotate_master_key', target: { type: 'vault', name: 'master key' }, details: { oldKeyId, newKeyId, dataKeys, sealedSecrets } });
  return { oldKeyId, newKeyId, dataKeys, sealedSecrets };
}
