import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ssh2 from 'ssh2';
import { hostKeyFingerprint } from '../protocols/ssh/hostkey.js';

/**
 * The front door's SSH host key: Ed25519, OpenSSH private-key format, made on first start in
 * <data>/keys/ssh_host_ed25519_key (mode 0600, folder 0700) like the other gateway keys, and kept
 * across restarts so clients' known_hosts stay valid. The fingerprint is what `ssh` shows on first
 * connection ("SHA256:..."); the console shows it for users to compare.
 */
export interface HostKey {
  /** OpenSSH private key (for the ssh2 Server only). */
  privateKey: string;
  /** "ssh-ed25519 AAAA... portcullis" (known_hosts material). */
  publicKey: string;
  fingerprint: string;
}

export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

/**
 * A new Ed25519 key in OpenSSH format. ssh2's generator writes a malformed key about once in 200
 * (a public key whose first byte is zero comes out 31 bytes long; parseKey then refuses it): a key
 * is only returned once ssh2 itself reads it back.
 */
export function generateHostKey(): string {
  for (let i = 0; i < 20; i++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'portcullis' });
    const parsed = ssh2.utils.parseKey(pair.private);
    if (!(parsed instanceof Error)) return pair.private;
  }
  throw new Error('could not generate a usable Ed25519 host key');
}

export function loadOrCreateHostKey(dataDir: string, file = resolve(dataDir, 'keys', HOST_KEY_FILE)): HostKey {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const pem = generateHostKey();
    try {
      // 'wx': never overwrite; if another process made the key first, use theirs.
      writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  chmodSync(file, 0o600);
  const privateKey = readFileSync(file, 'utf8');
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || !key.isPrivateKey()) {
    throw new Error(`${file}: not a usable SSH host private key${key instanceof Error ? ` (${key.message})` : ''}`);
  }
  const blob = key.getPublicSSH();
  return { privateKey, publicKey: `${key.type} ${blob.toString('base64')} portcullis`, fingerprint: hostKeyFingerprint(blob) };
}
