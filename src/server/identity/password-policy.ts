import { dictionary } from '@zxcvbn-ts/language-common';
import type { Executor } from '../db/index.js';
import { invalid } from '../errors.js';
import { MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.js';
import { getSecuritySettings } from './settings.js';

// ~49,000 most common passwords (zxcvbn-ts "passwords-common", from real breach corpora).
let common: Set<string> | undefined;
const commonPasswords = () => (common ??= new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase())));

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i' };

/** True when the password is, or is a trivial variation of, a common password ("Password123!"). */
export function isCommonPassword(password: string): boolean {
  const list = commonPasswords();
  const lower = password.toLowerCase();
  const core = lower.replace(/^[^a-z]+/, '').replace(/[^a-z]+$/, '');
  const deleeted = lower.replace(/[013457@$!]/g, (c) => LEET[c] ?? c);
  const deleetedCore = deleeted.replace(/^[^a-z]+/, '').replace(/[^a-z]+$/, '');
  return [lower, core, deleeted, deleetedCore].some((c) => c.length >= 3 && list.has(c));
}

function characterClasses(p: string): number {
  return [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(p)).length;
}

/**
 * Applies the security settings to a new password: length, character classes (when enforced),
 * the common-password blocklist, the username, and the user's password history.
 */
export async function assertPasswordAllowed(ex: Executor, opts: { password: string; username: string; userId?: string; path?: string }): Promise<void> {
  const s = await getSecuritySettings(ex);
  const { password, username } = opts;
  const problems: string[] = [];
  if (password.length < s.minPasswordLength) problems.push(`must be at least ${s.minPasswordLength} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) problems.push(`must be at most ${MAX_PASSWORD_LENGTH} characters`);
  if (s.enforceCharacterClasses && characterClasses(password) < 3) problems.push('must mix at least three of: lower case, upper case, digits, symbols');
  if (username && password.toLowerCase().includes(username.toLowerCase())) problems.push('must not contain the username');
  if (/^(.)\1+$/.test(password)) problems.push('must not be one repeated character');
  if (s.blockCommonPasswords && problems.length === 0 && isCommonPassword(password)) problems.push('is a commonly used password (found in breach lists): choose another');
  if (problems.length === 0 && opts.userId && s.passwordHistory > 0) {
    const current = await ex.selectFrom('users').select('password_hash').where('id', '=', opts.userId).executeTakeFirst();
    const old = await ex.selectFrom('password_history').select('hash').where('user_id', '=', opts.userId).orderBy('created_at', 'desc').limit(s.passwordHistory).execute();
    const hashes = [current?.password_hash, ...old.map((o) => o.hash)].filter((h): h is string => Boolean(h)).slice(0, s.passwordHistory);
    for (const h of hashes) {
      if (await verifyPassword(h, password)) {
        problems.push(`must differ from your last ${s.passwordHistory} passwords`);
        break;
      }
    }
  }
  if (problems.length) {
    const path = opts.path ?? '/newPassword';
    throw invalid(`the new password ${problems.join(' and ')}`, problems.map((message) => ({ path, message })));
  }
}

/** Keeps the replaced hash for the history check (at most 24 per user). */
export async function rememberOldPassword(ex: Executor, userId: string, oldHash: string | null, at: string): Promise<void> {
  if (!oldHash) return;
  await ex.insertInto('password_history').values({ user_id: userId, hash: oldHash, created_at: at }).execute();
  const keep = await ex.selectFrom('password_history').select('created_at').where('user_id', '=', userId).orderBy('created_at', 'desc').offset(23).limit(1).executeTakeFirst();
  if (keep) await ex.deleteFrom('password_history').where('user_id', '=', userId).where('created_at', '<', keep.created_at).execute();
}
