/**
 * Graphical sessions (VNC, RDP) through the gateway, each figure against a baseline measured in
 * this run, with the lab's real TigerVNC Xvnc (VNC password) and freerdp-shadow (NLA) targets and
 * the gateway as its own process:
 *
 *  1. connect: "Connect" (new WebSocket) to the first complete frame (the first `sync` after the
 *     first image), medians of N runs.
 *       VNC baseline: a bare RFB handshake + first full framebuffer update, straight to the same
 *       Xvnc with the gateway's own RFB client (connectRfbTcp).
 *       RDP baseline: the RDP engine called directly (startRdpDisplay: probe, private Xvnc,
 *       xfreerdp up, first pixels) + the first full frame read from its socket; its own timings.
 *  2. a continuously changing 1280x800 screen (a full-screen xterm repainting random text `hz`
 *     times a second): frames/s and bytes/s at a Node client that acknowledges every `sync` like
 *     a browser, per stream quality (low/medium/high), against the pass-through baseline:
 *     noVNC-style raw RFB (the gateway's RFB client, Tight/ZRLE, asking for the same Tight JPEG
 *     level the gateway asks for at that quality) through a plain WebSocket<->TCP relay
 *     (bench/lib/ws-tcp-proxy.ts, its own process);
 *  3. CPU during (2): the gateway's (all threads, /proc/<pid>/stat) vs the relay's, in % of one
 *     core; memory per RDP session with 1 and with K sessions: the gateway's RSS delta plus
 *     RSS/PSS of its portcullis-rdp children (private Xvnc + xfreerdp), a VNC session for reference;
 *  4. recording size per hour (medium and high by default) for an HMI screen (a few values
 *     changing every second) and the busy screen of (2), against the raw framebuffer
 *     (1280*800*4 bytes a second) and the raw RFB stream of a client watching at the same time;
 *  5. one frame of the busy screen as the gateway's PNG tiles (its defaults and other zlib
 *     settings) against the same frame in lossless Tight as Xvnc sends it.
 *
 * Run: node --import tsx bench/display.ts [--runs=5] [--seconds=10] [--rec-seconds=30]
 *        [--rdp-sessions=4] [--hz=20] [--rec-quality=medium,high] [--connect-quality=low,medium,high]
 *        [--only=connect,memory,fps,recording,png] [--baseline-jpeg=skip|decode]
 * A gateway session that fails (e.g. the asset connection ends with an error) is printed as
 * FAILED with the gateway's message and the bench goes on with the next measurement.
 * Needs root (the lab, and RDP sessions run as portcullis-rdp) and the lab's system packages.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { constants as zlibConstants } from 'node:zlib';
import { parseArgs } from 'node:util';
import jpeg from 'jpeg-js';
import WebSocket, { createWebSocketStream } from 'ws';
import { removeLabAccount, startLab } from '../lab/index.js';
import { encodePng, PNG_DEFAULTS, type PngOptions } from '../src/server/display/png.js';
import { DirtyRegion, TILE_SIZE } from '../src/server/display/tiles.js';
import { startRdpDisplay } from '../src/server/protocols/rdp/session.js';
import { connectRfb, connectRfbTcp, type RfbClient, type RfbUpdateOp } from '../src/server/protocols/vnc/client.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { type GuacViewer, openViewer } from './lib/guac-viewer.js';
import { cpuMeter, descendants, memoryOf, rssBytes, uidOf } from './lib/procstat.js';
import { type ScreenLoad, startBusyScreen, startHmiScreen } from './lib/x11-load.js';

// The baseline clients below run the project's RFB client in this process, which decodes Tight
// JPEG rectangles with jpeg-js (pure JS, ~50 % of a core at a few frames a second here). A browser
// running noVNC decodes them natively, off its JS thread, on the viewer's machine; here every cycle
// the baseline client spends is taken from the gateway and Xvnc on the same two cores. So by default
// (--baseline-jpeg=skip) the baseline client only reads a JPEG's size and leaves its pixels black:
// the bytes and updates on the wire, which is what is compared, are the same.
// With --baseline-jpeg=decode it decodes them; then note that src/server/protocols/vnc/tight.ts
// passes maxResolutionInMP = w*h/1e6 to jpeg-js, which compares (w*h/1e6)*1e6 < w*h and rejects
// ~11 % of rectangle sizes (floating point): the baseline gets one pixel of slack.
// The gateway (its own process) always runs its code as it is.
function jpegSize(data: Uint8Array): { width: number; height: number } {
  for (let i = 2; i + 9 < data.length; ) {
    if (data[i] !== 0xff) throw new Error('not a JPEG marker');
    const m = data[i + 1]!;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return { height: (data[i + 5]! << 8) | data[i + 6]!, width: (data[i + 7]! << 8) | data[i + 8]! };
    i += 2 + ((data[i + 2]! << 8) | data[i + 3]!);
  }
  throw new Error('JPEG without a frame header');
}
const jpegDecode = jpeg.decode.bind(jpeg);
const installBaselineJpeg = (mode: string) => {
  jpeg.decode = ((data: Parameters<typeof jpeg.decode>[0], o?: Parameters<typeof jpeg.decode>[1]) => {
    if (mode === 'skip') {
      const { width, height } = jpegSize(data as Uint8Array);
      return { width, height, data: new Uint8Array(width * height * 4), exifBuffer: undefined, comments: [] };
    }
    return jpegDecode(data, o?.maxResolutionInMP !== undefined ? { ...o, maxResolutionInMP: o.maxResolutionInMP + 1e-6 } : o);
  }) as typeof jpeg.decode;
};

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '10' },
    'rec-seconds': { type: 'string', default: '30' },
    'rdp-sessions': { type: 'string', default: '4' },
    hz: { type: 'string', default: '20' },
    'rec-quality': { type: 'string', default: 'medium,high' },
    'connect-quality': { type: 'string', default: 'low,medium,high' },
    only: { type: 'string', default: 'connect,memory,fps,recording,png' },
    'baseline-jpeg': { type: 'string', default: 'skip' },
  },
});
const RUNS = Number(opt.runs);
const SECONDS = Number(opt.seconds);
const REC_SECONDS = Number(opt['rec-seconds']);
const RDP_SESSIONS = Number(opt['rdp-sessions']);
const HZ = Number(opt.hz);
const REC_QUALITIES = opt['rec-quality'].split(',') as Quality[];
const CONNECT_QUALITIES = opt['connect-quality'].split(',') as Quality[];
const ONLY = new Set(opt.only.split(','));
if (!['skip', 'decode'].includes(opt['baseline-jpeg'])) throw new Error('--baseline-jpeg=skip|decode');
installBaselineJpeg(opt['baseline-jpeg']);
if (![RUNS, SECONDS, REC_SECONDS, RDP_SESSIONS, HZ].every((n) => Number.isFinite(n) && n > 0) || ![...REC_QUALITIES, ...CONNECT_QUALITIES].every((q) => ['low', 'medium', 'high'].includes(q))) {
  throw new Error('usage: bench/display.ts [--runs=N] [--seconds=S] [--rec-seconds=S] [--rdp-sessions=K] [--hz=H] [--rec-quality=Q,..] [--connect-quality=Q,..] [--only=connect,memory,fps,recording,png] [--baseline-jpeg=skip|decode]');
}

type Quality = 'low' | 'medium' | 'high';
const QUALITIES: Quality[] = ['low', 'medium', 'high'];
/** The Tight JPEG level the gateway asks the VNC server for (src/server/protocols/vnc/display.ts). */
const GATEWAY_JPEG_LEVEL: Record<Quality, number | undefined> = { low: 4, medium: 7, high: undefined };
const W = 1280;
const H = 800;
const ACCOUNT = 'pcbenchdisp';
const PORTS = { ssh: 27701, telnet: 27723, vnc: 29701, rdp: 28701, http: 27780, frontdoor: 27782 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const kibs = (b: number) => `${(b / 1024).toFixed(0)} KiB/s`;
const gbh = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB/h` : `${(b / 1e6).toFixed(1)} MB/h`);
const ms = (x: number | undefined) => (x === undefined ? '   -   ' : `${x.toFixed(0).padStart(5)} ms`);
const x2 = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-disp-'));
/** The engine-direct RDP sessions' runtime dir: traversable by portcullis-rdp (not under dir, 0700). */
const rdpRuntime = join(tmpdir(), `portcullis-bench-disp-rdp-${process.pid}`);
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let cleaning: Promise<void> | undefined;
const cleanup = () =>
  (cleaning ??= (async () => {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch (err) {
        console.error(`cleanup: ${(err as Error).message}`);
      }
    }
    rmSync(dir, { recursive: true, force: true });
    rmSync(rdpRuntime, { recursive: true, force: true });
  })());
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

console.log(`bench/display: ${W}x${H}, runs ${RUNS}, ${SECONDS} s per window, recording ${REC_SECONDS} s, ${RDP_SESSIONS} RDP sessions, busy screen ${HZ} repaints/s, baseline JPEG ${opt['baseline-jpeg']}; ${availableParallelism()} CPUs, load average ${load()}`);

try {
  cleanups.push(() => removeLabAccount(ACCOUNT));
  const lab = await startLab({ dataDir: join(dir, 'lab'), ports: { ssh: PORTS.ssh, telnet: PORTS.telnet, vnc: PORTS.vnc, rdp: PORTS.rdp }, displayBase: 245, account: ACCOUNT, log: () => {} });
  cleanups.push(() => lab.stop());
  const gwDir = join(dir, 'gw');
  const gw = await startGatewayProcess({ dataDir: gwDir, port: PORTS.http, sshPort: PORTS.frontdoor });
  cleanups.push(() => gw.stop());
  const rssAtStart = gw.rss();
  const viewers = new Set<GuacViewer>();
  cleanups.push(() => Promise.all([...viewers].map((v) => v.close())));

  const vnc = lab.targets.find((t) => t.protocol === 'vnc')!;
  const rdp = lab.targets.find((t) => t.protocol === 'rdp')!;
  const xvncPid = lab.pids().find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'Xvnc')!;
  const vncX = { display: lab.displays.vnc, xauthority: join(lab.labDir, 'vnc', 'Xauthority') };
  const rdpUid = uidOf('portcullis-rdp');

  // One site per stream quality, each with the lab's VNC desktop; the RDP desktop in 'medium'.
  const me = await gw.api.call('GET', '/api/v1/me');
  const vncAsset = {} as Record<Quality, string>;
  let rdpAsset = '';
  for (const q of QUALITIES) {
    const site = await gw.api.call('POST', '/api/v1/sites', { name: `Bench ${q}`, streamQuality: q, maxConnections: 20 });
    await gw.api.call('POST', '/api/v1/grants', { subjectType: 'user', subjectId: me.user.id, targetType: 'site', target: site.id });
    const a = await gw.api.call('POST', '/api/v1/assets', { name: `HMI-${q}`, siteId: site.id, purdueLevel: 2, host: '127.0.0.1', accessMethods: [{ protocol: 'vnc', port: vnc.port }] });
    await gw.api.call('POST', `/api/v1/assets/${a.id}/accounts`, { name: 'default', username: 'vnc', kind: 'password', password: vnc.password });
    vncAsset[q] = a.id;
    if (q === 'medium') {
      const r = await gw.api.call('POST', '/api/v1/assets', { name: 'SCADA', siteId: site.id, purdueLevel: 3, host: '127.0.0.1', accessMethods: [{ protocol: 'rdp', port: rdp.port }] });
      await gw.api.call('POST', `/api/v1/assets/${r.id}/accounts`, { name: 'default', username: rdp.username, kind: 'password', password: rdp.password });
      rdpAsset = r.id;
    }
  }
  const wsBase = `${gw.url.replace(/^http/, 'ws')}/api/v1/sessions/connect`;
  const vncUrl = (q: Quality) => `${wsBase}?assetId=${vncAsset[q]}&protocol=vnc&port=${vnc.port}&width=${W}&height=${H}`;
  const rdpUrl = `${wsBase}?assetId=${rdpAsset}&protocol=rdp&port=${rdp.port}&width=${W}&height=${H}`;

  const view = (url: string, o?: { ack?: boolean }) => {
    const v = openViewer(url, gw.api.cookieHeader, gw.url, o);
    viewers.add(v);
    void v.closed.then(() => viewers.delete(v));
    return v;
  };
  const gwHelpers = () => (rdpUid === undefined ? [] : descendants(gw.pid, rdpUid));
  /** Waits until the gateway has no live session, no RDP helper left (recordings sealed) and is idle. */
  const quiet = async () => {
    for (let i = 0; ; i++) {
      const live = (await gw.api.call('GET', '/api/v1/sessions?state=live&limit=50')).items.length;
      if (live === 0 && gwHelpers().length === 0) break;
      if (i > 200) throw new Error(`the gateway still has ${live} live session(s) and ${gwHelpers().length} RDP helper(s)`);
      await sleep(50);
    }
    // Encodes queued by an ended session still run in the shared encoder pool: let the gateway
    // go idle (< 10 % of a core over 300 ms, at most 20 s) so they do not count in what follows.
    for (let i = 0; i < 60; i++) {
      const m = cpuMeter(gw.pid);
      await sleep(300);
      if (m.stop() < 10) break;
    }
  };
  /** Runs one gateway measurement; a failure is printed (with the gateway's message) and skipped. */
  const failsafe = async (label: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (err) {
      console.log(`  ${label}: FAILED: ${(err as Error).message}`);
      await Promise.all([...viewers].map((v) => v.close()));
      await quiet();
    }
  };
  /** One gateway session to the first frame and closed again. */
  const gatewayConnect = async (url: string) => {
    const v = view(url);
    await v.waitFor(() => v.firstFrameMs !== undefined, 'the first frame');
    await v.close();
    await quiet();
    return v;
  };
  /** Resolves when the RFB client has received a whole framebuffer's worth of pixels. */
  const fullFrame = (rfb: RfbClient) =>
    new Promise<void>((resolve, reject) => {
      let area = 0;
      const on = (ops: RfbUpdateOp[]) => {
        for (const op of ops) area += op.op === 'pixels' ? op.w * op.h : 0;
        if (area >= rfb.width * rfb.height) {
          rfb.off('update', on);
          resolve();
        }
      };
      rfb.on('update', on);
      void rfb.ended.then((e) => reject(new Error(`the RFB connection ended before the first frame: ${e.message}`)));
    });

  // ------------------------------------------------------------------------------------------
  if (ONLY.has('connect')) {
    console.log(`\n1. Connect to first frame (medians of ${RUNS} runs after a warm-up, per site stream quality); load ${load()}`);
    const direct = async () => {
      const t0 = performance.now();
      const rfb = await connectRfbTcp({ host: '127.0.0.1', port: vnc.port }, { password: vnc.password, autoRequest: true });
      const handshake = performance.now() - t0;
      await fullFrame(rfb);
      const first = performance.now() - t0;
      rfb.close();
      await rfb.ended;
      return { handshake, first };
    };
    await direct();
    const d: { handshake: number; first: number }[] = [];
    for (let i = 0; i < RUNS; i++) d.push(await direct());
    const dFirst = median(d.map((x) => x.first));
    console.log(`  VNC direct RFB (baseline)      handshake ${ms(median(d.map((x) => x.handshake)))}   first full frame ${ms(dFirst)}`);
    for (const q of CONNECT_QUALITIES) {
      await failsafe(`VNC through the gateway, quality ${q}`, async () => {
        await gatewayConnect(vncUrl(q));
        const g: GuacViewer[] = [];
        for (let i = 0; i < RUNS; i++) g.push(await gatewayConnect(vncUrl(q)));
        const med = (f: (v: GuacViewer) => number | undefined) => median(g.map((v) => f(v) ?? NaN));
        const first = med((v) => v.firstFrameMs);
        console.log(
          `  ${`VNC via the gateway, ${q}`.padEnd(30)} WS open ${ms(med((v) => v.openMs))}   'opened' ${ms(med((v) => v.openedMs))}   first frame ${ms(first)}   ` +
            `ratio to direct ${x2(first, dFirst)} (${first - dFirst >= 0 ? "+" : ""}${(first - dFirst).toFixed(0)} ms; runs ${g.map((v) => v.firstFrameMs!.toFixed(0)).join(', ')} ms)`,
        );
      });
    }

    // RDP: the engine directly (its own timings), then end to end through the gateway.
    const engine = async () => {
      const t0 = performance.now();
      const disp = await startRdpDisplay({ host: '127.0.0.1', port: rdp.port, username: rdp.username!, password: rdp.password, width: W, height: H, runtimeDir: rdpRuntime });
      try {
        const up = performance.now() - t0;
        const rfb = await connectRfb(net.connect(disp.socketPath), { autoRequest: true, encodings: ['copyrect', 'raw'] });
        await fullFrame(rfb);
        const first = performance.now() - t0;
        rfb.close();
        return { up, first, timings: disp.timings };
      } finally {
        await disp.close('bench');
      }
    };
    cleanups.push(() => rmSync(rdpRuntime, { recursive: true, force: true }));
    await engine();
    const e: Awaited<ReturnType<typeof engine>>[] = [];
    const r: GuacViewer[] = [];
    await failsafe('RDP through the gateway', async () => {
      await gatewayConnect(rdpUrl);
      for (let i = 0; i < RUNS; i++) {
        e.push(await engine());
        r.push(await gatewayConnect(rdpUrl));
      }
    });
    while (e.length < RUNS) e.push(await engine());
    const eFirst = median(e.map((x) => x.first));
    console.log(
      `  RDP engine direct (baseline)   probe ${ms(median(e.map((x) => x.timings.probeMs)))}   Xvnc ready ${ms(median(e.map((x) => x.timings.xvncReadyMs)))}   ` +
        `RDP active ${ms(median(e.map((x) => x.timings.activeMs)))}   first pixels ${ms(median(e.map((x) => x.timings.firstPixelsMs ?? NaN)))}   first full frame read ${ms(eFirst)}`,
    );
    if (r.length) {
      const rmed = (f: (v: GuacViewer) => number | undefined) => median(r.map((v) => f(v) ?? NaN));
      const rFirst = rmed((v) => v.firstFrameMs);
      console.log(`  RDP through the gateway        WS open ${ms(rmed((v) => v.openMs))}   'opened' ${ms(rmed((v) => v.openedMs))}   first frame ${ms(rFirst)}   (runs: ${r.map((v) => v.firstFrameMs!.toFixed(0)).join(', ')} ms)`);
      console.log(`  ratio gateway / engine first frame: ${x2(rFirst, eFirst)}   (${rFirst - eFirst >= 0 ? '+' : ''}${(rFirst - eFirst).toFixed(0)} ms); target < 2000 ms: ${rFirst < 2000 ? 'met' : 'NOT met'}`);
    }
  }

  // ------------------------------------------------------------------------------------------
  if (ONLY.has('memory')) {
    console.log(`\n3. Memory per session (idle desktops, 5 s after the first frame; VNC at quality high, RDP at medium; RSS sums count shared libraries once per process, PSS splits them); load ${load()}`);
    // Warm the gateway (encoder pool, code paths) first; each measurement takes its own
    // baseline RSS right before its sessions open (the heap drifts after heavy sessions).
    await gatewayConnect(vncUrl('high'));
    await gatewayConnect(rdpUrl);
    await sleep(2000);
    const open = async (url: string, n: number) => {
      const rss0 = await steadyRss(gw.pid);
      const vs: GuacViewer[] = [];
      for (let i = 0; i < n; i++) {
        const v = view(url);
        vs.push(v);
        await v.waitFor(() => v.firstFrameMs !== undefined, 'the first frame', 60_000);
      }
      await sleep(5000);
      const helpers = gwHelpers();
      const m = memoryOf(helpers.map((h) => h.pid));
      const rss = await steadyRss(gw.pid);
      const byName = new Map<string, number>();
      for (const h of helpers) byName.set(h.comm, (byName.get(h.comm) ?? 0) + memoryOf([h.pid]).rss);
      const names = [...byName].map(([k, b]) => `${k} ${mib(b / n)}`).join(' + ');
      for (const v of vs) await v.close();
      await quiet();
      return { n, rss0, gwDelta: rss - rss0, helpersRss: m.rss, helpersPss: m.pss, count: helpers.length, names };
    };
    const report = (label: string, x: Awaited<ReturnType<typeof open>>) => {
      const per = (b: number) => mib(b / x.n);
      console.log(
        `  ${label.padEnd(18)} gateway RSS ${mib(x.rss0)} ${x.gwDelta >= 0 ? '+' : '-'}${per(Math.abs(x.gwDelta))}   helpers (${x.count}) RSS ${per(x.helpersRss)}${x.names ? ` (${x.names})` : ''} PSS ${per(x.helpersPss)}   ` +
          `total RSS ${per(x.gwDelta + x.helpersRss)}, with PSS ${per(x.gwDelta + x.helpersPss)}`,
      );
      return (x.gwDelta + x.helpersPss) / x.n;
    };
    console.log(`  gateway RSS at start ${mib(rssAtStart)}, after its first display sessions (encoder pool up) ${mib(gw.rss())}; per session:`);
    report('VNC x1 (reference)', await open(vncUrl('high'), 1));
    const r1 = report('RDP x1', await open(rdpUrl, 1));
    const rk = report(`RDP x${RDP_SESSIONS}`, await open(rdpUrl, RDP_SESSIONS));
    console.log(`  ratio per session (gateway delta + helpers' PSS): RDP x${RDP_SESSIONS} / RDP x1 ${x2(rk, r1)}; load ${load()}`);
  }

  // ------------------------------------------------------------------------------------------
  let busy: ScreenLoad | undefined;
  const startBusy = async () => {
    busy ??= await startBusyScreen(vncX, HZ);
    return busy;
  };
  const stopBusy = async () => {
    await busy?.stop();
    busy = undefined;
  };
  cleanups.push(stopBusy);

  if (ONLY.has('fps')) {
    await startBusy();
    const proxy = await startProxy(vnc.port);
    cleanups.push(() => proxy.stop());
    console.log(`\n2+3. Busy 1280x800 screen (${HZ} full-screen repaints/s), ${SECONDS} s per window after 2 s of warm-up; CPU in % of one core; load ${load()}`);
    console.log('  path                                   frames/s   bytes/s to the client     CPU: relay   Xvnc    (client)');
    for (const q of QUALITIES) {
      // Baseline: noVNC-style raw RFB over the plain relay.
      // (the stream and the counter listen before the upgrade completes: the server's first
      // bytes may come in the same read as the upgrade response)
      const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}`, { perMessageDeflate: false });
      const duplex = createWebSocketStream(ws);
      let wire = 0;
      ws.on('message', (m: Buffer) => (wire += m.length));
      const jpeg = GATEWAY_JPEG_LEVEL[q];
      const rfb = await connectRfb(duplex, { password: vnc.password, autoRequest: true, encodings: ['tight', 'zrle', 'copyrect', 'raw'], ...(jpeg !== undefined ? { jpegQuality: jpeg } : {}) });
      let updates = 0;
      rfb.on('update', () => updates++);
      await sleep(2000);
      const base = await measureWindow(() => ({ frames: updates, bytes: wire }), { relay: proxy.pid, xvnc: xvncPid });
      if (rfb.closed) console.log(`  (the baseline connection ended early: ${(await rfb.ended).message})`);
      rfb.close();
      ws.terminate();

      const jpegText = jpeg === undefined ? 'lossless' : `JPEG ${jpeg}`;
      console.log(`  ${`raw RFB via relay (Tight ${jpegText})`.padEnd(38)} ${base.fps.toFixed(1).padStart(7)}   ${kibs(base.bps).padStart(12)}         ${base.cpu.relay!.toFixed(1).padStart(5)} %  ${base.cpu.xvnc!.toFixed(1).padStart(5)} %  (${base.clientCpu.toFixed(1)} %)`);

      // The gateway, with a client that acknowledges every sync at once.
      await failsafe(`gateway, quality ${q}`, async () => {
        const v = view(vncUrl(q));
        await v.waitFor(() => v.firstFrameMs !== undefined, 'the first frame');
        await sleep(2000);
        const i0 = v.syncTimes.length;
        const gwin = await measureWindow(() => ({ frames: v.frames, bytes: v.bytes }), { gateway: gw.pid, xvnc: xvncPid });
        const gaps = v.syncTimes.slice(i0).map((t, i, a) => (i ? t - a[i - 1]! : NaN)).slice(1);
        if (v.ended) throw new Error(`the session ended during the window: ${v.ended.message}`);
        await v.close();
        await quiet();
        console.log(
          `  ${`gateway, quality ${q} (cap ${{ low: 5, medium: 15, high: 30 }[q]} fps)`.padEnd(38)} ${gwin.fps.toFixed(1).padStart(7)}   ${kibs(gwin.bps).padStart(12)}   gateway ${gwin.cpu.gateway!.toFixed(1).padStart(5)} %  ${gwin.cpu.xvnc!.toFixed(1).padStart(5)} %  (${gwin.clientCpu.toFixed(1)} %)` +
            `   frame gap p50 ${median(gaps).toFixed(0)} ms, min ${Math.min(...gaps).toFixed(0)} ms; images ${[...v.mimetypes].map(([k, n]) => `${k.replace('image/', '')} ${n}`).join(', ')}`,
        );
        console.log(`     ratios gateway/baseline: fps ${x2(gwin.fps, base.fps)}   bytes ${x2(gwin.bps, base.bps)}   CPU gateway/relay ${x2(gwin.cpu.gateway!, base.cpu.relay!)}; load ${load()}`);
      });
    }

    // Pacing: a client that never acknowledges gets only the frames the flow control allows.
    await failsafe('pacing check', async () => {
      const stuck = view(vncUrl('high'), { ack: false });
      try {
        await stuck.waitFor(() => stuck.firstFrameMs !== undefined, 'the first frame');
      } catch (err) {
        throw new Error(`${(err as Error).message} (received ${stuck.bytes} bytes, ${stuck.images} images, ${stuck.frames} syncs; session ${JSON.stringify(stuck.session ?? null)})`);
      }
      await sleep(3000);
      const got = stuck.frames;
      await stuck.close();
      await quiet();
      console.log(`  pacing: a client that never acknowledges received ${got} frames in 3 s of busy screen (the gateway allows at most 2 unacknowledged)`);
    });
    await proxy.stop();
    await stopBusy();
  }

  // ------------------------------------------------------------------------------------------
  if (ONLY.has('recording')) {
    const rawPerHour = W * H * 4 * 3600;
    console.log(
      `\n4. Recording size per hour (${REC_SECONDS} s per screen and quality, steady-state rate after the first frame); baseline: raw 1280x800x4 B every second = ${gbh(rawPerHour)}; ` +
        `and the raw RFB stream (Tight at the gateway's JPEG level) of a client watching at the same time, as a vncrec-style recorder would store it; load ${load()}`,
    );
    for (const screen of ['hmi', 'busy'] as const) {
      const loadOn = screen === 'hmi' ? await startHmiScreen(vncX) : await startBusy();
      for (const q of REC_QUALITIES) {
        const label = `${screen === 'hmi' ? 'HMI (xclock, xload, 3 values 1/s)' : `busy (${HZ} full repaints/s)`}, ${q}`;
        await failsafe(`recording, ${label}`, async () => {
          const sock = net.connect({ host: '127.0.0.1', port: vnc.port });
          let wire = 0;
          sock.on('data', (b: Buffer) => (wire += b.length));
          const jpeg = GATEWAY_JPEG_LEVEL[q];
          const rfb = await connectRfb(sock, { password: vnc.password, autoRequest: true, ...(jpeg !== undefined ? { jpegQuality: jpeg } : {}) });
          cleanups.push(() => rfb.close());
          const v = view(vncUrl(q));
          await v.waitFor(() => v.firstFrameMs !== undefined && v.session !== undefined, 'the first frame');
          const file = join(gwDir, 'recordings', `${v.session!.id}.guac`);
          await sleep(2000);
          const size = () => (existsSync(file) ? statSync(file).size : 0);
          const s0 = size();
          const w0 = wire;
          const f0 = v.frames;
          const t0 = performance.now();
          await sleep(REC_SECONDS * 1000);
          if (v.ended) throw new Error(`the session ended during the window: ${v.ended.message}`);
          const secs = (performance.now() - t0) / 1000;
          const s1 = size();
          const w1 = wire;
          const frames = v.frames - f0;
          rfb.close();
          await v.close();
          await quiet();
          const total = size();
          const perHour = ((s1 - s0) / secs) * 3600;
          const wirePerHour = ((w1 - w0) / secs) * 3600;
          console.log(
            `  ${label.padEnd(40)} .guac ${gbh(perHour).padStart(10)}   raw RFB stream ${gbh(wirePerHour).padStart(10)}   ` +
              `ratio .guac/raw framebuffer ${(perHour / rawPerHour).toPrecision(2)}x   .guac/RFB stream ${x2(perHour, wirePerHour)}   (${(frames / secs).toFixed(1)} frames/s; sealed file ${mib(total)})`,
          );
        });
      }
      await loadOn.stop();
      busy = undefined;
    }
    console.log(`  load ${load()}`);
  }
  // ------------------------------------------------------------------------------------------
  if (ONLY.has('png')) {
    // Why the busy screen costs so many bytes: one frame of it, captured with the gateway's RFB
    // client, encoded the way the gateway does (256x256 tiles, encodePng's defaults) and with
    // other zlib settings, against the same frame as Xvnc sends it with lossless Tight.
    const loadOn = await startBusy();
    const sock = net.connect({ host: '127.0.0.1', port: vnc.port });
    let wire = 0;
    sock.on('data', (b: Buffer) => (wire += b.length));
    // No cursor pseudo-encoding: the answer to the one full request is then the whole screen.
    const rfb = await connectRfb(sock, { password: vnc.password, autoRequest: false, cursor: false, encodings: ['tight', 'zrle', 'raw'] });
    cleanups.push(() => rfb.close());
    await sleep(200);
    const w0 = wire;
    const full = fullFrame(rfb);
    rfb.requestUpdate(false);
    await full;
    const tight = wire - w0;
    const fb = new Uint8Array(rfb.framebuffer);
    rfb.close();
    await loadOn.stop();
    busy = undefined;
    const d = new DirtyRegion(W, H);
    d.addAll();
    const tiles = d.take(TILE_SIZE);
    console.log(`\n5. One busy-screen frame (${tiles.length} tiles of ${TILE_SIZE}): lossless Tight from Xvnc ${(tight / 1024).toFixed(0)} KiB (baseline); PNG bytes (before base64) and encode time, median of ${RUNS}; load ${load()}`);
    const variants: [string, PngOptions][] = [
      [`gateway default (palette, level ${PNG_DEFAULTS.level}, ${PNG_DEFAULTS.strategy === zlibConstants.Z_RLE ? 'Z_RLE' : `strategy ${PNG_DEFAULTS.strategy}`})`, {}],
      ['RGB only, level 1, filter none (before)', { palette: false, level: 1, strategy: zlibConstants.Z_DEFAULT_STRATEGY, filter: 'none' }],
      ['RGB only, level 1, filter auto', { palette: false, level: 1, strategy: zlibConstants.Z_DEFAULT_STRATEGY, filter: 'auto' }],
      ['palette, level 6', { level: 6, strategy: zlibConstants.Z_DEFAULT_STRATEGY }],
    ];
    for (const [label, o] of variants) {
      const times: number[] = [];
      let bytes = 0;
      for (let k = 0; k < RUNS; k++) {
        const t0 = performance.now();
        bytes = 0;
        for (const t of tiles) bytes += encodePng(fb, W, t.x, t.y, t.w, t.h, o).length;
        times.push(performance.now() - t0);
      }
      console.log(`  ${label.padEnd(44)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB  ${x2(bytes, tight).padStart(7)} Tight   ${median(times).toFixed(1).padStart(6)} ms/frame (one thread)`);
    }
  }
} finally {
  await cleanup();
}

// ------------------------------------------------------------------------------------------------

interface Window {
  fps: number;
  bps: number;
  cpu: Record<string, number>;
  /** This process (the load generator and clients), % of one core. */
  clientCpu: number;
}

/** Counts over SECONDS: frames/s and bytes/s from `read`, CPU % of each pid, this process's CPU %. */
async function measureWindow(read: () => { frames: number; bytes: number }, pids: Record<string, number>): Promise<Window> {
  const a = read();
  const meters = Object.entries(pids).map(([k, pid]) => [k, cpuMeter(pid)] as const);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const secs = (performance.now() - t0) / 1000;
  const b = read();
  const c = process.cpuUsage(c0);
  return {
    fps: (b.frames - a.frames) / secs,
    bps: (b.bytes - a.bytes) / secs,
    cpu: Object.fromEntries(meters.map(([k, m]) => [k, m.stop()])),
    clientCpu: ((c.user + c.system) / 1e6 / secs) * 100,
  };
}

/** RSS as the median of five samples a second apart (one sample is noisy: GC timing). */
async function steadyRss(pid: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    xs.push(rssBytes(pid));
    await sleep(1000);
  }
  return median(xs);
}

/** bench/lib/ws-tcp-proxy.ts as its own process, relaying to 127.0.0.1:<port>. */
async function startProxy(port: number): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const script = fileURLToPath(new URL('./lib/ws-tcp-proxy.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, '127.0.0.1', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const listening = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the relay exited with ${code}`)));
  });
  return {
    port: listening,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
