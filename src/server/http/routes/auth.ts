import type { FastifyReply, FastifyRequest } from 'fastify';
import { audit } from '../../audit/log.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { changeOwnPassword, changePasswordSchema, login, loginSchema } from '../../identity/auth.js';
import { forgetInitialPassword } from '../../identity/bootstrap.js';
import { createConsoleSession, deleteConsoleSession } from '../../identity/sessions.js';
import type { UsersTable } from '../../db/schema.js';
import { cookieName, cookieOptions } from '../auth.js';
import type { Router } from '../route.js';

const me = (u: UsersTable) => ({ id: u.id, username: u.username, displayName: u.display_name, role: u.role });

export function authRoutes(r: Router, deps: { db: Db; config: Config }) {
  const { db, config } = deps;

  async function startSession(req: FastifyRequest, reply: FastifyReply, user: UsersTable) {
    const { token, csrfToken } = await createConsoleSession(db, user.id, config.session, { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') });
    reply.setCookie(cookieName(config), token, { ...cookieOptions(config), maxAge: config.session.absoluteLifetimeHours * 3600 });
    return { user: me(user), csrfToken, mustChangePassword: user.must_change_password === 1 };
  }

  r.route({ method: 'POST', url: '/api/v1/auth/login', tag: 'auth', summary: 'Sign in with username and password', access: 'public', body: loginSchema,
    handler: async ({ body, req }, reply) => startSession(req, reply, await login(db, body, req.ip)) });

  r.route({ method: 'GET', url: '/api/v1/auth/session', tag: 'auth', summary: 'The current console session', access: 'public',
    handler: async ({ req }) => {
      if (!req.auth) throw new DomainError('unauthorized', 'not signed in');
      const u = req.auth.session.user;
      return { user: me(u), csrfToken: req.auth.session.csrfToken, mustChangePassword: u.must_change_password === 1 };
    } });

  r.route({ method: 'POST', url: '/api/v1/auth/logout', tag: 'auth', summary: 'Sign out', access: 'authenticated', allowDuringPasswordChange: true,
    handler: async ({ req, ctx }, reply) => {
      await deleteConsoleSession(db, req.auth!.session.id);
      await audit(db, ctx.actor, { action: 'auth.logout', target: { type: 'user', id: ctx.actor.id, name: ctx.actor.name } });
      reply.clearCookie(cookieName(config), cookieOptions(config));
    } });

  r.route({ method: 'POST', url: '/api/v1/auth/change-password', tag: 'auth', summary: 'Change my password (required after a one-time password)', access: 'authenticated', allowDuringPasswordChange: true, body: changePasswordSchema,
    handler: async ({ req, ctx, body }, reply) => {
      const user = req.auth!.session.user;
      await changeOwnPassword(db, user, body, ctx.actor);
      if (user.role === 'Administrator') forgetInitialPassword(config.dataDir);
      // A new session id after a credential change; every other session of the user ends.
      await db.deleteFrom('console_sessions').where('user_id', '=', user.id).execute();
      return startSession(req, reply, { ...user, must_change_password: 0 });
    } });
}
