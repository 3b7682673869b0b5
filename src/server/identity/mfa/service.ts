import QRCode from 'qrcode';
import { audit } from '../../audit/log.js';
import type { SecretCtx } from '../../context.js';
import type { Executor } from '../../db/index.js';
import { inTx } from '../../db/tx.js';
import { invalid } from '../../errors.js';
import { nowIso } from '../../util.js';
import { issueRecoveryCodes, remainingRecoveryCodes } from './recovery.js';
import { matchTotp, newTotpSecret, otpauthUri } from './totp.js';

const PURPOSE = 'mfa.totp';

export interface MfaStatus {
  totp: boolean;
  totpPending: boolean;
  webauthnKeys: number;
  recoveryCodesLeft: number;
}

export async function mfaStatus(ex: Executor, userId: string): Promise<MfaStatus> {
  const totp = await ex.selectFrom('mfa_totp').select(['secret_enc', 'pending_secret_enc']).where('user_id', '=', userId).executeTakeFirst();
  const keys = await ex.selectFrom('webauthn_credentials').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
  return {
    totp: Boolean(totp?.secret_enc),
    totpPending: Boolean(totp?.pending_secret_enc),
    webauthnKeys: Number(keys.n),
    recoveryCodesLeft: await remainingRecoveryCodes(ex, userId),
  };
}

export const hasSecondFactor = (s: MfaStatus) => s.totp || s.webauthnKeys > 0;

/** Starts (or restarts) TOTP enrollment. The current secret, if any, stays valid until confirmation. */
export async function startTotpEnrollment(ctx: SecretCtx, user: { id: string; username: string }) {
  const secret = newTotpSecret();
  const sealed = ctx.secrets.seal(secret, PURPOSE);
  const exists = await ctx.db.selectFrom('mfa_totp').select('user_id').where('user_id', '=', user.id).executeTakeFirst();
  if (exists) await ctx.db.updateTable('mfa_totp').set({ pending_secret_enc: sealed }).where('user_id', '=', user.id).execute();
  else await ctx.db.insertInto('mfa_totp').values({ user_id: user.id, secret_enc: null, pending_secret_enc: sealed, confirmed_at: null, last_step: 0, created_at: nowIso() }).execute();
  const uri = otpauthUri({ secret, account: user.username, issuer: 'Portcullis' });
  return { secret, otpauthUri: uri, qrCode: await QRCode.toDataURL(uri, { margin: 1, width: 220 }) };
}

/** Confirms enrollment with a code from the app; first enrollment also issues recovery codes. */
export async function confirmTotpEnrollment(ctx: SecretCtx, user: { id: string; username: string }, code: string): Promise<{ recoveryCodes?: string[] }> {
  const row = await ctx.db.selectFrom('mfa_totp').selectAll().where('user_id', '=', user.id).executeTakeFirst();
  if (!row?.pending_secret_enc) throw invalid('no TOTP enrollment is in progress: start one first');
  const step = matchTotp(ctx.secrets.open(row.pending_secret_enc, PURPOSE), code.trim(), Date.now(), 0);
  if (step === undefined) {
    // Audited outside any transaction: the refusal must stay on record.
    await audit(ctx.db, ctx.actor, { action: 'mfa.totp_enroll', target: { type: 'user', id: user.id, name: user.username }, result: 'failure', details: { reason: 'wrong confirmation code' } });
    throw invalid('the code does not match: check the time on your device and enter the current code', [{ path: '/code', message: 'wrong code' }]);
  }
  return inTx(ctx.db, async (tx) => {
    const first = !row.secret_enc;
    const r = await tx
      .updateTable('mfa_totp')
      .set({ secret_enc: row.pending_secret_enc, pending_secret_enc: null, confirmed_at: nowIso(), last_step: step })
      .where('user_id', '=', user.id)
      .where('pending_secret_enc', '=', row.pending_secret_enc)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw invalid('the enrollment changed meanwhile: start again');
    const hadCodes = (await remainingRecoveryCodes(tx, user.id)) > 0;
    const recoveryCodes = first || !hadCodes ? await issueRecoveryCodes(tx, user.id) : undefined;
    await audit(tx, ctx.actor, { action: first ? 'mfa.totp_enroll' : 'mfa.totp_reenroll', target: { type: 'user', id: user.id, name: user.username }, details: { recoveryCodesIssued: Boolean(recoveryCodes) } });
    return recoveryCodes ? { recoveryCodes } : {};
  });
}

/** Checks a TOTP code and burns its step, so the same code cannot be replayed. */
export async function verifyTotp(ctx: SecretCtx, userId: string, code: string): Promise<boolean> {
  const row = await ctx.db.selectFrom('mfa_totp').select(['secret_enc', 'last_step']).where('user_id', '=', userId).executeTakeFirst();
  if (!row?.secret_enc) return false;
  const step = matchTotp(ctx.secrets.open(row.secret_enc, PURPOSE), code.trim(), Date.now(), Number(row.last_step));
  if (step === undefined) return false;
  // Compare-and-set: of two concurrent uses of one code, only one wins.
  const r = await ctx.db.updateTable('mfa_totp').set({ last_step: step }).where('user_id', '=', userId).where('last_step', '<', step).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function regenerateRecoveryCodes(ctx: SecretCtx, user: { id: string; username: string }): Promise<string[]> {
  return inTx(ctx.db, async (tx) => {
    const codes = await issueRecoveryCodes(tx, user.id);
    await audit(tx, ctx.actor, { action: 'mfa.recovery_codes_regenerate', target: { type: 'user', id: user.id, name: user.username } });
    return codes;
  });
}

/** Administrator reset: removes every second factor; the user enrolls again at next login. */
export async function resetMfa(ctx: SecretCtx, user: { id: string; username: string }): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    await tx.deleteFrom('mfa_totp').where('user_id', '=', user.id).execute();
    await tx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
    const keys = await tx.deleteFrom('webauthn_credentials').where('user_id', '=', user.id).executeTakeFirst();
    await tx.deleteFrom('console_sessions').where('user_id', '=', user.id).execute();
    await audit(tx, ctx.actor, { action: 'mfa.reset', target: { type: 'user', id: user.id, name: user.username }, details: { webauthnKeysRemoved: Number(keys.numDeletedRows ?? 0) } });
  });
}

export async function removeTotp(ctx: SecretCtx, user: { id: string; username: string }): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    await tx.deleteFrom('mfa_totp').where('user_id', '=', user.id).execute();
    await audit(tx, ctx.actor, { action: 'mfa.totp_remove', target: { type: 'user', id: user.id, name: user.username } });
  });
}
