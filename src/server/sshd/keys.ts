import { createPublicKey } from 'node:crypto';
import ssh2 from 'ssh2';
import { z } from 'zod';
import { audit } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Executor } from '../db/index.js';
import type { UserSshKeysTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import { DomainError, invalid, notFound } from '../errors.js';
import { hostKeyFingerprint } from '../protocols/ssh/hostkey.js';
import { newId, nowIso } from '../util.js';
import { name } from '../validation.js';

/**
 * SSH public keys users register for the SSH front door: at the front door a registered key
 * replaces the password (the second factor is still asked). Only public keys are stored; a pasted
 * private key is refused (and not kept). Types: Ed25519, ECDSA, RSA of at least 2048 bits.
 */
export const MAX_KEYS_PER_USER = 20;
const ALLOWED = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa']);

export const sshKeyCreateSchema = z.strictObject({
  name,
  /** One line of an OpenSSH .pub file: "ssh-ed25519 AAAA... comment". */
  publicKey: z.string().trim().min(1, 'required').max(16_384, 'must be at most 16384 characters'),
});

export interface SshKeyView {
  id: string;
  name: string;
  type: string;
  fingerprint: string;
  comment: string;
  createdAt: string;
  lastUsedAt: string | null;
}

const toView = (r: UserSshKeysTable): SshKeyView => {
  const [type = '', , ...comment] = r.public_key.split(' ');
  return { id: r.id, name: r.name, type, fingerprint: r.fingerprint, comment: comment.join(' '), createdAt: r.created_at, lastUsedAt: r.last_used_at };
};

export interface ParsedPublicKey {
  type: string;
  /** The key in SSH wire format (what the client presents when it signs in). */
  blob: Buffer;
  /** Canonical one-line form: "<type> <base64>[ <comment>]". */
  line: string;
  fingerprint: string;
}

const bad = (message: string) => invalid(message, [{ path: '/publicKey', message }]);

/** Parses and checks one OpenSSH public key line. */
export function parsePublicKey(text: string): ParsedPublicKey {
  const t = text.trim();
  if (/PRIVATE KEY/.test(t)) throw bad('this is a private key: paste the public key (the .pub file) and keep the private key secret');
  if (/[\r\n]/.test(t)) throw bad('paste one public key, on one line (the content of the .pub file)');
  const [type = '', data = '', ...rest] = t.split(/\s+/);
  if (!ALLOWED.has(type)) {
    throw bad(`not a supported public key: it must start with one of ${[...ALLOWED].join(', ')} (security-key "sk-" types and DSA are not accepted)`);
  }
  const parsed = ssh2.utils.parseKey(`${type} ${data}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || key.isPrivateKey() || key.type !== type) throw bad('not a valid OpenSSH public key: paste the whole line of the .pub file');
  if (type === 'ssh-rsa') {
    const bits = createPublicKey(key.getPublicPEM()).asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw bad(`RSA keys must have at least 2048 bits (this one has ${bits}); Ed25519 is preferred`);
  }
  const blob = key.getPublicSSH();
  const comment = rest.join(' ').replace(/[^\x20-\x7e]/g, '').slice(0, 200);
  return { type, blob, line: `${type} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`, fingerprint: hostKeyFingerprint(blob) };
}

export async function listSshKeys(ex: Executor, userId: string): Promise<SshKeyView[]> {
  return (await ex.selectFrom('user_ssh_keys').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute()).map(toView);
}

export async function addSshKey(ctx: Ctx, user: { id: string; username: string }, input: z.output<typeof sshKeyCreateSchema>): Promise<SshKeyView> {
  const key = parsePublicKey(input.publicKey);
  return inTx(ctx.db, async (tx) => {
    const mine = await tx.selectFrom('user_ssh_keys').select(['name', 'fingerprint']).where('user_id', '=', user.id).execute();
    const same = mine.find((k) => k.fingerprint === key.fingerprint);
    if (same) throw new DomainError('conflict', `this key is already registered (as "${same.name}")`);
    if (mine.length >= MAX_KEYS_PER_USER) throw new DomainError('conflict', `at most ${MAX_KEYS_PER_USER} SSH keys per user: remove one first`);
    const row: UserSshKeysTable = { id: newId(), user_id: user.id, name: input.name, public_key: key.line, fingerprint: key.fingerprint, created_at: nowIso(), last_used_at: null };
    await tx.insertInto('user_ssh_keys').values(row).execute();
    await audit(tx, ctx.actor, { action: 'user.ssh_key_add', target: { type: 'user', id: user.id, name: user.username }, details: { key: row.name, type: key.type, fingerprint: key.fingerprint } });
    return toView(row);
  });
}

export async function removeSshKey(ctx: Ctx, user: { id: string; username: string }, keyId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const row = await tx.selectFrom('user_ssh_keys').selectAll().where('id', '=', keyId).where('user_id', '=', user.id).executeTakeFirst();
    if (!row) throw notFound('SSH key', keyId);
    await tx.deleteFrom('user_ssh_keys').where('id', '=', keyId).execute();
    await audit(tx, ctx.actor, { action: 'user.ssh_key_remove', target: { type: 'user', id: user.id, name: user.username }, details: { key: row.name, fingerprint: row.fingerprint } });
  });
}

/** The user's registered key matching the key blob a client presents, if any. */
export async function findUserKey(ex: Executor, userId: string, blob: Buffer): Promise<UserSshKeysTable | undefined> {
  const fingerprint = hostKeyFingerprint(blob);
  const row = await ex.selectFrom('user_ssh_keys').selectAll().where('user_id', '=', userId).where('fingerprint', '=', fingerprint).executeTakeFirst();
  // Compare the whole key too, not only its hash.
  return row && row.public_key.split(' ')[1] === blob.toString('base64') ? row : undefined;
}

export async function markKeyUsed(ex: Executor, keyId: string): Promise<void> {
  await ex.updateTable('user_ssh_keys').set({ last_used_at: nowIso() }).where('id', '=', keyId).execute();
}
