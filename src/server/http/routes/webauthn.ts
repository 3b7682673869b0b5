import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { DomainError } from '../../errors.js';
import { completeSignIn } from '../../identity/auth.js';
import {
  authenticateSchema,
  authenticationOptions,
  credentialIdPattern,
  listKeys,
  RP_NAME,
  type RelyingParty,
  registerSchema,
  registrationOptions,
  relyingPartyFromUrl,
  removeKey,
  renameKey,
  renameSchema,
  verifyAuthentication,
  verifyRegistration,
} from '../../identity/mfa/webauthn.js';
import type { RouteDeps, Router } from '../route.js';
import { sessionView, stepUp } from './auth.js';

const keyParams = z.strictObject({ id: z.string().regex(credentialIdPattern, 'must be a credential id (base64url)') });

/** RP ID and origin: the configured public URL, else the host this request came to. */
function relyingParty(config: Config, req: FastifyRequest): RelyingParty {
  if (config.publicUrl) return relyingPartyFromUrl(config.publicUrl);
  const proto = config.tls.enabled ? 'https' : req.protocol;
  return { id: req.hostname, name: RP_NAME, origin: `${proto}://${req.host}` };
}

function cookieSession(req: FastifyRequest) {
  const session = req.auth!.session;
  if (session.token) throw new DomainError('forbidden', 'API tokens cannot use security keys');
  return session;
}

/** The same answer as POST /api/v1/auth/mfa/totp for a finished sign-in. */

export function webauthnRoutes(r: Router, deps: RouteDeps) {
  const { db, config } = deps;

  r.route({ method: 'POST', url: '/api/v1/me/mfa/webauthn/register/options', tag: 'me', summary: 'Start registering a security key or passkey: options for navigator.credentials.create()', access: 'authenticated', allowDuringPasswordChange: true, stages: ['enroll'],
    handler: async ({ req }) => {
      const session = cookieSession(req);
      return registrationOptions(db, session.user, relyingParty(config, req), session.id);
    } });

  r.route({ method: 'POST', url: '/api/v1/me/mfa/webauthn/register/verify', tag: 'me', summary: 'Finish registering a security key; the first second factor returns recovery codes once', access: 'authenticated', allowDuringPasswordChange: true, stages: ['enroll'], body: registerSchema,
    handler: async ({ req, ctx, body }, reply) => {
      const session = cookieSession(req);
      const u = session.user;
      const res = await verifyRegistration(ctx, u, relyingParty(config, req), session.id, body);
      if (session.stage === 'enroll') {
        // Enrolling was the second step of this sign-in: step the session up (new id).
        const user = await completeSignIn(db, u, ctx.actor, 'webauthn-enrollment');
        const { csrfToken } = await stepUp(deps, req, reply, session.id, user, 'webauthn');
        return { ...res, csrfToken, stage: 'complete' };
      }
      return res;
    } });

  r.route({ method: 'GET', url: '/api/v1/me/mfa/webauthn/keys', tag: 'me', summary: 'My security keys and passkeys', access: 'authenticated',
    handler: async ({ req }) => ({ items: await listKeys(db, req.auth!.session.user.id) }) });

  r.route({ method: 'PATCH', url: '/api/v1/me/mfa/webauthn/keys/:id', tag: 'me', summary: 'Rename one of my security keys', access: 'authenticated', params: keyParams, body: renameSchema,
    handler: async ({ req, ctx, params, body }) => renameKey(ctx, req.auth!.session.user, params.id, body.name) });

  r.route({ method: 'DELETE', url: '/api/v1/me/mfa/webauthn/keys/:id', tag: 'me', summary: 'Remove one of my security keys (not the last second factor when one is required)', access: 'authenticated', params: keyParams,
    handler: async ({ req, ctx, params }) => {
      await removeKey(ctx, req.auth!.session.user, params.id);
    } });

  r.route({ method: 'POST', url: '/api/v1/auth/mfa/webauthn/options', tag: 'auth', summary: 'Sign in, step 2: options for navigator.credentials.get()', access: 'authenticated', stages: ['mfa'], allowDuringPasswordChange: true,
    handler: async ({ req }) => {
      const session = cookieSession(req);
      if (session.stage !== 'mfa') throw new DomainError('conflict', 'this session has no pending second factor');
      return authenticationOptions(db, session.user.id, relyingParty(config, req), session.id);
    } });

  r.route({ method: 'POST', url: '/api/v1/auth/mfa/webauthn/verify', tag: 'auth', summary: 'Sign in, step 2: a security key assertion', access: 'authenticated', stages: ['mfa'], allowDuringPasswordChange: true, body: authenticateSchema,
    handler: async ({ req, ctx, body }, reply) => {
      const session = cookieSession(req);
      if (session.stage !== 'mfa') throw new DomainError('conflict', 'this session has no pending second factor');
      const user = await verifyAuthentication(ctx, session.user.id, relyingParty(config, req), session.id, body.response);
      const { csrfToken } = await stepUp(deps, req, reply, session.id, user, 'webauthn');
      return sessionView(deps, user, csrfToken, 'complete');
    } });
}
