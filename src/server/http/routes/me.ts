import { z } from 'zod';
import { DomainError } from '../../errors.js';
import { completeSignIn, codeSchema, secondFactorRequired } from '../../identity/auth.js';
import { confirmTotpEnrollment, hasSecondFactor, mfaStatus, regenerateRecoveryCodes, removeTotp, startTotpEnrollment } from '../../identity/mfa/service.js';
import { listConsoleSessions, revokeOwnSession } from '../../identity/sessions.js';
import { getSecuritySettings } from '../../identity/settings.js';
import { getUser } from '../../identity/users.js';
import type { RouteDeps, Router } from '../route.js';
import { stepUp } from './auth.js';

const sessionParams = z.strictObject({ id: z.string().regex(/^[0-9a-f]{64}$/, 'must be a session id') });

export function meRoutes(r: Router, deps: RouteDeps) {
  const { db } = deps;

  r.route({ method: 'GET', url: '/api/v1/me', tag: 'me', summary: 'My profile and second factors', access: 'authenticated', allowDuringPasswordChange: true, stages: ['enroll'],
    handler: async ({ req }) => {
      const u = req.auth!.session.user;
      const settings = await getSecuritySettings(db);
      return { user: await getUser(db, u.id), mfa: await mfaStatus(db, u.id), secondFactorRequired: secondFactorRequired(u, settings) };
    } });

  r.route({ method: 'POST', url: '/api/v1/me/mfa/totp/enroll', tag: 'me', summary: 'Start TOTP enrollment: secret, otpauth URI and QR code', access: 'authenticated', allowDuringPasswordChange: true, stages: ['enroll'],
    handler: async ({ req, ctx }) => {
      if (req.auth!.session.token) throw new DomainError('forbidden', 'API tokens cannot enroll second factors');
      const u = req.auth!.session.user;
      return startTotpEnrollment(ctx, { id: u.id, username: u.username });
    } });

  r.route({ method: 'POST', url: '/api/v1/me/mfa/totp/confirm', tag: 'me', summary: 'Confirm TOTP enrollment with a code; returns recovery codes once', access: 'authenticated', allowDuringPasswordChange: true, stages: ['enroll'], body: codeSchema,
    handler: async ({ req, ctx, body }, reply) => {
      const session = req.auth!.session;
      if (session.token) throw new DomainError('forbidden', 'API tokens cannot enroll second factors');
      const u = session.user;
      const res = await confirmTotpEnrollment(ctx, { id: u.id, username: u.username }, body.code);
      if (session.stage === 'enroll') {
        // Enrolling was the second step of this sign-in: step the session up (new id).
        const user = await completeSignIn(db, u, ctx.actor, 'totp-enrollment');
        const { csrfToken } = await stepUp(deps, req, reply, session.id, user, 'totp');
        return { ...res, csrfToken, stage: 'complete' };
      }
      return res;
    } });

  r.route({ method: 'DELETE', url: '/api/v1/me/mfa/totp', tag: 'me', summary: 'Remove my authenticator app', access: 'authenticated',
    handler: async ({ req, ctx }) => {
      const u = req.auth!.session.user;
      const status = await mfaStatus(db, u.id);
      if (!status.totp) throw new DomainError('not_found', 'no authenticator app is enrolled');
      if (secondFactorRequired(u, await getSecuritySettings(db)) && status.webauthnKeys === 0) {
        throw new DomainError('conflict', 'your account requires a second factor: enroll a security key or a new app first');
      }
      await removeTotp(ctx, { id: u.id, username: u.username });
    } });

  r.route({ method: 'POST', url: '/api/v1/me/mfa/recovery-codes', tag: 'me', summary: 'Replace my recovery codes (shown once)', access: 'authenticated',
    handler: async ({ req, ctx }) => {
      const u = req.auth!.session.user;
      if (!hasSecondFactor(await mfaStatus(db, u.id))) throw new DomainError('conflict', 'enroll a second factor before creating recovery codes');
      return { recoveryCodes: await regenerateRecoveryCodes(ctx, { id: u.id, username: u.username }) };
    } });

  r.route({ method: 'GET', url: '/api/v1/me/sessions', tag: 'me', summary: 'My console sessions', access: 'authenticated', allowDuringPasswordChange: true,
    handler: async ({ req }) => ({ items: await listConsoleSessions(db, req.auth!.session.user.id, req.auth!.session.id) }) });

  r.route({ method: 'DELETE', url: '/api/v1/me/sessions/:id', tag: 'me', summary: 'Sign out one of my sessions', access: 'authenticated', allowDuringPasswordChange: true, params: sessionParams,
    handler: ({ req, ctx, params }) => revokeOwnSession(db, ctx.actor, req.auth!.session.user.id, params.id) });
}
