/**
 * Many concurrent recorded sessions: N browser-terminal sessions (default 200) through the
 * gateway to the lab's real sshd, each showing a line of output a second (a plant operator's
 * `watch`-like screen). Measures, on the gateway process alone:
 *   - RSS per session: (RSS with N sessions - RSS before) / N,
 *   - event-loop lag p50/p99 over a steady-state window, from the gateway's own metrics,
 * against the same gateway idle (the baseline, measured first in this run).
 * Run: node --import tsx bench/concurrent.ts [sessions] [seconds]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { removeLabAccount, startLab } from '../lab/index.js';
import { startGatewayProcess } from './lib/gateway-process.js';

const N = Number(process.argv[2] ?? 200);
const SECONDS = Number(process.argv[3] ?? 30);
const ACCOUNT = 'pcbenchcc';
const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-cc-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

const lab = await startLab({ dataDir: join(dir, 'lab'), ports: { ssh: 27291, telnet: 27393, vnc: 29991, rdp: 28899 }, displayBase: 238, account: ACCOUNT, log: () => {} });
const gw = await startGatewayProcess({ dataDir: join(dir, 'gw'), port: 27290, sshPort: 27292 });
const sockets: WebSocket[] = [];

/** Event-loop lag (ms) since the previous scrape (the gateway's histogram resets on each one). */
async function lag(): Promise<{ p50: number; p99: number; max: number }> {
  const m = await gw.metrics();
  const ms = (k: string) => (m.get(`portcullis_nodejs_eventloop_lag_${k}_seconds`) ?? NaN) * 1000;
  return { p50: ms('p50'), p99: ms('p99'), max: ms('max') };
}

try {
  const ssh = lab.targets.find((x) => x.protocol === 'ssh')!;
  const site = await gw.api.call('POST', '/api/v1/sites', { name: 'Bench', maxConnections: N + 10 });
  const asset = await gw.api.call('POST', '/api/v1/assets', { name: 'BENCH', siteId: site.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: ssh.port }] });
  await gw.api.call('POST', `/api/v1/assets/${asset.id}/accounts`, { name: 'default', username: ssh.username, kind: 'password', password: ssh.password });
  const me = await gw.api.call('GET', '/api/v1/me');
  await gw.api.call('POST', '/api/v1/grants', { subjectType: 'user', subjectId: me.user.id, targetType: 'asset', target: asset.id });

  let received = 0;
  const open = async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/api/v1/sessions/connect?assetId=${asset.id}&protocol=ssh&port=${ssh.port}&cols=120&rows=30`, { headers: { cookie: gw.api.cookieHeader, origin: gw.url } });
    sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (m, bin) => {
        if (bin) received += (m as Buffer).length;
        else {
          const ev = JSON.parse(m.toString());
          if (ev.type === 'opened') resolve();
          if (ev.type === 'ended') reject(new Error(`session ended: ${ev.message}`));
        }
      });
      ws.on('error', reject);
    });
    // One line a second from bash builtins only (no process per line on the asset side).
    ws.send(Buffer.from(`while :; do printf '%(%T)T  line 3 pressure %d.%02d bar  flow %d m3/h  state RUNNING\\n' -1 $((RANDOM%9)) $((RANDOM%100)) $((RANDOM%500)); read -t 1 _; done\r`));
  };
  /** RSS as the median of five samples a second apart (one sample is noisy: GC timing). */
  const rss = async () => {
    const xs: number[] = [];
    for (let i = 0; i < 5; i++) {
      xs.push(gw.rss());
      await sleep(1000);
    }
    return xs.sort((a, b) => a - b)[2]!;
  };

  // Warm-up (code paths loaded and optimized), then the baseline: the same gateway, idle.
  await Promise.all(Array.from({ length: 8 }, open));
  for (const ws of sockets.splice(0)) ws.close();
  await sleep(5000);
  await lag();
  await sleep(SECONDS * 1000);
  const idleLag = await lag();
  const rss0 = await rss();

  const t0 = performance.now();
  // In small batches: the asset's sshd drops bursts of unauthenticated connections (MaxStartups).
  for (let i = 0; i < N; i += 8) await Promise.all(Array.from({ length: Math.min(8, N - i) }, open));
  const openSecs = (performance.now() - t0) / 1000;

  await sleep(5000);
  await lag();
  const before = received;
  await sleep(SECONDS * 1000);
  const busyLag = await lag();
  const rss1 = await rss();
  const live = (await gw.api.call('GET', `/api/v1/sessions?state=live&limit=${N + 10}`)).items.length;

  console.log(`${N} concurrent recorded SSH sessions through the gateway (browser WebSocket path), ${SECONDS} s steady state:`);
  console.log(`  opened in ${openSecs.toFixed(1)} s; live sessions counted by the gateway: ${live}; output relayed ${((received - before) / SECONDS / 1024).toFixed(1)} KiB/s`);
  console.log(`  gateway RSS idle ${mb(rss0)} MiB, with ${N} sessions ${mb(rss1)} MiB: ${((rss1 - rss0) / N / 1024).toFixed(0)} KiB per session`);
  console.log('  event-loop lag (the gateway\'s own histogram, sampled every 10 ms: an idle loop reads ~10 ms):');
  console.log(`  event-loop lag idle     p50 ${idleLag.p50.toFixed(2)} ms  p99 ${idleLag.p99.toFixed(2)} ms  max ${idleLag.max.toFixed(2)} ms`);
  console.log(`  event-loop lag loaded   p50 ${busyLag.p50.toFixed(2)} ms  p99 ${busyLag.p99.toFixed(2)} ms  max ${busyLag.max.toFixed(2)} ms`);
  console.log(`  added p99 lag: ${(busyLag.p99 - idleLag.p99).toFixed(2)} ms`);
  if (live !== N) throw new Error(`expected ${N} live sessions, the gateway shows ${live}`);
} finally {
  for (const ws of sockets) ws.close();
  await sleep(1000);
  await gw.stop();
  await lab.stop();
  await removeLabAccount(ACCOUNT);
  rmSync(dir, { recursive: true, force: true });
}
