/**
 * SSH host key fingerprints, computed like OpenSSH (`ssh-keygen -l`): "SHA256:" followed by the
 * unpadded base64 of the SHA-256 of the key blob (the public key in SSH wire format).
 */
import { createHash } from 'node:crypto';

const PREFIX = 'SHA256:';

/** "SHA256:<base64 without padding>" of an SSH public key blob. */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return PREFIX + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** The key type named at the start of the blob ("ssh-ed25519", "rsa-sha2-512"...), if readable. */
export function hostKeyType(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined;
  const len = keyBlob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > keyBlob.length) return undefined;
  const type = keyBlob.subarray(4, 4 + len).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/**
 * Canonical form of a pinned fingerprint: accepts "SHA256:abc", "sha256:abc", "abc" and padded
 * base64 ("abc="); returns undefined when it cannot be a SHA-256 fingerprint at all.
 */
export function normalizeFingerprint(value: string): string | undefined {
  let v = value.trim();
  if (v.slice(0, PREFIX.length).toUpperCase() === PREFIX) v = v.slice(PREFIX.length);
  v = v.replace(/=+$/, '');
  // 32 bytes -> 43 base64 characters without padding
  if (!/^[A-Za-z0-9+/]{43}$/.test(v)) return undefined;
  return PREFIX + v;
}

/** True when `seen` (as computed by hostKeyFingerprint) is the pinned fingerprint. */
export function fingerprintMatches(pinned: string, seen: string): boolean {
  const p = normalizeFingerprint(pinned);
  return p !== undefined && p === seen;
}
