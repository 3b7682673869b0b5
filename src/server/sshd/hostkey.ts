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

export function loadOrCreateHostKey(dataDir: string, file = resolve(dataDir, 'keys', HOST_KEY_FILE)): HostKey {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'portcullis' });
    try {
      // 'wx': never overwrite; if another process made the key first, use theirs.
      writeFileSync(file, pair.private, { mode: 0o600, flag: 'wx' });
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
