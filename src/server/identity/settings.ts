import { z } from 'zod';
import { audit, changes } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Executor } from '../db/index.js';
import { inTx } from '../db/tx.js';
import { nowIso } from '../util.js';
import { ROLES } from './roles.js';

/** System Management -> Security. Defaults follow NIST SP 800-63B and IEC 62443-3-3 SR 1.x. */
export const securitySettingsSchema = z.strictObject({
  minPasswordLength: z.number().int().min(8, 'at least 8').max(128).default(12),
  enforceCharacterClasses: z.boolean().default(false),
  blockCommonPasswords: z.boolean().default(true),
  /** 0 = passwords do not expire (NIST SP 800-63B). */
  passwordExpirationDays: z.number().int().min(0).max(3650).default(0),
  /** How many previous passwords may not be reused (0 = off). */
  passwordHistory: z.number().int().min(0).max(24).default(5),
  lockoutAttempts: z.number().int().min(1).max(100).default(5),
  lockoutMinutes: z.number().int().min(1).max(10_080).default(15),
  /** Accounts without a login for this many days are disabled (0 = off). */
  disableInactiveDays: z.number().int().min(0).max(3650).default(90),
  /** Passwords set by an administrator must be changed at next login. */
  forcePasswordChange: z.boolean().default(true),
  otpRequiredGlobal: z.boolean().default(false),
  otpRequiredRoles: z.array(z.enum(ROLES)).max(3).default([]),
  /** Console session idle timeout; null = the gateway's configuration (15 minutes). */
  sessionIdleMinutes: z.number().int().min(1).max(1440).nullable().default(null),
  /** Console session absolute lifetime (new sessions); null = the configuration (12 hours). */
  sessionLifetimeHours: z.number().int().min(1).max(168).nullable().default(null),
});
export type SecuritySettings = z.output<typeof securitySettingsSchema>;
export const securitySettingsUpdateSchema = securitySettingsSchema.partial();

/** The system-use notification shown before login (IEC 62443-3-3 SR 1.12). */
export const loginMessageSchema = z.strictObject({
  enabled: z.boolean().default(true),
  title: z.string().trim().max(200).default('Authorized use only'),
  text: z
    .string()
    .max(5000)
    .default('This system is for authorized users only. All sessions are recorded and monitored. By signing in you consent to this.'),
});
export type LoginMessage = z.output<typeof loginMessageSchema>;
export const loginMessageUpdateSchema = loginMessageSchema.partial();

/**
 * Live oversight: which Operators may watch and moderate live sessions (Administrators always may).
 * `all`: every Operator; `granted`: on assets their own grants reach (their site, zone or assets);
 * `none`: Administrators only.
 */
export const oversightSettingsSchema = z.strictObject({
  operators: z.enum(['all', 'granted', 'none']).default('all'),
});
export type OversightSettings = z.output<typeof oversightSettingsSchema>;
export const oversightSettingsUpdateSchema = oversightSettingsSchema.partial();

const DOCS = {
  security: securitySettingsSchema,
  login_message: loginMessageSchema,
  oversight: oversightSettingsSchema,
} as const;
type DocKey = keyof typeof DOCS;

async function read<K extends DocKey>(ex: Executor, key: K): Promise<z.output<(typeof DOCS)[K]>> {
  const row = await ex.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  let stored: unknown = {};
  try {
    stored = row ? JSON.parse(row.value) : {};
  } catch {
    stored = {};
  }
  // Stored documents are re-validated; a field that no longer validates falls back to its default.
  const parsed = DOCS[key].safeParse(stored);
  return (parsed.success ? parsed.data : DOCS[key].parse({})) as z.output<(typeof DOCS)[K]>;
}

async function write<K extends DocKey>(ctx: Ctx, key: K, patch: Record<string, unknown>, action: string) {
  return inTx(ctx.db, async (tx) => {
    const before = await read(tx, key);
    const after = DOCS[key].parse({ ...before, ...patch }) as z.output<(typeof DOCS)[K]>;
    const value = JSON.stringify(after);
    const now = nowIso();
    const exists = await tx.selectFrom('settings').select('key').where('key', '=', key).executeTakeFirst();
    if (exists) await tx.updateTable('settings').set({ value, updated_at: now, updated_by: ctx.actor.id }).where('key', '=', key).execute();
    else await tx.insertInto('settings').values({ key, value, updated_at: now, updated_by: ctx.actor.id }).execute();
    await audit(tx, ctx.actor, { action, target: { type: 'settings', id: key, name: key }, details: { changes: changes(before as Record<string, unknown>, patch) } });
    return after;
  });
}

export const getSecuritySettings = (ex: Executor) => read(ex, 'security');

// Per-request readers (session checks) use a copy at most 5 s old; a change on this node is seen at once.
const cache = new WeakMap<object, { at: number; value: SecuritySettings }>();
export async function cachedSecuritySettings(db: Executor): Promise<SecuritySettings> {
  const hit = cache.get(db);
  if (hit && Date.now() - hit.at < 5000) return hit.value;
  const value = await getSecuritySettings(db);
  cache.set(db, { at: Date.now(), value });
  return value;
}
export const getLoginMessage = (ex: Executor) => read(ex, 'login_message');
export const updateSecuritySettings = async (ctx: Ctx, patch: z.output<typeof securitySettingsUpdateSchema>) => {
  const out = await write(ctx, 'security', patch, 'settings.security_update');
  cache.delete(ctx.db);
  return out;
};
export const getOversightSettings = (ex: Executor) => read(ex, 'oversight');
export const updateOversightSettings = (ctx: Ctx, patch: z.output<typeof oversightSettingsUpdateSchema>) => write(ctx, 'oversight', patch, 'settings.oversight_update');
export const updateLoginMessage = (ctx: Ctx, patch: z.output<typeof loginMessageUpdateSchema>) => write(ctx, 'login_message', patch, 'settings.login_message_update');
