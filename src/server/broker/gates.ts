import type { Logger } from 'pino';
import { type Actor, audit } from '../audit/log.js';
import type { Db, Executor } from '../db/index.js';
import { inTx } from '../db/tx.js';
import { DomainError, notFound } from '../errors.js';
import type { Notifier } from '../notify/notifier.js';
import { userEmails } from '../notify/notifier.js';
import { approverIds, isApprover } from '../policy/approvers.js';
import { mayOversee, overseerCheck, oversightRefusal, overseerIds } from '../policy/oversight.js';
import { newId } from '../util.js';
import type { Clock } from './clock.js';

/**
 * Session gates: a session the policy allows on a condition waits here, pending, before the
 * gateway contacts the asset.
 *  - 'approval' (manual session approval): N distinct approvers (the rules' group, or any
 *    Administrator), never the user, approve it live from the dashboard; one rejection ends it.
 *  - 'moderator' (watch required): it waits until a moderator (an Administrator or Operator other
 *    than the user) joins to watch; the live session then pauses whenever no moderator watches.
 * Waiting ends with the gate passed, or failed: rejected, timed out, the user left, shutdown.
 * Approvers and moderators are emailed (template session_pending) and webhooks get
 * session.pending / session.approved / session.rejected. Every decision is a row in
 * session_approvals and an audit event.
 *
 * Across gateway nodes (one PostgreSQL database): a live-approval gate is also kept in the
 * session's row (`gate`, a StoredGate), so any node lists it and records decisions; the node that
 * holds the session reads the decisions from session_approvals (at once for its own, within
 * POLL_MS for another node's) and lets the session through or fails it. Approvals are counted
 * from session_approvals, distinct approvers only. A moderator gate is kept in the row too, so
 * every node lists it; the moderator's watch is proxied to the node holding the session, which
 * lets it in (broker/nodes.ts).
 */
export type GateKind = 'approval' | 'moderator';

export interface GateSubject {
  sessionId: string;
  userId: string;
  username: string;
  assetId: string;
  assetName: string;
  protocol: string;
  port: number;
  sourceIp: string | null;
  siteTimezone: string;
}

export type GateSpec = { kind: 'approval'; count: number; group?: { id: string; name: string } } | { kind: 'moderator' };

/** Who acts on a gate (approver, moderator). */
export interface GateActor {
  id: string;
  username: string;
  role: string;
  ip: string | null;
}

export interface WaitingSession extends Omit<GateSubject, 'siteTimezone'> {
  waitingFor: GateKind;
  since: string;
  /** Approval gates: how many are needed, from whom, and who approved so far. */
  approvals?: { needed: number; group: { id: string; name: string } | null; by: { name: string; at: string }[] };
}

/** The gate was not passed: why, for the user and the session row. */
export class GateFailed extends Error {
  constructor(
    readonly reason: 'rejected' | 'approval_timeout' | 'moderator_timeout' | 'cancelled' | 'gateway_shutdown',
    message: string,
    readonly by?: string,
  ) {
    super(message);
  }
}

interface Entry {
  view: WaitingSession;
  subject: GateSubject;
  spec: GateSpec;
  resolve: (by: GateActor | undefined) => void;
  reject: (err: GateFailed) => void;
  cancelTimer: () => void;
}

export interface GateOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** How long a session waits at a gate before it fails (default 10 min). */
  waitMs: number;
  notify?: Notifier | undefined;
}

/** What approvers decided on a waiting session. */
interface Decisions {
  approvers: { id: string; name: string; at: string }[];
  rejection: { name: string; id: string | null; comment: string | null } | null;
}

/** A gate as kept in remote_sessions.gate (waiting_for says which kind). */
interface StoredGate {
  subject: GateSubject;
  /** Approvals needed (0 for a moderator gate). */
  count: number;
  group: { id: string; name: string } | null;
  since: string;
  /** When the holding node fails it (approval_timeout); after that no node lists it. */
  until: string;
}

/** How often the node holding waiting sessions reads decisions made on other nodes. */
const POLL_MS = 1000;

/** Who moderates (watch required): the roles that may watch sessions. */
export const MODERATOR_ROLES: ReadonlySet<string> = new Set(['Administrator', 'Operator']);
const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;
const conflict = (m: string) => new DomainError('conflict', m);
const forbidden = (m: string) => new DomainError('forbidden', m);

export class SessionGates {
  private readonly waiting = new Map<string, Entry>();
  private poller: NodeJS.Timeout | undefined;

  constructor(private readonly o: GateOptions) {}

  get(id: string): WaitingSession | undefined {
    return this.waiting.get(id)?.view;
  }

  list(): WaitingSession[] {
    return [...this.waiting.values()].map((e) => e.view);
  }

  /**
   * The waiting sessions this user may act on: approval gates they may approve (isApprover),
   * moderator gates for those who may oversee the asset (Administrators, Operators as the
   * live-oversight setting allows); never their own.
   */
  async listFor(who: { id: string; role: string }): Promise<WaitingSession[]> {
    const out: WaitingSession[] = [];
    const entries = [...this.waiting.values()];
    for (const e of await this.remoteEntries()) if (!this.waiting.has(e.subject.sessionId)) entries.push(e);
    const oversees = await overseerCheck(this.o.db, who);
    for (const e of entries) {
      if (e.subject.userId === who.id) continue;
      const ok = e.spec.kind === 'moderator' ? await oversees(e.subject.assetId) : await isApprover(this.o.db, who, e.spec.group?.id ?? null);
      if (ok) out.push(e.view);
    }
    return out;
  }

  /** A waiting session, held here or (live approval) by another node; undefined when none waits. */
  async find(id: string): Promise<WaitingSession | undefined> {
    return this.waiting.get(id)?.view ?? (await this.remoteEntry(id))?.view;
  }

  /**
   * Waits at the gate. Resolves (with the moderator, for a moderator gate) when it is passed;
   * rejects with GateFailed otherwise. The row says what it waits for meanwhile.
   */
  async wait(subject: GateSubject, spec: GateSpec, signal?: AbortSignal, onWaiting?: () => void): Promise<GateActor | undefined> {
    const { db, clock } = this.o;
    const id = subject.sessionId;
    const since = new Date(clock.now()).toISOString();
    const { siteTimezone: _tz, ...who } = subject;
    const view: WaitingSession = {
      ...who, waitingFor: spec.kind, since,
      ...(spec.kind === 'approval' ? { approvals: { needed: spec.count, group: spec.group ?? null, by: [] } } : {}),
    };
    const passed = new Promise<GateActor | undefined>((resolve, reject) => {
      const e: Entry = { view, subject, spec, resolve, reject, cancelTimer: () => {} };
      e.cancelTimer = clock.setTimer(this.o.waitMs, () =>
        this.settle(id, new GateFailed(spec.kind === 'approval' ? 'approval_timeout' : 'moderator_timeout', spec.kind === 'approval' ? `no approver approved the session within ${minutes(this.o.waitMs)}` : `no moderator joined within ${minutes(this.o.waitMs)}`)),
      );
      this.waiting.set(id, e);
    });
    // Registered first: whoever hears of the wait (the user, an approver's API client) can act on it.
    onWaiting?.();
    const stored: StoredGate = { subject, count: spec.kind === 'approval' ? spec.count : 0, group: spec.kind === 'approval' ? (spec.group ?? null) : null, since, until: new Date(clock.now() + this.o.waitMs).toISOString() };
    await db.updateTable('remote_sessions').set({ waiting_for: spec.kind, gate: JSON.stringify(stored) }).where('id', '=', id).execute();
    if (spec.kind === 'approval') this.startPolling();
    const onAbort = () => this.settle(id, new GateFailed('cancelled', 'the user left while the session waited'));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    void this.announce(subject, spec).catch((err: unknown) => this.o.logger.error({ err, session: id }, 'could not announce the pending session'));
    try {
      return await passed;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await db.updateTable('remote_sessions').set({ waiting_for: null, gate: null }).where('id', '=', id).execute();
    }
  }

  private startPolling(): void {
    if (this.poller) return;
    this.poller = setInterval(() => {
      const ids = [...this.waiting.values()].filter((e) => e.spec.kind === 'approval').map((e) => e.subject.sessionId);
      if (ids.length === 0) {
        clearInterval(this.poller);
        this.poller = undefined;
        return;
      }
      void this.decisionsOf(ids)
        .then((all) => {
          for (const [id, d] of all) this.apply(id, d);
        })
        .catch((err: unknown) => this.o.logger.error({ err }, 'could not read the decisions on waiting sessions'));
    }, POLL_MS);
    this.poller.unref();
  }

  /** The decisions recorded on a session so far: distinct approvers in order, and the first rejection. */
  private async decisions(id: string): Promise<Decisions> {
    return (await this.decisionsOf([id])).get(id)!;
  }

  /** decisions() for several sessions with one query. */
  private async decisionsOf(ids: string[]): Promise<Map<string, Decisions>> {
    const out = new Map<string, Decisions>(ids.map((id) => [id, { approvers: [], rejection: null }]));
    if (ids.length === 0) return out;
    const rows = await this.o.db.selectFrom('session_approvals').select(['session_id', 'approver_id', 'approver_name', 'decision', 'comment', 'created_at']).where('session_id', 'in', ids).orderBy('created_at').execute();
    for (const r of rows) {
      const d = out.get(r.session_id)!;
      if (r.decision === 'reject') d.rejection ??= { name: r.approver_name, id: r.approver_id, comment: r.comment };
      else if (r.approver_id && !d.approvers.some((a) => a.id === r.approver_id)) d.approvers.push({ id: r.approver_id, name: r.approver_name, at: r.created_at });
    }
    return out;
  }

  /**
   * Brings a waiting approval gate held here in line with session_approvals (decisions made here
   * or on another node): a rejection fails it, enough distinct approvers let it through.
   */
  private async sync(id: string): Promise<void> {
    this.apply(id, await this.decisions(id));
  }

  private apply(id: string, d: Decisions): void {
    const e = this.waiting.get(id);
    if (!e || e.spec.kind !== 'approval') return;
    e.view.approvals!.by = d.approvers.map((a) => ({ name: a.name, at: a.at }));
    if (d.rejection) this.settle(id, new GateFailed('rejected', `rejected by ${d.rejection.name}: ${d.rejection.comment ?? ''}`, d.rejection.name));
    else if (d.approvers.length >= e.spec.count) {
      const last = d.approvers.at(-1)!;
      this.settle(id, { by: { id: last.id, username: last.name, role: '', ip: null } });
    }
  }

  /** Live-approval gates held by other nodes (or this one), from the database; expired ones left out. */
  private async remoteEntries(id?: string): Promise<Entry[]> {
    let q = this.o.db.selectFrom('remote_sessions').select(['id', 'gate', 'waiting_for']).where('state', '=', 'pending').where('waiting_for', 'in', ['approval', 'moderator']).where('gate', 'is not', null);
    if (id) q = q.where('id', '=', id);
    const now = this.o.clock.now();
    const rows = await q.execute();
    const decided = await this.decisionsOf(rows.map((r) => r.id));
    const out: Entry[] = [];
    for (const row of rows) {
      let g: StoredGate;
      try {
        g = JSON.parse(row.gate!) as StoredGate;
      } catch {
        continue;
      }
      if (Date.parse(g.until) <= now) continue;
      const d = decided.get(row.id)!;
      const { siteTimezone: _tz, ...who } = g.subject;
      const moderator = row.waiting_for === 'moderator';
      out.push({
        view: moderator ? { ...who, waitingFor: 'moderator', since: g.since } : { ...who, waitingFor: 'approval', since: g.since, approvals: { needed: g.count, group: g.group, by: d.approvers.map((a) => ({ name: a.name, at: a.at })) } },
        subject: g.subject,
        spec: moderator ? { kind: 'moderator' } : { kind: 'approval', count: g.count, ...(g.group ? { group: g.group } : {}) },
        resolve: () => {},
        reject: () => {},
        cancelTimer: () => {},
      });
    }
    return out;
  }

  private async remoteEntry(id: string): Promise<Entry | undefined> {
    return (await this.remoteEntries(id))[0];
  }

  /** Ends the wait: passed (by: who let it through) or failed. */
  private settle(id: string, outcome: GateFailed | { by: GateActor | undefined }): void {
    const e = this.waiting.get(id);
    if (!e) return;
    this.waiting.delete(id);
    e.cancelTimer();
    if (outcome instanceof GateFailed) e.reject(outcome);
    else e.resolve(outcome.by);
  }

  private async announce(s: GateSubject, spec: GateSpec): Promise<void> {
    const notify = this.o.notify;
    if (!notify) return;
    const people = spec.kind === 'approval' ? await approverIds(this.o.db, spec.group?.id ?? null) : await overseerIds(this.o.db, s.assetId);
    const to = await userEmails(this.o.db, people.filter((p) => p !== s.userId));
    const at = new Date(this.o.clock.now()).toISOString();
    await notify.email('session_pending', to, {
      sessionId: s.sessionId, user: { username: s.username }, asset: s.assetName, protocol: `${s.protocol}:${s.port}`, requestedAt: at, sourceIp: s.sourceIp,
      waitingFor: spec.kind, ...(spec.kind === 'approval' ? { approvalsNeeded: spec.count } : {}), timeZone: s.siteTimezone, link: '/',
    });
    await notify.emit('session.pending', { sessionId: s.sessionId, waitingFor: spec.kind, user: s.username, asset: s.assetName, protocol: s.protocol, port: s.port, ...(spec.kind === 'approval' ? { approvalsNeeded: spec.count } : {}) });
  }

  /** The gate a session waits at: held here, or (live approval) by another node. */
  private async entry(id: string, kind: GateKind): Promise<Entry> {
    const e = this.waiting.get(id) ?? (kind === 'approval' ? await this.remoteEntry(id) : undefined);
    if (!e) throw notFound('session waiting at a gate', id);
    if (e.spec.kind !== kind) throw conflict(kind === 'approval' ? 'the session waits for a moderator, not for an approval' : 'the session waits for an approval, not for a moderator');
    return e;
  }

  private async checkApprover(ex: Executor, e: Entry, who: GateActor, verb: string): Promise<void> {
    if (who.id === e.subject.userId) throw forbidden(`you cannot ${verb} your own session (no self-approval)`);
    const spec = e.spec as Extract<GateSpec, { kind: 'approval' }>;
    if (!(await isApprover(ex, who, spec.group?.id ?? null))) throw forbidden(spec.group ? `only members of group ${spec.group.name} may ${verb} this session` : `only an Administrator may ${verb} this session`);
  }

  private async record(e: Entry, who: GateActor, decision: 'approve' | 'reject', comment: string | null, extra: Record<string, unknown>): Promise<void> {
    const at = new Date(this.o.clock.now()).toISOString();
    const actor: Actor = { id: who.id, name: who.username, ip: who.ip };
    await inTx(this.o.db, async (tx) => {
      await this.checkApprover(tx, e, who, decision);
      await tx.insertInto('session_approvals').values({ id: newId(), session_id: e.subject.sessionId, approver_id: who.id, approver_name: who.username, decision, comment, created_at: at }).execute();
      await audit(tx, actor, {
        action: decision === 'approve' ? 'session.approve' : 'session.reject',
        target: { type: 'session', id: e.subject.sessionId, name: e.subject.sessionId.slice(0, 8) },
        details: { user: e.subject.username, asset: e.subject.assetName, protocol: e.subject.protocol, ...(comment ? { comment } : {}), ...extra },
      });
      await this.o.notify?.emit(decision === 'approve' ? 'session.approved' : 'session.rejected', { sessionId: e.subject.sessionId, user: e.subject.username, asset: e.subject.assetName, by: who.username, ...(comment ? { comment } : {}), ...extra }, { ex: tx });
    });
  }

  /**
   * A live approval; the session opens once enough distinct approvers said yes. On another node
   * than the one holding the session, `passed` says the approvals are complete; that node opens
   * it within POLL_MS.
   */
  async approve(id: string, who: GateActor, comment: string | null): Promise<WaitingSession & { passed: boolean }> {
    const e = await this.entry(id, 'approval');
    const before = await this.decisions(id);
    if (before.approvers.some((a) => a.id === who.id)) throw conflict('you have already approved this session');
    const spec = e.spec as Extract<GateSpec, { kind: 'approval' }>;
    const local = this.waiting.get(id) === e;
    await this.record(e, who, 'approve', comment, { approvals: before.approvers.length + 1, required: spec.count });
    if (local) await this.sync(id);
    const after = await this.decisions(id);
    const by = after.approvers.map((a) => ({ name: a.name, at: a.at }));
    // Settled meanwhile (timeout, the user left, a rejection): the approval is on record, the wait is over.
    if (local && this.waiting.get(id) !== e && after.approvers.length < spec.count) throw conflict('the session stopped waiting before the approval was recorded');
    return { ...e.view, approvals: { ...e.view.approvals!, by }, passed: after.approvers.length >= spec.count && !after.rejection };
  }

  /** A live rejection: the session fails with the reason, shown to the user. */
  async reject(id: string, who: GateActor, reason: string): Promise<void> {
    const e = await this.entry(id, 'approval');
    await this.record(e, who, 'reject', reason, {});
    if (this.waiting.get(id) === e) this.settle(id, new GateFailed('rejected', `rejected by ${who.username}: ${reason}`, who.username));
  }

  /** A moderator joins a session that waits for one: it opens, watched by them. */
  async admitModerator(id: string, who: GateActor): Promise<void> {
    const e = await this.entry(id, 'moderator');
    if (who.id === e.subject.userId) throw forbidden('you cannot moderate your own session');
    if (!MODERATOR_ROLES.has(who.role)) throw forbidden('only Administrators and Operators moderate sessions');
    if (!(await mayOversee(this.o.db, who, e.subject.assetId))) throw forbidden(await oversightRefusal(this.o.db));
    await audit(this.o.db, { id: who.id, name: who.username, ip: who.ip }, { action: 'session.moderate', target: { type: 'session', id, name: id.slice(0, 8) }, details: { user: e.subject.username, asset: e.subject.assetName } });
    this.settle(id, { by: who });
  }

  /** Gateway shutdown: every wait fails. */
  closeAll(message: string): void {
    clearInterval(this.poller);
    this.poller = undefined;
    for (const id of [...this.waiting.keys()]) this.settle(id, new GateFailed('gateway_shutdown', message));
  }
}
