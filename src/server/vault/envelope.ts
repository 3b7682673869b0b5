import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretBox } from '../crypto/secretbox.js';

/**
 * Envelope encryption: every secret has its own random 256-bit data key (AES-256-GCM); the data
 * key is sealed with the master key. Rotating the master key re-seals data keys only.
 */
export interface Envelope {
  secretEnc: string;
  dekSealed: string;
}

const DEK_PURPOSE = 'vault.dek';

export function encryptSecret(box: SecretBox, plaintext: string, aad: string): Envelope {
  const dek = randomBytes(32);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', dek, iv);
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  const secretEnc = ['e1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  const dekSealed = box.seal(dek.toString('base64url'), DEK_PURPOSE);
  dek.fill(0);
  return { secretEnc, dekSealed };
}

export function decryptSecret(box: SecretBox, env: Envelope, aad: string): string {
  const dek = Buffer.from(box.open(env.dekSealed, DEK_PURPOSE), 'base64url');
  const [v, iv, tag, ct] = env.secretEnc.split('.');
  if (v !== 'e1' || !iv || !tag || ct === undefined) throw new Error('not a vault ciphertext');
  try {
    const d = createDecipheriv('aes-256-gcm', dek, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
  } finally {
    dek.fill(0);
  }
}

/** Re-seals a data key under the current master key (rotation); the ciphertext is untouched. */
export function resealDek(box: SecretBox, dekSealed: string): string {
  return box.seal(box.open(dekSealed, DEK_PURPOSE), DEK_PURPOSE);
}
