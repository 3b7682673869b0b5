import { mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { type Actor, audit } from '../audit/log.js';
import type { SecretBox } from '../crypto/secretbox.js';
import type { Db, Executor } from '../db/index.js';
import type { RemoteSessionsTable } from '../db/schema.js';
import { inTx } from '../db/tx.js';
import type { Selectable } from 'kysely';
import { DomainError, notFound } from '../errors.js';
import { getAsset } from '../inventory/assets.js';
import { type Constraints, decide } from '../policy/decide.js';
import { overseerCheck } from '../policy/oversight.js';
import { sshProtocol } from '../protocols/ssh/client.js';
import { telnetProtocol } from '../protocols/telnet/client.js';
import { ConnectError, type DisplayProtocol, type TerminalProtocol } from '../protocols/types.js';
import { vncProtocol } from '../protocols/vnc/display.js';
import { rdpProtocol } from '../protocols/rdp/display.js';
import { EncoderPool } from '../display/pool.js';
import { openGuacRecording } from '../recording/guac.js';
import type { AccessMethod, Asset } from '../inventory/assets.js';
import type { SitesTable, UsersTable } from '../db/schema.js';
import { indexRecording, loadSigningKey, openRecording, recoverRecording, sealInterruptedRecording, type SigningKey } from '../recording/index.js';
import { newId, nowIso } from '../util.js';
import { CommandInbox, type SessionCommand, sendCommand } from './commands.js';
import { revealAccount } from '../vault/accounts.js';
import { type Clock, realClock } from './clock.js';
import type { EndRequest, SessionCore, SessionLimits } from './core.js';
import { DisplaySession } from './display.js';
import { TerminalSession } from './terminal.js';
import { Screen } from './screen.js';
import { GateFailed, type GateActor, type GateSpec, MODERATOR_ROLES, SessionGates, type WaitingSession } from './gates.js';
import { administratorEmails, type Notifier } from '../notify/notifier.js';
import type { LiveSession, OpenRequest } from './types.js';

export interface BrokerOptions {
  db: Db;
  secrets: SecretBox;
  dataDir: string;
  logger: Logger;
  clock?: Clock;
  limits?: Partial<SessionLimits>;
  protocols?: Partial<Record<'ssh' | 'telnet', TerminalProtocol>>;
  displays?: Partial<Record<'vnc' | 'rdp', DisplayProtocol>>;
  /** Emails and webhooks for gates and break-glass; without it nothing is announced. */
  notify?: Notifier;
  /** How long a session waits for an approver or a moderator (default 10 min). */
  gateWaitMs?: number;
}

/** What open() learned before contacting the asset. */
interface Prepared {
  id: string;
  user: Selectable<UsersTable>;
  actor: Actor;
  asset: Asset;
  site: Selectable<SitesTable>;
  method: Pick<AccessMethod, 'protocol' | 'port' | 'options'>;
  account: { id: string; name: string };
  /** What policy.decide attached to the allow (shorter limits, clipboard, ...). */
  constraints: Constraints;
  /** Gates the session passes before the asset is contacted, in order. */
  gates: GateSpec[];
  /** Opened by break-glass (the user's reason). */
  breakGlass: string | null;
}

const clampInt = (v: number, lo: number, hi: number) => (Number.isFinite(v) ? Math.min(hi, Math.max(lo, Math.round(v))) : lo);

/** The brokers of this process (tests run several gateways in one process). */
const LOCAL_NODES = new Set<string>();

/**
 * Whether a node id of this host ("host:pid:tag") is a broker that still runs: one of this
 * process, or another Node.js process with that pid.
 */
function nodeRunsHere(node: string): boolean {
  if (LOCAL_NODES.has(node)) return true;
  const pid = Number(node.split(':')[1]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('node') ?? false;
  } catch {
    return false;
  }
}

/** The red button's end of a session (or of nothing, when it has ended already). */
async function endTerminated(s: SessionCore | undefined, by: string, reason: string): Promise<void> {
  await s?.end({ state: 'terminated', reason: 'terminated', message: `terminated by ${by}: ${reason}`, terminatedBy: by });
}

/** How long the red button waits for another node to end a session it holds. */
const REMOTE_END_WAIT_MS = 5000;

export const DEFAULT_LIMITS: SessionLimits = { idleTimeoutMs: 15 * 60_000, maxDurationMs: 4 * 3_600_000, warnBeforeMs: 60_000 };

/** A failed open: the session row exists (state failed) and the message is for the user. */
export class SessionOpenError extends DomainError {
  constructor(
    readonly sessionId: string | undefined,
    message: string,
    readonly failure: string,
  ) {
    super(failure === 'denied' ? 'forbidden' : 'unprocessable', message);
  }
  /** Denied, but the user may break glass (emergency access with a reason). */
  breakGlassAvailable = false;
}

/** Break-glass reasons: written sentences, not a click. */
const BREAK_GLASS_MIN = 10;
const BREAK_GLASS_MAX = 1000;

/**
 * The broker: every brokered session is opened, watched and ended here. It asks policy.decide,
 * reveals the vaulted credential for this one connection, connects through the protocol adapter
 * (pinning SSH host keys on first use), records, and owns the live session until it ends.
 */
export class Broker {
  private readonly live = new Map<string, SessionCore>();
  /** Live session id -> site id (the site's concurrent-connection limit). */
  private readonly siteOf = new Map<string, string>();
  /** The gateway's clock (injectable in tests): the request workflow runs on it too. */
  readonly clock: Clock;
  private readonly limits: SessionLimits;
  private readonly protocols: Record<'ssh' | 'telnet', TerminalProtocol>;
  private readonly displays: Partial<Record<'vnc' | 'rdp', DisplayProtocol>>;
  private pool: EncoderPool | undefined;
  private readonly unsettled = new Set<SessionCore>();
  private readonly recordings: string;
  /** This broker's node id (remote_sessions.node): unique even for two gateways in one process. */
  readonly node = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  /** Commands from other nodes for the sessions held here (commands.ts). */
  private readonly inbox: CommandInbox;
  private signer: SigningKey | undefined;
  /** Sessions waiting for an approver or a moderator. */
  readonly gates: SessionGates;
  /** What open() learned about each live session (to work its limits out again). */
  private readonly preparedOf = new Map<string, Prepared>();
  /** Sessions between their gates and their first byte: a moderator who let one in waits here for it. */
  private readonly opening = new Map<string, Promise<LiveSession>>();

  constructor(private readonly o: BrokerOptions) {
    this.clock = o.clock ?? realClock;
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.gates = new SessionGates({ db: o.db, clock: this.clock, logger: o.logger, waitMs: o.gateWaitMs ?? this.limits.gateWaitMs ?? 10 * 60_000, notify: o.notify });
    this.protocols = { ssh: sshProtocol, telnet: telnetProtocol, ...o.protocols };
    this.displays = { vnc: vncProtocol, rdp: rdpProtocol(o.dataDir), ...o.displays };
    this.recordings = resolve(o.dataDir, 'recordings');
    LOCAL_NODES.add(this.node);
    this.inbox = new CommandInbox({ db: o.db, node: this.node, logger: o.logger, handle: (c) => this.carryOut(c), holding: () => this.live.size > 0 });
  }

  /** A command from another node for a session held here. */
  private async carryOut(c: SessionCommand): Promise<void> {
    switch (c.kind) {
      case 'terminate':
        await endTerminated(this.live.get(c.sessionId), c.by, c.reason);
        return;
      case 'warn':
        this.live.get(c.sessionId)?.warn(c.message, c.msLeft);
        return;
      case 'refresh_limits':
        await this.refreshLocal(c.userId, c.assetIds);
        return;
    }
  }

  /**
   * The node holding this session when another node does: it is live there, or waits there for a
   * moderator (whom that node lets in). Undefined otherwise.
   */
  async heldElsewhere(id: string): Promise<string | undefined> {
    if (this.live.has(id)) return undefined;
    const row = await this.o.db.selectFrom('remote_sessions').select(['state', 'node', 'waiting_for']).where('id', '=', id).executeTakeFirst();
    if (!row || row.node === this.node) return undefined;
    return row.state === 'active' || (row.state === 'pending' && row.waiting_for === 'moderator') ? row.node : undefined;
  }

  /** Live sessions of `userId` held by other nodes, optionally only on these assets: id and node. */
  private async remoteLive(userId: string, assetIds?: string[]): Promise<{ id: string; node: string; asset_id: string }[]> {
    let q = this.o.db.selectFrom('remote_sessions').select(['id', 'node', 'asset_id']).where('user_id', '=', userId).where('state', '=', 'active').where('node', '!=', this.node);
    if (assetIds) {
      if (!assetIds.length) return [];
      q = q.where('asset_id', 'in', assetIds);
    }
    return q.execute();
  }

  private signing(): SigningKey {
    this.signer ??= loadSigningKey(this.o.dataDir);
    return this.signer;
  }

  get(id: string): LiveSession | undefined {
    return this.live.get(id);
  }

  list(): LiveSession[] {
    return [...this.live.values()];
  }

  /**
   * Opens a brokered session; resolves once the asset accepted the vaulted credential. A session
   * the policy gates (live approval, moderator) first waits, pending, until it is let through.
   */
  async open(req: OpenRequest): Promise<LiveSession> {
    let p = await this.prepare(req);
    let settle!: { resolve: (s: LiveSession) => void; reject: (e: unknown) => void };
    const opening = new Promise<LiveSession>((resolve, reject) => (settle = { resolve, reject }));
    opening.catch(() => {});
    this.opening.set(p.id, opening);
    try {
      if (p.gates.length) {
        for (const gate of p.gates) await this.passGate(p, req, gate);
        p = await this.recheck(p);
      }
      const s = await (req.protocol === 'vnc' || req.protocol === 'rdp' ? this.openDisplay(p, req, req.protocol) : this.openTerminal(p, req, req.protocol));
      settle.resolve(s);
      return s;
    } catch (err) {
      settle.reject(err);
      throw err;
    } finally {
      this.opening.delete(p.id);
    }
  }

  /** Waits at one gate; a failed wait ends the pending session with the reason the user reads. */
  private async passGate(p: Prepared, req: OpenRequest, gate: GateSpec): Promise<void> {
    const message =
      gate.kind === 'approval'
        ? `waiting for approval: ${gate.count === 1 ? 'an approver' : `${gate.count} approvers`}${gate.group ? ` from group ${gate.group.name}` : ''} must approve this session`
        : 'waiting for a moderator: this session starts when a moderator joins to watch it';
    try {
      await this.gates.wait({ sessionId: p.id, userId: p.user.id, username: p.user.username, assetId: p.asset.id, assetName: p.asset.name, protocol: req.protocol, port: req.port, sourceIp: req.sourceIp, siteTimezone: p.site.timezone }, gate, req.signal, () =>
        req.onWait?.({ sessionId: p.id, waitingFor: gate.kind, message }),
      );
    } catch (err) {
      if (!(err instanceof GateFailed)) throw err;
      await this.finish(p.id, p.actor, { state: err.reason === 'cancelled' ? 'ended' : 'failed', reason: err.reason, message: err.message, ...(err.by ? { terminatedBy: err.by } : {}) }, null);
      throw new SessionOpenError(p.id, err.message, err.reason);
    }
  }

  /** After waiting: the policy is asked again (a window may have closed meanwhile). */
  private async recheck(p: Prepared): Promise<Prepared> {
    const decision = await this.decideFor(p.user, p.asset, p.site, p.method);
    if (decision.outcome !== 'allow') {
      const message = `access denied: ${decision.reasons.join('; ')}`;
      await this.finish(p.id, p.actor, { state: 'failed', reason: 'denied', message }, null);
      throw new SessionOpenError(p.id, message, 'denied');
    }
    return { ...p, constraints: decision.constraints };
  }

  private decideFor(user: Selectable<UsersTable>, asset: Asset, site: Selectable<SitesTable>, method: Prepared['method'], breakGlass = false) {
    const onSite = [...this.siteOf.values()].filter((siteId) => siteId === site.id).length;
    return decide(this.o.db, { user, asset, method, at: new Date(this.clock.now()), activeSessionsOnSite: onSite, siteMaxConnections: site.max_connections, siteTimezone: site.timezone, breakGlass });
  }

  /**
   * What waits for this user (the Dashboard's panel): sessions at a gate they may act on, and
   * moderated live sessions that lost their moderator (paused), for moderators to rejoin.
   */
  async waitingFor(who: { id: string; username: string; role: string }): Promise<(WaitingSession & { paused: boolean; approvedByMe: boolean })[]> {
    const gated = (await this.gates.listFor(who)).map((w) => ({ ...w, paused: false, approvedByMe: w.approvals?.by.some((b) => b.name === who.username) ?? false }));
    if (!MODERATOR_ROLES.has(who.role)) return gated;
    const views = [...this.live.values()].map((s) => s.view()).filter((v) => v.paused && v.userId !== who.id);
    const here = views.map((v) => ({ id: v.id, userId: v.userId, username: v.username, assetId: v.assetId, assetName: v.assetName, protocol: v.protocol, port: v.port, since: v.pausedSince ?? v.startedAt ?? '' }));
    // Paused on other nodes (their rows say so).
    const rows = await this.o.db
      .selectFrom('remote_sessions')
      .select(['id', 'user_id', 'username', 'asset_id', 'asset_name', 'protocol', 'port', 'paused_since'])
      .where('state', '=', 'active')
      .where('paused_since', 'is not', null)
      .where('node', '!=', this.node)
      .where('user_id', '!=', who.id)
      .execute();
    const there = rows.map((r) => ({ id: r.id, userId: r.user_id, username: r.username, assetId: r.asset_id, assetName: r.asset_name, protocol: r.protocol, port: r.port, since: r.paused_since ?? '' }));
    const may = await overseerCheck(this.o.db, who);
    const paused = [];
    for (const v of [...here, ...there]) {
      if (await may(v.assetId)) paused.push({ sessionId: v.id, waitingFor: 'moderator' as const, paused: true, approvedByMe: false, userId: v.userId, username: v.username, assetId: v.assetId, assetName: v.assetName, protocol: v.protocol, port: v.port, sourceIp: null, since: v.since });
    }
    return [...gated, ...paused];
  }

  /**
   * A moderator joins a session that waits for one (watch required): it opens, and resolves once
   * connected; the moderator then attaches as a watcher with `moderator: true`.
   */
  async moderate(id: string, who: GateActor): Promise<LiveSession> {
    const opening = this.opening.get(id);
    await this.gates.admitModerator(id, who);
    if (!opening) throw new DomainError('conflict', 'the session is no longer opening');
    return opening;
  }

  /**
   * Everything before the asset is contacted: policy.decide, the vault account, the session row
   * (pending) and its audit event.
   */
  private async prepare(req: OpenRequest): Promise<Prepared> {
    const { db } = this.o;
    const user = await db.selectFrom('users').selectAll().where('id', '=', req.userId).executeTakeFirst();
    if (!user) throw notFound('user', req.userId);
    const actor: Actor = { id: user.id, name: user.username, ip: req.sourceIp };
    const asset = await getAsset(db, req.assetId);
    const site = await db.selectFrom('sites').selectAll().where('id', '=', asset.siteId).executeTakeFirstOrThrow();
    const method = asset.accessMethods.find((m) => m.protocol === req.protocol && m.port === req.port) ?? { protocol: req.protocol, port: req.port, options: {} };
    const reason = req.breakGlass?.reason.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trim();
    if (req.breakGlass && (!reason || reason.length < BREAK_GLASS_MIN || reason.length > BREAK_GLASS_MAX)) {
      throw new SessionOpenError(undefined, `break-glass needs a written reason of ${BREAK_GLASS_MIN} to ${BREAK_GLASS_MAX} characters`, 'bad_request');
    }
    const decision = await this.decideFor(user, asset, site, method, req.breakGlass !== undefined);
    // Approvals an access request must give (docs/requests.md) refuse here; live approvals and
    // moderators are gates the session waits at (gates.ts).
    if (decision.outcome === 'require_approval') decision.reasons.push('an approved access request is needed');
    if (decision.outcome !== 'allow') {
      await audit(db, actor, { action: 'session.open', target: { type: 'asset', id: asset.id, name: asset.name }, result: 'failure', details: { protocol: req.protocol, port: req.port, outcome: decision.outcome, reasons: decision.reasons, ...(decision.prohibited ? { prohibited: true } : {}), ...(req.breakGlass ? { breakGlass: true } : {}) } });
      const err = new SessionOpenError(undefined, `access denied: ${decision.reasons.join('; ')}`, 'denied');
      err.breakGlassAvailable = decision.breakGlass.available;
      throw err;
    }
    const c = decision.constraints;
    const gates: GateSpec[] = [
      ...(c.sessionApproval ? [{ kind: 'approval' as const, count: c.sessionApproval.count, ...(c.sessionApproval.group ? { group: c.sessionApproval.group } : {}) }] : []),
      ...(c.watchRequired ? [{ kind: 'moderator' as const }] : []),
    ];
    const breakGlass = decision.breakGlass.used ? reason! : null;
    const accounts = await db.selectFrom('asset_accounts').select(['id', 'name']).where('asset_id', '=', asset.id).orderBy('name').execute();
    const account = req.accountId ? accounts.find((a) => a.id === req.accountId) : accounts.length === 1 ? accounts[0] : accounts.find((a) => a.name === 'default');
    if (!account) {
      throw new SessionOpenError(undefined, accounts.length ? `choose one of the asset's accounts (${accounts.map((a) => a.name).join(', ')})` : `no account for ${asset.name} is in the vault: an administrator must add one`, 'no_account');
    }

    const id = newId();
    const row: RemoteSessionsTable = {
      id, user_id: user.id, username: user.username, asset_id: asset.id, asset_name: asset.name, site_id: site.id, site_name: site.name,
      account_id: account.id, protocol: req.protocol, port: req.port, via: req.via, command: req.command ?? null, source_ip: req.sourceIp,
      state: 'pending', end_reason: null, end_message: null, terminated_by: null, node: this.node, created_at: nowIso(), started_at: null, ended_at: null,
      bytes_in: 0, bytes_out: 0, recording_path: null, recording_sha256: null, typed_text: null, shown_text: null,
      waiting_for: null, gate: null, paused_since: null, moderated: c.watchRequired ? 1 : 0, break_glass_reason: breakGlass, review_state: breakGlass ? 'pending' : null, reviewed_by: null, reviewed_at: null, review_note: null,
      access_request_id: decision.approvedRequestId ?? null,
    };
    await inTx(db, async (tx) => {
      await tx.insertInto('remote_sessions').values(row).execute();
      await audit(tx, actor, { action: 'session.open', target: { type: 'asset', id: asset.id, name: asset.name }, details: { session: id, protocol: req.protocol, port: req.port, account: account.name, via: req.via, ...(req.command ? { command: req.command } : {}), ...(gates.length ? { gates: gates.map((g) => g.kind) } : {}), ...(breakGlass ? { breakGlass: true } : {}), ...(decision.approvedRequestId ? { accessRequest: decision.approvedRequestId } : {}) } });
      if (breakGlass) await this.announceBreakGlass(tx, { id, user, asset, site, req, reason: breakGlass, actor });
    });
    return { id, user, actor, asset, site, method, account, constraints: c, gates, breakGlass };
  }

  /**
   * Break-glass: its own audit event, an email to every administrator at once and a webhook, in
   * the transaction that creates the session (nothing is opened unannounced).
   */
  private async announceBreakGlass(tx: Executor, b: { id: string; user: Selectable<UsersTable>; asset: Asset; site: Selectable<SitesTable>; req: OpenRequest; reason: string; actor: Actor }): Promise<void> {
    await audit(tx, b.actor, { action: 'session.break_glass', target: { type: 'session', id: b.id, name: b.id.slice(0, 8) }, details: { user: b.user.username, asset: b.asset.name, protocol: b.req.protocol, port: b.req.port, reason: b.reason } });
    const notify = this.o.notify;
    if (!notify) return;
    const at = new Date(this.clock.now()).toISOString();
    await notify.email('break_glass', await administratorEmails(tx), { sessionId: b.id, user: { username: b.user.username, displayName: b.user.display_name || undefined }, asset: b.asset.name, protocol: `${b.req.protocol}:${b.req.port}`, reason: b.reason, at, sourceIp: b.req.sourceIp, timeZone: b.site.timezone }, { ex: tx });
    await notify.emit('break_glass.used', { sessionId: b.id, user: b.user.username, asset: b.asset.name, protocol: b.req.protocol, port: b.req.port, reason: b.reason, at }, { ex: tx });
  }

  /** The broker's limits, shortened where the policy asks for less (never lengthened). */
  private limitsFor(p: Prepared): SessionLimits {
    const c = p.constraints;
    const idle = c.idleTimeoutMinutes !== undefined ? Math.min(this.limits.idleTimeoutMs, c.idleTimeoutMinutes * 60_000) : this.limits.idleTimeoutMs;
    const max = c.maxSessionMinutes !== undefined ? Math.min(this.limits.maxDurationMs, c.maxSessionMinutes * 60_000) : this.limits.maxDurationMs;
    return { ...this.limits, idleTimeoutMs: idle, maxDurationMs: max };
  }

  /** A failed connect: the row becomes 'failed' with the message the user reads. */
  private async connectFailed(p: Prepared, err: unknown): Promise<never> {
    const failure = err instanceof ConnectError ? err.failure : 'error';
    const message = err instanceof ConnectError ? describeFailure(err, p.asset.name) : 'the gateway could not open the session';
    if (!(err instanceof ConnectError)) this.o.logger.error({ err, session: p.id }, 'session open failed');
    await this.finish(p.id, p.actor, { state: 'failed', reason: failure, message }, null);
    throw new SessionOpenError(p.id, message, failure);
  }

  /** Registers the live session and marks the row active. */
  private async goLive(p: Prepared, session: SessionCore, recordingPath: string): Promise<void> {
    this.live.set(p.id, session);
    this.preparedOf.set(p.id, p);
    // Until its recording is sealed and its row written, even after it left `live`.
    this.unsettled.add(session);
    void session.done.finally(() => this.unsettled.delete(session));
    this.siteOf.set(p.id, p.site.id);
    // Paused (moderated, no moderator) or not: in the row too, for the other nodes' Dashboards.
    session.onPauseChange = (since) =>
      void this.o.db.updateTable('remote_sessions').set({ paused_since: since }).where('id', '=', p.id).execute().catch((err: unknown) => this.o.logger.error({ err, session: p.id }, 'could not record the pause'));
    await this.o.db.updateTable('remote_sessions').set({ state: 'active', started_at: session.startedAt, recording_path: recordingPath, paused_since: session.view().pausedSince }).where('id', '=', p.id).execute();
    this.inbox.start();
  }

  private meta(p: Prepared, protocol: OpenRequest['protocol']) {
    return { id: p.id, userId: p.user.id, username: p.user.username, assetId: p.asset.id, assetName: p.asset.name, protocol, port: p.method.port, moderated: p.gates.some((g) => g.kind === 'moderator'), breakGlass: p.breakGlass !== null };
  }

  /**
   * Pins what the asset showed on its first connection (SSH host key, RDP certificate). Several
   * first connections at once: one pins, the others must have seen that same key. False: they
   * did not (the key changed in between).
   */
  private async pinFirstUse(p: Prepared, port: number, seen: string, kind: 'host key' | 'certificate' = 'host key'): Promise<boolean> {
    const { asset, actor, id } = p;
    const pinned = await inTx(this.o.db, async (tx) => {
      const r = await tx.insertInto('asset_host_keys').values({ asset_id: asset.id, port, fingerprint: seen, pinned_at: nowIso(), pinned_by: 'first use' }).onConflict((oc) => oc.columns(['asset_id', 'port']).doNothing()).executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) {
        await audit(tx, actor, { action: 'asset.host_key_pin', target: { type: 'asset', id: asset.id, name: asset.name }, details: { port, fingerprint: seen, kind, session: id } });
        return seen;
      }
      return (await tx.selectFrom('asset_host_keys').select('fingerprint').where('asset_id', '=', asset.id).where('port', '=', port).executeTakeFirst())?.fingerprint;
    });
    return pinned === seen;
  }

  private async openTerminal(p: Prepared, req: OpenRequest, protocol: 'ssh' | 'telnet'): Promise<LiveSession> {
    const { db } = this.o;
    const { id, actor, asset, user, method } = p;
    const pin = await db.selectFrom('asset_host_keys').select('fingerprint').where('asset_id', '=', asset.id).where('port', '=', req.port).executeTakeFirst();
    let conn;
    try {
      const credential = await revealAccount({ db, actor, secrets: this.o.secrets }, asset.id, p.account.id);
      conn = await this.protocols[protocol].connect({ host: asset.host, port: req.port, options: method.options }, credential, {
        size: req.size,
        ...(req.term ? { term: req.term } : {}),
        ...(req.command ? { command: req.command } : {}),
        ...(req.pty !== undefined ? { pty: req.pty } : {}),
        ...(pin ? { pinnedHostKey: pin.fingerprint } : {}),
      });
    } catch (err) {
      return this.connectFailed(p, err);
    }

    if (protocol === 'ssh' && !pin && conn.info.hostKeyFingerprint && !(await this.pinFirstUse(p, req.port, conn.info.hostKeyFingerprint))) {
      conn.close('host key mismatch');
      return this.connectFailed(p, new ConnectError('host_key_mismatch', 'the host key changed while connecting', { hostKeyFingerprint: conn.info.hostKeyFingerprint }));
    }

    mkdirSync(this.recordings, { recursive: true, mode: 0o700 });
    const recorder = await openRecording({ dir: this.recordings, id, width: req.size.cols, height: req.size.rows, title: `${user.username} -> ${asset.name} (${protocol})`, signer: this.signing(), clock: () => this.clock.now(),
      // Written twice a second (fsync every second), so a crash loses under a second even when the event loop lags.
      flushIntervalMs: 500 });
    const session = new TerminalSession(this.meta(p, protocol), conn, recorder, new Screen(req.size.cols, req.size.rows), this.clock, this.limitsFor(p), req.size, async (s, end) => {
      this.release(p);
      let rec: { path: string; sha256: string } | null = null;
      let text: { typed: string; shown: string } | null = null;
      try {
        if (end.terminatedBy) recorder.marker(end.message);
        rec = await recorder.close();
        const idx = await indexRecording(rec.path);
        text = { typed: idx.commands.join('\n').slice(0, 200_000), shown: idx.outputText.slice(0, 1_000_000) };
      } catch (err) {
        this.o.logger.error({ err, session: id }, 'recording could not be sealed or indexed');
      }
      await this.ended(p, s, end, rec);
      if (text) await this.o.db.updateTable('remote_sessions').set({ typed_text: text.typed, shown_text: text.shown }).where('id', '=', id).execute();
    });
    await this.goLive(p, session, `recordings/${id}.cast`);
    return session;
  }

  private async openDisplay(p: Prepared, req: OpenRequest, protocol: 'vnc' | 'rdp'): Promise<LiveSession> {
    const { db } = this.o;
    const { id, actor, asset, user, method, site } = p;
    const screen = { width: clampInt(req.screen?.width ?? 1280, 320, 4096), height: clampInt(req.screen?.height ?? 800, 200, 4096) };
    const adapter = this.displays[protocol];
    if (!adapter) return this.connectFailed(p, new ConnectError('protocol', `${protocol.toUpperCase()} is not available on this gateway`));
    const pin = protocol === 'rdp' ? await db.selectFrom('asset_host_keys').select('fingerprint').where('asset_id', '=', asset.id).where('port', '=', req.port).executeTakeFirst() : undefined;
    let conn;
    try {
      const reveal = () => revealAccount({ db, actor, secrets: this.o.secrets }, asset.id, p.account.id);
      conn = await adapter.connect({ host: asset.host, port: req.port, options: method.options }, await reveal(), { ...screen, quality: site.stream_quality, reveal, ...(pin ? { pinnedCert: pin.fingerprint } : {}) });
    } catch (err) {
      return this.connectFailed(p, err);
    }
    if (protocol === 'rdp' && !pin && conn.info.certSha256 && !(await this.pinFirstUse(p, req.port, conn.info.certSha256, 'certificate'))) {
      conn.close('certificate mismatch');
      return this.connectFailed(p, new ConnectError('host_key_mismatch', "the server's certificate changed while connecting", { hostKeyFingerprint: conn.info.certSha256 }));
    }
    mkdirSync(this.recordings, { recursive: true, mode: 0o700 });
    let recorder;
    try {
      recorder = await openGuacRecording({ dir: this.recordings, id, title: `${user.username} -> ${asset.name} (${protocol})`, signer: this.signing(), clock: () => this.clock.now(), flushIntervalMs: 500 });
    } catch (err) {
      conn.close('the recording could not be opened');
      return this.connectFailed(p, err);
    }
    const opts = method.options;
    const clipboard = { toAsset: opts.clipboardToAsset === true && p.constraints.clipboard.toAsset, fromAsset: opts.clipboardFromAsset === true && p.constraints.clipboard.fromAsset };
    const session = new DisplaySession(this.meta(p, protocol), conn, recorder, this.encoder(), site.stream_quality, clipboard, this.clock, this.limitsFor(p), async (s, end) => {
      this.release(p);
      let rec: { path: string; sha256: string } | null = null;
      try {
        if (end.terminatedBy) recorder.marker(end.message);
        rec = await recorder.close();
      } catch (err) {
        this.o.logger.error({ err, session: id }, 'recording could not be sealed');
      }
      await this.ended(p, s, end, rec);
    });
    await this.goLive(p, session, `recordings/${id}.guac`);
    return session;
  }

  /** The shared encoder pool of all display sessions (workers start with the first one). */
  private encoder(): EncoderPool {
    this.pool ??= new EncoderPool();
    return this.pool;
  }

  /** The session no longer counts as live (before its recording is sealed). */
  private release(p: Prepared): void {
    this.live.delete(p.id);
    this.preparedOf.delete(p.id);
    this.siteOf.delete(p.id);
  }

  private async ended(p: Prepared, s: SessionCore, end: EndRequest, rec: { path: string; sha256: string } | null): Promise<void> {
    await this.finish(p.id, p.actor, end, rec, s.bytesIn, s.bytesOut);
  }

  private async finish(id: string, actor: Actor, end: EndRequest, rec: { sha256: string } | null, bytesIn = 0, bytesOut = 0): Promise<void> {
    const { db } = this.o;
    await inTx(db, async (tx) => {
      await tx
        .updateTable('remote_sessions')
        .set({ state: end.state, end_reason: end.reason, end_message: end.message, terminated_by: end.terminatedBy ?? null, ended_at: nowIso(), bytes_in: bytesIn, bytes_out: bytesOut, ...(rec ? { recording_sha256: rec.sha256 } : {}) })
        .where('id', '=', id)
        .execute();
      const action = end.state === 'terminated' ? 'session.terminate' : end.state === 'failed' ? 'session.fail' : 'session.end';
      await audit(tx, end.state === 'terminated' ? { id: null, name: end.terminatedBy ?? 'system', ip: null } : actor, {
        action,
        target: { type: 'session', id, name: id.slice(0, 8) },
        result: end.state === 'failed' ? 'failure' : 'success',
        details: { reason: end.reason, message: end.message, bytesIn, bytesOut, ...(rec ? { recordingSha256: rec.sha256 } : {}) },
      });
    });
  }

  /**
   * Access grew (an approved extension of the access request): each live session of the user on
   * these assets asks the policy again and, when it may now last longer, its end moves. Never
   * beyond the broker's and the rules' maximum duration counted from the session's start.
   */
  async refreshLimits(userId: string, assetIds: string[]): Promise<void> {
    const nodes = new Set((await this.remoteLive(userId, assetIds)).map((r) => r.node));
    for (const node of nodes) await sendCommand(this.o.db, node, { kind: 'refresh_limits', userId, assetIds });
    await this.refreshLocal(userId, assetIds);
  }

  /** refreshLimits() for the sessions held by this node. */
  private async refreshLocal(userId: string, assetIds: string[]): Promise<void> {
    const mine = this.localOf(userId, assetIds).filter((s) => this.preparedOf.has(s.id));
    if (!mine.length) return;
    const user = await this.o.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
    if (!user) return;
    for (const s of mine) {
      const p = this.preparedOf.get(s.id);
      if (!p) continue;
      const d = await this.decideFor(user, p.asset, p.site, p.method);
      if (d.outcome !== 'allow') continue;
      const start = Date.parse(s.startedAt);
      const c = d.constraints;
      const ends = [start + this.limits.maxDurationMs, ...(c.rulesMaxSessionMinutes !== undefined ? [start + c.rulesMaxSessionMinutes * 60_000] : []), ...[c.windowEndsAt, c.accessEndsAt].filter((x): x is string => !!x).map(Date.parse)];
      const end = Math.min(...ends);
      s.setDeadline(end, c.accessEndsAt && Date.parse(c.accessEndsAt) === end ? `access request extended until ${c.accessEndsAt.slice(0, 16).replace('T', ' ')} UTC` : 'access extended');
    }
  }

  /**
   * The red button: ends a live session now, with who and why. A session held by another gateway
   * node gets the command through the database; this waits until that node has ended it.
   */
  async terminate(id: string, by: Actor, reason: string): Promise<void> {
    const s = this.live.get(id);
    if (s) {
      await endTerminated(s, by.name, reason);
      return;
    }
    const { db } = this.o;
    const row = await db.selectFrom('remote_sessions').select(['state', 'node']).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('session', id);
    if (row.state !== 'active' || row.node === this.node) throw new DomainError('conflict', `the session is not live (${row.state})`);
    await sendCommand(db, row.node, { kind: 'terminate', sessionId: id, by: by.name, reason });
    const until = Date.now() + REMOTE_END_WAIT_MS;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      const now = await db.selectFrom('remote_sessions').select('state').where('id', '=', id).executeTakeFirst();
      if (now?.state !== 'active') return;
    }
    throw new DomainError('unavailable', `the gateway node holding the session (${row.node}) did not end it within ${REMOTE_END_WAIT_MS / 1000} s: it ends it when it reads the request, or marks it interrupted when it restarts`);
  }

  /** Ends every live session of a user (account locked, disabled, deleted), on every node. */
  terminateUser(userId: string, by: Actor, reason: string): Promise<number> {
    return this.terminateOn(userId, undefined, by, reason);
  }

  /**
   * Ends the active sessions of a user, on these assets (an access request revoked or cancelled)
   * or on all, on every node; returns how many.
   */
  async terminateOn(userId: string, assetIds: string[] | undefined, by: Actor, reason: string): Promise<number> {
    const remote = await this.remoteLive(userId, assetIds);
    for (const r of remote) await sendCommand(this.o.db, r.node, { kind: 'terminate', sessionId: r.id, by: by.name, reason });
    const mine = this.localOf(userId, assetIds);
    await Promise.all(mine.map((s) => endTerminated(s, by.name, reason).catch((err: unknown) => this.o.logger.error({ err, session: s.id }, 'could not end a session'))));
    return mine.length + remote.length;
  }

  /** Warns the active sessions of a user on these assets (the end of an access window), on every node. */
  async warnOn(userId: string, assetIds: string[], message: string, msLeft: number): Promise<void> {
    for (const r of await this.remoteLive(userId, assetIds)) await sendCommand(this.o.db, r.node, { kind: 'warn', sessionId: r.id, message, msLeft });
    for (const s of this.localOf(userId, assetIds)) s.warn(message, msLeft);
  }

  /** The active sessions of a user held here, on these assets or on all. */
  private localOf(userId: string, assetIds?: string[]): SessionCore[] {
    return [...this.live.values()].filter((s) => {
      const v = s.view();
      return v.userId === userId && (!assetIds || assetIds.includes(v.assetId)) && s.state === 'active';
    });
  }

  /**
   * At start: sessions this node left pending/active (a crash) become 'interrupted'; their
   * recordings are sealed as interrupted so what was written stays verifiable.
   */
  async recoverInterrupted(): Promise<number> {
    const { db } = this.o;
    const found = await db.selectFrom('remote_sessions').select(['id', 'recording_path', 'node']).where('state', 'in', ['pending', 'active']).where('node', 'like', `${hostname()}:%`).execute();
    // Not those of another gateway still running on this host (one database, several processes).
    const rows = found.filter((r) => !nodeRunsHere(r.node));
    for (const r of rows) {
      let sha: string | null = null;
      if (r.recording_path) {
        const path = resolve(this.o.dataDir, r.recording_path);
        try {
          const rec = await recoverRecording(path);
          if (!rec.sealed) sha = (await sealInterruptedRecording(path, this.signing())).manifest.sha256;
        } catch (err) {
          this.o.logger.warn({ err, session: r.id }, 'interrupted recording could not be sealed');
        }
      }
      await inTx(db, async (tx) => {
        await tx.updateTable('remote_sessions').set({ state: 'interrupted', end_reason: 'gateway_restart', end_message: 'the gateway stopped during the session', ended_at: nowIso(), waiting_for: null, ...(sha ? { recording_sha256: sha } : {}) }).where('id', '=', r.id).execute();
        await audit(tx, { id: null, name: 'system', ip: null }, { action: 'session.interrupted', target: { type: 'session', id: r.id, name: r.id.slice(0, 8) } });
      });
    }
    return rows.length;
  }

  /** Ends every live session (gateway shutdown). */
  async shutdown(): Promise<void> {
    this.inbox.stop();
    LOCAL_NODES.delete(this.node);
    this.gates.closeAll('the gateway is shutting down');
    await Promise.all([...this.live.values()].map((s) => s.end({ state: 'ended', reason: 'gateway_shutdown', message: 'the gateway is shutting down' })));
    // Sessions that were already ending: their recording is sealed and their row written first.
    await Promise.all([...this.unsettled].map((s) => s.done));
    await this.pool?.close();
    this.pool = undefined;
  }
}

function describeFailure(err: ConnectError, asset: string): string {
  switch (err.failure) {
    case 'auth_failed':
      return `${asset} refused the vaulted credential: an administrator must update the account in the vault`;
    case 'host_key_mismatch':
      return `${err.message}. Refused: the asset's ${/certificate/i.test(err.message) ? 'server certificate' : 'SSH host key'} changed. An administrator can accept the new one after checking it.`;
    case 'unreachable':
      return `${asset} is unreachable: ${err.message}`;
    case 'timeout':
      return `${asset} did not answer in time: ${err.message}`;
    default:
      return `${asset} broke the protocol: ${err.message}`;
  }
}
