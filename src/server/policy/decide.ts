import { sql } from 'kysely';
import { assetReachableBy } from '../access/reach.js';
import type { Executor } from '../db/index.js';
import type { UsersTable } from '../db/schema.js';
import type { AccessMethod, Asset, Protocol } from '../inventory/assets.js';
import { type ApprovedRequest, findApprovedRequest } from './approvals.js';
import { getPolicyDefaults, levelDefault } from './defaults.js';
import { activeRules, globToRegExp, type RuleSpec } from './rules.js';
import { describeWindows, localTime, windowsClose, withinWindows } from './schedule.js';

/**
 * The policy seam: may this user open this access method of this asset at this instant? Every
 * broker path (browser, SSH front door) asks here and nowhere else; the admin "what if"
 * evaluator and the user's "why can't I connect" ask the same function.
 *
 * Checks, all reported together:
 *  - the account (active, not expired), the asset (active, has this access method), a grant,
 *    the asset's own login times (site time zone), the site's concurrent-connection limit;
 *  - every enabled policy rule that matches the user and the asset (rules.ts), and the
 *    Purdue-level default of the asset's level when the defaults are enabled (defaults.ts).
 *
 * Combination (strictest wins): any deny wins (a deny rule = prohibited target, or a failed
 * condition of an allow rule: validity, protocol, windows); approvals = the most any source asks
 * for (its group comes with it); durations = the shortest; clipboard and file transfer only if
 * every matching rule permits them; watch required if any source requires it; advance notice =
 * the longest. Approvals > 0 -> require_approval, unless an approved access request satisfies
 * them (approvals.ts: the hook for the request workflow).
 */
export type Outcome = 'allow' | 'require_approval' | 'deny';

export interface Constraints {
  maxSessionMinutes?: number;
  idleTimeoutMinutes?: number;
  clipboard: { toAsset: boolean; fromAsset: boolean };
  fileTransfer: { inbound: boolean; outbound: boolean };
  /** A moderator must watch the session (it starts when one joins). */
  watchRequired: boolean;
  /** What an access request needs; self-approval never counts. */
  approvals?: { count: number; group?: { id: string; name: string }; noSelfApproval: true };
  /**
   * Each session waits for this many live approvals (manual session approval: an approver says
   * yes on the dashboard while the user waits); self-approval never counts.
   */
  sessionApproval?: { count: number; group?: { id: string; name: string } };
  /** Requests must be made this long before their start (for the request workflow). */
  advanceNoticeHours?: number;
  /**
   * When the login windows that allow this session close (asset login times and matching rules'
   * windows); maxSessionMinutes is at most the time until then, so the session ends with them.
   */
  windowEndsAt?: string;
  /** The rules' own maximum session length (maxSessionMinutes also counts the windows and the request). */
  rulesMaxSessionMinutes?: number;
  /** When the approved access request that allows the session ends. */
  accessEndsAt?: string;
}

export interface MatchedRule {
  /** null for the Purdue-level default. */
  id: string | null;
  name: string;
  effect: 'allow' | 'deny';
}

export interface Decision {
  outcome: Outcome;
  /** Human-readable, each naming the rule it comes from. */
  reasons: string[];
  constraints: Constraints;
  /** The rules (and the Purdue default) that matched, in priority order. */
  rules: MatchedRule[];
  /** A deny rule refused (a prohibited target): the compliance report counts these attempts. */
  prohibited: boolean;
  /** The approved access request that made this an allow. */
  approvedRequestId?: string;
  /**
   * Break-glass: `available` when a rule lets this user bypass the approvals and moderation this
   * access needs (shown to the user as an emergency path); `used` when the caller asked for it and
   * this allow bypasses them (the broker flags the session for review and alerts every admin).
   */
  breakGlass: { available: boolean; used: boolean };
}

export interface DecideInput {
  user: Pick<UsersTable, 'id' | 'username' | 'status' | 'role' | 'expires_at' | 'affiliation'>;
  asset: Asset;
  /** The access method asked for (its options are the broker's business, not policy's). */
  method: Pick<AccessMethod, 'protocol' | 'port'> & { options?: AccessMethod['options'] };
  at: Date;
  /** Live sessions on the asset's site right now (the broker counts them). */
  activeSessionsOnSite: number;
  siteMaxConnections: number;
  siteTimezone: string;
  /**
   * An approved access request to weigh when approvals are needed. Leave undefined to ask the
   * registered source (approvals.ts); null = none, do not ask.
   */
  approvedRequest?: ApprovedRequest | null;
  /** The user asks for break-glass (emergency access with a written reason). */
  breakGlass?: boolean;
}

const fmtInstant = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

interface Folded {
  maxSession?: { v: number; from: string };
  idle?: { v: number; from: string };
  advance?: { v: number; from: string };
  approvals?: { count: number; groupId: string | null; from: string };
  session?: { count: number; groupId: string | null; from: string };
  breakGlass?: string;
  watch: string[];
  clipboard: { toAsset: boolean; fromAsset: boolean };
  fileTransfer: { inbound: boolean; outbound: boolean };
}

/** Does the rule's subject side match this user? Returns how, for messages ("group Vendors-ACME"). */
function subjectMatch(rule: RuleSpec, user: DecideInput['user'], groups: Map<string, string>): string | undefined {
  if (rule.appliesTo === 'employees' && user.affiliation !== 'employee') return undefined;
  if (rule.appliesTo === 'vendors' && user.affiliation !== 'vendor') return undefined;
  const audience = rule.appliesTo === 'everyone' ? 'everyone' : rule.appliesTo;
  if (rule.subjects.everyone) return audience;
  if (rule.subjects.users.includes(user.id)) return rule.appliesTo === 'everyone' ? 'you' : audience;
  const g = rule.subjects.groups.find((x) => groups.has(x));
  if (g) return `group ${groups.get(g)}`;
  return undefined;
}

/** Does the rule's target side match this asset? Returns how ("pattern SIS-*", "tag sis"). */
function targetMatch(rule: RuleSpec, asset: Asset): { how: string; pattern?: string } | undefined {
  const t = rule.targets;
  if (t.safetyCritical && !asset.safetyCritical) return undefined;
  if (t.assets.includes(asset.id)) return { how: `asset ${asset.name}` };
  const pattern = t.namePatterns.find((p) => globToRegExp(p).test(asset.name));
  if (pattern) return { how: `pattern ${pattern}`, pattern };
  const tag = t.tags.find((x) => asset.tags.includes(x));
  if (tag) return { how: `tag ${tag}` };
  if (asset.zoneId && t.zones.includes(asset.zoneId)) return { how: `zone ${asset.zoneName}` };
  if (t.sites.includes(asset.siteId)) return { how: `site ${asset.siteName}` };
  if (t.purdueLevels.includes(asset.purdueLevel)) return { how: `Purdue level ${asset.purdueLevel}` };
  if (t.all) return { how: 'all assets' };
  const selectors = t.assets.length + t.namePatterns.length + t.tags.length + t.zones.length + t.sites.length + t.purdueLevels.length;
  if (t.safetyCritical && selectors === 0) return { how: 'safety-critical asset' };
  return undefined;
}

function inValidity(rule: RuleSpec, at: Date): 'before' | 'after' | undefined {
  const iso = at.toISOString();
  if (rule.validFrom && iso < rule.validFrom) return 'before';
  if (rule.validUntil && iso >= rule.validUntil) return 'after';
  return undefined;
}

function foldLimits(f: Folded, from: string, c: { maxSessionMinutes: number | null; idleTimeoutMinutes: number | null }): void {
  if (c.maxSessionMinutes !== null && (!f.maxSession || c.maxSessionMinutes < f.maxSession.v)) f.maxSession = { v: c.maxSessionMinutes, from };
  if (c.idleTimeoutMinutes !== null && (!f.idle || c.idleTimeoutMinutes < f.idle.v)) f.idle = { v: c.idleTimeoutMinutes, from };
}

function foldApprovals(f: Folded, from: string, count: number, groupId: string | null, kind: 'approvals' | 'session' = 'approvals'): void {
  // The most approvers wins; on a tie, the first source that names a group keeps it.
  const cur = f[kind];
  if (count > 0 && (!cur || count > cur.count || (count === cur.count && !cur.groupId && groupId))) f[kind] = { count, groupId, from };
}

async function groupLabel(ex: Executor, groupId: string | null | undefined): Promise<{ id: string; name: string } | undefined> {
  if (!groupId) return undefined;
  const g = await ex.selectFrom('groups').select(['id', 'name']).where('id', '=', groupId).executeTakeFirst();
  return { id: groupId, name: g?.name ?? '(deleted group)' };
}

export async function decide(ex: Executor, input: DecideInput): Promise<Decision> {
  const full = await decideGates(ex, input);
  const { breakGlassFrom, ...d } = full;
  const gated = d.outcome === 'require_approval' || (d.outcome === 'allow' && (d.constraints.watchRequired || d.constraints.sessionApproval !== undefined));
  d.breakGlass.available &&= gated;
  if (!d.breakGlass.available) d.reasons = d.reasons.filter((r) => !r.startsWith('break-glass allowed'));
  if (!input.breakGlass || d.outcome === 'deny') return d;
  // Break-glass asked for: it bypasses approvals and moderation, nothing else.
  if (!gated) return { ...d, outcome: 'deny', reasons: [`break-glass is only for access that needs approval or a moderator: connect normally`] };
  if (!d.breakGlass.available) return { ...d, outcome: 'deny', reasons: [`break-glass is not allowed for you on ${input.asset.name}: ask an administrator for a rule that allows it`, ...d.reasons] };
  const { approvals: _a, sessionApproval: _s, ...rest } = d.constraints;
  const constraints: Constraints = { ...rest, watchRequired: false };
  return {
    ...d,
    outcome: 'allow',
    constraints,
    reasons: [`break-glass: approvals and moderation bypassed ${breakGlassFrom}; every administrator is notified and the session must be reviewed afterwards`, ...d.reasons],
    breakGlass: { available: true, used: true },
  };
}

async function decideGates(ex: Executor, input: DecideInput): Promise<Decision & { breakGlassFrom?: string }> {
  const { user, asset, method, at } = input;
  const reasons: string[] = [];
  if (user.status !== 'active') reasons.push(`your account is ${user.status}`);
  if (user.expires_at && user.expires_at <= at.toISOString()) reasons.push('your account has expired');
  if (asset.state !== 'active') reasons.push(`asset ${asset.name} is not active (still in the imported list)`);
  if (!asset.accessMethods.some((m) => m.protocol === method.protocol && m.port === method.port)) {
    reasons.push(`asset ${asset.name} has no ${method.protocol} access on port ${method.port}`);
  }
  const granted = await ex
    .selectFrom('assets')
    .select(sql<number>`1`.as('x'))
    .where('assets.id', '=', asset.id)
    .where(assetReachableBy(user.id))
    .executeTakeFirst();
  if (!granted) reasons.push(`no grant gives you access to ${asset.name}`);
  if (!withinWindows(asset.loginTimes, at, input.siteTimezone)) {
    reasons.push(`outside the allowed login times (${describeWindows(asset.loginTimes ?? [], input.siteTimezone)})`);
  }
  if (input.activeSessionsOnSite >= input.siteMaxConnections) {
    reasons.push(`site ${asset.siteName} already has ${input.activeSessionsOnSite} of ${input.siteMaxConnections} allowed connections`);
  }

  // ---- rules ----
  const [rules, defaults, memberships] = await Promise.all([
    activeRules(ex),
    getPolicyDefaults(ex),
    ex
      .selectFrom('group_members')
      .innerJoin('groups', 'groups.id', 'group_members.group_id')
      .select(['groups.id', 'groups.name'])
      .where('group_members.user_id', '=', user.id)
      .where('groups.kind', '=', 'permission')
      .execute(),
  ]);
  const groups = new Map(memberships.map((g) => [g.id, g.name]));
  const matched: MatchedRule[] = [];
  const applied: string[] = [];
  const windowSets: { windows: RuleSpec['windows']; timeZone: string }[] = [{ windows: asset.loginTimes, timeZone: input.siteTimezone }];
  const f: Folded = { watch: [], clipboard: { toAsset: true, fromAsset: true }, fileTransfer: { inbound: true, outbound: true } };
  let prohibited = false;
  const protocol = method.protocol as Protocol;

  for (const rule of rules) {
    const who = subjectMatch(rule, user, groups);
    if (!who) continue;
    const target = targetMatch(rule, asset);
    if (!target) continue;
    const src = `(rule: ${rule.name})`;
    const tz = rule.timezone ?? input.siteTimezone;
    if (rule.effect === 'deny') {
      // A deny rule is in force inside its validity and (if it has any) its windows.
      if (inValidity(rule, at) || !withinWindows(rule.windows, at, tz)) continue;
      matched.push({ id: rule.id, name: rule.name, effect: 'deny' });
      prohibited = true;
      const during = rule.windows ? ` during ${describeWindows(rule.windows, tz)}` : '';
      if (target.pattern) reasons.push(`${asset.name} is a prohibited target (pattern ${target.pattern})${during} ${src}`);
      else if (rule.targets.safetyCritical) reasons.push(`safety-critical asset: ${who === 'you' ? 'you are' : who} denied${during} ${src}`);
      else reasons.push(`${asset.name} is a prohibited target${who === 'everyone' ? '' : ` for ${who}`} (${target.how})${during} ${src}`);
      continue;
    }
    matched.push({ id: rule.id, name: rule.name, effect: 'allow' });
    applied.push(rule.name);
    const validity = inValidity(rule, at);
    if (validity === 'before') reasons.push(`access under this rule starts ${fmtInstant(rule.validFrom!)} ${src}`);
    if (validity === 'after') reasons.push(`access under this rule ended ${fmtInstant(rule.validUntil!)} ${src}`);
    const forWho = who === 'everyone' ? '' : ` for ${who}`;
    if (rule.blockedProtocols.includes(protocol)) reasons.push(`protocol ${protocol} is blocked${forWho} ${src}`);
    else if (rule.allowedProtocols.length && !rule.allowedProtocols.includes(protocol)) {
      reasons.push(`protocol ${protocol} not allowed${forWho} (allowed: ${rule.allowedProtocols.join(', ')}) ${src}`);
    }
    if (!withinWindows(rule.windows, at, tz)) reasons.push(`outside allowed login times (${describeWindows(rule.windows ?? [], tz)}) ${src}`);
    windowSets.push({ windows: rule.windows, timeZone: tz });
    foldLimits(f, src, rule);
    if (rule.advanceNoticeHours !== null && (!f.advance || rule.advanceNoticeHours > f.advance.v)) f.advance = { v: rule.advanceNoticeHours, from: src };
    foldApprovals(f, src, rule.approvals.required, rule.approvals.groupId);
    foldApprovals(f, src, rule.sessionApproval.required, rule.sessionApproval.groupId, 'session');
    if (rule.breakGlass) f.breakGlass ??= src;
    if (rule.watchRequired) f.watch.push(src);
    f.clipboard = { toAsset: f.clipboard.toAsset && rule.clipboard.toAsset, fromAsset: f.clipboard.fromAsset && rule.clipboard.fromAsset };
    f.fileTransfer = { inbound: f.fileTransfer.inbound && rule.fileTransfer.inbound, outbound: f.fileTransfer.outbound && rule.fileTransfer.outbound };
  }

  const level = defaults.enabled ? levelDefault(defaults, asset.purdueLevel) : undefined;
  if (level) {
    const src = `(default for Purdue level ${asset.purdueLevel})`;
    matched.push({ id: null, name: `Purdue level ${asset.purdueLevel} default`, effect: 'allow' });
    foldLimits(f, src, level);
    foldApprovals(f, src, level.approvals, level.approverGroupId);
    if (level.watchRequired) f.watch.push(src);
  }

  const approvalGroup = await groupLabel(ex, f.approvals?.groupId);
  const sessionGroup = await groupLabel(ex, f.session?.groupId);
  const constraints: Constraints = {
    ...(f.maxSession ? { maxSessionMinutes: f.maxSession.v, rulesMaxSessionMinutes: f.maxSession.v } : {}),
    ...(f.idle ? { idleTimeoutMinutes: f.idle.v } : {}),
    clipboard: f.clipboard,
    fileTransfer: f.fileTransfer,
    watchRequired: f.watch.length > 0,
    ...(f.approvals ? { approvals: { count: f.approvals.count, ...(approvalGroup ? { group: approvalGroup } : {}), noSelfApproval: true as const } } : {}),
    ...(f.session ? { sessionApproval: { count: f.session.count, ...(sessionGroup ? { group: sessionGroup } : {}) } } : {}),
    ...(f.advance ? { advanceNoticeHours: f.advance.v } : {}),
  };
  const base = { constraints, rules: matched, prohibited, breakGlass: { available: f.breakGlass !== undefined, used: false }, ...(f.breakGlass ? { breakGlassFrom: f.breakGlass } : {}) };
  if (reasons.length) return { outcome: 'deny', reasons, ...base };

  const notes = [
    ...applied.map((n) => `rule ${n} applies`),
    ...(f.watch.length ? [`a moderator must watch the session (watch required) ${f.watch[0]}`] : []),
    ...(f.session
      ? [`each session waits for ${plural(f.session.count, 'live approval')}${sessionGroup ? ` from group ${sessionGroup.name}` : ' from an administrator'}, never by the user ${f.session.from}`]
      : []),
    ...(f.breakGlass ? [`break-glass allowed ${f.breakGlass}`] : []),
  ];
  // Access exists only inside the windows: the session may last until they close.
  const close = windowsClose(windowSets, at);
  if (close) {
    const left = Math.max(1, Math.floor((close.getTime() - at.getTime()) / 60_000));
    constraints.windowEndsAt = close.toISOString();
    if (constraints.maxSessionMinutes === undefined || left < constraints.maxSessionMinutes) constraints.maxSessionMinutes = left;
    notes.push(`the allowed login window closes at ${localTime(close, input.siteTimezone).hhmm} ${input.siteTimezone}: the session ends then`);
  }
  if (f.approvals) {
    const a = f.approvals;
    const need = `needs ${plural(a.count, 'approval')}${a.count === 2 ? ' (dual authorization)' : ''}${approvalGroup ? ` from group ${approvalGroup.name}` : ''}, never by the requester ${a.from}`;
    const req = input.approvedRequest !== undefined ? input.approvedRequest : await findApprovedRequest(ex, { userId: user.id, assetId: asset.id, protocol, port: method.port, at });
    if (req) {
      const problem = await checkApprovedRequest(ex, req, input, a.count, approvalGroup);
      if (!problem) {
        const left = Math.max(1, Math.floor((Date.parse(req.validUntil) - at.getTime()) / 60_000));
        if (constraints.maxSessionMinutes === undefined || left < constraints.maxSessionMinutes) constraints.maxSessionMinutes = left;
        constraints.accessEndsAt = new Date(req.validUntil).toISOString();
        return {
          outcome: 'allow',
          reasons: [`granted: ${asset.name} ${method.protocol}:${method.port}`, `approved access request ${req.id}, valid until ${fmtInstant(new Date(req.validUntil).toISOString())}`, ...notes],
          ...base,
          approvedRequestId: req.id,
        };
      }
      return { outcome: 'require_approval', reasons: [need, problem, ...notes], ...base };
    }
    return { outcome: 'require_approval', reasons: [need, ...notes], ...base };
  }
  return { outcome: 'allow', reasons: [`granted: ${asset.name} ${method.protocol}:${method.port}`, ...notes], ...base };
}

/** Why an approved request does not (yet) satisfy the approvals the rules demand, or undefined. */
async function checkApprovedRequest(ex: Executor, req: ApprovedRequest, input: DecideInput, count: number, group: { id: string; name: string } | undefined): Promise<string | undefined> {
  const at = input.at.toISOString();
  const label = `access request ${req.id}`;
  if (req.requesterId !== input.user.id) return `${label} was made by another user`;
  if (req.assetId !== input.asset.id) return `${label} is for another asset`;
  if (req.protocols && !req.protocols.includes(input.method.protocol as Protocol)) return `${label} does not cover ${input.method.protocol}`;
  const from = new Date(req.validFrom).toISOString();
  const until = new Date(req.validUntil).toISOString();
  if (at < from) return `${label} starts ${fmtInstant(from)}`;
  if (at >= until) return `${label} ended ${fmtInstant(until)}`;
  // Distinct approvers, never the requester (no self-approval), members of the group if one is named.
  let approvers = [...new Set(req.approverIds)].filter((a) => a !== req.requesterId);
  if (group && approvers.length) {
    const members = new Set((await ex.selectFrom('group_members').select('user_id').where('group_id', '=', group.id).where('user_id', 'in', approvers).execute()).map((m) => m.user_id));
    approvers = approvers.filter((a) => members.has(a));
  }
  if (approvers.length < count) return `${label} has ${approvers.length} of ${count} required approvals${group ? ` from group ${group.name}` : ''} (self-approval does not count)`;
  return undefined;
}
