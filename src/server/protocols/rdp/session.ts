/**
 * One brokered RDP session = a private TigerVNC Xvnc + FreeRDP's xfreerdp drawing into it
 * full screen. The gateway's RFB client reads the Xvnc over a Unix socket; the user never talks
 * RDP and never sees the credential.
 *
 *   1. probe the server (X.224 + TLS, no credential) → certificate SHA-256; refuse a pin mismatch
 *   2. <runtimeDir>/<id>/ (0700, owned by the session user): Xauthority, home/, vnc.sock
 *   3. Xvnc :N -rfbunixpath vnc.sock -rfbunixmode 0600 -rfbport -1 -nolisten tcp -nolisten local
 *   4. xfreerdp /from-stdin:force (password on stdin only) /cert:deny,fingerprint:sha256:<probe>
 *   5. resolved once FreeRDP reached CONNECTION_STATE_ACTIVE and a non-black pixel is on the Xvnc
 *
 * Both processes run as `portcullis-rdp` when the gateway is root, each in its own process group,
 * and die together: close(), abort, timeout, or the death of either one kills both (SIGTERM, then
 * SIGKILL after a grace period) and removes the session directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConnectError, type ConnectFailure } from '../types.js';
import { absorbClientLine, type ClientFacts, mapClientExit } from './exit.js';
import { fingerprintsEqual, normalizeCertFingerprint, probeRdpCertificate, type RdpProbeResult, type RdpSecurity } from './probe.js';
import { type RunAs, sessionRunAs } from './user.js';
import { DEFAULT_DISPLAY_RANGE, readRfbBanner, releaseDisplay, reserveDisplay, waitForNonBlack, writeXauthority } from './xserver.js';

const CHILD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_TIMEOUT_MS = 20_000;
const KILL_GRACE_MS = 1500;
/** After ACTIVE, how long to wait for a first non-black pixel before resolving anyway. */
const FIRST_PIXELS_GRACE_MS = 5000;
const MAX_DIM = 8192;

export interface RdpDisplayOptions {
  host: string;
  port: number;
  username: string;
  domain?: string;
  /** revealed from the vault for this one connection; goes to xfreerdp's stdin only */
  password: string;
  width: number;
  height: number;
  /** parent of the per-session directories, e.g. <dataDir>/run/rdp; created (0711) if missing */
  runtimeDir: string;
  /** certificate SHA-256 pinned for this asset (any common hex spelling); undefined on first use */
  pinnedCertSha256?: string;
  /** connect + login + first pixels (default 20 s) */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** 'auto' (default): the server chooses NLA or TLS; 'nla'/'tls' force one; 'rdp': legacy, unpinned */
  security?: RdpSecurity;
  /** X display numbers to use (default 300-899) */
  displayRange?: readonly [number, number];
  /** name shown as the VNC desktop name */
  desktopName?: string;
  /** system user for the processes when running as root (default portcullis-rdp) */
  systemUser?: string;
}

export interface RdpEndInfo {
  how: 'closed' | 'error';
  failure?: ConnectFailure;
  message: string;
  /** xfreerdp's exit code, when it exited by itself */
  exitCode?: number;
}

export interface RdpDisplay {
  /** the private Xvnc's RFB Unix socket (mode 0600; security type None) */
  socketPath: string;
  /** the X display number of the private Xvnc */
  display: number;
  /** SHA-256 of the server certificate FreeRDP was allowed to accept ("AB:CD:..."); '' for 'rdp' */
  certSha256: string;
  /** what the server selected: 'nla' means the credential was verified before the session came up */
  security: 'nla' | 'tls' | 'rdp';
  /**
   * true when the server verified the credential before the desktop appeared (NLA). With TLS or
   * standard RDP security the server checks it after connecting, in its own logon UI, which
   * FreeRDP cannot observe (see docs/rdp.md).
   */
  credentialVerified: boolean;
  /** The current processes (xfreerdp changes with each reconnect). */
  readonly pids: { xvnc: number; xfreerdp: number };
  sessionDir: string;
  /** The desktop size xfreerdp was last started with. */
  readonly size: { width: number; height: number };
  /**
   * Reconnects at another size (the browser window changed): ends xfreerdp, lets `resizeScreen`
   * resize the private Xvnc (SetDesktopSize on the gateway's RFB link), then starts xfreerdp again
   * with the credential, pinned to the same certificate. Windows and xrdp put the user back into
   * the same desktop session. Resolves once the new connection is up; a failure ends the session
   * (ended resolves with the reason) and rejects. Calls are serialized.
   */
  reconnect(r: { width: number; height: number; password: string; resizeScreen: (width: number, height: number) => Promise<void> }): Promise<void>;
  /** ms from startRdpDisplay() to the first non-black pixel (or to ACTIVE + grace) */
  timings: { probeMs: number; xvncReadyMs: number; activeMs: number; firstPixelsMs: number | undefined };
  /** Kills both processes (process groups; SIGTERM, then SIGKILL) and removes the session dir. Idempotent. */
  close(reason?: string): Promise<void>;
  ended: Promise<RdpEndInfo>;
}

function abortError(signal: AbortSignal): Error {
  const err = new Error('RDP connect aborted') as Error & { code: string; cause?: unknown };
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  if (signal.reason !== undefined) err.cause = signal.reason;
  return err;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function clampDim(v: number, what: string): number {
  if (!Number.isFinite(v) || v < 200 || v > MAX_DIM) throw new RangeError(`RDP ${what} ${v} outside 200..${MAX_DIM}`);
  return Math.round(v / 2) * 2; // FreeRDP/Xvnc prefer even sizes
}

function validate(opts: RdpDisplayOptions): void {
  if (!/^[A-Za-z0-9._:[\]-]{1,253}$/.test(opts.host) || opts.host.startsWith('-') || opts.host.startsWith('/')) {
    throw new ConnectError('unreachable', `invalid RDP host name ${JSON.stringify(opts.host)}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new ConnectError('unreachable', `invalid RDP port ${opts.port}`);
  const bad = /[\0\r\n]/;
  if (!opts.username || bad.test(opts.username) || (opts.domain !== undefined && bad.test(opts.domain))) {
    throw new ConnectError('auth_failed', 'the vaulted RDP user name or domain is empty or contains a line break');
  }
  if (bad.test(opts.password)) throw new ConnectError('auth_failed', 'the vaulted RDP password contains a line break or NUL, which FreeRDP cannot read from stdin');
  if (opts.pinnedCertSha256 !== undefined && !normalizeCertFingerprint(opts.pinnedCertSha256)) {
    throw new ConnectError('host_key_mismatch', `the pinned RDP certificate fingerprint is malformed: ${JSON.stringify(opts.pinnedCertSha256)}`);
  }
}

/**
 * Every ancestor of `dir` must be searchable by the session user, or Xvnc cannot create its
 * socket there. We do not change other people's directory modes: we say what to do.
 */
function assertReachable(dir: string, who: RunAs | undefined): void {
  if (!who) return;
  let cur = path.resolve(dir);
  const blocked: string[] = [];
  for (;;) {
    const st = statSync(cur);
    const mode = st.mode;
    const ok = st.uid === who.uid ? (mode & 0o100) !== 0 : st.gid === who.gid ? (mode & 0o010) !== 0 : (mode & 0o001) !== 0;
    if (!ok) blocked.push(cur);
    const parent = path.dirname(cur);
    if (parent === cur) break;
    cur = parent;
  }
  if (blocked.length > 0) {
    throw new Error(
      `RDP sessions run as ${who.name}, which cannot reach ${dir}: ${blocked.join(', ')} ` +
        `must be searchable by it (e.g. chmod o+x, or a runtime dir outside them)`,
    );
  }
}

/** Creates runtimeDir (root-owned 0711: others may traverse, not list) if missing. */
function ensureRuntimeDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`RDP runtime dir ${dir} is not a directory`);
  if (typeof process.getuid === 'function' && st.uid === process.getuid() && (st.mode & 0o022) !== 0) chmodSync(dir, 0o711);
}

/** Last lines of a child's output, for error messages (never contains the password: it is only on stdin). */
class Tail {
  private lines: string[] = [];
  private partial = '';
  constructor(
    private readonly max: number,
    private readonly onLine?: (line: string) => void,
  ) {}
  push(d: Buffer): void {
    const text = this.partial + d.toString('utf8');
    const parts = text.split('\n');
    this.partial = (parts.pop() ?? '').slice(-4096);
    for (const raw of parts) this.line(raw);
  }
  private line(raw: string): void {
    const l = raw.replace(/^(Password: )+/, '').replace(/\r$/, '');
    if (l.trim() === '') return;
    this.lines.push(l.length > 400 ? `${l.slice(0, 400)}…` : l);
    if (this.lines.length > this.max) this.lines.shift();
    this.onLine?.(l);
  }
  text(): string {
    return this.lines.join('\n');
  }
}

interface Proc {
  child: ChildProcess;
  pid: number;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  exited: Promise<void>;
}

function startProc(cmd: string, args: string[], env: Record<string, string>, who: RunAs | undefined, cwd: string, tail: Tail, stdin: boolean): Proc {
  const child = spawn(cmd, args, {
    cwd,
    env: { PATH: CHILD_PATH, ...env },
    detached: true, // own session and process group: killed as a group
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    ...(who ? { uid: who.uid, gid: who.gid } : {}),
  });
  let resolveExit: () => void = () => {};
  const exited = new Promise<void>((r) => {
    resolveExit = r;
  });
  const p: Proc = { child, pid: child.pid ?? -1, exit: undefined, exited };
  child.stdout?.on('data', (d: Buffer) => tail.push(d));
  child.stderr?.on('data', (d: Buffer) => tail.push(d));
  child.on('error', () => {
    p.exit ??= { code: null, signal: null };
    resolveExit();
  });
  child.on('exit', (code, signal) => {
    p.exit = { code, signal };
    resolveExit();
  });
  return p;
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, sig);
  } catch {
    /* already gone */
  }
}

async function stopProc(p: Proc | undefined): Promise<void> {
  if (!p || p.pid <= 0) return;
  if (!p.exit) {
    killGroup(p.pid, 'SIGTERM');
    const timer = sleep(KILL_GRACE_MS).then(() => 'late' as const);
    if ((await Promise.race([p.exited.then(() => 'done' as const), timer])) === 'late') {
      killGroup(p.pid, 'SIGKILL');
      await p.exited;
    }
  }
  // stragglers of the group (none expected: neither program forks)
  killGroup(p.pid, 'SIGKILL');
}

/** Removes the X lock and socket a SIGKILLed Xvnc left behind, only if that Xvnc was ours. */
function cleanupXFiles(display: number, xvncPid: number): void {
  const lock = `/tmp/.X${display}-lock`;
  try {
    if (Number(readFileSync(lock, 'utf8').trim()) !== xvncPid) return;
  } catch {
    return;
  }
  rmSync(lock, { force: true });
  rmSync(`/tmp/.X11-unix/X${display}`, { force: true });
}

function securityArgs(security: RdpSecurity): string[] {
  switch (security) {
    case 'nla':
      return ['/sec:nla'];
    case 'tls':
      return ['/sec:tls'];
    case 'rdp':
      return ['/sec:rdp'];
    default:
      return ['-sec-rdp']; // auto: NLA or TLS, never fall back to unauthenticated legacy security
  }
}

/** Starts the private Xvnc + xfreerdp pair for one session; see the file comment. */
export async function startRdpDisplay(opts: RdpDisplayOptions): Promise<RdpDisplay> {
  const t0 = Date.now();
  const security = opts.security ?? 'auto';
  validate(opts);
  const width = clampDim(opts.width, 'width');
  const height = clampDim(opts.height, 'height');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = t0 + timeoutMs;
  const signal = opts.signal;
  if (signal?.aborted) throw abortError(signal);

  const who = await sessionRunAs(opts.systemUser);
  ensureRuntimeDir(opts.runtimeDir);
  assertReachable(opts.runtimeDir, who);

  // 1. certificate (unless legacy RDP security, which has no TLS certificate)
  let certSha256 = '';
  let selected: 'nla' | 'tls' | 'rdp' = 'rdp';
  if (security === 'rdp') {
    if (opts.pinnedCertSha256) throw new ConnectError('protocol', 'standard RDP security has no TLS certificate: it cannot honour a pinned certificate');
  } else {
    let probe: RdpProbeResult;
    try {
      probe = await probeRdpCertificate(opts.host, opts.port, { timeoutMs: Math.max(1, deadline - Date.now()), signal, security });
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      throw e;
    }
    certSha256 = probe.certSha256;
    selected = probe.selectedProtocol;
    if (opts.pinnedCertSha256 && !fingerprintsEqual(opts.pinnedCertSha256, certSha256)) {
      throw new ConnectError(
        'host_key_mismatch',
        `the RDP server ${opts.host}:${opts.port} presented certificate SHA-256 ${certSha256} (${probe.certificate.subject}), ` +
          `but ${normalizeCertFingerprint(opts.pinnedCertSha256)} is pinned for this asset; refusing to send the credential`,
        { hostKeyFingerprint: certSha256 },
      );
    }
  }
  const probeMs = Date.now() - t0;

  // 2. session directory
  const id = randomBytes(8).toString('hex');
  const sessionDir = path.join(opts.runtimeDir, `s-${id}`);
  const home = path.join(sessionDir, 'home');
  const socketPath = path.join(sessionDir, 'vnc.sock');
  const xauthority = path.join(sessionDir, 'Xauthority');
  mkdirSync(sessionDir, { mode: 0o700 });
  mkdirSync(home, { mode: 0o700 });

  let display = -1;
  let xvnc: Proc | undefined;
  /** The xfreerdp now running (replaced by reconnect()). */
  let client: Client | undefined;
  const xvncTail = new Tail(20);

  let closing: Promise<void> | undefined;
  let endInfo: RdpEndInfo | undefined;
  let resolveEnded: (e: RdpEndInfo) => void = () => {};
  const ended = new Promise<RdpEndInfo>((r) => {
    resolveEnded = r;
  });
  const teardown = (info: RdpEndInfo): Promise<void> => {
    endInfo ??= info;
    closing ??= (async () => {
      await Promise.all([stopProc(client?.proc), stopProc(xvnc)]);
      if (display >= 0 && xvnc) cleanupXFiles(display, xvnc.pid);
      if (display >= 0) releaseDisplay(display);
      rmSync(sessionDir, { recursive: true, force: true });
      resolveEnded(endInfo as RdpEndInfo);
    })();
    return closing;
  };

  try {
    if (who) {
      for (const p of [sessionDir, home]) chownSync(p, who.uid, who.gid);
    }

    // 3. Xvnc (a concurrent server elsewhere may grab the same number: retry with another)
    let xvncReadyMs = 0;
    for (let attempt = 0; ; attempt++) {
      display = reserveDisplay(opts.displayRange ?? DEFAULT_DISPLAY_RANGE);
      rmSync(xauthority, { force: true });
      writeXauthority(xauthority, display);
      if (who) chownSync(xauthority, who.uid, who.gid);
      const desktop = (opts.desktopName ?? `portcullis-rdp-${id}`).replace(/[^\w.@+-]/g, '_').slice(0, 64);
      xvnc = startProc(
        'Xvnc',
        [
          `:${display}`,
          '-geometry', `${width}x${height}`,
          '-depth', '24',
          '-rfbunixpath', socketPath,
          '-rfbunixmode', '0600',
          '-rfbport', '-1',
          '-SecurityTypes', 'None',
          '-nolisten', 'tcp',
          '-nolisten', 'local',
          '-auth', xauthority,
          '-desktop', desktop,
        ],
        { HOME: home, LANG: 'C.UTF-8' },
        who,
        sessionDir,
        xvncTail,
        false,
      );
      const ready = await waitForXvnc(xvnc, socketPath, deadline, signal);
      if (ready === 'ok') {
        xvncReadyMs = Date.now() - t0;
        break;
      }
      const log = xvncTail.text();
      await stopProc(xvnc);
      cleanupXFiles(display, xvnc.pid);
      releaseDisplay(display);
      if (ready === 'aborted') throw abortError(signal as AbortSignal);
      if (ready === 'timeout') throw new ConnectError('timeout', `the private Xvnc did not start within ${timeoutMs} ms`);
      if (attempt < 3 && /already active|server already running|cannot establish any listening/i.test(log)) continue;
      throw new Error(`the private Xvnc :${display} failed to start: ${log.split('\n').slice(-3).join(' | ') || 'no output'}`);
    }

    // 4. xfreerdp
    const xvncProc = xvnc as Proc;
    const launch = (w: number, h: number, password: string): Client =>
      startClient({ opts, security, certSha256, width: w, height: h, password, display, xauthority, home, sessionDir, who });
    const comeUp = async (c: Client, deadlineAt: number, sig: AbortSignal | undefined): Promise<UpResult> =>
      waitForUp({ client: c.proc, xvnc: xvncProc, facts: c.facts, socketPath, deadline: deadlineAt, signal: sig, setProgress: (f) => (c.onProgress = f) });
    const failedUp = (c: Client, info: RdpEndInfo): ConnectError => {
      const detail = c.tail.text().split('\n').filter((l) => /ERROR|WARN/.test(l)).slice(-2).join(' | ');
      return new ConnectError(info.failure ?? 'protocol', detail && info.failure !== 'auth_failed' ? `${info.message} [${detail}]` : info.message, certSha256 ? { hostKeyFingerprint: certSha256 } : undefined);
    };
    client = launch(width, height, opts.password);

    // 5. wait for ACTIVE, then first pixels
    const up = await comeUp(client, deadline, signal);
    if (up.kind !== 'up') {
      await teardown(up.info);
      if (up.kind === 'aborted') throw abortError(signal as AbortSignal);
      throw failedUp(client, up.info);
    }
    client.facts.wasUp = true;

    // supervision after up: either death ends both
    // (when Xvnc dies, xfreerdp follows within milliseconds with its own exit code: give Xvnc's
    // exit a moment to be seen so the cause is reported, not the consequence). A client replaced
    // by reconnect() is no longer watched.
    const supervise = (c: Client): void =>
      void Promise.race([c.proc.exited, xvncProc.exited]).then(async () => {
        await sleep(150);
        if (closing || client !== c) return;
        if (!xvncProc.exit) {
          const ex = c.proc.exit ?? { code: null, signal: null };
          const mapped = mapClientExit(ex.code, ex.signal, c.facts);
          void teardown({ ...mapped, ...(ex.code !== null ? { exitCode: ex.code } : {}) });
        } else {
          void teardown({ how: 'error', message: `the private Xvnc of the RDP session died (${xvncProc.exit?.signal ?? `exit code ${xvncProc.exit?.code}`})` });
        }
      });
    supervise(client);
    const onAbort = (): void => void teardown({ how: 'closed', message: 'RDP session aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    void ended.then(() => signal?.removeEventListener('abort', onAbort));

    let size = { width, height };
    let reconnecting: Promise<void> = Promise.resolve();
    const reconnectOnce = async (r: Parameters<RdpDisplay['reconnect']>[0]): Promise<void> => {
      const w = clampDim(r.width, 'width');
      const h = clampDim(r.height, 'height');
      if (/[\0\r\n]/.test(r.password)) throw new ConnectError('auth_failed', 'the vaulted RDP password contains a line break or NUL, which FreeRDP cannot read from stdin');
      if (closing) throw new Error('the RDP session has ended');
      if (w === size.width && h === size.height) return;
      const old = client;
      client = undefined; // its exit is expected now
      await stopProc(old?.proc);
      if (closing) throw new Error('the RDP session has ended');
      let resizeError: unknown;
      try {
        await r.resizeScreen(w, h);
        size = { width: w, height: h };
      } catch (e) {
        resizeError = e; // start again at the old size, then report it
      }
      if (closing) throw new Error('the RDP session has ended');
      const next = launch(size.width, size.height, r.password);
      client = next;
      const again = await comeUp(next, Date.now() + timeoutMs, undefined);
      if (again.kind !== 'up') {
        await teardown({ ...again.info, message: `the RDP server did not take the reconnect at ${size.width}x${size.height}: ${again.info.message}` });
        throw failedUp(next, again.info);
      }
      next.facts.wasUp = true;
      supervise(next);
      if (resizeError) throw resizeError;
    };

    return {
      socketPath,
      display,
      certSha256,
      security: security === 'rdp' ? 'rdp' : selected,
      credentialVerified: selected === 'nla' && security !== 'rdp',
      get pids() {
        return { xvnc: xvncProc.pid, xfreerdp: client?.proc.pid ?? -1 };
      },
      sessionDir,
      get size() {
        return { ...size };
      },
      reconnect(r) {
        const run = reconnecting.then(() => reconnectOnce(r));
        reconnecting = run.catch(() => {});
        return run;
      },
      timings: { probeMs, xvncReadyMs, activeMs: up.activeMs - t0, firstPixelsMs: up.firstPixelsAt === undefined ? undefined : up.firstPixelsAt - t0 },
      close: (reason?: string) => teardown({ how: 'closed', message: reason ?? 'RDP session closed by the gateway' }),
      ended,
    };
  } catch (e) {
    await teardown({ how: 'error', message: e instanceof Error ? e.message : String(e) });
    throw e;
  }
}

/** One xfreerdp run: its process, what its output told, and its last lines. */
interface Client {
  proc: Proc;
  facts: ClientFacts;
  tail: Tail;
  onProgress: () => void;
}

/** Starts xfreerdp full screen on the private Xvnc; the password goes to its stdin only. */
function startClient(a: {
  opts: RdpDisplayOptions;
  security: RdpSecurity;
  certSha256: string;
  width: number;
  height: number;
  password: string;
  display: number;
  xauthority: string;
  home: string;
  sessionDir: string;
  who: RunAs | undefined;
}): Client {
  const { opts, security } = a;
  const facts: ClientFacts = { state: 'INITIAL', errors: [], certRejected: false, wasUp: false };
  // Lines arrive once the process runs, after `c` exists.
  const tail = new Tail(40, (line) => {
    absorbClientLine(line, facts);
    c.onProgress();
  });
  const args = [
    '-oL', '-eL', 'xfreerdp', // stdbuf: line-buffered, so state lines arrive as they happen
    `/v:${opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host}:${opts.port}`,
    `/u:${opts.username}`,
    ...(opts.domain ? [`/d:${opts.domain}`] : []),
    '/from-stdin:force',
    ...(security === 'rdp' ? ['/cert:ignore'] : [`/cert:deny,fingerprint:sha256:${a.certSha256}`]),
    ...securityArgs(security),
    '/f',
    `/size:${a.width}x${a.height}`,
    '-decorations',
    '-clipboard',
    '-grab-keyboard',
    '/audio-mode:2',
    '/log-level:WARN',
    '/log-filters:com.freerdp.core.connection:DEBUG',
  ];
  const proc = startProc(
    'stdbuf',
    args,
    { HOME: a.home, DISPLAY: `:${a.display}`, XAUTHORITY: a.xauthority, LANG: 'C.UTF-8', XDG_CONFIG_HOME: path.join(a.home, '.config') },
    a.who,
    a.sessionDir,
    tail,
    true,
  );
  const c: Client = { proc, facts, tail, onProgress: () => {} };
  c.proc.child.stdin?.on('error', () => {}); // it may exit before reading
  c.proc.child.stdin?.end(`${a.password}\n`);
  return c;
}

async function waitForXvnc(p: Proc, socketPath: string, deadline: number, signal: AbortSignal | undefined): Promise<'ok' | 'exited' | 'timeout' | 'aborted'> {
  for (;;) {
    if (signal?.aborted) return 'aborted';
    if (p.exit) return 'exited';
    if (Date.now() > deadline) return 'timeout';
    try {
      const banner = await readRfbBanner(socketPath, 1000);
      if (banner === 'RFB 003.008\n') return 'ok';
    } catch {
      /* not yet */
    }
    await sleep(20);
  }
}

type UpResult =
  | { kind: 'up'; activeMs: number; firstPixelsAt: number | undefined }
  | { kind: 'failed' | 'aborted'; info: RdpEndInfo };

async function waitForUp(a: {
  client: Proc;
  xvnc: Proc;
  facts: ClientFacts;
  socketPath: string;
  deadline: number;
  signal: AbortSignal | undefined;
  setProgress: (f: () => void) => void;
}): Promise<UpResult> {
  const { client, xvnc, facts, signal } = a;
  // Phase A: until FreeRDP logs ACTIVE (or something dies / times out / aborts)
  const phaseA = await new Promise<'active' | 'client' | 'xvnc' | 'timeout' | 'aborted'>((resolve) => {
    const check = (): void => {
      if (facts.state === 'ACTIVE') return done('active');
    };
    const done = (v: 'active' | 'client' | 'xvnc' | 'timeout' | 'aborted'): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      a.setProgress(() => {});
      resolve(v);
    };
    const onAbort = (): void => done('aborted');
    const timer = setTimeout(() => done('timeout'), Math.max(0, a.deadline - Date.now()));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) return done('aborted');
    a.setProgress(check);
    // let pending output be parsed before judging an exit: 'exit' may precede the last 'data'
    void client.exited.then(() => setTimeout(() => done('client'), 50));
    void xvnc.exited.then(() => done('xvnc'));
    check();
  });
  const activeMs = Date.now();
  if (phaseA !== 'active') return failure(phaseA, a);

  // Phase B: first non-black pixel, bounded by a grace period; a death or abort still fails
  let stopPeek: () => void = () => {};
  const stop = new Promise<void>((r) => {
    stopPeek = r;
  });
  const grace = Math.max(0, Math.min(FIRST_PIXELS_GRACE_MS, a.deadline - Date.now()));
  const graceTimer = setTimeout(stopPeek, grace);
  const onAbort = (): void => stopPeek();
  signal?.addEventListener('abort', onAbort, { once: true });
  void client.exited.then(stopPeek);
  void xvnc.exited.then(stopPeek);
  const drawn = await waitForNonBlack(a.socketPath, stop);
  clearTimeout(graceTimer);
  signal?.removeEventListener('abort', onAbort);
  stopPeek();
  if (signal?.aborted) return failure('aborted', a);
  if (client.exit) {
    await sleep(50);
    return failure('client', a);
  }
  if (xvnc.exit) return failure('xvnc', a);
  return { kind: 'up', activeMs, firstPixelsAt: drawn ? Date.now() : undefined };
}

function failure(why: 'client' | 'xvnc' | 'timeout' | 'aborted', a: { client: Proc; facts: ClientFacts; deadline: number }): UpResult {
  switch (why) {
    case 'aborted':
      return { kind: 'aborted', info: { how: 'closed', message: 'RDP connect aborted' } };
    case 'timeout': {
      const where = a.facts.state;
      const message =
        where === 'INITIAL' || where === 'NEGO'
          ? 'the RDP server did not answer in time'
          : where === 'NLA'
            ? 'the RDP server did not complete NLA authentication in time'
            : where === 'ACTIVE'
              ? 'the RDP desktop did not appear in time'
              : `the RDP connection did not become active in time (stuck in ${where})`;
      return { kind: 'failed', info: { how: 'error', failure: 'timeout', message } };
    }
    case 'xvnc':
      return { kind: 'failed', info: { how: 'error', failure: 'protocol', message: 'the private Xvnc died while connecting' } };
    case 'client': {
      const ex = a.client.exit ?? { code: null, signal: null };
      const mapped = mapClientExit(ex.code, ex.signal, a.facts);
      return { kind: 'failed', info: { ...mapped, ...(ex.code !== null ? { exitCode: ex.code } : {}) } };
    }
  }
}
