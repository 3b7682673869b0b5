import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { CHECKPOINT_INTERVAL_MS, writeCheckpoint } from './audit/checkpoints.js';
import { Broker } from './broker/broker.js';
import { NodeRegistration } from './broker/nodes.js';
import { loadSigningKey } from './recording/keys.js';
import { VideoExporter } from './recording/video/export.js';
import type { Clock } from './broker/clock.js';
import type { SessionLimits } from './broker/core.js';
import type { Config } from './config.js';
import { identityEvents, type UserDeactivated } from './identity/events.js';
import { loadMasterKey, type SecretBox } from './crypto/secretbox.js';
import { type Database, openDatabase } from './db/index.js';
import { migrateToLatest } from './db/migrate.js';
import { Notifier } from './notify/notifier.js';
import { setApprovedRequestSource } from './policy/approvals.js';
import { RequestWorkflow } from './requests/workflow.js';
import { type App, buildApp } from './http/server.js';
import { type BootstrapResult, bootstrapFirstAdmin } from './identity/bootstrap.js';
import { purgeExpiredSessions, sessionPolicy } from './identity/sessions.js';
import { getSecuritySettings } from './identity/settings.js';
import { disableInactiveAccounts, expireAccounts } from './identity/users.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { ensureTls, type TlsMaterial } from './tls.js';
import { loadOrCreateHostKey, startFrontDoor } from './sshd/index.js';
import { packageVersion } from './version.js';

export interface Gateway {
  url: string;
  broker: Broker;
  /** Notifications (notify/): notify.email(template, to, data), notify.emit(event, payload). */
  notify: Notifier;
  /** Access requests: the sweeper (expiry, T-5 warnings) runs here; routes share its tables. */
  requests: RequestWorkflow;
  app: FastifyInstance;
  rules: App['rules'];
  database: Database;
  bootstrap: BootstrapResult;
  tls: TlsMaterial | undefined;
  secrets: SecretBox;
  logger: Logger;
  /** SSH front door: its port (undefined when off or not bound) and host key fingerprint. */
  sshPort: number | undefined;
  sshFingerprint: string | undefined;
  close(): Promise<void>;
}

/** Opens storage, migrates, bootstraps the first admin, and serves the API and console. */
export async function startGateway(config: Config, opts: { logger?: Logger; clock?: Clock; limits?: Partial<SessionLimits> } = {}): Promise<Gateway> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const database = openDatabase(config);
  try {
    const migration = await migrateToLatest(database.db);
    if (migration.applied.length) logger.info({ applied: migration.applied }, 'database migrated');
    const bootstrap = await bootstrapFirstAdmin(database.db, { dataDir: config.dataDir, username: config.adminUsername, password: config.adminPassword });
    if (bootstrap.created) logger.info({ username: bootstrap.username }, 'first administrator created');
    const tls = config.tls.enabled ? await ensureTls(config) : undefined;
    const version = packageVersion();
    const secrets = loadMasterKey(config.dataDir);
    const notify = new Notifier({ db: database.db, secrets, logger, consoleUrl: config.publicUrl, version, ...(opts.clock ? { clock: opts.clock } : {}) });
    const broker = new Broker({ db: database.db, secrets, dataDir: config.dataDir, logger, notify, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.limits ? { limits: opts.limits } : {}) });
    const onDeactivated = (e: UserDeactivated) => {
      broker.terminateUser(e.userId, { id: null, name: e.by, ip: null }, `account ${e.username} ${e.why}`).catch((err) => logger.error({ err }, 'could not end the sessions of a deactivated user'));
    };
    identityEvents.on('user-deactivated', onDeactivated);
    const interrupted = await broker.recoverInterrupted();
    if (interrupted) logger.warn({ sessions: interrupted }, 'sessions interrupted by the last stop were closed');
    const sshHostKey = config.sshEnabled ? loadOrCreateHostKey(config.dataDir) : undefined;
    const exporter = new VideoExporter({ dataDir: config.dataDir, logger });
    const { app, rules } = await buildApp({ config, database, logger, metrics: createMetrics(), tls, version, secrets, broker, exporter, notify, sshHostKeyFingerprint: sshHostKey?.fingerprint });
    await app.listen({ host: config.host, port: config.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
    logger.info({ url, database: database.describe, version }, 'gateway listening');
    // Other nodes of a shared database proxy watchers here (broker/nodes.ts).
    const wildcard = config.host === '0.0.0.0' || config.host === '::';
    const nodeUrl = config.nodeUrl ?? (wildcard ? `${tls ? 'https' : 'http'}://${hostname()}:${port}` : url);
    const registration = new NodeRegistration({ db: database.db, node: broker.node, url: nodeUrl, certPem: tls?.cert ?? null, logger });
    await registration.start();
    const sshd = sshHostKey ? await startFrontDoor({ config, db: database.db, secrets, broker, logger, hostKey: sshHostKey, consoleUrl: config.publicUrl ?? url }) : undefined;

    const housekeeping = setInterval(() => {
      expireAccounts(database.db).catch((err) => logger.error({ err }, 'account expiry sweep failed'));
      sessionPolicy(database.db, config.session)
        .then((p) => purgeExpiredSessions(database.db, p))
        .catch((err) => logger.error({ err }, 'session purge failed'));
      getSecuritySettings(database.db)
        .then((s) => disableInactiveAccounts(database.db, s.disableInactiveDays))
        .catch((err) => logger.error({ err }, 'inactive account sweep failed'));
    }, 60_000);
    housekeeping.unref();
    // Signed audit checkpoints (audit/checkpoints.ts): at start, every 10 minutes, at shutdown.
    const signer = loadSigningKey(config.dataDir);
    const checkpoint = () => writeCheckpoint(database.db, config.dataDir, signer).catch((err) => logger.error({ err }, 'audit checkpoint failed'));
    const checkpoints = setInterval(checkpoint, CHECKPOINT_INTERVAL_MS);
    checkpoints.unref();
    await checkpoint();
    await expireAccounts(database.db);
    notify.start();
    // Approved access requests turn require_approval into allow (policy/approvals.ts).
    setApprovedRequestSource(RequestWorkflow.approvedRequest);
    const requests = new RequestWorkflow({ db: database.db, notify, sessions: broker, clock: broker.clock, logger });
    requests.start();

    return {
      url, app, rules, database, bootstrap, tls, logger, secrets, broker, notify, requests, sshPort: sshd?.port, sshFingerprint: sshHostKey?.fingerprint,
      async close() {
        clearInterval(housekeeping);
        identityEvents.off('user-deactivated', onDeactivated);
        await requests.stop();
        await notify.stop();
        exporter.stop();
        await broker.shutdown();
        await registration.stop().catch((err: unknown) => logger.error({ err }, 'could not unregister this gateway node'));
        await sshd?.close();
        await app.close();
        clearInterval(checkpoints);
        await checkpoint();
        await database.close();
      },
    };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}
