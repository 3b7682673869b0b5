import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Clock } from '../../src/server/broker/clock.js';
import type { SessionLimits } from '../../src/server/broker/core.js';
import { loadConfig } from '../../src/server/config.js';
import { startGateway as start, type Gateway } from '../../src/server/main.js';
import { createLogger } from '../../src/server/logger.js';
import { createPgDatabase, type TestDialect } from './pg.js';

export interface TestGateway {
  gw: Gateway;
  url: string;
  dataDir: string;
  /** The PostgreSQL database (undefined on SQLite). */
  databaseUrl: string | undefined;
  /** The first admin; password is the one-time password unless adminPassword was given. */
  admin: { username: string; password: string };
  /** An API client that speaks to the app in-process (full Fastify stack, no TLS). */
  client(): ApiClient;
  stop(): Promise<void>;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
  json: T;
}

export class ApiClient {
  private cookie: string | undefined;
  csrf: string | undefined;
  constructor(private readonly gw: Gateway) {}

  async request<T = any>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.cookie) h.cookie = this.cookie;
    if (this.csrf && method !== 'GET' && !('x-csrf-token' in h)) h['x-csrf-token'] = this.csrf;
    let payload: string | undefined;
    if (body !== undefined) {
      if (typeof body === 'string') payload = body;
      else {
        payload = JSON.stringify(body);
        h['content-type'] ??= 'application/json';
      }
    }
    const res = await this.gw.app.inject({ method: method as 'GET', url, headers: h, ...(payload !== undefined ? { payload } : {}), remoteAddress: '127.0.0.1' });
    const set = res.headers['set-cookie'];
    for (const c of Array.isArray(set) ? set : set ? [set] : []) {
      const pair = c.split(';')[0]!;
      if (/=$/.test(pair) || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)) this.cookie = undefined;
      else this.cookie = pair;
    }
    let json: any;
    try {
      json = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      json = undefined;
    }
    if (json && typeof json.csrfToken === 'string') this.csrf = json.csrfToken;
    return { status: res.statusCode, headers: res.headers, text: res.body, json };
  }

  get<T = any>(url: string) {
    return this.request<T>('GET', url);
  }
  post<T = any>(url: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', url, body, headers);
  }
  patch<T = any>(url: string, body?: unknown) {
    return this.request<T>('PATCH', url, body);
  }
  delete<T = any>(url: string) {
    return this.request<T>('DELETE', url);
  }

  async login(username: string, password: string): Promise<ApiResponse> {
    return this.post('/api/v1/auth/login', { username, password });
  }
}

export const ADMIN_PASSWORD = 'Adm1n-Gateway-Passw0rd';

/**
 * Starts a real gateway on 127.0.0.1 with a fresh data dir (port chosen by the OS, HTTPS with
 * its self-signed certificate). dialect 'postgres' gives it a fresh database on the test cluster.
 */
export async function startGateway(
  opts: { adminPassword?: string; dialect?: TestDialect; tls?: boolean; loginRateLimit?: number; logLevel?: string; logTo?: Writable; clock?: Clock; limits?: Partial<SessionLimits>; sameDatabaseAs?: TestGateway } = {},
): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-test-'));
  // sameDatabaseAs: a second node on the first one's PostgreSQL database (its own data dir, keys, port).
  const shared = opts.sameDatabaseAs;
  if (shared && !shared.databaseUrl) throw new Error('sameDatabaseAs needs a gateway on PostgreSQL');
  const pgdb = !shared && opts.dialect === 'postgres' ? await createPgDatabase() : undefined;
  const databaseUrl = shared?.databaseUrl ?? pgdb?.url;
  const base = loadConfig({ PORTCULLIS_DATA_DIR: dataDir });
  const config = {
    ...base,
    port: 0,
    databaseUrl,
    adminPassword: opts.adminPassword,
    logLevel: opts.logLevel ?? process.env.PORTCULLIS_TEST_LOG_LEVEL ?? 'silent',
    tls: { ...base.tls, enabled: opts.tls ?? true },
    // The suites sign in often from 127.0.0.1; the rate-limit test sets its own low limit.
    loginRateLimit: opts.loginRateLimit ?? 10_000,
    // The SSH front door listens on a port of the OS's choosing in tests.
    sshPort: 0,
  };
  const gw = await start(config, { logger: createLogger(config.logLevel, opts.logTo), ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.limits ? { limits: opts.limits } : {}) });
  const admin = shared ? shared.admin : { username: gw.bootstrap.username, password: opts.adminPassword ?? gw.bootstrap.oneTimePassword };
  if (!admin.password) throw new Error('no admin password: bootstrap did not produce one');
  return {
    gw,
    url: gw.url,
    dataDir,
    databaseUrl,
    admin: admin as { username: string; password: string },
    client: () => new ApiClient(gw),
    async stop() {
      await gw.close();
      await pgdb?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A client signed in as the admin, past the forced password change. */
export async function adminClient(t: TestGateway): Promise<ApiClient> {
  const c = t.client();
  const r = await c.login(t.admin.username, t.admin.password);
  if (r.status !== 200) throw new Error(`admin login failed: ${r.status} ${r.text}`);
  if (r.json.mustChangePassword) {
    const newPassword = `${t.admin.password}-Changed-1`;
    const ch = await c.post('/api/v1/auth/change-password', { currentPassword: t.admin.password, newPassword });
    if (ch.status !== 200) throw new Error(`password change failed: ${ch.status} ${ch.text}`);
    t.admin.password = newPassword;
  }
  return c;
}
