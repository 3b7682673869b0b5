/**
 * Terminal path costs, measured in one run against the lab's real sshd:
 *  - bulk throughput: `head -c N /dev/zero | base64` shown in a shell, read directly over SSH
 *    (ssh2 client) vs through the gateway (WebSocket -> broker -> SSH, recorded; the gateway in
 *    its own process);
 *  - keystroke echo latency p50/p99: one character typed into `cat`, time until it comes back;
 *    keystrokes alternate between the two paths so both see the same machine noise.
 * Prints ratios against the direct baseline. Run: node --import tsx bench/terminal.ts [MB] [keys]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { removeLabAccount, startLab } from '../lab/index.js';
import { sshProtocol } from '../src/server/protocols/ssh/client.js';
import { startGatewayProcess } from './lib/gateway-process.js';

const MB = Number(process.argv[2] ?? 20);
const KEYS = Number(process.argv[3] ?? 1000);
const ACCOUNT = 'pcbench';
const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
const lab = await startLab({ dataDir: dir, ports: { ssh: 27251, telnet: 27373, vnc: 29951, rdp: 28895 }, displayBase: 235, account: ACCOUNT });
const gw = await startGatewayProcess({ dataDir: join(dir, 'gw'), port: 27260, sshPort: 27262 });

interface Pipe {
  write(s: string): void;
  onData(f: (s: string) => void): void;
  close(): void;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** One terminal (direct or through the gateway) with what it has shown since the last reset. */
function terminal(pipe: Pipe) {
  let buf = '';
  let bytes = 0;
  pipe.onData((s) => {
    bytes += s.length;
    buf += s;
    if (buf.length > 1 << 16) buf = buf.slice(-4096);
  });
  const until = async (re: RegExp) => {
    while (!re.test(buf)) await new Promise((r) => setImmediate(r));
  };
  return {
    pipe,
    until,
    reset: () => {
      buf = '';
      bytes = 0;
    },
    bytes: () => bytes,
  };
}
type Terminal = ReturnType<typeof terminal>;

async function bulk(t: Terminal): Promise<number> {
  t.pipe.write('stty -echo; export PS1="$ "\r');
  await new Promise((r) => setTimeout(r, 500));
  t.reset();
  const t0 = performance.now();
  t.pipe.write(`head -c ${MB * 1024 * 1024} /dev/zero | base64 -w 0; echo; echo DONE-MARK\r`);
  await t.until(/DONE-MARK/);
  const mbps = t.bytes() / 1e6 / ((performance.now() - t0) / 1000);
  t.pipe.write('stty echo; cat\r');
  await new Promise((r) => setTimeout(r, 300));
  return mbps;
}

/** Time from writing one character to seeing it echoed. */
async function key(t: Terminal, i: number): Promise<number> {
  t.reset();
  const ch = String.fromCharCode(97 + (i % 26));
  const k0 = performance.now();
  t.pipe.write(ch);
  await t.until(new RegExp(ch));
  return performance.now() - k0;
}

try {
  const ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
  const site = await gw.api.call('POST', '/api/v1/sites', { name: 'Bench' });
  const asset = await gw.api.call('POST', '/api/v1/assets', { name: 'BENCH', siteId: site.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] });
  await gw.api.call('POST', `/api/v1/assets/${asset.id}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password });
  const me = await gw.api.call('GET', '/api/v1/me');
  await gw.api.call('POST', '/api/v1/grants', { subjectType: 'user', subjectId: me.user.id, targetType: 'asset', target: asset.id });

  const direct = await sshProtocol.connect({ host: '127.0.0.1', port: ssh.port, options: {} }, { username: ssh.username!, password: ssh.password }, { size: { cols: 200, rows: 50 } });
  const d = terminal({ write: (s) => direct.stream.write(s), onData: (f) => direct.stream.on('data', (b: Buffer) => f(b.toString('latin1'))), close: () => direct.close() });
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/api/v1/sessions/connect?assetId=${asset.id}&protocol=ssh&port=${ssh.port}&cols=200&rows=50`, { headers: { cookie: gw.api.cookieHeader, origin: gw.url } });
  await new Promise<void>((res) => ws.on('message', (m, bin) => !bin && JSON.parse(m.toString()).type === 'opened' && res()));
  const g = terminal({ write: (s) => ws.send(Buffer.from(s)), onData: (f) => ws.on('message', (m, bin) => bin && f((m as Buffer).toString('latin1'))), close: () => ws.close() });

  const mbps = { direct: await bulk(d), gateway: await bulk(g) };
  // Keystrokes alternate between the two paths, so both see the same moments of machine noise.
  const lat = { direct: [] as number[], gateway: [] as number[] };
  for (let i = 0; i < KEYS; i++) {
    lat.direct.push(await key(d, i));
    lat.gateway.push(await key(g, i));
  }
  for (const t of [d, g]) {
    t.pipe.write('\x03');
    t.pipe.close();
  }
  const rows = [
    ['direct SSH', mbps.direct, lat.direct],
    ['through the gateway (WebSocket, recorded)', mbps.gateway, lat.gateway],
  ] as const;
  for (const [name, m, l] of rows) console.log(`${name.padEnd(44)} ${m.toFixed(1).padStart(7)} MB/s   echo p50 ${pct(l, 50).toFixed(2)} ms  p99 ${pct(l, 99).toFixed(2)} ms`);
  console.log(
    `throughput ratio gateway/direct: ${(mbps.gateway / mbps.direct).toFixed(2)}x   added echo latency p50 ${(pct(lat.gateway, 50) - pct(lat.direct, 50)).toFixed(2)} ms, p99 ${(pct(lat.gateway, 99) - pct(lat.direct, 99)).toFixed(2)} ms`,
  );
} finally {
  await gw.stop();
  await lab.stop();
  await removeLabAccount(ACCOUNT);
  rmSync(dir, { recursive: true, force: true });
}
