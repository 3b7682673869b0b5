/**
 * The RDP engine (src/server/protocols/rdp) against real servers: the lab's FreeRDP shadow server
 * (NLA) and an xrdp + xorgxrdp target without NLA (lab/xrdp.ts), on private ports (31950-31979),
 * display numbers and accounts. Every session's processes are checked by pid and by scanning
 * /proc for the session directory, so nothing may outlive close() or a failure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Lab, type LabTarget, removeLabAccount, startLab, startXrdpTarget, type XrdpTarget } from '../../lab/index.js';
import { lookupAccount } from '../../lab/account.js';
import { probeRdpCertificate, RDP_SYSTEM_USER, type RdpDisplay, type RdpDisplayOptions, startRdpDisplay } from '../../src/server/protocols/rdp/index.js';
import { ConnectError, type ConnectFailure } from '../../src/server/protocols/types.js';
import { connectRfb } from '../../src/server/protocols/vnc/client.js';

const LAB_PORTS = { ssh: 31951, telnet: 31952, vnc: 31953, rdp: 31950 };
const XRDP_PORT = 31955;
const CLOSED_PORT = 31969;
const SILENT_PORT = 31961;
const ACCOUNT = 'pcrdptest';
const XRDP_ACCOUNT = 'pcxrdptest';
const NLA_COLOUR = 0x8250df; // lab/rdp.ts background
const XRDP_COLOUR = 0x1a7f37; // lab/xrdp.ts background
const SIZE = { width: 1024, height: 768 };

// ------------------------------------------------------------------------------------------
// helpers

/**
 * Pixels close to `colour` (each channel within ±10: the shadow server's codecs are lossy) in an
 * xwd screenshot of the session's private Xvnc.
 */
function countColour(d: RdpDisplay, colour: number): number {
  const r = spawnSync('xwd', ['-root', '-silent', '-display', `:${d.display}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', XAUTHORITY: path.join(d.sessionDir, 'Xauthority') },
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `xwd failed: ${r.stderr?.toString()}`);
  const b = r.stdout;
  const u = (i: number): number => b.readUInt32BE(i * 4);
  const headerSize = u(0);
  const w = u(4);
  const h = u(5);
  const byteOrder = u(7);
  const bpp = u(11);
  const bpl = u(12);
  const ncolors = u(19);
  assert.equal(bpp, 32);
  const off = headerSize + ncolors * 12;
  let n = 0;
  const [cr, cg, cb] = [(colour >> 16) & 255, (colour >> 8) & 255, colour & 255];
  const near = (p: number): boolean =>
    Math.abs(((p >> 16) & 255) - cr) <= 10 && Math.abs(((p >> 8) & 255) - cg) <= 10 && Math.abs((p & 255) - cb) <= 10;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = byteOrder === 0 ? b.readUInt32LE(off + y * bpl + x * 4) : b.readUInt32BE(off + y * bpl + x * 4);
      if (near(p)) n++;
    }
  }
  return n;
}

async function waitForColour(d: RdpDisplay, colour: number, minPixels: number, ms = 8000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const n = countColour(d, colour);
    if (n >= minPixels || Date.now() - t0 > ms) return n;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

const alive = (pid: number): boolean => {
  const s = procState(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
};

/** Live processes whose command line mentions `needle`. */
function procsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle) && alive(Number(e))) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

function assertNothingLeft(d: RdpDisplay): void {
  assert.ok(!alive(d.pids.xvnc), `Xvnc ${d.pids.xvnc} still alive`);
  assert.ok(!alive(d.pids.xfreerdp), `xfreerdp ${d.pids.xfreerdp} still alive`);
  assert.deepEqual(procsMentioning(d.sessionDir), [], 'a process still mentions the session dir');
  assert.ok(!existsSync(d.sessionDir), 'session dir still exists');
  assert.ok(!existsSync(`/tmp/.X${d.display}-lock`), 'X lock file left behind');
}

async function expectFailure(p: Promise<unknown>, failure: ConnectFailure, re?: RegExp): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConnectError, `expected ConnectError, got ${String(e)}`);
    assert.equal(e.failure, failure, e.message);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected failure ${failure}`);
}

function uidOf(pid: number): number {
  const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]);
}

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

// ------------------------------------------------------------------------------------------

describe('RDP engine (private Xvnc + xfreerdp)', () => {
  let lab: Lab;
  let xrdp: XrdpTarget;
  let nla: LabTarget;
  let silent: net.Server;
  const sockets = new Set<net.Socket>();
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-rdp-'));
  chmodSync(dir, 0o711); // the session user must traverse to <dir>/run/rdp
  const runtimeDir = path.join(dir, 'run', 'rdp');
  const open: RdpDisplay[] = [];

  const opts = (t: { port: number; username?: string; password: string }, extra: Partial<RdpDisplayOptions> = {}): RdpDisplayOptions => ({
    host: '127.0.0.1',
    port: t.port,
    username: t.username ?? '',
    password: t.password,
    ...SIZE,
    runtimeDir,
    timeoutMs: 20_000,
    ...extra,
  });
  const start = async (o: RdpDisplayOptions): Promise<RdpDisplay> => {
    const d = await startRdpDisplay(o);
    open.push(d);
    return d;
  };
  const runtimeEmpty = (): void => {
    assert.deepEqual(existsSync(runtimeDir) ? readdirSync(runtimeDir) : [], [], 'a session dir was left in the runtime dir');
    assert.deepEqual(procsMentioning(runtimeDir), [], 'a process still mentions the runtime dir');
  };

  before(async () => {
    const [l, x] = await Promise.all([
      startLab({ dataDir: dir, ports: LAB_PORTS, displayBase: 260, account: ACCOUNT }),
      startXrdpTarget({ dataDir: dir, port: XRDP_PORT, account: XRDP_ACCOUNT, displayOffset: 940 }),
    ]);
    lab = l;
    xrdp = x;
    nla = lab.targets.find((t) => t.protocol === 'rdp') as LabTarget;
    silent = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => silent.listen(SILENT_PORT, '127.0.0.1', r));
  });

  after(async () => {
    await Promise.allSettled(open.map((d) => d.close('test end')));
    for (const s of sockets) s.destroy();
    silent?.close();
    await Promise.allSettled([lab?.stop(), xrdp?.stop()]);
    await removeLabAccount(ACCOUNT).catch(() => {});
    await removeLabAccount(XRDP_ACCOUNT).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  test('probe: learns the NLA server certificate without a credential', async () => {
    const p = await probeRdpCertificate('127.0.0.1', nla.port);
    assert.equal(p.selectedProtocol, 'nla');
    assert.match(p.certSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const x = await probeRdpCertificate('127.0.0.1', XRDP_PORT);
    assert.equal(x.selectedProtocol, 'tls');
    assert.equal(x.certSha256, xrdp.certSha256, 'probe fingerprint equals openssl x509 of the xrdp certificate');
    await expectFailure(probeRdpCertificate('127.0.0.1', nla.port, { security: 'tls' }), 'protocol', /requires NLA/);
  });

  test('NLA target: right password → desktop pixels, unprivileged, no secret in argv/env, close leaves nothing', async (t) => {
    const t0 = Date.now();
    const d = await start(opts(nla));
    const upMs = Date.now() - t0;
    assert.equal(d.security, 'nla');
    assert.equal(d.credentialVerified, true);
    assert.ok(d.timings.firstPixelsMs !== undefined, 'first pixels seen');

    // the lab desktop's background colour arrives through RDP onto the private Xvnc
    const n = await waitForColour(d, NLA_COLOUR, 10_000);
    assert.ok(n >= 10_000, `only ${n} pixels of #8250df`);

    // unprivileged processes, private files
    const user = lookupAccount(RDP_SYSTEM_USER);
    assert.ok(user, 'system user exists');
    assert.equal(user.shell, '/usr/sbin/nologin');
    for (const pid of [d.pids.xvnc, d.pids.xfreerdp]) assert.equal(uidOf(pid), user.uid, `pid ${pid} runs as ${RDP_SYSTEM_USER}`);
    const st = statSync(d.sessionDir);
    assert.equal(st.mode & 0o777, 0o700);
    assert.equal(st.uid, user.uid);
    assert.equal(statSync(d.socketPath).mode & 0o777, 0o600);
    assert.equal(statSync(path.join(d.sessionDir, 'Xauthority')).mode & 0o777, 0o600);
    // root (the gateway) still reads the RFB socket
    const banner = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ path: d.socketPath });
      s.once('data', (b: Buffer) => (s.destroy(), resolve(b.toString('latin1'))));
      s.once('error', reject);
    });
    assert.equal(banner, 'RFB 003.008\n');
    // no TCP listener, no abstract X socket
    assert.ok(!readFileSync('/proc/net/unix', 'utf8').includes(`@/tmp/.X11-unix/X${d.display}`), 'abstract X socket present');

    // the password is nowhere in argv or environment of either process
    for (const pid of [d.pids.xvnc, d.pids.xfreerdp]) {
      for (const f of ['cmdline', 'environ']) {
        const text = readFileSync(`/proc/${pid}/${f}`);
        assert.ok(!text.includes(Buffer.from(nla.password)), `password found in /proc/${pid}/${f}`);
      }
    }
    const cmd = readFileSync(`/proc/${d.pids.xfreerdp}/cmdline`, 'utf8').split('\0');
    assert.ok(cmd.includes('/from-stdin:force'));
    assert.ok(cmd.some((a) => a === `/cert:deny,fingerprint:sha256:${d.certSha256}`), 'certificate pinned');

    const rss = { xvnc: rssKb(d.pids.xvnc), xfreerdp: rssKb(d.pids.xfreerdp) };
    t.diagnostic(`up in ${upMs} ms; timings ${JSON.stringify(d.timings)}; RSS Xvnc ${rss.xvnc} kB + xfreerdp ${rss.xfreerdp} kB`);

    await d.close('done');
    const end = await d.ended;
    assert.equal(end.how, 'closed');
    assertNothingLeft(d);
    await d.close(); // idempotent
  });

  test('NLA target: wrong password → auth_failed quickly, nothing left', async () => {
    const t0 = Date.now();
    const e = await expectFailure(startRdpDisplay(opts({ ...nla, password: `${nla.password}x` })), 'auth_failed', /refused the vaulted credential/);
    assert.ok(Date.now() - t0 < 6000, `took ${Date.now() - t0} ms`);
    assert.ok(!e.message.includes(nla.password));
    runtimeEmpty();
  });

  test('pinning: matching pin connects; a different pin is refused before xfreerdp starts', async () => {
    const { certSha256 } = await probeRdpCertificate('127.0.0.1', nla.port);
    const d = await start(opts(nla, { pinnedCertSha256: certSha256.toLowerCase().replace(/:/g, '') }));
    assert.equal(d.certSha256, certSha256);
    await d.close();
    assertNothingLeft(d);

    const wrong = `${certSha256.slice(0, -2)}${certSha256.endsWith('00') ? '01' : '00'}`;
    const t0 = Date.now();
    const e = await expectFailure(startRdpDisplay(opts(nla, { pinnedCertSha256: wrong })), 'host_key_mismatch');
    assert.ok(e.message.includes(certSha256) && e.message.includes(wrong), e.message);
    assert.equal(e.detail?.hostKeyFingerprint, certSha256);
    assert.ok(Date.now() - t0 < 2000);
    runtimeEmpty();
  });

  test('FreeRDP itself refuses a certificate other than the one it was told to accept', async () => {
    // the pin handed to xfreerdp is what the probe saw; here the probe sees the xrdp server while
    // xfreerdp is pointed (by a race we simulate with a TCP relay switch) at the NLA server.
    const relay = net.createServer((c) => {
      const first = connections++ === 0;
      const up = net.connect({ host: '127.0.0.1', port: first ? XRDP_PORT : nla.port });
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    let connections = 0;
    await new Promise<void>((r) => relay.listen(31962, '127.0.0.1', r));
    try {
      await expectFailure(startRdpDisplay(opts({ ...nla, port: 31962 })), 'host_key_mismatch', /not the pinned one/);
    } finally {
      relay.close();
    }
    runtimeEmpty();
  });

  test('closed port → unreachable; silent server → timeout; nothing left', async () => {
    await expectFailure(startRdpDisplay(opts({ ...nla, port: CLOSED_PORT })), 'unreachable', /refused/);
    const t0 = Date.now();
    await expectFailure(startRdpDisplay(opts({ ...nla, port: SILENT_PORT }, { timeoutMs: 1500 })), 'timeout');
    assert.ok(Date.now() - t0 < 3000);
    runtimeEmpty();
  });

  test('abort during connect rejects with AbortError and leaves nothing', async () => {
    const ac = new AbortController();
    const p = startRdpDisplay(opts(nla, { signal: ac.signal }));
    setTimeout(() => ac.abort(), 600);
    await assert.rejects(p, (e: Error) => e.name === 'AbortError');
    runtimeEmpty();
  });

  test('either process dying ends the session and kills the other', async () => {
    const a = await start(opts(nla));
    process.kill(a.pids.xfreerdp, 'SIGKILL');
    const ea = await a.ended;
    assert.equal(ea.how, 'error');
    assertNothingLeft(a);

    const b = await start(opts(nla));
    process.kill(b.pids.xvnc, 'SIGKILL');
    const eb = await b.ended;
    assert.equal(eb.how, 'error');
    assert.match(eb.message, /Xvnc/);
    assertNothingLeft(b);

    const ac = new AbortController();
    const c = await start(opts(nla, { signal: ac.signal }));
    ac.abort();
    assert.equal((await c.ended).how, 'closed');
    assertNothingLeft(c);
  });

  test('TLS target without NLA (xrdp): right password → the xrdp desktop', async () => {
    const before = xrdp.sessionsStarted();
    const d = await start(opts(xrdp));
    assert.equal(d.security, 'tls');
    assert.equal(d.credentialVerified, false);
    assert.equal(d.certSha256, xrdp.certSha256);
    const n = await waitForColour(d, XRDP_COLOUR, 10_000, 10_000);
    assert.ok(n >= 10_000, `only ${n} pixels of the xrdp desktop colour`);
    assert.equal(xrdp.sessionsStarted(), before + 1);
    await d.close();
    assertNothingLeft(d);
  });

  test('xrdp: a reconnect at a new size resizes the private Xvnc and returns to the same xrdp session', async () => {
    const d = await start(opts(xrdp));
    assert.ok((await waitForColour(d, XRDP_COLOUR, 10_000, 10_000)) >= 10_000);
    const sessions = xrdp.sessionsStarted();
    const rfb = await connectRfb(net.connect(d.socketPath), { desktopResize: true, encodings: ['raw'] });
    try {
      for (let i = 0; i < 100 && !rfb.canResize; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(rfb.canResize, 'the private Xvnc accepts SetDesktopSize');
      const before = d.pids;
      const resized: string[] = [];
      rfb.on('resize', ({ width, height }) => resized.push(`${width}x${height}`));
      const t0 = Date.now();
      await d.reconnect({ width: 1280, height: 720, password: xrdp.password, resizeScreen: (w, h) => rfb.setDesktopSize(w, h) });
      console.log(`# reconnect at 1280x720 took ${Date.now() - t0} ms`);
      assert.deepEqual(resized, ['1280x720']);
      assert.deepEqual([rfb.width, rfb.height, d.size.width, d.size.height], [1280, 720, 1280, 720]);
      assert.equal(d.pids.xvnc, before.xvnc, 'the same Xvnc');
      assert.notEqual(d.pids.xfreerdp, before.xfreerdp, 'a new xfreerdp');
      assert.ok(!alive(before.xfreerdp), 'the old xfreerdp is gone');
      // xorgxrdp follows the new client size: the desktop fills the larger screen.
      const n = await waitForColour(d, XRDP_COLOUR, 0.8 * 1280 * 720, 10_000);
      assert.ok(n >= 0.8 * 1280 * 720, `${n} desktop pixels at 1280x720`);
      assert.equal(xrdp.sessionsStarted(), sessions, 'xrdp reconnected the existing session, started none');

      // When the screen cannot be resized, xfreerdp comes back at the old size and the error is reported.
      await assert.rejects(d.reconnect({ width: 800, height: 600, password: xrdp.password, resizeScreen: () => Promise.reject(new Error('no resize today')) }), /no resize today/);
      assert.deepEqual(d.size, { width: 1280, height: 720 });
      assert.ok((await waitForColour(d, XRDP_COLOUR, 0.8 * 1280 * 720, 10_000)) >= 0.8 * 1280 * 720);
      // Sizes out of range are refused before anything is stopped.
      const pid = d.pids.xfreerdp;
      await assert.rejects(d.reconnect({ width: 100, height: 100_000, password: xrdp.password, resizeScreen: (w, h) => rfb.setDesktopSize(w, h) }), RangeError);
      assert.equal(d.pids.xfreerdp, pid);
    } finally {
      rfb.close();
    }
    await d.close();
    assertNothingLeft(d);
  });

  test('TLS target without NLA (xrdp): wrong password is only visible server-side (documented)', async () => {
    // Without NLA the server checks the credential after the RDP connection is up; xrdp answers
    // with its "login failed" window and keeps the connection: FreeRDP cannot tell (docs/rdp.md).
    const failures = xrdp.authFailures();
    const d = await start(opts({ ...xrdp, password: 'not-the-password' }));
    assert.equal(d.credentialVerified, false);
    const t0 = Date.now();
    while (xrdp.authFailures() === failures && Date.now() - t0 < 8000) await new Promise((r) => setTimeout(r, 100));
    assert.equal(xrdp.authFailures(), failures + 1, 'sesman logged AUTHFAIL');
    assert.equal(countColour(d, XRDP_COLOUR), 0, 'no desktop behind a failed login');
    await d.close();
    assertNothingLeft(d);
  });

  test('the server ending the session (logoff) is a normal end, not a failure', async () => {
    const d = await start(opts(xrdp));
    await waitForColour(d, XRDP_COLOUR, 10_000, 10_000);
    // the xrdp session's only program is the panel: ending it logs the user off
    const panel = procsMentioning('.portcullis-xrdp-panel.txt').filter((pid) => uidOf(pid) === lookupAccount(XRDP_ACCOUNT)?.uid);
    assert.ok(panel.length > 0, 'xrdp session panel found');
    try {
      for (const pid of panel) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch (e) {
          // A process of the panel may be gone between listing and killing (a shell wrapper).
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
        }
      }
      const end = await d.ended;
      assert.equal(end.how, 'closed', end.message);
      assert.equal(end.failure, undefined);
      assert.equal(end.exitCode, 12);
      assertNothingLeft(d);
    } finally {
      // Whatever failed above, the next test starts from an empty runtime dir.
      await d.close();
    }
  });

  test('security forced to NLA against the TLS-only server → protocol / security negotiation failed', async () => {
    await expectFailure(startRdpDisplay(opts(xrdp, { security: 'nla' })), 'protocol', /security negotiation failed/);
    runtimeEmpty();
  });
});
