import type {} from '@fastify/cookie';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../audit/log.js';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import { DomainError } from '../errors.js';
import { type ConsoleSession, resolveConsoleSession, sessionPolicy } from '../identity/sessions.js';
import { authenticateToken } from '../identity/tokens.js';
import type { Role } from '../identity/users.js';

/** Who may call a route: anyone, any signed-in user, or the listed roles. */
/**
 * Who may call a route: anyone, any signed-in user, the listed roles, or the listed roles plus
 * managers of a user-management group holding the target user (checked per request by the router).
 */
export type Access = 'public' | 'authenticated' | readonly Role[] | { roles: readonly Role[]; delegated: 'user-management' };

export const isDelegated = (a: Access): a is { roles: readonly Role[]; delegated: 'user-management' } => typeof a === 'object' && !Array.isArray(a);

export interface AuthState {
  session: ConsoleSession;
  actor: Actor;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AuthState;
  }
}

export const CSRF_HEADER = 'x-csrf-token';

export function cookieName(config: Config): string {
  // __Host- pins the cookie to this origin (Secure, Path=/, no Domain); only possible over TLS.
  return config.tls.enabled ? '__Host-portcullis' : 'portcullis';
}

export function cookieOptions(config: Config) {
  return { httpOnly: true, secure: config.tls.enabled, sameSite: 'strict' as const, path: '/' };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameToken(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

export function actorOf(req: FastifyRequest): Actor {
  return req.auth?.actor ?? { id: null, name: 'anonymous', ip: req.ip };
}

/** Resolves the console session from the cookie or an API token, if any (no enforcement). */
export async function loadSession(req: FastifyRequest, db: Db, config: Config): Promise<void> {
  const authz = req.headers.authorization;
  if (authz !== undefined) {
    const bearer = /^Bearer (\S+)$/.exec(authz)?.[1];
    const found = bearer ? await authenticateToken(db, bearer, req.ip) : undefined;
    if (!found) throw new DomainError('unauthorized', 'the API token is malformed, unknown, expired or revoked');
    const { token, user } = found;
    req.auth = {
      session: { id: `token:${token.id}`, csrfToken: '', stage: 'complete', mfaMethod: 'api-token', user, token: { id: token.id, name: token.name } },
      actor: { id: user.id, name: `${user.username} (token ${token.name})`, ip: req.ip },
    };
    return;
  }
  const token = req.cookies[cookieName(config)];
  if (!token) return;
  const session = await resolveConsoleSession(db, token, await sessionPolicy(db, config.session));
  if (session) req.auth = { session, actor: { id: session.user.id, name: session.user.username, ip: req.ip } };
}

/**
 * Enforces a route's access rule: a session (401), a finished forced password change (403),
 * the role (403) and, on state-changing requests, the CSRF token (403).
 */
export interface EnforceOptions {
  allowDuringPasswordChange?: boolean;
  /** Unfinished sign-in stages that may call the route (second-factor routes). */
  stages?: readonly ('mfa' | 'enroll')[];
}

export function enforce(req: FastifyRequest, access: Access, opts: EnforceOptions = {}): void {
  if (access === 'public') return;
  const auth = req.auth;
  if (!auth) throw new DomainError('unauthorized', 'sign in first: no valid console session (it may have expired)');
  if (!SAFE_METHODS.has(req.method) && !auth.session.token) {
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !sameToken(sent, auth.session.csrfToken)) {
      throw new DomainError('forbidden', `missing or wrong ${CSRF_HEADER} header: send the csrfToken of your session`);
    }
  }
  const stage = auth.session.stage;
  if (stage !== 'complete' && !opts.stages?.includes(stage)) {
    throw new DomainError('mfa_required', stage === 'mfa' ? 'complete sign-in with your second factor first' : 'your account needs a second factor: enroll one first (POST /api/v1/me/mfa/totp/enroll)');
  }
  if (auth.session.user.must_change_password === 1 && !opts.allowDuringPasswordChange) {
    throw new DomainError('password_change_required', 'change your password first (POST /api/v1/auth/change-password)');
  }
  if (access === 'authenticated') return;
  // Delegated routes: non-listed roles go on to the router's per-target check.
  if (isDelegated(access)) return;
  const roles = access as readonly Role[];
  if (!roles.includes(auth.session.user.role)) {
    throw new DomainError('forbidden', `this needs the role ${roles.join(' or ')}; you are ${auth.session.user.role}`);
  }
}

export type { FastifyReply };
