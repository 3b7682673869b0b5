import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The gateway's Ed25519 key that seals recordings (and, later, audit checkpoints): a PKCS#8 PEM
 * file, mode 0600, made on first use in <data>/keys/recording-ed25519.pem (folder 0700), like the
 * master key in crypto/secretbox.ts. The private key never leaves this module; callers get a
 * signer, the public key (SPKI PEM) to hand to verifiers, and a short key id.
 */
export interface SigningKey {
  /** Ed25519 signature over `data`, base64. */
  sign(data: Buffer): string;
  /** SPKI PEM of the public key. */
  publicKeyPem: string;
  /** First 16 hex characters of SHA-256 over the DER (SPKI) public key. */
  keyId: string;
}

export const SIGNING_KEY_FILE = 'recording-ed25519.pem';

export class SigningKeyError extends Error {}

/** The key id of a public key: first 16 hex of SHA-256(DER SPKI). */
export function keyIdOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** Wraps an Ed25519 private key (PKCS#8 PEM or KeyObject) as a SigningKey. */
export function signingKeyFrom(privateKey: KeyObject | string): SigningKey {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') throw new SigningKeyError('the recording signing key must be an Ed25519 private key');
  const pub = createPublicKey(key);
  return {
    sign: (data) => sign(null, data, key).toString('base64'),
    publicKeyPem: pub.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(pub),
  };
}

/** Loads the gateway's recording signing key, creating it (0600, in a 0700 folder) on first use. */
export function loadSigningKey(dataDir: string, file = resolve(dataDir, 'keys', SIGNING_KEY_FILE)): SigningKey {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    try {
      // 'wx': never overwrite; if another process made the key first, use theirs.
      writeFileSync(file, privateKey, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  chmodSync(file, 0o600);
  try {
    return signingKeyFrom(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof SigningKeyError) throw new SigningKeyError(`${file}: ${e.message}`);
    throw new SigningKeyError(`${file}: not a readable PKCS#8 private key (${(e as Error).message})`);
  }
}

/** True when `signature` (base64) is a valid Ed25519 signature of `data` by `publicKeyPem`. Never throws. */
export function verifySignature(publicKeyPem: string, data: Buffer, signature: string): boolean {
  try {
    const key = createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== 'ed25519') return false;
    const sig = Buffer.from(signature, 'base64');
    if (sig.length !== 64) return false;
    return verify(null, data, key, sig);
  } catch {
    return false;
  }
}
