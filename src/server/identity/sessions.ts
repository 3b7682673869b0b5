import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/index.js';
import type { UsersTable } from '../db/schema.js';
import { type Actor, audit } from '../audit/log.js';
import { DomainError } from '../errors.js';
import { nowIso } from '../util.js';
import { cachedSecuritySettings } from './settings.js';

export interface SessionPolicy {
  idleTimeoutMinutes: number;
  absoluteLifetimeHours: number;
}

/** The session timeouts in force: the security settings, else the configured defaults. */
export async function sessionPolicy(db: Db, defaults: SessionPolicy): Promise<SessionPolicy> {
  const s = await cachedSecuritySettings(db);
  return {
    idleTimeoutMinutes: s.sessionIdleMinutes ?? defaults.idleTimeoutMinutes,
    absoluteLifetimeHours: s.sessionLifetimeHours ?? defaults.absoluteLifetimeHours,
  };
}

export type SessionStage = 'mfa' | 'enroll' | 'complete';

export interface ConsoleSession {
  id: string;
  csrfToken: string;
  stage: SessionStage;
  /** How the sign-in was confirmed ('none', 'totp', 'webauthn', 'recovery', ...). */
  mfaMethod: string | null;
  user: UsersTable;
  /** Set when the request came with an API token instead of a cookie. */
  token?: { id: string; name: string };
}

export const PENDING_SIGN_IN_MS = 10 * 60_000;

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/** Creates a server-side session. Returns the cookie token: only its hash is stored. */
export async function createConsoleSession(db: Db, userId: string, policy: SessionPolicy, meta: { ip: string | null; userAgent: string }, stage: SessionStage = 'complete', mfaMethod: string | null = null): Promise<{ token: string; csrfToken: string }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const now = new Date();
  await db
    .insertInto('console_sessions')
    .values({
      id: tokenHash(token),
      user_id: userId,
      csrf_token: csrfToken,
      created_at: now.toISOString(),
      last_seen_at: now.toISOString(),
      // A half-finished sign-in (second factor pending) lives 10 minutes at most.
      expires_at: new Date(now.getTime() + (stage === 'complete' ? policy.absoluteLifetimeHours * 3_600_000 : Math.min(PENDING_SIGN_IN_MS, policy.absoluteLifetimeHours * 3_600_000))).toISOString(),
      source_ip: meta.ip,
      user_agent: meta.userAgent.slice(0, 512),
      stage,
      mfa_method: mfaMethod,
      challenge: null,
    })
    .execute();
  return { token, csrfToken };
}

/** Looks a cookie token up; expired, idle or orphaned sessions are deleted and yield undefined. */
export async function resolveConsoleSession(db: Db, token: string, policy: SessionPolicy): Promise<ConsoleSession | undefined> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
  const id = tokenHash(token);
  const row = await db.selectFrom('console_sessions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const now = Date.now();
  const idleDeadline = Date.parse(row.last_seen_at) + policy.idleTimeoutMinutes * 60_000;
  if (Date.parse(row.expires_at) <= now || idleDeadline <= now) {
    await db.deleteFrom('console_sessions').where('id', '=', id).execute();
    return undefined;
  }
  const user = await db.selectFrom('users').selectAll().where('id', '=', row.user_id).executeTakeFirst();
  if (!user || user.status !== 'active') {
    await db.deleteFrom('console_sessions').where('id', '=', id).execute();
    return undefined;
  }
  // Touch at most every 15 s to spare the database a write per request.
  if (now - Date.parse(row.last_seen_at) > 15_000) {
    await db.updateTable('console_sessions').set({ last_seen_at: nowIso() }).where('id', '=', id).execute();
  }
  return { id, csrfToken: row.csrf_token, stage: row.stage, mfaMethod: row.mfa_method, user };
}

export async function deleteConsoleSession(db: Db, sessionId: string): Promise<void> {
  await db.deleteFrom('console_sessions').where('id', '=', sessionId).execute();
}

export async function purgeExpiredSessions(db: Db, policy: SessionPolicy): Promise<void> {
  const idleCutoff = new Date(Date.now() - policy.idleTimeoutMinutes * 60_000).toISOString();
  await db
    .deleteFrom('console_sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', nowIso()), eb('last_seen_at', '<=', idleCutoff)]))
    .execute();
}

export interface SessionInfo {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  sourceIp: string | null;
  userAgent: string;
  stage: SessionStage;
  secondFactor: string | null;
  current: boolean;
}

export async function listConsoleSessions(db: Db, userId: string, currentId?: string): Promise<SessionInfo[]> {
  const rows = await db.selectFrom('console_sessions').selectAll().where('user_id', '=', userId).orderBy('last_seen_at', 'desc').execute();
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    expiresAt: r.expires_at,
    sourceIp: r.source_ip,
    userAgent: r.user_agent,
    stage: r.stage,
    secondFactor: r.mfa_method,
    current: r.id === currentId,
  }));
}

export async function setSessionChallenge(db: Db, sessionId: string, challenge: string | null): Promise<void> {
  await db.updateTable('console_sessions').set({ challenge }).where('id', '=', sessionId).execute();
}

export async function sessionChallenge(db: Db, sessionId: string): Promise<string | null> {
  const r = await db.selectFrom('console_sessions').select('challenge').where('id', '=', sessionId).executeTakeFirst();
  return r?.challenge ?? null;
}

/** A user signs out one of their own sessions (audited). */
export async function revokeOwnSession(db: Db, actor: Actor, userId: string, sessionId: string): Promise<void> {
  const r = await db.deleteFrom('console_sessions').where('id', '=', sessionId).where('user_id', '=', userId).executeTakeFirst();
  if (Number(r.numDeletedRows ?? 0) === 0) throw new DomainError('not_found', 'no such session of yours');
  await audit(db, actor, { action: 'session.revoke', target: { type: 'user', id: userId, name: actor.name }, details: { session: sessionId.slice(0, 12) } });
}

/** An administrator (or a delegated manager) ends every console session of a user (audited). */
export async function revokeAllSessions(db: Db, actor: Actor, user: { id: string; username: string }): Promise<number> {
  const r = await db.deleteFrom('console_sessions').where('user_id', '=', user.id).executeTakeFirst();
  const n = Number(r.numDeletedRows ?? 0);
  await audit(db, actor, { action: 'session.revoke_all', target: { type: 'user', id: user.id, name: user.username }, details: { sessions: n } });
  return n;
}

/** Signs a session out (audited). */
export async function signOut(db: Db, actor: Actor, sessionId: string): Promise<void> {
  await deleteConsoleSession(db, sessionId);
  await audit(db, actor, { action: 'auth.logout', target: { type: 'user', id: actor.id, name: actor.name } });
}
