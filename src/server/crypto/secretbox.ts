import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Seals small secrets at rest with AES-256-GCM under the gateway's master key: a 32-byte file,
 * mode 0600, made on first start in <data>/keys/master.key (or PORTCULLIS_MASTER_KEY_FILE).
 * Sealed form: "v1.<keyId>.<iv>.<tag>.<ciphertext>" (base64url), with the purpose bound as
 * additional data so a value cannot be moved to another field.
 *
 * The master key is a keyring: `portcullis vault rotate-master-key` retires the current key to
 * master-<keyId>.key beside it and writes a new master.key; sealed values name their key, so old
 * ones still open while they are re-sealed, and a running gateway picks the new key up by itself
 * (it checks master.key before sealing). The vault's data keys are sealed with it (envelope).
 */
export interface SecretBox {
  /** The current key's id (seals use it). */
  readonly keyId: string;
  seal(plaintext: string, purpose: string): string;
  open(sealed: string, purpose: string): string;
  /** Id of the key a sealed value was made with. */
  keyIdOf(sealed: string): string | undefined;
}

export class SecretBoxError extends Error {}

export const keyIdFor = (key: Buffer) => createHash('sha256').update(key).digest('base64url').slice(0, 8);

function sealWith(key: Buffer, keyId: string, plaintext: string, purpose: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(purpose));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return ['v1', keyId, iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

function openWith(key: Buffer, sealed: string, purpose: string): string {
  const [, , iv, tag, ct] = sealed.split('.');
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'));
    d.setAAD(Buffer.from(purpose));
    d.setAuthTag(Buffer.from(tag!, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct!, 'base64url')), d.final()]).toString('utf8');
  } catch {
    throw new SecretBoxError('sealed secret failed authentication (tampered or wrong purpose)');
  }
}

function parse(sealed: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 5 || parts[0] !== 'v1' || !parts[2] || !parts[3]) throw new SecretBoxError('not a sealed secret');
  return parts[1]!;
}

/** A box over fixed keys (tests, and the building block of the keyring). */
export function createSecretBox(current: Buffer, retired: Buffer[] = []): SecretBox {
  if (current.length !== 32 || retired.some((k) => k.length !== 32)) throw new SecretBoxError('master keys must be exactly 32 bytes');
  const ring = new Map([current, ...retired].map((k) => [keyIdFor(k), k]));
  const keyId = keyIdFor(current);
  return {
    keyId,
    seal: (plaintext, purpose) => sealWith(current, keyId, plaintext, purpose),
    open(sealed, purpose) {
      const kid = parse(sealed);
      const key = ring.get(kid);
      if (!key) throw new SecretBoxError(`sealed with a master key this gateway does not have (${kid})`);
      return openWith(key, sealed, purpose);
    },
    keyIdOf: (sealed) => sealed.split('.')[1],
  };
}

const RETIRED = /^master-([A-Za-z0-9_-]{8})\.key$/;

const version = (file: string) => {
  const st = statSync(file);
  return `${st.ino}:${st.mtimeMs}`;
};

function readRing(file: string): { current: Buffer; retired: Buffer[]; version: string } {
  const dir = dirname(file);
  const retired = readdirSync(dir)
    .filter((f) => RETIRED.test(f))
    .map((f) => readFileSync(join(dir, f)));
  return { current: readFileSync(file), retired, version: version(file) };
}

export function masterKeyFile(dataDir: string): string {
  return process.env.PORTCULLIS_MASTER_KEY_FILE || resolve(dataDir, 'keys', 'master.key');
}

/** Loads the keyring, creating the master key (0600, in a 0700 folder) on first start. */
export function loadMasterKey(dataDir: string, file = masterKeyFile(dataDir)): SecretBox {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  let state = readRing(file);
  let box = createSecretBox(state.current, state.retired);
  const refresh = () => {
    if (version(file) !== state.version) {
      state = readRing(file);
      box = createSecretBox(state.current, state.retired);
    }
  };
  return {
    get keyId() {
      refresh();
      return box.keyId;
    },
    seal(plaintext, purpose) {
      refresh();
      return box.seal(plaintext, purpose);
    },
    open(sealed, purpose) {
      const kid = parse(sealed);
      if (kid !== box.keyId && !state.retired.some((k) => keyIdFor(k) === kid)) refresh();
      return box.open(sealed, purpose);
    },
    keyIdOf: (sealed) => sealed.split('.')[1],
  };
}

/**
 * Puts a new master key in place: the current one is kept as master-<keyId>.key (still able to
 * open what it sealed), the new one replaces master.key atomically. Returns both ids.
 */
export function rotateMasterKeyFile(dataDir: string, file = masterKeyFile(dataDir)): { oldKeyId: string; newKeyId: string } {
  const current = readFileSync(file);
  const oldKeyId = keyIdFor(current);
  const retiredPath = join(dirname(file), `master-${oldKeyId}.key`);
  if (!existsSync(retiredPath)) writeFileSync(retiredPath, current, { mode: 0o600 });
  const next = randomBytes(32);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, next, { mode: 0o600 });
  renameSync(tmp, file);
  return { oldKeyId, newKeyId: keyIdFor(next) };
}
