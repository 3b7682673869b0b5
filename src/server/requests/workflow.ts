import type { Selectable as Row } from 'kysely';
import { approverIds, isApprover } from '../policy/approvers.js';
import { type Actor, audit, SYSTEM_ACTOR } from '../audit/log.js';
import type { Clock } from '../broker/clock.js';
import type { Db, Executor, Tx } from '../db/index.js';
import type { UsersTable } from '../db/schema.js';
import { type Page, type PageRequest, paginate } from '../db/paging.js';
import { containsText } from '../db/text.js';
import { inTx } from '../db/tx.js';
import { DomainError, type FieldError, invalid, notFound } from '../errors.js';
import { type Asset, getAsset, type Protocol } from '../inventory/assets.js';
import type { Logger } from '../logger.js';
import type { Notifier } from '../notify/notifier.js';
import type { ApprovalQuery, ApprovedRequest } from '../policy/approvals.js';
import { decide } from '../policy/decide.js';
import { newId } from '../util.js';
import {
  type AccessRequest,
  type ApprovalRow,
  currentOrNextWindow,
  MAX_ONE_OFF_MINUTES,
  MAX_SERIES_DAYS,
  protocolsOf,
  recurrenceOf,
  type RequestCreate,
  type RequestFilter,
  type RequestRow,
  requestWindows,
  WARN_BEFORE_MS,
  windowAt,
} from './model.js';
import { addDays, localDate, occurrences, type Window, windowsOverlap, zonedToUtc } from './windows.js';

/** Who acts: the signed-in user (or API token), or the ITSM service user. */
export interface Who {
  id: string;
  username: string;
  role: UsersTable['role'];
}

/** What the workflow needs of the broker: the live sessions of a user on some assets, on every gateway node. */
export interface SessionControl {
  /** Ends them (the request was revoked or cancelled). */
  terminateOn(userId: string, assetIds: string[], by: Actor, reason: string): Promise<number>;
  /** Warns them (the window ends soon). */
  warnOn(userId: string, assetIds: string[], message: string, msLeft: number): Promise<void>;
  /** Access grew (an extension was approved): their limits are worked out again. */
  refreshLimits(userId: string, assetIds: string[]): Promise<void>;
}

export interface RequestWorkflowOptions {
  db: Db;
  notify: Notifier;
  sessions: SessionControl;
  clock: Clock;
  logger: Logger;
  /** How often the sweeper looks for expiries, window starts and window ends (default 30 s). */
  pollMs?: number;
}

/** Where a decision came from: the console (signed-in browser), the REST API (a token), the ITSM webhook. */
export type Via = 'console' | 'api' | 'itsm';
const DAY = 86_400_000;
const OPEN_STATES = ['pending', 'approved'] as const;
const fmt = (d: Date | string) => `${new Date(d).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const forbidden = (m: string) => new DomainError('forbidden', m);
const conflict = (m: string) => new DomainError('conflict', m);

/** After commit: end these live sessions (revoked / cancelled access). */
interface Outcome<T> {
  value: T;
  endSessions?: { requesterId: string; assetIds: string[]; reason: string; by: Actor };
  /** An extension was approved: live sessions may now last until its new end. */
  extendSessions?: { requesterId: string; assetIds: string[] };
}

/**
 * Access requests (issue 6, part 2): submit -> approvals (N distinct approvers from the rules'
 * group, never the requester) -> an approved window the policy engine turns into access; expiry
 * before the start, extension (a new approval round), revocation, cancellation, recurring weekly
 * windows. Every transition is audited in the same transaction as the change; approvers and
 * requesters are emailed (outbox rows in that transaction) and webhooks announce the events.
 * See docs/requests.md.
 */
export class RequestWorkflow {
  readonly db: Db;
  private readonly notify: Notifier;
  private readonly sessions: SessionControl;
  readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pollMs: number;
  private cancelTimer: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(o: RequestWorkflowOptions) {
    this.db = o.db;
    this.notify = o.notify;
    this.sessions = o.sessions;
    this.clock = o.clock;
    this.logger = o.logger;
    this.pollMs = o.pollMs ?? 30_000;
  }

  private now(): Date {
    return new Date(this.clock.now());
  }

  // ---- reading -----------------------------------------------------------------------------------

  async toViews(ex: Executor, rows: RequestRow[]): Promise<AccessRequest[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const [assets, approvals, groups] = await Promise.all([
      ex.selectFrom('access_request_assets').selectAll().where('request_id', 'in', ids).orderBy('asset_name').execute(),
      ex.selectFrom('access_request_approvals').selectAll().where('request_id', 'in', ids).orderBy('created_at').execute(),
      ex.selectFrom('groups').select(['id', 'name']).where('id', 'in', [...new Set(rows.map((r) => r.approver_group_id).filter((g): g is string => !!g)), '']).execute(),
    ]);
    const now = this.now();
    return rows.map((r) => {
      const w = r.state === 'approved' || r.state === 'pending' ? currentOrNextWindow(r, now) : undefined;
      const rec = recurrenceOf(r);
      return {
        id: r.id,
        state: r.state,
        requester: { id: r.requester_id, username: r.requester_name },
        createdBy: { id: r.created_by_id, username: r.created_by_name },
        purpose: r.purpose,
        ticket: r.ticket,
        assets: assets.filter((a) => a.request_id === r.id).map((a) => ({ id: a.asset_id, name: a.asset_name, siteId: a.site_id })),
        protocols: protocolsOf(r),
        start: r.start_at,
        end: r.end_at,
        recurrence: rec ? { windows: rec } : null,
        timeZone: r.time_zone,
        approvalsRequired: r.approvals_required,
        approverGroup: r.approver_group_id ? { id: r.approver_group_id, name: groups.find((g) => g.id === r.approver_group_id)?.name ?? '(deleted group)' } : null,
        approvals: approvals
          .filter((a) => a.request_id === r.id && a.round === r.round)
          .map((a) => ({ round: a.round, approverId: a.approver_id, approver: a.approver_name, decision: a.decision, comment: a.comment, via: a.via, at: a.created_at })),
        round: r.round,
        extension: r.extension_end_at ? { end: r.extension_end_at } : null,
        window: w ? { start: w.start.toISOString(), end: w.end.toISOString(), open: w.start <= now && now < w.end } : null,
        decidedAt: r.decided_at,
        decidedBy: r.decided_by_name,
        comment: r.decision_comment,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      };
    });
  }

  /** One request; requesters see theirs, approvers and staff see all. */
  async get(who: Who, id: string): Promise<AccessRequest> {
    const row = await this.db.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('access request', id);
    if (who.role === 'Client' && row.requester_id !== who.id && !(await this.mayApprove(this.db, who, row))) throw notFound('access request', id);
    return (await this.toViews(this.db, [row]))[0]!;
  }

  async list(who: Who, f: RequestFilter, page: PageRequest): Promise<Page<AccessRequest>> {
    let q = this.db.selectFrom('access_requests').selectAll('access_requests');
    // Clients see their own requests only.
    if (who.role === 'Client') q = q.where('requester_id', '=', who.id);
    if (f.state) q = q.where('state', '=', f.state);
    if (f.userId) q = q.where('requester_id', '=', f.userId);
    // Case-insensitive "contains", like the other text filters (CHG-10 finds CHG-1042).
    if (f.ticket) q = q.where(containsText('access_requests.ticket', f.ticket));
    if (f.from) q = q.where('end_at', '>', f.from);
    if (f.to) q = q.where('start_at', '<', f.to);
    if (f.assetId || f.siteId) {
      q = q.where('id', 'in', (eb) => {
        let sub = eb.selectFrom('access_request_assets').select('request_id');
        if (f.assetId) sub = sub.where('asset_id', '=', f.assetId);
        if (f.siteId) sub = sub.where('site_id', '=', f.siteId);
        return sub;
      });
    }
    // By window start (then id), like the console's list.
    const res = await paginate(q, { sortColumn: 'start_at', idColumn: 'id', sortKey: (r) => r.start_at, idKey: (r) => r.id }, page);
    return { items: await this.toViews(this.db, res.items), nextCursor: res.nextCursor };
  }

  /**
   * The approvals inbox: open rounds this user may decide and has not decided yet (at most 500,
   * soonest first). Who may decide is filtered in SQL before the limit (the group's members; for
   * requests without a group, the Administrators), the same rule as mayApprove().
   */
  async inbox(who: Who): Promise<AccessRequest[]> {
    const rows = await this.db
      .selectFrom('access_requests')
      .selectAll()
      .where((eb) => eb.or([eb('state', '=', 'pending'), eb.and([eb('state', '=', 'approved'), eb('extension_end_at', 'is not', null)])]))
      .where('requester_id', '!=', who.id)
      .where((eb) => {
        const myGroups = eb('approver_group_id', 'in', eb.selectFrom('group_members').select('group_id').where('user_id', '=', who.id));
        return who.role === 'Administrator' ? eb.or([eb('approver_group_id', 'is', null), myGroups]) : myGroups;
      })
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('access_request_approvals')
              .select('access_request_approvals.id')
              .whereRef('access_request_approvals.request_id', '=', 'access_requests.id')
              .whereRef('access_request_approvals.round', '=', 'access_requests.round')
              .where('access_request_approvals.approver_id', '=', who.id),
          ),
        ),
      )
      .orderBy('start_at')
      .orderBy('id')
      .limit(500)
      .execute();
    return this.toViews(this.db, rows);
  }

  private mayApprove(ex: Executor, who: Who, r: Pick<RequestRow, 'approver_group_id'>): Promise<boolean> {
    return isApprover(ex, who, r.approver_group_id);
  }

  /** Users who may approve (for the email), never the requester. */
  private async approverIds(ex: Executor, r: Pick<RequestRow, 'approver_group_id' | 'requester_id'>): Promise<string[]> {
    return (await approverIds(ex, r.approver_group_id)).filter((x) => x !== r.requester_id);
  }

  // ---- policy at submission -------------------------------------------------------------------

  /**
   * Asks policy.decide for every asset x requested access method at the windows' starts and
   * reports every violation at once (prohibited target, blocked protocol, outside validity or
   * login times, duration above the maximum, advance notice). Returns the approvals the rules ask for.
   */
  private async policyCheck(
    ex: Executor,
    user: Selectable,
    assets: Asset[],
    protocols: Protocol[],
    windows: Window[],
    opts: { advanceNotice: boolean },
  ): Promise<{ required: number; groupId: string | null }> {
    const violations: string[] = [];
    let required = 0;
    const groups = new Map<string, string>();
    const now = this.now();
    for (const asset of assets) {
      const methods = asset.accessMethods.filter((m) => protocols.includes(m.protocol));
      if (!methods.length) {
        violations.push(`${asset.name} has no ${protocols.join('/')} access method (it has ${asset.accessMethods.map((m) => m.protocol).join(', ')})`);
        continue;
      }
      const site = await ex.selectFrom('sites').select(['timezone', 'max_connections']).where('id', '=', asset.siteId).executeTakeFirstOrThrow();
      for (const m of methods) {
        for (const w of windows) {
          const d = await decide(ex, { user, asset, method: m, at: w.start, activeSessionsOnSite: 0, siteMaxConnections: Math.max(1, site.max_connections), siteTimezone: site.timezone, approvedRequest: null });
          const label = `${asset.name} ${m.protocol}:${m.port} at ${fmt(w.start)}`;
          if (d.outcome === 'deny') {
            for (const r of d.reasons) violations.push(`${label}: ${r}`);
            continue;
          }
          const c = d.constraints;
          const minutes = Math.round((w.end.getTime() - w.start.getTime()) / 60_000);
          if (c.windowEndsAt && Date.parse(c.windowEndsAt) < w.end.getTime()) {
            violations.push(`${label}: the allowed login times close at ${fmt(c.windowEndsAt)}, before the requested end ${fmt(w.end)}`);
          } else if (c.maxSessionMinutes !== undefined && minutes > c.maxSessionMinutes) {
            violations.push(`${label}: duration ${minutes} min is above the maximum of ${c.maxSessionMinutes} min the rules allow`);
          }
          if (opts.advanceNotice && c.advanceNoticeHours !== undefined && w.start.getTime() - now.getTime() < c.advanceNoticeHours * 3_600_000) {
            violations.push(`${label}: requests must be made at least ${c.advanceNoticeHours} h ahead (this one starts in ${Math.max(0, Math.floor((w.start.getTime() - now.getTime()) / 60_000))} min)`);
          }
          if (c.approvals) {
            required = Math.max(required, c.approvals.count);
            if (c.approvals.group) groups.set(c.approvals.group.id, c.approvals.group.name);
          }
        }
      }
    }
    if (groups.size > 1) violations.push(`the assets need approvers from different groups (${[...groups.values()].join(', ')}): request them separately`);
    if (violations.length) {
      const uniq = [...new Set(violations)];
      throw new DomainError('unprocessable', `the request violates the access policy: ${uniq.join('; ')}`, uniq.map((message) => ({ path: '', message })));
    }
    // A request is always decided by someone: at least one approval.
    return { required: Math.max(1, required), groupId: [...groups.keys()][0] ?? null };
  }

  /** Refuses windows that overlap an open request of the same requester for one of the assets. */
  private async overlapCheck(ex: Executor, requesterId: string, assetIds: string[], mine: Window[], span: Window, exceptId?: string): Promise<void> {
    let q = ex
      .selectFrom('access_requests')
      .selectAll('access_requests')
      .where('requester_id', '=', requesterId)
      .where('state', 'in', [...OPEN_STATES])
      .where('end_at', '>', span.start.toISOString())
      .where('start_at', '<', span.end.toISOString())
      .where('id', 'in', (eb) => eb.selectFrom('access_request_assets').select('request_id').where('asset_id', 'in', assetIds));
    if (exceptId) q = q.where('id', '!=', exceptId);
    for (const other of await q.execute()) {
      const theirs = requestWindows(other, span.start, span.end, other.extension_end_at ?? other.end_at);
      const hit = windowsOverlap(mine, theirs);
      if (hit) throw conflict(`the window overlaps ${other.state} request ${other.id} for the same asset (${fmt(hit.start)} - ${fmt(hit.end)}): extend or cancel that one instead`);
    }
  }

  // ---- transitions --------------------------------------------------------------------------------

  async create(who: Who, actor: Actor, input: RequestCreate): Promise<AccessRequest> {
    const requesterId = input.userId ?? who.id;
    if (requesterId !== who.id && who.role !== 'Administrator') throw forbidden('only Administrators may request access on behalf of another user');
    return inTx(this.db, async (tx) => {
      const user = await tx.selectFrom('users').selectAll().where('id', '=', requesterId).executeTakeFirst();
      if (!user) throw notFound('user', requesterId);
      const assets: Asset[] = [];
      for (const id of input.assets) assets.push(await getAsset(tx, id));
      const firstSite = await tx.selectFrom('sites').select('timezone').where('id', '=', assets[0]!.siteId).executeTakeFirstOrThrow();
      const timeZone = input.timeZone ?? firstSite.timezone;
      const now = this.now();
      const start = new Date(input.start);
      const errors: FieldError[] = [];
      if (start.getTime() <= now.getTime()) errors.push({ path: '/start', message: `must be in the future (now is ${fmt(now)}): a request must be decided before its window starts` });
      if (start.getTime() > now.getTime() + MAX_SERIES_DAYS * DAY) errors.push({ path: '/start', message: `must be at most ${MAX_SERIES_DAYS} days ahead` });
      let windows: Window[];
      let seriesEnd: Date;
      if (input.recurrence) {
        const rec = input.recurrence;
        if (rec.until < localDate(start, timeZone)) errors.push({ path: '/recurrence/until', message: `must not be before the start (${localDate(start, timeZone)} in ${timeZone})` });
        seriesEnd = zonedToUtc(addDays(rec.until, 1), '00:00', timeZone);
        if (seriesEnd.getTime() - start.getTime() > MAX_SERIES_DAYS * DAY) errors.push({ path: '/recurrence/until', message: `the series may run at most ${MAX_SERIES_DAYS} days: request a new one after that` });
        windows = errors.length ? [] : occurrences(rec.windows, timeZone, start, seriesEnd, start, seriesEnd);
        if (!errors.length && !windows.length) errors.push({ path: '/recurrence', message: `no window falls between ${fmt(start)} and ${rec.until} (${timeZone})` });
      } else {
        seriesEnd = new Date(start.getTime() + input.durationMinutes! * 60_000);
        windows = [{ start, end: seriesEnd }];
      }
      if (errors.length) throw invalid(errors.map((e) => `${e.path} ${e.message}`).join('; '), errors);
      const first = windows[0]!;
      const last = windows[windows.length - 1]!;
      const { required, groupId } = await this.policyCheck(tx, user, assets, input.protocols, first === last ? [first] : [first, last], { advanceNotice: true });
      await this.overlapCheck(tx, user.id, input.assets, windows, { start: first.start, end: seriesEnd });

      const id = newId();
      const at = now.toISOString();
      const startAt = input.recurrence ? first.start : start;
      await tx
        .insertInto('access_requests')
        .values({
          id, requester_id: user.id, requester_name: user.username, created_by_id: who.id, created_by_name: actor.name, purpose: input.purpose, ticket: input.ticket ?? null,
          protocols: JSON.stringify(input.protocols), start_at: startAt.toISOString(), end_at: seriesEnd.toISOString(), recurrence: input.recurrence ? JSON.stringify(input.recurrence.windows) : null,
          time_zone: timeZone, state: 'pending', approvals_required: required, approver_group_id: groupId, round: 0, approved_round: null, extension_end_at: null, warned_end_at: null, announced_start_at: null,
          decided_at: null, decided_by_name: null, decision_comment: null, version: 0, created_at: at, updated_at: at,
        })
        .execute();
      await tx.insertInto('access_request_assets').values(assets.map((a) => ({ request_id: id, asset_id: a.id, asset_name: a.name, site_id: a.siteId }))).execute();
      const row = await tx.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      const view = (await this.toViews(tx, [row]))[0]!;
      await audit(tx, actor, {
        action: 'request.create',
        target: { type: 'access_request', id, name: assets.map((a) => a.name).join(', ') },
        details: {
          requester: user.username, ...(user.id !== who.id ? { onBehalfBy: who.username } : {}), assets: assets.map((a) => a.name), protocols: input.protocols, purpose: input.purpose,
          ticket: input.ticket ?? null, start: view.start, end: view.end, ...(input.recurrence ? { recurrence: input.recurrence.windows, timeZone } : {}), approvalsRequired: required, approverGroup: view.approverGroup?.name ?? null,
        },
      });
      await this.notify.email('request_created', await this.emails(tx, await this.approverIds(tx, row)), {
        requestId: id, requester: { username: user.username, displayName: user.display_name }, assets: assets.map((a) => a.name), accessMethods: input.protocols, purpose: input.purpose,
        ticket: input.ticket ?? null, start: first.start.toISOString(), end: (input.recurrence ? seriesEnd : first.end).toISOString(), approvalsNeeded: required, timeZone, link: `/requests/${id}`,
      }, { ex: tx });
      await this.notify.emit('request.created', this.payload(view), { ex: tx });
      return view;
    });
  }

  private async emails(ex: Executor, ids: string[]): Promise<string[]> {
    if (!ids.length) return [];
    return (await ex.selectFrom('users').select('email').where('id', 'in', ids).where('status', '=', 'active').where('email', '!=', '').execute()).map((r) => r.email);
  }

  private payload(v: AccessRequest) {
    return {
      requestId: v.id, state: v.state, requester: v.requester.username, assets: v.assets.map((a) => a.name), protocols: v.protocols, ticket: v.ticket,
      start: v.start, end: v.end, recurring: v.recurrence !== null, approvalsRequired: v.approvalsRequired, approvals: v.approvals.filter((a) => a.decision === 'approve').map((a) => a.approver),
    };
  }

  /** Locks the request row for this transaction (the version bump serializes concurrent deciders). */
  private async lock(tx: Tx, id: string): Promise<RequestRow> {
    const row = await tx.updateTable('access_requests').set((eb) => ({ version: eb('version', '+', 1) })).where('id', '=', id).returningAll().executeTakeFirst();
    if (!row) throw notFound('access request', id);
    return row;
  }

  private async assetNames(ex: Executor, id: string): Promise<{ ids: string[]; names: string[] }> {
    const rows = await ex.selectFrom('access_request_assets').select(['asset_id', 'asset_name']).where('request_id', '=', id).orderBy('asset_name').execute();
    return { ids: rows.map((r) => r.asset_id), names: rows.map((r) => r.asset_name) };
  }

  /** The round open for decisions, or a 409 saying why there is none. */
  private openRound(row: RequestRow, now: Date): 'request' | 'extension' {
    if (row.state === 'pending') {
      if (now.toISOString() >= row.start_at) throw conflict(`the request expired: it was not decided before its start (${fmt(row.start_at)}); nothing was changed`);
      return 'request';
    }
    if (row.state === 'approved' && row.extension_end_at) {
      if (now.toISOString() >= row.end_at) throw conflict(`the extension expired: the window ended ${fmt(row.end_at)} before it was decided; nothing was changed`);
      return 'extension';
    }
    throw conflict(`the request is already ${row.state}${row.decided_by_name ? ` (by ${row.decided_by_name})` : ''}: nothing to decide`);
  }

  private async checkApprover(tx: Tx, who: Who, row: RequestRow, verb: string): Promise<void> {
    if (who.id === row.requester_id) throw forbidden(`you cannot ${verb} your own request (no self-approval)${verb === 'deny' ? ': cancel it instead' : ''}`);
    if (!(await this.mayApprove(tx, who, row))) {
      if (row.approver_group_id) {
        const g = await tx.selectFrom('groups').select('name').where('id', '=', row.approver_group_id).executeTakeFirst();
        throw forbidden(`only members of the approver group ${g?.name ?? row.approver_group_id} may ${verb} this request`);
      }
      throw forbidden(`only Administrators may ${verb} this request (the rules name no approver group)`);
    }
    const done = await tx.selectFrom('access_request_approvals').select('decision').where('request_id', '=', row.id).where('round', '=', row.round).where('approver_id', '=', who.id).executeTakeFirst();
    if (done) throw conflict(`you already ${done.decision === 'approve' ? 'approved' : 'denied'} this ${row.round > 0 ? 'extension' : 'request'}`);
  }

  async approve(who: Who, actor: Actor, id: string, comment: string | undefined, via: Via = 'api'): Promise<AccessRequest> {
    return (await this.run((tx) => this.approveTx(tx, who, actor, id, comment, via))).value;
  }

  async approveTx(tx: Tx, who: Who, actor: Actor, id: string, comment: string | undefined, via: Via): Promise<Outcome<AccessRequest>> {
    const row = await this.lock(tx, id);
    const now = this.now();
    const kind = this.openRound(row, now);
    await this.checkApprover(tx, who, row, 'approve');
    const at = now.toISOString();
    await tx.insertInto('access_request_approvals').values({ id: newId(), request_id: id, round: row.round, approver_id: who.id, approver_name: who.username, decision: 'approve', comment: comment || null, via, created_at: at }).execute();
    const approvers = await tx.selectFrom('access_request_approvals').select('approver_id').where('request_id', '=', id).where('round', '=', row.round).where('decision', '=', 'approve').where('approver_id', '!=', row.requester_id).execute();
    const count = new Set(approvers.map((a) => a.approver_id)).size;
    const final = count >= row.approvals_required;
    if (final) {
      await tx
        .updateTable('access_requests')
        .set(kind === 'request'
          ? { state: 'approved', approved_round: row.round, decided_at: at, decided_by_name: who.username, decision_comment: comment || null, updated_at: at }
          : { end_at: row.extension_end_at!, extension_end_at: null, approved_round: row.round, warned_end_at: null, decided_at: at, decided_by_name: who.username, decision_comment: comment || null, updated_at: at })
        .where('id', '=', id)
        .execute();
    } else {
      await tx.updateTable('access_requests').set({ updated_at: at }).where('id', '=', id).execute();
    }
    const after = await tx.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const view = (await this.toViews(tx, [after]))[0]!;
    await audit(tx, actor, {
      action: 'request.approve',
      target: { type: 'access_request', id, name: view.assets.map((a) => a.name).join(', ') },
      details: { by: who.username, via, requester: row.requester_name, approvals: count, required: row.approvals_required, final, round: row.round, ...(kind === 'extension' ? { extension: true, end: final ? after.end_at : row.extension_end_at } : {}), comment: comment || null },
    });
    if (final) {
      const requester = await tx.selectFrom('users').select(['email', 'status']).where('id', '=', row.requester_id).executeTakeFirst();
      await this.notify.email('request_decided', requester?.status === 'active' && requester.email ? [requester.email] : [], {
        requestId: id, decision: 'approved', decidedBy: { username: who.username }, comment: comment || null, assets: view.assets.map((a) => a.name), start: view.start, end: view.end, timeZone: row.time_zone, link: `/requests/${id}`,
      }, { ex: tx });
      await this.notify.emit(kind === 'request' ? 'request.approved' : 'request.extended', { ...this.payload(view), approvedBy: who.username }, { ex: tx });
      if (kind === 'extension') return { value: view, extendSessions: { requesterId: row.requester_id, assetIds: view.assets.map((a) => a.id) } };
    }
    return { value: view };
  }

  async deny(who: Who, actor: Actor, id: string, comment: string, via: Via = 'api'): Promise<AccessRequest> {
    return (await this.run((tx) => this.denyTx(tx, who, actor, id, comment, via))).value;
  }

  async denyTx(tx: Tx, who: Who, actor: Actor, id: string, comment: string, via: Via): Promise<Outcome<AccessRequest>> {
    const row = await this.lock(tx, id);
    const now = this.now();
    const kind = this.openRound(row, now);
    await this.checkApprover(tx, who, row, 'deny');
    const at = now.toISOString();
    await tx.insertInto('access_request_approvals').values({ id: newId(), request_id: id, round: row.round, approver_id: who.id, approver_name: who.username, decision: 'deny', comment, via, created_at: at }).execute();
    await tx
      .updateTable('access_requests')
      .set(kind === 'request' ? { state: 'denied', decided_at: at, decided_by_name: who.username, decision_comment: comment, updated_at: at } : { extension_end_at: null, updated_at: at })
      .where('id', '=', id)
      .execute();
    const after = await tx.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const view = (await this.toViews(tx, [after]))[0]!;
    await audit(tx, actor, {
      action: 'request.deny',
      target: { type: 'access_request', id, name: view.assets.map((a) => a.name).join(', ') },
      details: { by: who.username, via, requester: row.requester_name, reason: comment, round: row.round, ...(kind === 'extension' ? { extension: true, requestedEnd: row.extension_end_at } : {}) },
    });
    const requester = await tx.selectFrom('users').select(['email', 'status']).where('id', '=', row.requester_id).executeTakeFirst();
    await this.notify.email('request_decided', requester?.status === 'active' && requester.email ? [requester.email] : [], {
      requestId: id, decision: 'denied', decidedBy: { username: who.username }, comment, assets: view.assets.map((a) => a.name), start: view.start, end: row.extension_end_at ?? view.end, timeZone: row.time_zone, link: `/requests/${id}`,
    }, { ex: tx });
    await this.notify.emit('request.denied', { ...this.payload(view), deniedBy: who.username, reason: comment, ...(kind === 'extension' ? { extension: true } : {}) }, { ex: tx });
    return { value: view };
  }

  /** Asks for a longer window (one-off: a new end; recurring: a new last day): a new approval round. */
  async extend(who: Who, actor: Actor, id: string, input: { end?: string | undefined; until?: string | undefined; comment?: string | undefined }): Promise<AccessRequest> {
    return (
      await this.run(async (tx) => {
        const row = await this.lock(tx, id);
        if (row.requester_id !== who.id && who.role !== 'Administrator') throw forbidden('only the requester or an Administrator may extend this request');
        const now = this.now();
        if (row.state !== 'approved') throw conflict(`only an approved request can be extended (this one is ${row.state}): submit a new request`);
        if (row.extension_end_at) throw conflict(`an extension to ${fmt(row.extension_end_at)} is already waiting for approval`);
        if (now.toISOString() >= row.end_at) throw conflict(`the window ended ${fmt(row.end_at)}: submit a new request`);
        const rec = recurrenceOf(row);
        let newEnd: Date;
        if (rec) {
          if (!input.until) throw invalid('/until this request has recurring windows: give the new last day as until (YYYY-MM-DD)', [{ path: '/until', message: 'required for recurring windows' }]);
          newEnd = zonedToUtc(addDays(input.until, 1), '00:00', row.time_zone);
          if (newEnd.getTime() - Date.parse(row.start_at) > MAX_SERIES_DAYS * DAY) throw invalid(`/until the series may run at most ${MAX_SERIES_DAYS} days`, [{ path: '/until', message: `at most ${MAX_SERIES_DAYS} days` }]);
        } else {
          if (!input.end) throw invalid('/end this is a one-off window: give the new end as end', [{ path: '/end', message: 'required for a one-off window' }]);
          newEnd = new Date(input.end);
          if (newEnd.getTime() - Date.parse(row.start_at) > MAX_ONE_OFF_MINUTES * 60_000) throw invalid(`/end a one-off window lasts at most ${MAX_ONE_OFF_MINUTES} minutes (7 days)`, [{ path: '/end', message: 'too long' }]);
        }
        if (newEnd.toISOString() <= row.end_at) throw invalid(`/${rec ? 'until' : 'end'} must be after the current end (${fmt(row.end_at)})`, [{ path: `/${rec ? 'until' : 'end'}`, message: 'must be after the current end' }]);
        const user = await tx.selectFrom('users').selectAll().where('id', '=', row.requester_id).executeTakeFirstOrThrow();
        const { ids } = await this.assetNames(tx, id);
        const assets: Asset[] = [];
        for (const a of ids) assets.push(await getAsset(tx, a));
        // The whole extended window is checked (its duration), the added windows for overlaps.
        const extended = rec ? requestWindows(row, new Date(row.end_at), newEnd, newEnd.toISOString()) : [{ start: new Date(row.start_at), end: newEnd }];
        if (!extended.length) throw invalid('/until no window falls in the added days', [{ path: '/until', message: 'adds no window' }]);
        const { required, groupId } = await this.policyCheck(tx, user, assets, protocolsOf(row), rec ? [extended[extended.length - 1]!] : extended, { advanceNotice: false });
        await this.overlapCheck(tx, row.requester_id, ids, rec ? extended : [{ start: new Date(row.end_at), end: newEnd }], { start: new Date(row.end_at), end: newEnd }, id);
        const at = now.toISOString();
        await tx
          .updateTable('access_requests')
          .set({ extension_end_at: newEnd.toISOString(), round: row.round + 1, approvals_required: Math.max(required, 1), approver_group_id: groupId ?? row.approver_group_id, updated_at: at })
          .where('id', '=', id)
          .execute();
        const after = await tx.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        const view = (await this.toViews(tx, [after]))[0]!;
        await audit(tx, actor, {
          action: 'request.extend',
          target: { type: 'access_request', id, name: view.assets.map((a) => a.name).join(', ') },
          details: { by: who.username, requester: row.requester_name, previousEnd: row.end_at, requestedEnd: newEnd.toISOString(), round: after.round, approvalsRequired: after.approvals_required, comment: input.comment ?? null },
        });
        await this.notify.email('request_created', await this.emails(tx, await this.approverIds(tx, after)), {
          requestId: id, requester: { username: user.username, displayName: user.display_name }, assets: view.assets.map((a) => a.name), accessMethods: view.protocols,
          purpose: `Extension until ${fmt(newEnd)}: ${row.purpose}${input.comment ? ` (${input.comment})` : ''}`, ticket: row.ticket, start: row.end_at, end: newEnd.toISOString(), approvalsNeeded: after.approvals_required, timeZone: row.time_zone, link: `/requests/${id}`,
        }, { ex: tx });
        return { value: view };
      })
    ).value;
  }

  /** The requester (or an Administrator) withdraws a request, before or during its window. */
  async cancel(who: Who, actor: Actor, id: string, comment: string | undefined): Promise<AccessRequest> {
    return (
      await this.run(async (tx) => {
        const row = await this.lock(tx, id);
        if (row.requester_id !== who.id && who.role !== 'Administrator') throw forbidden('only the requester or an Administrator may cancel this request');
        return this.close(tx, who, actor, row, 'cancelled', comment ?? null);
      })
    ).value;
  }

  async revoke(who: Who, actor: Actor, id: string, comment: string): Promise<AccessRequest> {
    return (await this.run(async (tx) => this.revokeTx(tx, who, actor, id, comment))).value;
  }

  async revokeTx(tx: Tx, who: Who, actor: Actor, id: string, comment: string): Promise<Outcome<AccessRequest>> {
    const row = await this.lock(tx, id);
    return this.close(tx, who, actor, row, 'revoked', comment);
  }

  private async close(tx: Tx, who: Who, actor: Actor, row: RequestRow, state: 'cancelled' | 'revoked', comment: string | null): Promise<Outcome<AccessRequest>> {
    const now = this.now();
    const at = now.toISOString();
    if (row.state !== 'pending' && row.state !== 'approved') throw conflict(`the request is already ${row.state}: nothing to ${state === 'cancelled' ? 'cancel' : 'revoke'}`);
    if (row.state === 'approved' && at >= row.end_at) throw conflict(`the window ended ${fmt(row.end_at)}: nothing to ${state === 'cancelled' ? 'cancel' : 'revoke'}`);
    const wasOpen = row.state === 'approved' && !!windowAt(row, now);
    await tx.updateTable('access_requests').set({ state, extension_end_at: null, decided_at: at, decided_by_name: who.username, decision_comment: comment, updated_at: at }).where('id', '=', row.id).execute();
    const after = await tx.selectFrom('access_requests').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    const view = (await this.toViews(tx, [after]))[0]!;
    await audit(tx, actor, {
      action: state === 'cancelled' ? 'request.cancel' : 'request.revoke',
      target: { type: 'access_request', id: row.id, name: view.assets.map((a) => a.name).join(', ') },
      details: { by: who.username, requester: row.requester_name, previousState: row.state, duringWindow: wasOpen, ...(comment ? { reason: comment } : {}) },
    });
    await this.notify.emit(state === 'cancelled' ? 'request.cancelled' : 'request.revoked', { ...this.payload(view), by: who.username, reason: comment }, { ex: tx });
    return {
      value: view,
      ...(row.state === 'approved' ? { endSessions: { requesterId: row.requester_id, assetIds: view.assets.map((a) => a.id), reason: `access request ${state}${comment ? `: ${comment}` : ''}`, by: actor } } : {}),
    };
  }

  /** Runs a transition in a transaction, then ends the live sessions it took the access from. */
  async run<T>(fn: (tx: Tx) => Promise<Outcome<T>>): Promise<Outcome<T>> {
    const out = await inTx(this.db, fn);
    await this.afterCommit(out);
    return out;
  }

  async afterCommit(out: Outcome<unknown>): Promise<void> {
    const x = out.extendSessions;
    if (x) await this.sessions.refreshLimits(x.requesterId, x.assetIds).catch((err) => this.logger.error({ err }, 'could not extend the live sessions of an extended access request'));
    const e = out.endSessions;
    if (!e) return;
    await this.sessions.terminateOn(e.requesterId, e.assetIds, e.by, e.reason).catch((err) => this.logger.error({ err }, 'could not end the sessions of a closed access request'));
  }

  // ---- the sweeper ------------------------------------------------------------------------------------

  /** Starts the background sweeper (expiry, window starts, T-5 warnings) on the gateway's clock. */
  start(): void {
    if (this.stopped || this.cancelTimer) return;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    await this.running?.catch(() => undefined);
  }

  private schedule(ms: number): void {
    this.cancelTimer?.();
    this.cancelTimer = this.clock.setTimer(ms, () => {
      this.cancelTimer = null;
      this.sweep()
        .catch((err) => this.logger.error({ err: { message: (err as Error).message } }, 'access request sweep failed'))
        .finally(() => {
          if (!this.stopped && !this.cancelTimer) this.schedule(this.pollMs);
        });
    });
  }

  /** Resolves when a sweep in progress is over. */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** One pass: expire undecided requests and extensions, announce windows that opened, warn windows ending within 5 minutes. */
  sweep(): Promise<void> {
    if (this.running) return this.running.then(() => this.sweep());
    const run = (async () => {
      await this.expireDue();
      await this.announceStarting();
      await this.warnEnding();
    })();
    this.running = run;
    run.finally(() => {
      if (this.running === run) this.running = null;
    }).catch(() => undefined);
    return run;
  }

  private async expireDue(): Promise<void> {
    const now = this.now().toISOString();
    const due = await this.db
      .selectFrom('access_requests')
      .select('id')
      .where((eb) => eb.or([eb.and([eb('state', '=', 'pending'), eb('start_at', '<=', now)]), eb.and([eb('state', '=', 'approved'), eb('extension_end_at', 'is not', null), eb('end_at', '<=', now)])]))
      .execute();
    for (const { id } of due) {
      await inTx(this.db, async (tx) => {
        const row = await this.lock(tx, id);
        const extension = row.state === 'approved' && row.extension_end_at !== null && row.end_at <= now;
        if (!(row.state === 'pending' && row.start_at <= now) && !extension) return;
        await tx
          .updateTable('access_requests')
          .set(extension ? { extension_end_at: null, updated_at: now } : { state: 'expired', decided_at: now, decided_by_name: 'system', decision_comment: 'not decided before its start', updated_at: now })
          .where('id', '=', id)
          .execute();
        const after = await tx.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        const view = (await this.toViews(tx, [after]))[0]!;
        await audit(tx, SYSTEM_ACTOR, {
          action: 'request.expire',
          target: { type: 'access_request', id, name: view.assets.map((a) => a.name).join(', ') },
          details: extension ? { extension: true, requestedEnd: row.extension_end_at, requester: row.requester_name } : { requester: row.requester_name, start: row.start_at, approvals: view.approvals.filter((a) => a.decision === 'approve').length, required: row.approvals_required },
        });
        await this.notify.emit('request.expired', { ...this.payload(view), ...(extension ? { extension: true } : {}) }, { ex: tx });
      });
    }
  }

  /**
   * window_starting to the requester (and the request.window_started webhook) once per window, or
   * per occurrence of a recurring series: for every approved request whose window is open now and
   * whose start is not yet the announced one. The claim is a conditional UPDATE of
   * announced_start_at in the transaction that queues the email, so of two gateways sweeping the
   * same database only one announces. A window first seen open late (the gateway was down at its
   * start, or was just upgraded) is announced then, as open now; a closed one never. A pending
   * request expires at its start, so approval never comes after a (first) window opened.
   */
  private async announceStarting(): Promise<void> {
    const now = this.now();
    const iso = now.toISOString();
    const rows = await this.db.selectFrom('access_requests').selectAll().where('state', '=', 'approved').where('start_at', '<=', iso).where('end_at', '>', iso).execute();
    for (const r of rows) {
      const w = windowAt(r, now);
      if (!w) continue;
      const start = w.start.toISOString();
      if (r.announced_start_at === start) continue;
      await inTx(this.db, async (tx) => {
        const u = await tx
          .updateTable('access_requests')
          .set({ announced_start_at: start })
          .where('id', '=', r.id)
          .where('state', '=', 'approved')
          .where((eb) => eb.or([eb('announced_start_at', 'is', null), eb('announced_start_at', '!=', start)]))
          .executeTakeFirst();
        if (Number(u.numUpdatedRows) === 0) return;
        const row = await tx.selectFrom('access_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow();
        const view = (await this.toViews(tx, [row]))[0]!;
        const requester = await tx.selectFrom('users').select(['email', 'status']).where('id', '=', r.requester_id).executeTakeFirst();
        const end = w.end.toISOString();
        await this.notify.email('window_starting', requester?.status === 'active' && requester.email ? [requester.email] : [], {
          requestId: r.id, assets: view.assets.map((a) => a.name), start, end, timeZone: r.time_zone, link: '/access',
        }, { ex: tx });
        await this.notify.emit('request.window_started', { ...this.payload(view), window: { start, end } }, { ex: tx });
      });
    }
  }

  private async warnEnding(): Promise<void> {
    const now = this.now();
    const soon = new Date(now.getTime() + WARN_BEFORE_MS);
    const rows = await this.db.selectFrom('access_requests').selectAll().where('state', '=', 'approved').where('start_at', '<=', soon.toISOString()).where('end_at', '>', now.toISOString()).execute();
    for (const r of rows) {
      const w = requestWindows(r, now, new Date(soon.getTime() + 1)).find((x) => x.end > now && x.end <= soon && x.start <= now);
      if (!w) continue;
      const end = w.end.toISOString();
      if (r.warned_end_at === end) continue;
      const minutesLeft = Math.max(1, Math.ceil((w.end.getTime() - now.getTime()) / 60_000));
      const assets = await this.assetNames(this.db, r.id);
      const claimed = await inTx(this.db, async (tx) => {
        const u = await tx
          .updateTable('access_requests')
          .set({ warned_end_at: end })
          .where('id', '=', r.id)
          .where((eb) => eb.or([eb('warned_end_at', 'is', null), eb('warned_end_at', '!=', end)]))
          .executeTakeFirst();
        if (Number(u.numUpdatedRows) === 0) return false;
        const requester = await tx.selectFrom('users').select(['email', 'status']).where('id', '=', r.requester_id).executeTakeFirst();
        await this.notify.email('window_ending', requester?.status === 'active' && requester.email ? [requester.email] : [], { requestId: r.id, assets: assets.names, end, minutesLeft, timeZone: r.time_zone, link: `/requests/${r.id}` }, { ex: tx });
        return true;
      });
      if (!claimed) continue;
      const message = `the approved access window ends at ${fmt(end)} (in ${minutesLeft} min): this session is terminated then; request an extension if you need longer`;
      await this.sessions.warnOn(r.requester_id, assets.ids, message, w.end.getTime() - now.getTime()).catch((err) => this.logger.error({ err, request: r.id }, 'could not warn the sessions of an ending access window'));
    }
  }

  // ---- the policy hook ---------------------------------------------------------------------------------

  /** The approved request covering this user, asset, protocol and instant (registered with policy). */
  static async approvedRequest(ex: Executor, q: ApprovalQuery): Promise<ApprovedRequest | undefined> {
    const iso = q.at.toISOString();
    const rows = await ex
      .selectFrom('access_requests')
      .innerJoin('access_request_assets', 'access_request_assets.request_id', 'access_requests.id')
      .selectAll('access_requests')
      .where('access_requests.requester_id', '=', q.userId)
      .where('access_request_assets.asset_id', '=', q.assetId)
      .where('access_requests.state', '=', 'approved')
      .where('access_requests.start_at', '<=', iso)
      .where('access_requests.end_at', '>', iso)
      .execute();
    let best: { row: RequestRow; w: Window } | undefined;
    for (const row of rows) {
      if (!protocolsOf(row).includes(q.protocol)) continue;
      const w = windowAt(row, q.at);
      if (w && (!best || w.end > best.w.end)) best = { row, w };
    }
    if (!best) return undefined;
    const { row, w } = best;
    const approvals: Pick<ApprovalRow, 'approver_id'>[] = row.approved_round === null ? [] : await ex.selectFrom('access_request_approvals').select('approver_id').where('request_id', '=', row.id).where('round', '=', row.approved_round).where('decision', '=', 'approve').execute();
    return { id: row.id, requesterId: row.requester_id, approverIds: approvals.map((a) => a.approver_id), assetId: q.assetId, protocols: protocolsOf(row), validFrom: w.start.toISOString(), validUntil: w.end.toISOString() };
  }
}

type Selectable = Row<UsersTable>;
