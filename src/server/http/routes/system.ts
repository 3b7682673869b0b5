import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { enforce, loadSession } from '../auth.js';
import type { Router } from '../route.js';
import type { AppDeps } from '../server.js';

export function systemRoutes(r: Router, app: FastifyInstance, deps: AppDeps) {
  const { database, config, metrics } = deps;

  // Liveness + database reachability, for load balancers. No secrets, no session needed.
  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      await sql`select 1`.execute(database.db);
      return { status: 'ok', database: database.dialect, version: deps.version };
    } catch {
      return reply.code(503).send({ status: 'unavailable', database: database.dialect, version: deps.version });
    }
  });

  // Prometheus: an administrator's session, or the configured bearer token for scrapers.
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    const bearer = req.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
    if (!(config.metricsToken && bearer === config.metricsToken)) {
      await loadSession(req, database.db, config);
      enforce(req, ['Administrator']);
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  r.route({ method: 'GET', url: '/api/v1/system/info', tag: 'system', summary: 'Gateway version, storage and TLS facts', access: ['Administrator'],
    handler: async () => ({
      version: deps.version,
      database: { dialect: database.dialect, location: database.describe },
      dataDir: config.dataDir,
      tls: deps.tls ? { selfSigned: deps.tls.selfSigned, fingerprint256: deps.tls.fingerprint256 } : null,
      sshHostKeyFingerprint: deps.sshHostKeyFingerprint ?? null,
      node: process.version,
    }) });
}
