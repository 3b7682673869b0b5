import type { FastifyReply, FastifyRequest } from 'fastify';
import type { UsersTable } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import { changeOwnPassword, changePasswordSchema, codeSchema, type DirectoryLogin, login, loginSchema, secondFactor } from '../../identity/auth.js';
import { forgetInitialPassword } from '../../identity/bootstrap.js';
import { mfaStatus } from '../../identity/mfa/service.js';
import { createConsoleSession, deleteConsoleSession, type SessionStage, sessionPolicy, signOut } from '../../identity/sessions.js';
import { getLoginMessage } from '../../identity/settings.js';
import { cookieName, cookieOptions } from '../auth.js';
import type { RouteDeps, Router } from '../route.js';

export const me = (u: UsersTable) => ({ id: u.id, username: u.username, displayName: u.display_name, role: u.role, type: u.type });

/** Starts a console session at the given stage and sets its cookie (a new id at every step up). */
export async function startSession(deps: RouteDeps, req: FastifyRequest, reply: FastifyReply, user: UsersTable, stage: SessionStage, mfaMethod: string | null = null) {
  const { config, db } = deps;
  const policy = await sessionPolicy(db, config.session);
  const { token, csrfToken } = await createConsoleSession(db, user.id, policy, { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') }, stage, mfaMethod);
  reply.setCookie(cookieName(config), token, { ...cookieOptions(config), maxAge: policy.absoluteLifetimeHours * 3600 });
  return { token, csrfToken };
}

/** Replaces a session by a new, complete one (new id and CSRF token) after a second factor. */
export async function stepUp(deps: RouteDeps, req: FastifyRequest, reply: FastifyReply, oldSessionId: string, user: UsersTable, method: string) {
  await deleteConsoleSession(deps.db, oldSessionId);
  return startSession(deps, req, reply, user, 'complete', method);
}

/** The sign-in state the console needs: who, CSRF token, stage, second-factor methods. */
export async function sessionView(deps: RouteDeps, user: UsersTable, csrfToken: string, stage: SessionStage) {
  const mfa = await mfaStatus(deps.db, user.id);
  const methods: string[] = [];
  if (mfa.totp) methods.push('totp');
  if (mfa.webauthnKeys > 0) methods.push('webauthn');
  if (mfa.recoveryCodesLeft > 0 && (mfa.totp || mfa.webauthnKeys > 0)) methods.push('recovery');
  return { user: me(user), csrfToken, stage, mfaMethods: stage === 'mfa' ? methods : [], mustChangePassword: user.must_change_password === 1 };
}

export function authRoutes(r: Router, deps: RouteDeps, directory?: DirectoryLogin) {
  const { db, config } = deps;

  r.route({ method: 'GET', url: '/api/v1/auth/login-message', tag: 'auth', summary: 'The system-use notification shown before sign-in (SR 1.12)', access: 'public',
    handler: async () => getLoginMessage(db) });

  r.route({ method: 'POST', url: '/api/v1/auth/login', tag: 'auth', summary: 'Sign in, step 1: username and password', access: 'public', body: loginSchema,
    handler: async ({ body, req, ctx }, reply) => {
      const out = await login(ctx, body, req.ip, directory);
      const { csrfToken } = await startSession(deps, req, reply, out.user, out.stage, out.stage === 'complete' ? 'none' : null);
      return sessionView(deps, out.user, csrfToken, out.stage);
    } });

  for (const method of ['totp', 'recovery'] as const) {
    r.route({ method: 'POST', url: `/api/v1/auth/mfa/${method}`, tag: 'auth', summary: method === 'totp' ? 'Sign in, step 2: a TOTP code' : 'Sign in, step 2: a single-use recovery code', access: 'authenticated', stages: ['mfa'], allowDuringPasswordChange: true, body: codeSchema,
      handler: async ({ body, req }, reply) => {
        const session = req.auth!.session;
        if (session.stage !== 'mfa') throw new DomainError('conflict', 'this session has no pending second factor');
        const user = await secondFactor({ db, actor: req.auth!.actor, secrets: deps.secrets }, session.user.id, method, body.code, req.ip);
        const { csrfToken } = await stepUp(deps, req, reply, session.id, user, method);
        return sessionView(deps, user, csrfToken, 'complete');
      } });
  }

  r.route({ method: 'GET', url: '/api/v1/auth/session', tag: 'auth', summary: 'The current console session', access: 'public',
    handler: async ({ req }) => {
      if (!req.auth || req.auth.session.token) throw new DomainError('unauthorized', 'not signed in');
      return sessionView(deps, req.auth.session.user, req.auth.session.csrfToken, req.auth.session.stage);
    } });

  r.route({ method: 'POST', url: '/api/v1/auth/logout', tag: 'auth', summary: 'Sign out', access: 'authenticated', allowDuringPasswordChange: true, stages: ['mfa', 'enroll'],
    handler: async ({ req, ctx }, reply) => {
      await signOut(db, ctx.actor, req.auth!.session.id);
      reply.clearCookie(cookieName(config), cookieOptions(config));
    } });

  r.route({ method: 'POST', url: '/api/v1/auth/change-password', tag: 'auth', summary: 'Change my password (required after a one-time password)', access: 'authenticated', allowDuringPasswordChange: true, body: changePasswordSchema,
    handler: async ({ req, ctx, body }, reply) => {
      const session = req.auth!.session;
      if (session.token) throw new DomainError('forbidden', 'API tokens cannot change passwords');
      const user = session.user;
      await changeOwnPassword(db, user, body, ctx.actor);
      if (user.role === 'Administrator') forgetInitialPassword(config.dataDir);
      // A new session id after a credential change; every other session of the user ends.
      await db.deleteFrom('console_sessions').where('user_id', '=', user.id).execute();
      const next = { ...user, must_change_password: 0 as const };
      // The new session keeps how this sign-in was confirmed.
      const { csrfToken } = await startSession(deps, req, reply, next, 'complete', session.mfaMethod);
      return sessionView(deps, next, csrfToken, 'complete');
    } });
}
