import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Executor } from '../../db/index.js';
import { newId, nowIso } from '../../util.js';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

// Recovery codes are random (~60 bits), so a plain SHA-256 is enough to store them.
const hashCode = (code: string) => createHash('sha256').update(code.toLowerCase().replace(/[\s-]/g, '')).digest('hex');

function newCode(): string {
  let s = '';
  for (let i = 0; i < 12; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

/** Replaces the user's recovery codes with 10 new single-use ones, returned once. */
export async function issueRecoveryCodes(ex: Executor, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  await ex.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  const now = nowIso();
  await ex.insertInto('recovery_codes').values(codes.map((c) => ({ id: newId(), user_id: userId, code_hash: hashCode(c), used_at: null, created_at: now }))).execute();
  return codes;
}

/** Uses up one recovery code; false when it is unknown or already used. */
export async function consumeRecoveryCode(ex: Executor, userId: string, code: string): Promise<boolean> {
  if (code.length > 64) return false;
  const want = Buffer.from(hashCode(code));
  const rows = await ex.selectFrom('recovery_codes').select(['id', 'code_hash']).where('user_id', '=', userId).where('used_at', 'is', null).execute();
  const hit = rows.find((r) => timingSafeEqual(Buffer.from(r.code_hash), want));
  if (!hit) return false;
  // The used_at guard makes a concurrent second use of the same code fail.
  const r = await ex.updateTable('recovery_codes').set({ used_at: nowIso() }).where('id', '=', hit.id).where('used_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function remainingRecoveryCodes(ex: Executor, userId: string): Promise<number> {
  const r = await ex.selectFrom('recovery_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return Number(r.n);
}
