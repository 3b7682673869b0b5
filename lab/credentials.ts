/**
 * The lab's secrets: generated once per data dir, kept in <dataDir>/lab/credentials.json (0600).
 */
import { randomInt } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface LabCredentials {
  version: 1;
  createdAt: string;
  /** password of the local Unix account used by the SSH and Telnet targets */
  unixPassword: string;
  /** VNC authentication uses at most 8 characters: this one has exactly 8 */
  vncPassword: string;
  rdpUsername: string;
  rdpPassword: string;
}

// No ':' (chpasswd line format), no quotes/backslashes/whitespace, no look-alikes.
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

export function generatePassword(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

function isCredentials(value: unknown): value is LabCredentials {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const ok = (k: string, re: RegExp): boolean => typeof v[k] === 'string' && re.test(v[k] as string);
  return (
    v.version === 1 &&
    ok('unixPassword', /^[A-Za-z0-9]{12,64}$/) &&
    ok('vncPassword', /^[A-Za-z0-9]{6,8}$/) &&
    ok('rdpUsername', /^[A-Za-z0-9_-]{1,32}$/) &&
    ok('rdpPassword', /^[A-Za-z0-9]{12,64}$/)
  );
}

/** Loads <labDir>/credentials.json, creating it on first use; always leaves it mode 0600. */
export function loadOrCreateCredentials(labDir: string): LabCredentials {
  const file = path.join(labDir, 'credentials.json');
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`lab: ${file} is not valid JSON (${(e as Error).message}); delete it to regenerate`);
    }
    if (!isCredentials(parsed)) throw new Error(`lab: ${file} has an unexpected shape; delete it to regenerate`);
    return parsed;
  }
  const creds: LabCredentials = {
    version: 1,
    createdAt: new Date().toISOString(),
    unixPassword: generatePassword(20),
    vncPassword: generatePassword(8),
    rdpUsername: 'operator',
    rdpPassword: generatePassword(20),
  };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return creds;
}
