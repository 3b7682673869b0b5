import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import websocket from '@fastify/websocket';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import { DomainError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { TlsMaterial } from '../tls.js';
import type { SecretBox } from '../crypto/secretbox.js';
import type { Broker } from '../broker/broker.js';
import type { VideoExporter } from '../recording/video/export.js';
import { cookieName, enforce, loadSession } from './auth.js';
import { errorHandler, problemFromDomain, sendProblem } from './problem.js';
import { createRouter, type RouteRule } from './route.js';
import { accessRoutes } from './routes/access.js';
import { auditRoutes } from './routes/audit.js';
import { authRoutes } from './routes/auth.js';
import { identityRoutes } from './routes/identity.js';
import { inventoryRoutes } from './routes/inventory.js';
import { ldapLogin } from '../identity/ldap/authenticate.js';
import { ldapRoutes } from './routes/ldap.js';
import { meRoutes } from './routes/me.js';
import { policyRoutes } from './routes/policy.js';
import { requestRoutes } from './routes/requests.js';
import { sshKeyRoutes } from './routes/ssh-keys.js';
import { sessionRoutes } from './routes/sessions.js';
import { settingsRoutes } from './routes/settings.js';
import { notifyRoutes } from './routes/notify.js';
import type { Notifier } from '../notify/notifier.js';
import { systemRoutes } from './routes/system.js';
import { tokenRoutes } from './routes/tokens.js';
import { vaultRoutes } from './routes/vault.js';
import { webauthnRoutes } from './routes/webauthn.js';

export interface AppDeps {
  config: Config;
  database: Database;
  logger: Logger;
  metrics: Metrics;
  tls?: TlsMaterial | undefined;
  secrets: SecretBox;
  broker: Broker;
  /** MP4 export of display recordings (background jobs, stopped with the gateway). */
  exporter: VideoExporter;
  /** Notifications: email outbox and webhooks (notify/); pass it to routes that notify. */
  notify: Notifier;
  version: string;
  /** SHA256 fingerprint of the SSH front door's host key (undefined: front door off). */
  sshHostKeyFingerprint?: string | undefined;
}

export interface App {
  app: FastifyInstance;
  /** The permission table: every API route and who may call it. */
  rules: RouteRule[];
}

const CSP = {
  defaultSrc: ["'self'"],
  // Scripts only from the gateway itself; no eval or string-to-code. 'wasm-unsafe-eval' lets the
  // recording player (asciinema-player) compile its bundled WebAssembly terminal: it allows
  // WebAssembly compilation only, never JavaScript eval, and no script from elsewhere.
  scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  fontSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, database, metrics } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key, minVersion: 'TLSv1.2' as const } } : {}),
    routerOptions: { ignoreTrailingSlash: true },
  }) as unknown as FastifyInstance;

  // Validation is done by zod in the route helper; the JSON schemas only document the API.
  app.setValidatorCompiler(() => () => true);
  app.setErrorHandler(errorHandler);
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 5 * 1024 * 1024 }, (_req, body, done) => done(null, body));

  await app.register(cookie);
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP },
    hsts: config.tls.enabled ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
  });
  await app.register(rateLimit, { global: false });
  await app.register(websocket, { options: { maxPayload: 1 << 20 } });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Portcullis API', version: deps.version, description: 'Secure remote access gateway for OT networks. Errors are RFC 9457 problem+json. State-changing requests need the X-CSRF-Token header of the console session.' },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: cookieName(config) } } },
      security: [{ session: [] }],
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/api/docs',
    staticCSP: true,
    uiHooks: {
      onRequest: async (req) => {
        await loadSession(req, database.db, config);
        enforce(req, 'authenticated');
      },
    },
  });

  const rules: RouteRule[] = [];
  const routeDeps = { db: database.db, config, secrets: deps.secrets };
  const router = createRouter(app, routeDeps, rules);
  // Login attempts are throttled per source address on top of the account lockout.
  await app.register(async (scoped) => {
    await scoped.register(rateLimit, { max: config.loginRateLimit, timeWindow: '1 minute', keyGenerator: (req) => req.ip });
    authRoutes(createRouter(scoped, routeDeps, rules), routeDeps, ldapLogin);
  });
  inventoryRoutes(router);
  identityRoutes(router);
  ldapRoutes(router);
  accessRoutes(router);
  policyRoutes(router);
  auditRoutes(router, routeDeps);
  meRoutes(router, routeDeps);
  sshKeyRoutes(router);
  webauthnRoutes(router, routeDeps);
  settingsRoutes(router);
  notifyRoutes(router, routeDeps);
  tokenRoutes(router);
  vaultRoutes(router);
  sessionRoutes(router, app, routeDeps, rules, deps.broker, deps.exporter);
  requestRoutes(router, app, deps);
  systemRoutes(router, app, deps);

  // The console (React SPA): static files, and index.html for every other non-API path.
  const webRoot = config.webRoot;
  const haveWeb = existsSync(resolve(webRoot, 'index.html'));
  if (haveWeb) await app.register(fastifyStatic, { root: webRoot, prefix: '/', wildcard: false, index: ['index.html'] });
  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (path.startsWith('/api/') || path === '/api' || req.method !== 'GET') {
      return sendProblem(reply, problemFromDomain(new DomainError('not_found', `no such endpoint: ${req.method} ${path}`), path));
    }
    if (!haveWeb) return reply.code(503).type('text/plain').send('The console is not built: run `npm run build`.');
    return reply.type('text/html').sendFile('index.html');
  });
  return { app, rules };
}
