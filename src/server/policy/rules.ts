import { z } from 'zod';
import { audit, changes } from '../audit/log.js';
import type { Ctx } from '../context.js';
import type { Db, Executor } from '../db/index.js';
import { type PageRequest, paginate } from '../db/paging.js';
import type { PolicyRulesTable } from '../db/schema.js';
import { containsText } from '../db/text.js';
import { inTx } from '../db/tx.js';
import { type FieldError, conflict, invalid, notFound } from '../errors.js';
import { PROTOCOLS, loginWindowSchema, type LoginWindow, type Protocol } from '../inventory/assets.js';
import { fromBool, newId, nowIso, parseJson, toBool } from '../util.js';
import { description, id, isoDateTime, name, purdueLevel, queryBool, tag, timezone } from '../validation.js';
import { windowOverlaps } from './schedule.js';

/**
 * Policy rules: conditions on access that grants give (allow with conditions), or prohibited
 * targets (deny). Every rule that matches a user x asset applies and the strictest outcome wins;
 * see decide.ts for the combination and docs/policy.md for the model.
 */
export const APPLIES_TO = ['everyone', 'employees', 'vendors'] as const;
export const EFFECTS = ['allow', 'deny'] as const;

/** Asset name patterns: * is any text, ? one character, case-insensitive, whole name. */
export const namePattern = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters')
  .refine((s) => !/[[\]{}\\]/.test(s), 'invalid pattern: use * (any text) and ? (one character); [ ] { } and \\ are not supported')
  .refine((s) => /[^*?]/.test(s), 'a pattern of wildcards only matches every asset: set targets.all instead');

export function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\/-]/g, (c) => `\\${c}`).replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

const ids = (what: string) => z.array(id).max(500, `at most 500 ${what}`).transform((xs) => [...new Set(xs)]);
const protocols = z
  .array(z.enum(PROTOCOLS, `unknown protocol: use one of ${PROTOCOLS.join(', ')}`))
  .max(PROTOCOLS.length)
  .transform((xs) => [...new Set(xs)]);

/** Weekly windows: none inverted (start before end), none overlapping on the same day. */
export const windowsSchema = z
  .array(loginWindowSchema)
  .min(1, 'give at least one window, or null for any time')
  .max(28, 'at most 28 windows')
  .superRefine((ws, ctx) => {
    for (const o of windowOverlaps(ws)) ctx.addIssue({ code: 'custom', message: o.message, path: [o.index] });
  });

export const minutesSchema = (max: number, what: string) =>
  z.number().int('must be whole minutes').min(1, 'must be at least 1 minute').max(max, `must be at most ${max} minutes (${what})`);
const maxSession = minutesSchema(1440, '24 hours');
const idleTimeout = minutesSchema(1440, '24 hours');
const advanceNotice = z.number().int('must be whole hours').min(1, 'must be at least 1 hour (null for none)').max(720, 'must be at most 720 hours (30 days)');
export const approvalsCount = z.number().int().min(0, 'must be 0 (none) or more').max(10, 'at most 10 approvers');

const subjectsSchema = z
  .strictObject({ everyone: z.boolean().default(false), users: ids('users').default([]), groups: ids('groups').default([]) })
  .refine((s) => s.everyone || s.users.length > 0 || s.groups.length > 0, 'name users or groups, or set everyone: true')
  .refine((s) => !(s.everyone && (s.users.length > 0 || s.groups.length > 0)), 'everyone: true names no users or groups');

const targetsSchema = z
  .strictObject({
    all: z.boolean().default(false),
    assets: ids('assets').default([]),
    sites: ids('sites').default([]),
    zones: ids('zones').default([]),
    tags: z.array(tag).max(100, 'at most 100 tags').default([]),
    purdueLevels: z.array(purdueLevel).max(7).default([]),
    namePatterns: z.array(namePattern).max(50, 'at most 50 patterns').default([]),
    /** A filter: only safety-critical assets among the targets (alone: every safety-critical asset). */
    safetyCritical: z.boolean().default(false),
  })
  .refine(
    (t) => t.all || t.safetyCritical || t.assets.length + t.sites.length + t.zones.length + t.tags.length + t.purdueLevels.length + t.namePatterns.length > 0,
    'name at least one target (assets, sites, zones, tags, purdueLevels, namePatterns, safetyCritical) or set all: true',
  )
  .refine((t) => !(t.all && t.assets.length + t.sites.length + t.zones.length + t.tags.length + t.purdueLevels.length + t.namePatterns.length > 0), 'all: true names no other targets');

const approvalsSchema = z.strictObject({
  required: approvalsCount.default(0),
  groupId: id.nullable().default(null),
  /** Always on; accepted (as true) so a rule read from the API can be sent back unchanged. */
  noSelfApproval: z.literal(true, 'self-approval is never allowed: noSelfApproval is always true').optional(),
});
/** Live approval of each session (manual session approval): who approves, how many. */
const sessionApprovalSchema = z.strictObject({
  required: approvalsCount.default(0),
  groupId: id.nullable().default(null),
});
const permission = z.strictObject({ inbound: z.boolean().default(true), outbound: z.boolean().default(true) });
const clipboard = z.strictObject({ toAsset: z.boolean().default(true), fromAsset: z.boolean().default(true) });

const priority = z.number().int('must be a whole number').min(0, 'must be 0-10000').max(10_000, 'must be 0-10000');

const fields = {
  name,
  description: description.default(''),
  enabled: z.boolean().default(true),
  priority: priority.default(100),
  effect: z.enum(EFFECTS).default('allow'),
  subjects: subjectsSchema,
  appliesTo: z.enum(APPLIES_TO).default('everyone'),
  targets: targetsSchema,
  allowedProtocols: protocols.default([]),
  blockedProtocols: protocols.default([]),
  windows: windowsSchema.nullable().default(null),
  timezone: timezone.nullable().default(null),
  validFrom: isoDateTime.nullable().default(null),
  validUntil: isoDateTime.nullable().default(null),
  approvals: approvalsSchema.prefault({}),
  maxSessionMinutes: maxSession.nullable().default(null),
  idleTimeoutMinutes: idleTimeout.nullable().default(null),
  advanceNoticeHours: advanceNotice.nullable().default(null),
  fileTransfer: permission.prefault({}),
  clipboard: clipboard.prefault({}),
  watchRequired: z.boolean().default(false),
  sessionApproval: sessionApprovalSchema.prefault({}),
  breakGlass: z.boolean().default(false),
};

/** Checks between fields, on a whole rule (after an update is merged too). */
function crossCheck(r: RuleSpec): FieldError[] {
  const e: FieldError[] = [];
  if (r.validFrom && r.validUntil && r.validFrom >= r.validUntil) e.push({ path: '/validUntil', message: 'validUntil must be after validFrom' });
  if (r.timezone && !r.windows) e.push({ path: '/timezone', message: 'timezone is the time zone of the windows: give windows, or leave it null' });
  if (r.approvals.groupId && r.approvals.required === 0) e.push({ path: '/approvals/groupId', message: 'an approver group needs approvals.required of 1 or more' });
  if (r.sessionApproval.groupId && r.sessionApproval.required === 0) e.push({ path: '/sessionApproval/groupId', message: 'an approver group needs sessionApproval.required of 1 or more' });
  const both = r.allowedProtocols.filter((p) => r.blockedProtocols.includes(p));
  if (both.length) e.push({ path: '/blockedProtocols', message: `${both.join(', ')} cannot be both allowed and blocked` });
  if (r.effect === 'deny') {
    const conditions = [
      r.allowedProtocols.length && 'allowedProtocols',
      r.blockedProtocols.length && 'blockedProtocols',
      r.approvals.required && 'approvals',
      r.maxSessionMinutes !== null && 'maxSessionMinutes',
      r.idleTimeoutMinutes !== null && 'idleTimeoutMinutes',
      r.advanceNoticeHours !== null && 'advanceNoticeHours',
      r.watchRequired && 'watchRequired',
      r.sessionApproval.required && 'sessionApproval',
      r.breakGlass && 'breakGlass',
      (!r.fileTransfer.inbound || !r.fileTransfer.outbound) && 'fileTransfer',
      (!r.clipboard.toAsset || !r.clipboard.fromAsset) && 'clipboard',
    ].filter((x): x is string => typeof x === 'string');
    if (conditions.length) e.push({ path: `/${conditions[0]}`, message: `a deny rule refuses access outright; conditions (${conditions.join(', ')}) belong on allow rules` });
  }
  return e;
}

export const ruleCreateSchema = z.strictObject(fields).superRefine((r, ctx) => {
  for (const e of crossCheck(r as RuleSpec)) ctx.addIssue({ code: 'custom', message: e.message, path: e.path.split('/').filter(Boolean) });
});
/** PATCH: any field; nested objects (subjects, targets, approvals, fileTransfer, clipboard) are replaced whole. */
export const ruleUpdateSchema = z.strictObject({
  name: name.optional(),
  description: description.optional(),
  enabled: z.boolean().optional(),
  priority: priority.optional(),
  effect: z.enum(EFFECTS).optional(),
  subjects: subjectsSchema.optional(),
  appliesTo: z.enum(APPLIES_TO).optional(),
  targets: targetsSchema.optional(),
  allowedProtocols: protocols.optional(),
  blockedProtocols: protocols.optional(),
  windows: windowsSchema.nullable().optional(),
  timezone: timezone.nullable().optional(),
  validFrom: isoDateTime.nullable().optional(),
  validUntil: isoDateTime.nullable().optional(),
  approvals: approvalsSchema.optional(),
  maxSessionMinutes: maxSession.nullable().optional(),
  idleTimeoutMinutes: idleTimeout.nullable().optional(),
  advanceNoticeHours: advanceNotice.nullable().optional(),
  fileTransfer: permission.optional(),
  clipboard: clipboard.optional(),
  watchRequired: z.boolean().optional(),
  sessionApproval: sessionApprovalSchema.optional(),
  breakGlass: z.boolean().optional(),
});
export const ruleFilterSchema = z.strictObject({
  name: z.string().max(128).optional(),
  effect: z.enum(EFFECTS).optional(),
  enabled: queryBool.optional(),
});

export interface RuleSpec {
  name: string;
  description: string;
  enabled: boolean;
  priority: number;
  effect: (typeof EFFECTS)[number];
  subjects: { everyone: boolean; users: string[]; groups: string[] };
  appliesTo: (typeof APPLIES_TO)[number];
  targets: { all: boolean; assets: string[]; sites: string[]; zones: string[]; tags: string[]; purdueLevels: number[]; namePatterns: string[]; safetyCritical: boolean };
  allowedProtocols: Protocol[];
  blockedProtocols: Protocol[];
  windows: LoginWindow[] | null;
  timezone: string | null;
  validFrom: string | null;
  validUntil: string | null;
  approvals: { required: number; groupId: string | null; noSelfApproval?: true };
  maxSessionMinutes: number | null;
  idleTimeoutMinutes: number | null;
  advanceNoticeHours: number | null;
  fileTransfer: { inbound: boolean; outbound: boolean };
  clipboard: { toAsset: boolean; fromAsset: boolean };
  watchRequired: boolean;
  /** Each session waits for this many live approvals (0 = none) from the group (null: Administrators). */
  sessionApproval: { required: number; groupId: string | null };
  /** The rule's users may open its targets by break-glass: approvals and moderation bypassed, reviewed after. */
  breakGlass: boolean;
}

export interface PolicyRule extends RuleSpec {
  id: string;
  approvals: { required: number; groupId: string | null; noSelfApproval: true };
  /** Names of the users, groups, assets, sites and zones the rule names by id ("(deleted)" if gone). */
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export function specFromRow(r: PolicyRulesTable): RuleSpec & { id: string } {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    enabled: toBool(r.enabled),
    priority: r.priority,
    effect: r.effect,
    subjects: parseJson(r.subjects, { everyone: false, users: [], groups: [] }),
    appliesTo: r.applies_to,
    targets: { all: false, assets: [], sites: [], zones: [], tags: [], purdueLevels: [], namePatterns: [], safetyCritical: false, ...parseJson(r.targets, {}) },
    allowedProtocols: parseJson(r.allowed_protocols, []),
    blockedProtocols: parseJson(r.blocked_protocols, []),
    windows: parseJson(r.windows, null),
    timezone: r.timezone,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    approvals: { required: r.approvals_required, groupId: r.approver_group_id, noSelfApproval: true },
    maxSessionMinutes: r.max_session_minutes,
    idleTimeoutMinutes: r.idle_timeout_minutes,
    advanceNoticeHours: r.advance_notice_hours,
    fileTransfer: { inbound: toBool(r.file_inbound), outbound: toBool(r.file_outbound) },
    clipboard: { toAsset: toBool(r.clipboard_to_asset), fromAsset: toBool(r.clipboard_from_asset) },
    watchRequired: toBool(r.watch_required),
    sessionApproval: { required: r.session_approvals_required, groupId: r.session_approver_group_id },
    breakGlass: toBool(r.break_glass),
  };
}

function rowValues(s: RuleSpec): Omit<PolicyRulesTable, 'id' | 'created_at' | 'updated_at' | 'created_by' | 'updated_by'> {
  return {
    name: s.name,
    description: s.description,
    enabled: fromBool(s.enabled),
    priority: s.priority,
    effect: s.effect,
    applies_to: s.appliesTo,
    subjects: JSON.stringify({ everyone: s.subjects.everyone, users: s.subjects.users, groups: s.subjects.groups }),
    targets: JSON.stringify(s.targets),
    allowed_protocols: JSON.stringify(s.allowedProtocols),
    blocked_protocols: JSON.stringify(s.blockedProtocols),
    windows: s.windows ? JSON.stringify(s.windows) : null,
    timezone: s.timezone,
    valid_from: s.validFrom,
    valid_until: s.validUntil,
    approvals_required: s.approvals.required,
    approver_group_id: s.approvals.groupId,
    max_session_minutes: s.maxSessionMinutes,
    idle_timeout_minutes: s.idleTimeoutMinutes,
    advance_notice_hours: s.advanceNoticeHours,
    file_inbound: fromBool(s.fileTransfer.inbound),
    file_outbound: fromBool(s.fileTransfer.outbound),
    clipboard_to_asset: fromBool(s.clipboard.toAsset),
    clipboard_from_asset: fromBool(s.clipboard.fromAsset),
    watch_required: fromBool(s.watchRequired),
    session_approvals_required: s.sessionApproval.required,
    session_approver_group_id: s.sessionApproval.groupId,
    break_glass: fromBool(s.breakGlass),
  };
}

/** Names of everything the rules refer to by id. */
async function labelsFor(ex: Executor, specs: RuleSpec[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const collect = (pick: (s: RuleSpec) => (string | null)[]) => [...new Set(specs.flatMap(pick).filter((x): x is string => !!x))];
  const users = collect((s) => s.subjects.users);
  const groups = collect((s) => [...s.subjects.groups, s.approvals.groupId, s.sessionApproval.groupId]);
  const assets = collect((s) => s.targets.assets);
  const sites = collect((s) => s.targets.sites);
  const zones = collect((s) => s.targets.zones);
  if (users.length) for (const u of await ex.selectFrom('users').select(['id', 'username as n']).where('id', 'in', users).execute()) names.set(u.id, u.n);
  if (groups.length) for (const g of await ex.selectFrom('groups').select(['id', 'name as n']).where('id', 'in', groups).execute()) names.set(g.id, g.n);
  if (assets.length) for (const a of await ex.selectFrom('assets').select(['id', 'name as n']).where('id', 'in', assets).execute()) names.set(a.id, a.n);
  if (sites.length) for (const s of await ex.selectFrom('sites').select(['id', 'name as n']).where('id', 'in', sites).execute()) names.set(s.id, s.n);
  if (zones.length) {
    const zs = await ex.selectFrom('zones').innerJoin('sites', 'sites.id', 'zones.site_id').select(['zones.id', 'zones.name', 'sites.name as site']).where('zones.id', 'in', zones).execute();
    for (const z of zs) names.set(z.id, `${z.site}/${z.name}`);
  }
  return names;
}

async function toRules(ex: Executor, rows: PolicyRulesTable[]): Promise<PolicyRule[]> {
  const specs = rows.map(specFromRow);
  const names = await labelsFor(ex, specs);
  return rows.map((r, i) => {
    const s = specs[i]!;
    const labels: Record<string, string> = {};
    for (const key of [...s.subjects.users, ...s.subjects.groups, ...s.targets.assets, ...s.targets.sites, ...s.targets.zones, ...(s.approvals.groupId ? [s.approvals.groupId] : []), ...(s.sessionApproval.groupId ? [s.sessionApproval.groupId] : [])]) {
      labels[key] = names.get(key) ?? '(deleted)';
    }
    return { ...s, approvals: { required: s.approvals.required, groupId: s.approvals.groupId, noSelfApproval: true }, labels, createdAt: r.created_at, updatedAt: r.updated_at };
  });
}

export const ruleCsvRow = (r: PolicyRule) => {
  const names = (xs: string[]) => xs.map((x) => r.labels[x] ?? x).join(';');
  return {
    priority: r.priority,
    name: r.name,
    enabled: r.enabled ? 'yes' : 'no',
    effect: r.effect,
    applies_to: r.appliesTo,
    subjects: r.subjects.everyone ? 'everyone' : [...r.subjects.users.map((u) => `user:${r.labels[u] ?? u}`), ...r.subjects.groups.map((g) => `group:${r.labels[g] ?? g}`)].join(';'),
    targets: r.targets.all
      ? 'all'
      : [names(r.targets.assets), names(r.targets.sites), names(r.targets.zones), r.targets.tags.map((t) => `tag:${t}`).join(';'), r.targets.purdueLevels.map((l) => `L${l}`).join(';'), r.targets.namePatterns.join(';'), r.targets.safetyCritical ? 'safety-critical' : '']
          .filter(Boolean)
          .join(';'),
    allowed_protocols: r.allowedProtocols.join(';'),
    blocked_protocols: r.blockedProtocols.join(';'),
    approvals: r.approvals.required,
    max_session_minutes: r.maxSessionMinutes ?? '',
    idle_timeout_minutes: r.idleTimeoutMinutes ?? '',
    watch_required: r.watchRequired ? 'yes' : 'no',
    session_approvals: r.sessionApproval.required,
    break_glass: r.breakGlass ? 'yes' : 'no',
    valid_from: r.validFrom ?? '',
    valid_until: r.validUntil ?? '',
  };
};

export async function listRules(db: Db, f: z.output<typeof ruleFilterSchema>, page: PageRequest) {
  let q = db.selectFrom('policy_rules').selectAll();
  if (f.name) q = q.where(containsText('name', f.name));
  if (f.effect) q = q.where('effect', '=', f.effect);
  if (f.enabled !== undefined) q = q.where('enabled', '=', fromBool(f.enabled));
  const res = await paginate(q, { sortColumn: 'name', idColumn: 'id', sortKey: (r) => r.name, idKey: (r) => r.id }, page);
  return { items: await toRules(db, res.items), nextCursor: res.nextCursor };
}

export async function getRule(ex: Executor, ruleId: string): Promise<PolicyRule> {
  const row = await ex.selectFrom('policy_rules').selectAll().where('id', '=', ruleId).executeTakeFirst();
  if (!row) throw notFound('policy rule', ruleId);
  return (await toRules(ex, [row]))[0]!;
}

/** Enabled rules, in priority order (then name): what decide() evaluates. */
export async function activeRules(ex: Executor): Promise<(RuleSpec & { id: string })[]> {
  const rows = await ex.selectFrom('policy_rules').selectAll().where('enabled', '=', 1).orderBy('priority').orderBy('name').execute();
  return rows.map(specFromRow);
}

/** Every referenced user, group, asset, site and zone must exist; subject groups are permission groups. */
async function checkReferences(ex: Executor, s: RuleSpec): Promise<void> {
  const errors: FieldError[] = [];
  const check = async (table: 'users' | 'groups' | 'assets' | 'sites' | 'zones', list: string[], path: string, what: string) => {
    if (!list.length) return;
    const found = new Set((await ex.selectFrom(table).select('id').where('id', 'in', list).execute()).map((r) => r.id));
    list.forEach((x, i) => {
      if (!found.has(x)) errors.push({ path: `${path}/${i}`, message: `${what} "${x}" does not exist` });
    });
  };
  await check('users', s.subjects.users, '/subjects/users', 'user');
  await check('groups', s.subjects.groups, '/subjects/groups', 'group');
  await check('assets', s.targets.assets, '/targets/assets', 'asset');
  await check('sites', s.targets.sites, '/targets/sites', 'site');
  await check('zones', s.targets.zones, '/targets/zones', 'zone');
  if (s.subjects.groups.length) {
    const um = await ex.selectFrom('groups').select(['id', 'name']).where('id', 'in', s.subjects.groups).where('kind', '!=', 'permission').execute();
    for (const g of um) errors.push({ path: `/subjects/groups/${s.subjects.groups.indexOf(g.id)}`, message: `rules attach to permission groups; "${g.name}" is a user-management group` });
  }
  if (s.approvals.groupId && !(await ex.selectFrom('groups').select('id').where('id', '=', s.approvals.groupId).executeTakeFirst())) {
    errors.push({ path: '/approvals/groupId', message: `group "${s.approvals.groupId}" does not exist` });
  }
  if (s.sessionApproval.groupId && !(await ex.selectFrom('groups').select('id').where('id', '=', s.sessionApproval.groupId).executeTakeFirst())) {
    errors.push({ path: '/sessionApproval/groupId', message: `group "${s.sessionApproval.groupId}" does not exist` });
  }
  if (errors.length) throw invalid(errors.map((e) => e.message).join('; '), errors);
}

async function assertNameFree(ex: Executor, ruleName: string, exceptId?: string) {
  const other = await ex.selectFrom('policy_rules').select('id').where((eb) => eb(eb.fn('lower', ['name']), '=', ruleName.toLowerCase())).executeTakeFirst();
  if (other && other.id !== exceptId) throw conflict(`a policy rule named "${ruleName}" already exists`);
}

/** The rule as the audit records it (ids resolved to names where that helps a reader). */
const forAudit = (r: PolicyRule) => {
  const { labels: _labels, createdAt: _c, updatedAt: _u, ...rest } = r;
  return rest;
};

export async function createRule(ctx: Ctx, input: z.output<typeof ruleCreateSchema>): Promise<PolicyRule> {
  return inTx(ctx.db, async (tx) => {
    const spec = input as RuleSpec;
    await assertNameFree(tx, spec.name);
    await checkReferences(tx, spec);
    const now = nowIso();
    const ruleId = newId();
    await tx.insertInto('policy_rules').values({ id: ruleId, ...rowValues(spec), created_at: now, updated_at: now, created_by: ctx.actor.id, updated_by: ctx.actor.id }).execute();
    const rule = await getRule(tx, ruleId);
    await audit(tx, ctx.actor, { action: 'policy.rule_create', target: { type: 'policy_rule', id: ruleId, name: rule.name }, details: { rule: forAudit(rule) } });
    return rule;
  });
}

export async function updateRule(ctx: Ctx, ruleId: string, patch: z.output<typeof ruleUpdateSchema>): Promise<PolicyRule> {
  return inTx(ctx.db, async (tx) => {
    const before = await getRule(tx, ruleId);
    const { id: _id, labels: _l, createdAt: _c, updatedAt: _u, ...spec } = before;
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const merged: RuleSpec = { ...spec, ...defined };
    const errors = crossCheck(merged);
    if (errors.length) throw invalid(errors.map((e) => `${e.path} ${e.message}`).join('; '), errors);
    if (patch.name !== undefined) await assertNameFree(tx, patch.name, ruleId);
    await checkReferences(tx, merged);
    await tx.updateTable('policy_rules').set({ ...rowValues(merged), updated_at: nowIso(), updated_by: ctx.actor.id }).where('id', '=', ruleId).execute();
    const after = await getRule(tx, ruleId);
    await audit(tx, ctx.actor, {
      action: 'policy.rule_update',
      target: { type: 'policy_rule', id: ruleId, name: after.name },
      details: { changes: changes(forAudit(before) as unknown as Record<string, unknown>, defined) },
    });
    return after;
  });
}

export async function deleteRule(ctx: Ctx, ruleId: string): Promise<void> {
  await inTx(ctx.db, async (tx) => {
    const before = await getRule(tx, ruleId);
    await tx.deleteFrom('policy_rules').where('id', '=', ruleId).execute();
    await audit(tx, ctx.actor, { action: 'policy.rule_delete', target: { type: 'policy_rule', id: ruleId, name: before.name }, details: { rule: forAudit(before) } });
  });
}
