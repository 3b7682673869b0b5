import { z } from 'zod';
import { audit, changes } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Executor } from '../db/index.js';
import { inTx } from '../db/tx.js';
import { type FieldError, invalid } from '../errors.js';
import { nowIso } from '../util.js';
import { id } from '../validation.js';
import { approvalsCount, minutesSchema } from './rules.js';

/**
 * Defaults by Purdue level: an implicit rule for every asset at that level, combined with the
 * explicit rules like any other (strictest wins). Stored as the settings document
 * 'policy_defaults'. The recommended values (IEC 62443 practice): levels 0-1 need dual approval
 * and a moderator watching, level 2 one approval, level 3 and above grant-based.
 *
 * `enabled` is false until an administrator turns the defaults on: approvals are granted through
 * access requests (issue 6, part 2), and with the defaults on and no request workflow nobody could
 * reach a level 0-2 asset. Turning them on is one PUT; the values are pre-filled.
 */
export const LEVEL_KEYS = ['0', '1', '2', '3', '3.5', '4', '5'] as const;
export type LevelKey = (typeof LEVEL_KEYS)[number];

export interface LevelDefault {
  approvals: number;
  /** Who approves (null: any Administrator); "no self-approval" is always on. */
  approverGroupId: string | null;
  watchRequired: boolean;
  maxSessionMinutes: number | null;
  idleTimeoutMinutes: number | null;
}

export const RECOMMENDED_DEFAULTS: Record<LevelKey, LevelDefault> = {
  '0': { approvals: 2, approverGroupId: null, watchRequired: true, maxSessionMinutes: null, idleTimeoutMinutes: null },
  '1': { approvals: 2, approverGroupId: null, watchRequired: true, maxSessionMinutes: null, idleTimeoutMinutes: null },
  '2': { approvals: 1, approverGroupId: null, watchRequired: false, maxSessionMinutes: null, idleTimeoutMinutes: null },
  '3': { approvals: 0, approverGroupId: null, watchRequired: false, maxSessionMinutes: null, idleTimeoutMinutes: null },
  '3.5': { approvals: 0, approverGroupId: null, watchRequired: false, maxSessionMinutes: null, idleTimeoutMinutes: null },
  '4': { approvals: 0, approverGroupId: null, watchRequired: false, maxSessionMinutes: null, idleTimeoutMinutes: null },
  '5': { approvals: 0, approverGroupId: null, watchRequired: false, maxSessionMinutes: null, idleTimeoutMinutes: null },
};

const levelFields = {
  approvals: approvalsCount,
  approverGroupId: id.nullable(),
  watchRequired: z.boolean(),
  maxSessionMinutes: minutesSchema(1440, '24 hours').nullable(),
  idleTimeoutMinutes: minutesSchema(1440, '24 hours').nullable(),
};
const levelSchema = z.strictObject(levelFields);
const levelPatch = z.strictObject(levelFields).partial();

export interface PolicyDefaults {
  enabled: boolean;
  levels: Record<LevelKey, LevelDefault>;
}

/** PUT body: any part; levels and fields left out keep their current value. */
export const policyDefaultsUpdateSchema = z.strictObject({
  enabled: z.boolean().optional(),
  levels: z.strictObject(Object.fromEntries(LEVEL_KEYS.map((k) => [k, levelPatch.optional()])) as Record<LevelKey, z.ZodOptional<typeof levelPatch>>).optional(),
});
export type PolicyDefaultsUpdate = z.output<typeof policyDefaultsUpdateSchema>;

const KEY = 'policy_defaults';

/** Stored document merged over the recommended values; a level that no longer validates falls back. */
export async function getPolicyDefaults(ex: Executor): Promise<PolicyDefaults> {
  const row = await ex.selectFrom('settings').select('value').where('key', '=', KEY).executeTakeFirst();
  let stored: { enabled?: unknown; levels?: Record<string, unknown> } = {};
  try {
    stored = row ? JSON.parse(row.value) : {};
  } catch {
    stored = {};
  }
  const levels = {} as Record<LevelKey, LevelDefault>;
  for (const k of LEVEL_KEYS) {
    const parsed = levelSchema.safeParse({ ...RECOMMENDED_DEFAULTS[k], ...((stored.levels?.[k] as object) ?? {}) });
    levels[k] = parsed.success ? parsed.data : RECOMMENDED_DEFAULTS[k];
  }
  return { enabled: stored.enabled === true, levels };
}

/** The default for one asset's level (levels not in the table: none). */
export function levelDefault(d: PolicyDefaults, level: number): LevelDefault | undefined {
  return d.levels[String(level) as LevelKey];
}

export async function updatePolicyDefaults(ctx: Ctx, patch: PolicyDefaultsUpdate): Promise<PolicyDefaults> {
  return inTx(ctx.db, async (tx) => {
    const before = await getPolicyDefaults(tx);
    const after: PolicyDefaults = { enabled: patch.enabled ?? before.enabled, levels: { ...before.levels } };
    const errors: FieldError[] = [];
    for (const k of LEVEL_KEYS) {
      const p = patch.levels?.[k];
      if (!p) continue;
      const merged = { ...before.levels[k], ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) } as LevelDefault;
      if (merged.approverGroupId && merged.approvals === 0) errors.push({ path: `/levels/${k}/approverGroupId`, message: `level ${k}: an approver group needs approvals of 1 or more` });
      if (merged.approverGroupId && !(await tx.selectFrom('groups').select('id').where('id', '=', merged.approverGroupId).executeTakeFirst())) {
        errors.push({ path: `/levels/${k}/approverGroupId`, message: `group "${merged.approverGroupId}" does not exist` });
      }
      after.levels[k] = merged;
    }
    if (errors.length) throw invalid(errors.map((e) => e.message).join('; '), errors);
    const value = JSON.stringify(after);
    const now = nowIso();
    const exists = await tx.selectFrom('settings').select('key').where('key', '=', KEY).executeTakeFirst();
    if (exists) await tx.updateTable('settings').set({ value, updated_at: now, updated_by: ctx.actor.id }).where('key', '=', KEY).execute();
    else await tx.insertInto('settings').values({ key: KEY, value, updated_at: now, updated_by: ctx.actor.id }).execute();
    const diff: Record<string, unknown> = {};
    if (after.enabled !== before.enabled) diff.enabled = { from: before.enabled, to: after.enabled };
    for (const k of LEVEL_KEYS) {
      const c = changes(before.levels[k] as unknown as Record<string, unknown>, after.levels[k] as unknown as Record<string, unknown>);
      if (Object.keys(c).length) diff[`level ${k}`] = c;
    }
    await audit(tx, ctx.actor, { action: 'policy.defaults_update', target: { type: 'settings', id: KEY, name: 'Purdue-level policy defaults' }, details: { changes: diff } });
    return after;
  });
}
