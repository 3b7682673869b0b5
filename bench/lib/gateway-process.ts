/**
 * The gateway as its own process for benchmarks, as it runs in production, so the load
 * generator's own work never shows up in the gateway's CPU, memory or event-loop figures. It runs
 * the TypeScript sources through tsx (transpiled once at load; never a stale dist/).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface GatewayProcess {
  url: string;
  sshPort: number;
  pid: number;
  adminPassword: string;
  metricsToken: string;
  /** Resident set size of the gateway process, in bytes (from /proc). */
  rss(): number;
  /** The gateway's own Prometheus figures (event-loop lag etc.), parsed. */
  metrics(): Promise<Map<string, number>>;
  api: HttpApi;
  stop(): Promise<void>;
}

/** A cookie + CSRF session against the gateway's REST API, over real HTTP. */
export class HttpApi {
  private cookie = '';
  private csrf = '';
  constructor(readonly url: string) {}

  get cookieHeader(): string {
    return this.cookie;
  }

  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.url + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0]!;
    const text = await res.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    if (json && typeof json.csrfToken === 'string') this.csrf = json.csrfToken;
    return json as T;
  }

  async login(username: string, password: string): Promise<void> {
    await this.call('POST', '/api/v1/auth/login', { username, password });
  }
}

const ROOT = new URL('../../', import.meta.url);

export async function startGatewayProcess(opts: { dataDir: string; port: number; sshPort: number; env?: NodeJS.ProcessEnv }): Promise<GatewayProcess> {
  const adminPassword = `Bench-${randomBytes(9).toString('base64url')}-9`;
  const metricsToken = randomBytes(18).toString('base64url');
  // PORTCULLIS_BENCH_CPU_PROFILE=<dir>: the gateway writes a V8 CPU profile there on exit.
  const prof = process.env.PORTCULLIS_BENCH_CPU_PROFILE;
  const args = [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), '--import', 'tsx', fileURLToPath(new URL('src/cli/main.ts', ROOT)), 'serve'];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: fileURLToPath(ROOT),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORTCULLIS_DATA_DIR: opts.dataDir,
      PORTCULLIS_HOST: '127.0.0.1',
      PORTCULLIS_PORT: String(opts.port),
      PORTCULLIS_SSH_PORT: String(opts.sshPort),
      PORTCULLIS_TLS: 'false',
      PORTCULLIS_ADMIN_PASSWORD: adminPassword,
      PORTCULLIS_METRICS_TOKEN: metricsToken,
      PORTCULLIS_LOG_LEVEL: 'warn',
      ...opts.env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${opts.port}`;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode} while starting`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    if (i > 600) throw new Error('the gateway did not start within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = new HttpApi(url);
  await api.login('admin', adminPassword);
  return {
    url,
    sshPort: opts.sshPort,
    pid: child.pid!,
    adminPassword,
    metricsToken,
    api,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
    async metrics() {
      const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
      const out = new Map<string, number>();
      for (const line of text.split('\n')) {
        const m = /^([a-zA-Z0-9_:]+(?:\{[^}]*\})?) ([-+0-9.eE]+|NaN)$/.exec(line);
        if (m) out.set(m[1]!, Number(m[2]));
      }
      return out;
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
