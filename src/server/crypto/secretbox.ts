import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Seals small secrets at rest (TOTP seeds, LDAP bind passwords) with AES-256-GCM under the
 * gateway's master key: a 32-byte file, mode 0600, made on first start in <data>/keys/master.key
 * (or PORTCULLIS_MASTER_KEY_FILE). Sealed form: "v1.<keyId>.<iv>.<tag>.<ciphertext>" (base64url),
 * with the purpose bound as additional data so a value cannot be moved to another field.
 * The vault (brokered sessions) builds envelope encryption and key rotation on this key.
 */
export interface SecretBox {
  keyId: string;
  seal(plaintext: string, purpose: string): string;
  open(sealed: string, purpose: string): string;
}

export class SecretBoxError extends Error {}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new SecretBoxError('the master key must be exactly 32 bytes');
  const keyId = createHash('sha256').update(key).digest('base64url').slice(0, 8);
  return {
    keyId,
    seal(plaintext, purpose) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(Buffer.from(purpose));
      const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
      return ['v1', keyId, iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
    },
    open(sealed, purpose) {
      const [v, kid, iv, tag, ct] = sealed.split('.');
      if (v !== 'v1' || !iv || !tag || ct === undefined) throw new SecretBoxError('not a sealed secret');
      if (kid !== keyId) throw new SecretBoxError(`sealed with another master key (${kid})`);
      try {
        const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        d.setAAD(Buffer.from(purpose));
        d.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
      } catch {
        throw new SecretBoxError('sealed secret failed authentication (tampered or wrong purpose)');
      }
    },
  };
}

/** Loads the master key file, creating it (0600, in a 0700 folder) on first start. */
export function loadMasterKey(dataDir: string, file = process.env.PORTCULLIS_MASTER_KEY_FILE || resolve(dataDir, 'keys', 'master.key')): SecretBox {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return createSecretBox(readFileSync(file));
}
