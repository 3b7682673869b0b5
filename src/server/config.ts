import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/** Gateway configuration: defaults < config file < environment variables. */
export interface Config {
  dataDir: string;
  host: string;
  port: number;
  /** PostgreSQL URL; undefined means the embedded SQLite file in dataDir. */
  databaseUrl: string | undefined;
  /** Password for the first admin on an empty database (unattended installs). */
  adminPassword: string | undefined;
  adminUsername: string;
  tls: { enabled: boolean; certFile: string | undefined; keyFile: string | undefined };
  logLevel: string;
  session: { idleTimeoutMinutes: number; absoluteLifetimeHours: number };
  /** Bearer token accepted on /metrics for Prometheus scrapers (optional). */
  metricsToken: string | undefined;
  /** Folder holding the built console (index.html). */
  webRoot: string;
  /** True when the gateway should trust X-Forwarded-For from a reverse proxy. */
  trustProxy: boolean;
  /** Login attempts allowed per source address per minute (on top of the account lockout). */
  loginRateLimit: number;
  /** The console's public URL (https://gateway.plant.example); WebAuthn binds keys to its host. Default: the request's Host. */
  publicUrl: string | undefined;
  /** SSH front door (sshd/): its port on `host` (0 = any free port), and whether it runs at all. */
  sshPort: number;
  sshEnabled: boolean;
  /** How the other gateway nodes of a shared database reach this one (https://gw-a.dmz:8443). Default: its own listening address. */
  nodeUrl: string | undefined;
}

const fileSchema = z
  .strictObject({
    dataDir: z.string().min(1),
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    databaseUrl: z.string().min(1),
    adminUsername: z.string().min(1),
    tls: z.strictObject({
      enabled: z.boolean(),
      certFile: z.string().min(1),
      keyFile: z.string().min(1),
    }).partial(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    session: z.strictObject({
      idleTimeoutMinutes: z.number().positive(),
      absoluteLifetimeHours: z.number().positive(),
    }).partial(),
    webRoot: z.string().min(1),
    trustProxy: z.boolean(),
    publicUrl: z.url(),
    sshPort: z.number().int().min(0).max(65535),
    sshEnabled: z.boolean(),
    nodeUrl: z.url(),
  })
  .partial();

export class ConfigError extends Error {}

function envInt(env: NodeJS.ProcessEnv, key: string): number | undefined {
  const raw = env[key];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${key} must be a port number, got "${raw}"`);
  return n;
}

function envBool(env: NodeJS.ProcessEnv, key: string): boolean | undefined {
  const raw = env[key];
  if (raw === undefined || raw === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${key} must be true or false, got "${raw}"`);
}

function defaultWebRoot(): string {
  // dist/src/server/config.js -> dist/web ; src/server/config.ts (tsx) -> dist/web
  const here = new URL('.', import.meta.url).pathname;
  const candidates = [resolve(here, '../../web'), resolve(here, '../../dist/web')];
  return candidates.find((c) => existsSync(resolve(c, 'index.html'))) ?? candidates[0]!;
}

/**
 * Loads configuration. The optional JSON file is PORTCULLIS_CONFIG, or <dataDir>/portcullis.json
 * when present. Environment variables always win.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const dataDirFromEnv = env.PORTCULLIS_DATA_DIR || undefined;
  const explicitFile = env.PORTCULLIS_CONFIG || undefined;
  const implicitFile = resolve(dataDirFromEnv ?? './data', 'portcullis.json');
  const file = explicitFile ?? (existsSync(implicitFile) ? implicitFile : undefined);

  let fromFile: z.infer<typeof fileSchema> = {};
  if (file) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new ConfigError(`invalid config file ${file}: ${why}`);
    }
    fromFile = parsed.data;
  }

  const dataDir = resolve(dataDirFromEnv ?? fromFile.dataDir ?? './data');
  const config: Config = {
    dataDir,
    host: env.PORTCULLIS_HOST || fromFile.host || '127.0.0.1',
    port: envInt(env, 'PORTCULLIS_PORT') ?? fromFile.port ?? 8443,
    databaseUrl: env.PORTCULLIS_DATABASE_URL || fromFile.databaseUrl || undefined,
    adminPassword: env.PORTCULLIS_ADMIN_PASSWORD || undefined,
    adminUsername: env.PORTCULLIS_ADMIN_USERNAME || fromFile.adminUsername || 'admin',
    tls: {
      enabled: envBool(env, 'PORTCULLIS_TLS') ?? fromFile.tls?.enabled ?? true,
      certFile: env.PORTCULLIS_TLS_CERT || fromFile.tls?.certFile || undefined,
      keyFile: env.PORTCULLIS_TLS_KEY || fromFile.tls?.keyFile || undefined,
    },
    logLevel: env.PORTCULLIS_LOG_LEVEL || fromFile.logLevel || 'info',
    session: {
      idleTimeoutMinutes: Number(env.PORTCULLIS_SESSION_IDLE_MINUTES || fromFile.session?.idleTimeoutMinutes || 15),
      absoluteLifetimeHours: Number(env.PORTCULLIS_SESSION_LIFETIME_HOURS || fromFile.session?.absoluteLifetimeHours || 12),
    },
    metricsToken: env.PORTCULLIS_METRICS_TOKEN || undefined,
    webRoot: env.PORTCULLIS_WEB_ROOT || fromFile.webRoot || defaultWebRoot(),
    trustProxy: envBool(env, 'PORTCULLIS_TRUST_PROXY') ?? fromFile.trustProxy ?? false,
    loginRateLimit: Number(env.PORTCULLIS_LOGIN_RATE_LIMIT || 20),
    publicUrl: env.PORTCULLIS_PUBLIC_URL || fromFile.publicUrl || undefined,
    sshPort: envInt(env, 'PORTCULLIS_SSH_PORT') ?? fromFile.sshPort ?? 2222,
    sshEnabled: envBool(env, 'PORTCULLIS_SSH') ?? fromFile.sshEnabled ?? true,
    nodeUrl: env.PORTCULLIS_NODE_URL || fromFile.nodeUrl || undefined,
    ...overrides,
  };
  if (config.tls.enabled && Boolean(config.tls.certFile) !== Boolean(config.tls.keyFile)) {
    throw new ConfigError('PORTCULLIS_TLS_CERT and PORTCULLIS_TLS_KEY must be given together');
  }
  if (!(config.session.idleTimeoutMinutes > 0) || !(config.session.absoluteLifetimeHours > 0)) {
    throw new ConfigError('session timeouts must be positive numbers');
  }
  return config;
}
