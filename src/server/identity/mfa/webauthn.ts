import { isIP } from 'node:net';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { z } from 'zod';
import { audit } from '../../audit/log.js';
import type { Ctx } from '../../context.js';
import type { Db, Executor } from '../../db/index.js';
import type { UsersTable } from '../../db/schema.js';
import { inTx } from '../../db/tx.js';
import { DomainError, invalid } from '../../errors.js';
import { nowIso, parseJson } from '../../util.js';
import { name as nameRule } from '../../validation.js';
import { completeSignIn, secondFactorRequired } from '../auth.js';
import { countFailure } from '../lockout.js';
import { getSecuritySettings } from '../settings.js';
import { issueRecoveryCodes, remainingRecoveryCodes } from './recovery.js';
import { hasSecondFactor, mfaStatus } from './service.js';

/**
 * WebAuthn security keys and passkeys as a second factor (@simplewebauthn/server). The pending
 * challenge lives in the console session (console_sessions.challenge) and is consumed, whatever
 * the outcome, by the verification that follows: a challenge is never accepted twice.
 */

/** The relying party: the RP ID (a domain name, never an IP address) and the console's origin. */
export interface RelyingParty {
  id: string;
  name: string;
  origin: string;
}

export const RP_NAME = 'Portcullis';

/** The relying party of a public URL (https://gateway.plant.example[:port]). */
export function relyingPartyFromUrl(url: string): RelyingParty {
  const u = new URL(url);
  return { id: u.hostname, name: RP_NAME, origin: u.origin };
}

function assertUsable(rp: RelyingParty): void {
  const host = rp.id.replace(/^\[|\]$/g, '');
  if (!host || isIP(host) !== 0) {
    throw new DomainError('conflict', `security keys need the console to be opened by a host name, not the address ${rp.id}: use its DNS name (or set publicUrl)`);
  }
}

/** Credential ids are base64url (16-1023 bytes). */
export const credentialIdPattern = /^[A-Za-z0-9_-]{16,1400}$/;
export const keyName = nameRule.max(64, 'must be at most 64 characters');

const b64 = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*={0,2}$/, 'must be base64url');
/** The browser's PublicKeyCredential as JSON: checked loosely here, fully by the verifier. */
const credentialJson = <R extends z.ZodType>(response: R) =>
  z.looseObject({
    id: b64(1400).min(1, 'required'),
    rawId: b64(1400).min(1, 'required'),
    type: z.literal('public-key'),
    response,
    clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).nullish(),
  });

export const registrationResponse = credentialJson(
  z.looseObject({ clientDataJSON: b64(16_384), attestationObject: b64(65_536), transports: z.array(z.string().max(32)).max(16).optional() }),
);
export const authenticationResponse = credentialJson(
  z.looseObject({ clientDataJSON: b64(16_384), authenticatorData: b64(16_384), signature: b64(4096), userHandle: b64(1024).nullish() }),
);

export const registerSchema = z.strictObject({ name: keyName, response: registrationResponse });
export const authenticateSchema = z.strictObject({ response: authenticationResponse });
export const renameSchema = z.strictObject({ name: keyName });

export interface KeyView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

type UserRef = Pick<UsersTable, 'id' | 'username'>;

const transportsOf = (json: string): string[] => parseJson<string[]>(json, []).filter((t) => typeof t === 'string');

async function userKeys(ex: Executor, userId: string) {
  return ex.selectFrom('webauthn_credentials').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
}

/** Takes the session's pending challenge and clears it (compare-and-set: one use only). */
async function takeChallenge(db: Db, sessionId: string): Promise<string | null> {
  const row = await db.selectFrom('console_sessions').select('challenge').where('id', '=', sessionId).executeTakeFirst();
  if (!row?.challenge) return null;
  const r = await db.updateTable('console_sessions').set({ challenge: null }).where('id', '=', sessionId).where('challenge', '=', row.challenge).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1 ? row.challenge : null;
}

async function storeChallenge(db: Db, sessionId: string, challenge: string): Promise<void> {
  await db.updateTable('console_sessions').set({ challenge }).where('id', '=', sessionId).execute();
}

// ---------------------------------------------------------------------------------------------
// Registration

/** Options for navigator.credentials.create(); the challenge is kept in the session. */
export async function registrationOptions(db: Db, user: Pick<UsersTable, 'id' | 'username' | 'display_name'>, rp: RelyingParty, sessionId: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  assertUsable(rp);
  const existing = await userKeys(db, user.id);
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.username,
    userDisplayName: user.display_name || user.username,
    userID: new TextEncoder().encode(user.id),
    attestationType: 'none',
    excludeCredentials: existing.map((k) => ({ id: k.id, transports: transportsOf(k.transports) })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
  await storeChallenge(db, sessionId, options.challenge);
  return options;
}

/**
 * Verifies the browser's attestation and stores the key. The account's first second factor also
 * issues recovery codes (returned once), as TOTP enrollment does.
 */
export async function verifyRegistration(ctx: Ctx, user: UserRef, rp: RelyingParty, sessionId: string, input: z.infer<typeof registerSchema>): Promise<{ key: Omit<KeyView, 'lastUsedAt'>; recoveryCodes?: string[] }> {
  const { db, actor } = ctx;
  const target = { type: 'user', id: user.id, name: user.username };
  const challenge = await takeChallenge(db, sessionId);
  if (!challenge) throw new DomainError('conflict', 'no security key registration is in progress: request registration options first');
  const fail = async (reason: string): Promise<never> => {
    await audit(db, actor, { action: 'mfa.webauthn_register', target, result: 'failure', details: { reason } });
    throw invalid(`the security key could not be registered: ${reason}`, [{ path: '/response', message: reason }]);
  };
  const res = await verifyRegistrationResponse({
    response: input.response as RegistrationResponseJSON,
    expectedChallenge: challenge,
    expectedOrigin: rp.origin,
    expectedRPID: rp.id,
    requireUserVerification: false,
  }).catch((err: unknown) => (err instanceof Error ? err.message : 'the attestation did not verify'));
  if (typeof res === 'string') return fail(res);
  if (!res.verified) return fail('the attestation did not verify');
  const info = res.registrationInfo;
  const cred = info.credential;
  if (!credentialIdPattern.test(cred.id)) return fail('unexpected credential id');
  return inTx(db, async (tx) => {
    const taken = await tx.selectFrom('webauthn_credentials').select('user_id').where('id', '=', cred.id).executeTakeFirst();
    if (taken) throw new DomainError('conflict', 'this security key is already registered');
    const before = await mfaStatus(tx, user.id);
    const createdAt = nowIso();
    await tx
      .insertInto('webauthn_credentials')
      .values({
        id: cred.id,
        user_id: user.id,
        name: input.name,
        public_key: Buffer.from(cred.publicKey).toString('base64url'),
        counter: cred.counter,
        transports: JSON.stringify(cred.transports ?? []),
        created_at: createdAt,
        last_used_at: null,
      })
      .execute();
    const hadCodes = (await remainingRecoveryCodes(tx, user.id)) > 0;
    const recoveryCodes = !hasSecondFactor(before) || !hadCodes ? await issueRecoveryCodes(tx, user.id) : undefined;
    await audit(tx, actor, {
      action: 'mfa.webauthn_register',
      target,
      details: { key: input.name, credential: cred.id.slice(0, 16), aaguid: info.aaguid, deviceType: info.credentialDeviceType, backedUp: info.credentialBackedUp, userVerified: info.userVerified, recoveryCodesIssued: Boolean(recoveryCodes) },
    });
    const key = { id: cred.id, name: input.name, createdAt };
    return recoveryCodes ? { key, recoveryCodes } : { key };
  });
}

// ---------------------------------------------------------------------------------------------
// Authentication (sign-in, step 2)

/** Options for navigator.credentials.get(): the user's keys; the challenge is kept in the session. */
export async function authenticationOptions(db: Db, userId: string, rp: RelyingParty, sessionId: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
  assertUsable(rp);
  const keys = await userKeys(db, userId);
  if (keys.length === 0) throw new DomainError('conflict', 'no security key is registered for this account: use another second factor');
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: keys.map((k) => ({ id: k.id, transports: transportsOf(k.transports) })),
    userVerification: 'preferred',
  });
  await storeChallenge(db, sessionId, options.challenge);
  return options;
}

/**
 * Verifies an assertion against the session's pending challenge and the stored key (signature,
 * origin, RP ID, signature counter), moves the counter, and records the finished sign-in.
 * Refused assertions are audited and count toward the lockout like wrong TOTP codes.
 */
export async function verifyAuthentication(ctx: Ctx, userId: string, rp: RelyingParty, sessionId: string, response: z.infer<typeof authenticationResponse>): Promise<UsersTable> {
  const { db, actor } = ctx;
  const user = await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
  if (!user || user.status !== 'active') throw new DomainError('unauthorized', 'sign in again');
  const challenge = await takeChallenge(db, sessionId);
  if (!challenge) throw new DomainError('conflict', 'no security key sign-in is in progress: request options first');
  const target = { type: 'user', id: user.id, name: user.username };
  const fail = async (reason: string): Promise<never> => {
    await audit(db, actor, { action: 'auth.mfa', target, result: 'failure', details: { method: 'webauthn', reason } });
    await countFailure(db, user, actor, await getSecuritySettings(db));
    throw new DomainError('unauthorized', 'the security key was not accepted: try again');
  };
  const key = await db.selectFrom('webauthn_credentials').selectAll().where('id', '=', response.id).where('user_id', '=', user.id).executeTakeFirst();
  if (!key) return fail('unknown credential');
  const res = await verifyAuthenticationResponse({
    response: response as AuthenticationResponseJSON,
    expectedChallenge: challenge,
    expectedOrigin: rp.origin,
    expectedRPID: rp.id,
    credential: { id: key.id, publicKey: Buffer.from(key.public_key, 'base64url'), counter: Number(key.counter), transports: transportsOf(key.transports) },
    requireUserVerification: false,
  }).catch((err: unknown) => (err instanceof Error ? err.message : 'the assertion did not verify'));
  if (typeof res === 'string') return fail(res);
  if (!res.verified) return fail('the assertion did not verify');
  const newCounter = res.authenticationInfo.newCounter;
  // Compare-and-set on the counter: of two concurrent uses, only one wins.
  const r = await db.updateTable('webauthn_credentials').set({ counter: newCounter, last_used_at: nowIso() }).where('id', '=', key.id).where('counter', '=', key.counter).executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return fail('signature counter changed concurrently');
  return completeSignIn(db, user, { ...actor, id: user.id, name: user.username }, 'webauthn');
}

// ---------------------------------------------------------------------------------------------
// Key management

export async function listKeys(db: Db, userId: string): Promise<KeyView[]> {
  return (await userKeys(db, userId)).map((k) => ({ id: k.id, name: k.name, createdAt: k.created_at, lastUsedAt: k.last_used_at }));
}

const noSuchKey = () => new DomainError('not_found', 'no such security key of yours');

export async function renameKey(ctx: Ctx, user: UserRef, id: string, name: string): Promise<KeyView> {
  return inTx(ctx.db, async (tx) => {
    const key = await tx.selectFrom('webauthn_credentials').selectAll().where('id', '=', id).where('user_id', '=', user.id).executeTakeFirst();
    if (!key) throw noSuchKey();
    await tx.updateTable('webauthn_credentials').set({ name }).where('id', '=', id).execute();
    await audit(tx, ctx.actor, { action: 'mfa.webauthn_rename', target: { type: 'user', id: user.id, name: user.username }, details: { credential: id.slice(0, 16), from: key.name, to: name } });
    return { id, name, createdAt: key.created_at, lastUsedAt: key.last_used_at };
  });
}

/** Removes a key; refused when it is the last second factor of an account that requires one. */
export async function removeKey(ctx: Ctx, user: UsersTable, id: string): Promise<void> {
  const settings = await getSecuritySettings(ctx.db);
  await inTx(ctx.db, async (tx) => {
    const key = await tx.selectFrom('webauthn_credentials').select(['id', 'name']).where('id', '=', id).where('user_id', '=', user.id).executeTakeFirst();
    if (!key) throw noSuchKey();
    const status = await mfaStatus(tx, user.id);
    if (secondFactorRequired(user, settings) && !status.totp && status.webauthnKeys <= 1) {
      throw new DomainError('conflict', 'your account requires a second factor and this is your last one: enroll another security key or an authenticator app first');
    }
    await tx.deleteFrom('webauthn_credentials').where('id', '=', id).execute();
    await audit(tx, ctx.actor, { action: 'mfa.webauthn_remove', target: { type: 'user', id: user.id, name: user.username }, details: { key: key.name, credential: id.slice(0, 16) } });
  });
}
