/**
 * Optional RDP target SCADA-05 *without* NLA: xrdp 0.9 + xorgxrdp, TLS only, authenticating a
 * local Unix account through PAM (xrdp-sesman). Not part of startLab(): the tests (and anyone
 * who wants a second RDP target) call startXrdpTarget().
 *
 * Everything lives in a private folder (<dataDir>/lab/xrdp: xrdp.ini, sesman.ini, TLS key and
 * certificate, logs), except:
 *   - the account (created like the lab's SSH/Telnet account, marked as the lab's) and its
 *     session script ~/.portcullis-xrdp-session.sh (sesman runs it as that user, who cannot
 *     read the 0700 lab folder);
 *   - xrdp-sesman's TCP port: xrdp 0.9 always reads it from /etc/xrdp/sesman.ini (ListenPort,
 *     3350 on Debian), whatever -c says, so only one such target runs per machine;
 *   - /run/xrdp (pid files, session sockets), as the packaged service would create it.
 *
 * Without NLA the credential is checked by xrdp after the RDP connection is up: a wrong password
 * shows xrdp's "login failed" log window instead of failing the connection. authFailures()
 * counts sesman's AUTHFAIL log lines so tests can tell.
 */
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, constants, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ensureLabAccount, lookupAccount, validateAccountName } from './account.js';
import { LAB_TAG, PLANT } from './context.js';
import { generatePassword } from './credentials.js';
import { assertPortFree, LabStartError, requireBinary, Supervisor, sleep, waitForListener } from './process.js';
import type { LabTarget } from './types.js';

export const XRDP_TARGET_NAME = 'SCADA-05';
export const XRDP_DEFAULT_PORT = 33891;
export const XRDP_DEFAULT_ACCOUNT = 'pcxrdp';
export const XRDP_DESKTOP_COLOUR = '#1a7f37';
/** xrdp-sesman port as read by xrdp from /etc/xrdp/sesman.ini (not configurable per instance). */
export const XRDP_SESMAN_PORT = 3350;

export interface StartXrdpOptions {
  dataDir: string;
  /** RDP port on 127.0.0.1 (default 33891) */
  port?: number;
  /** local Unix account that logs in (default 'pcxrdp'); created if missing, password reset */
  account?: string;
  /** X display numbers of xrdp sessions start here (default 940) */
  displayOffset?: number;
  readyTimeoutMs?: number;
  log?: (msg: string) => void;
}

export interface XrdpTarget extends LabTarget {
  /** SHA-256 of the TLS certificate ("AB:CD:..."), stable for one data dir */
  certSha256: string;
  /** failed PAM logins recorded by xrdp-sesman since start */
  authFailures(): number;
  /** sessions sesman started successfully since start */
  sessionsStarted(): number;
  pids(): number[];
  stop(): Promise<void>;
  readonly dir: string;
}

/** X.224 Connection Request offering TLS only: xrdp must select TLS (0x01). */
const X224_TLS_REQUEST = Buffer.from([
  0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00,
]);
const isTlsNegotiationResponse = (b: Buffer): boolean =>
  b.length >= 19 && b[0] === 0x03 && b[5] === 0xd0 && b[11] === 0x02 && b.readUInt32LE(15) === 0x01;

function xrdpIni(dir: string, port: number): string {
  return `; written by the Portcullis lab (lab/xrdp.ts)
[Globals]
ini_version=1
fork=true
port=tcp://127.0.0.1:${port}
use_vsock=false
tcp_nodelay=true
tcp_keepalive=true
security_layer=tls
crypt_level=high
certificate=${path.join(dir, 'cert.pem')}
key_file=${path.join(dir, 'key.pem')}
ssl_protocols=TLSv1.2, TLSv1.3
autorun=Xorg
allow_channels=true
allow_multimon=false
bitmap_cache=true
bitmap_compression=true
bulk_compression=true
max_bpp=32
new_cursors=true
use_fastpath=both

[Logging]
LogFile=${path.join(dir, 'xrdp.log')}
LogLevel=INFO
EnableSyslog=false

[Channels]
rdpdr=false
rdpsnd=false
drdynvc=true
cliprdr=false
rail=false
xrdpvr=false
tcutils=false

[Xorg]
name=Xorg
lib=libxup.so
username=ask
password=ask
ip=127.0.0.1
port=-1
code=20
`;
}

function sesmanIni(dir: string, sessionScript: string, displayOffset: number): string {
  return `; written by the Portcullis lab (lab/xrdp.ts)
[Globals]
ListenAddress=127.0.0.1
ListenPort=${XRDP_SESMAN_PORT}
EnableUserWindowManager=false
UserWindowManager=startwm.sh
DefaultWindowManager=${sessionScript}
ReconnectScript=${sessionScript}

[Security]
AllowRootLogin=false
MaxLoginRetry=4
AlwaysGroupCheck=false

[Sessions]
X11DisplayOffset=${displayOffset}
MaxSessions=10
KillDisconnected=true
DisconnectedTimeLimit=0
IdleTimeLimit=0
Policy=Default

[Logging]
LogFile=${path.join(dir, 'sesman.log')}
LogLevel=INFO
EnableSyslog=false

[Xorg]
param=/usr/lib/xorg/Xorg
param=-config
param=xrdp/xorg.conf
param=-noreset
param=-nolisten
param=tcp
param=-logfile
param=.xorgxrdp.%s.log

[Chansrv]
FuseMountName=thinclient_drives
FileUmask=077

[ChansrvLogging]
LogLevel=WARNING
EnableSyslog=false

[SessionVariables]
`;
}

/** Writes a file in the account's home without following links it may have planted. */
function writeUserFile(file: string, content: string, mode: number): void {
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, mode);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.nlink !== 1) throw new LabStartError(`lab: ${file} is not a plain regular file`);
    ftruncateSync(fd, 0);
    writeSync(fd, content, 0, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function countLines(file: string, re: RegExp): number {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => re.test(l)).length;
  } catch {
    return 0;
  }
}

export async function startXrdpTarget(opts: StartXrdpOptions): Promise<XrdpTarget> {
  const port = opts.port ?? XRDP_DEFAULT_PORT;
  const account = opts.account ?? XRDP_DEFAULT_ACCOUNT;
  const displayOffset = opts.displayOffset ?? 940;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const log = opts.log ?? (() => {});
  const label = `RDP target ${XRDP_TARGET_NAME} (xrdp)`;
  validateAccountName(account);
  const xrdp = requireBinary('xrdp');
  const sesman = requireBinary('xrdp-sesman');
  const openssl = requireBinary('openssl');
  if (!existsSync('/usr/lib/xorg/Xorg') || !existsSync('/etc/X11/xrdp/xorg.conf')) {
    throw new LabStartError(`${label}: xorgxrdp is not installed (see scripts/system-deps.sh)`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new LabStartError(`${label}: needs root (xrdp-sesman authenticates through PAM)`);

  await assertPortFree(port, label);
  await assertPortFree(XRDP_SESMAN_PORT, `${label} sesman`);
  await assertPortFree(XRDP_SESMAN_PORT, `${label} sesman`, '::1').catch((e: Error) => {
    if (/already in use/.test(e.message)) throw e; // no IPv6 at all is fine
  });

  const labDir = path.resolve(opts.dataDir, 'lab');
  const dir = path.join(labDir, 'xrdp');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  mkdirSync('/run/xrdp', { recursive: true, mode: 0o755 });
  mkdirSync('/run/xrdp/sockdir', { recursive: true, mode: 0o1777 });
  // mkdir's mode passes through the umask (1755): the session user must create its socket here.
  chmodSync('/run/xrdp/sockdir', 0o1777);

  const sup = new Supervisor(log);
  try {
    const password = generatePassword(20);
    const entry = await ensureLabAccount(sup, account, password);

    // TLS certificate: kept across restarts of one data dir, so a pin stays valid
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    if (!existsSync(cert) || !existsSync(key)) {
      await sup.runOk(
        openssl,
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', `/CN=${XRDP_TARGET_NAME}`, '-keyout', key, '-out', cert],
        { name: `${label} openssl` },
      );
    }
    const der = await sup.runOk(openssl, ['x509', '-in', cert, '-outform', 'DER'], { name: `${label} openssl x509` });
    const certSha256 = (createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g) ?? []).join(':');

    // the desktop of each session: solid colour + read-only panel, as the other lab desktops
    const panel = path.join(entry.home, '.portcullis-xrdp-panel.txt');
    const script = path.join(entry.home, '.portcullis-xrdp-session.sh');
    const lines = [
      `${XRDP_TARGET_NAME}  |  ${PLANT}  |  ${LAB_TAG}`,
      'Level 3 - Engineering workstation (RDP, TLS, no NLA)',
      '',
      'Project archive         ONLINE',
      'Line 1 PLC-01           RUNNING',
    ];
    writeUserFile(panel, `${lines.join('\n')}\n`, 0o644);
    const cols = Math.max(...lines.map((l) => l.length)) + 2;
    writeUserFile(
      script,
      [
        '#!/bin/sh',
        '# Written by the Portcullis demo lab (lab/xrdp.ts): the xrdp session of SCADA-05.',
        `xsetroot -solid '${XRDP_DESKTOP_COLOUR}' -cursor_name left_ptr`,
        `exec xterm -geometry ${cols}x${lines.length + 1}+120+110 -fa 'DejaVu Sans Mono' -fs 16 -bg '#0d1117' -fg '#e6edf3' -b 18 +sb ` +
          `-T '${XRDP_TARGET_NAME} ${PLANT}' -hold -e cat ${panel}`,
        '',
      ].join('\n'),
      0o755,
    );

    const xrdpConf = path.join(dir, 'xrdp.ini');
    const sesmanConf = path.join(dir, 'sesman.ini');
    writeFileSync(xrdpConf, xrdpIni(dir, port), { mode: 0o600 });
    writeFileSync(sesmanConf, sesmanIni(dir, script, displayOffset), { mode: 0o600 });
    const sesmanLog = path.join(dir, 'sesman.log');
    const startFailures = countLines(sesmanLog, /AUTHFAIL/);
    const startSessions = countLines(sesmanLog, /Session started successfully/);

    const env = { LANG: 'C.UTF-8' };
    const sesmanProc = sup.spawn(sesman, ['-n', '-c', sesmanConf], { name: `${label} xrdp-sesman`, logFile: path.join(dir, 'sesman.out'), env });
    const xrdpProc = sup.spawn(xrdp, ['-n', '-c', xrdpConf], { name: `${label} xrdp`, logFile: path.join(dir, 'xrdp.out'), env });
    await waitForListener({ label, port, timeoutMs: readyTimeoutMs, watch: [xrdpProc, sesmanProc], probe: { send: X224_TLS_REQUEST, accept: isTlsNegotiationResponse } });
    log(`${label} ready on 127.0.0.1:${port} (xrdp pid ${xrdpProc.pid}, sesman pid ${sesmanProc.pid}, displays from :${displayOffset})`);

    let stopping: Promise<void> | undefined;
    return {
      name: XRDP_TARGET_NAME,
      protocol: 'rdp',
      host: '127.0.0.1',
      port,
      username: account,
      password,
      purdueLevel: 3,
      description: 'Engineering workstation (xrdp + xorgxrdp, RDP over TLS without NLA)',
      certSha256,
      dir,
      authFailures: () => countLines(sesmanLog, /AUTHFAIL/) - startFailures,
      sessionsStarted: () => countLines(sesmanLog, /Session started successfully/) - startSessions,
      pids: () => sup.pids(),
      stop: () => {
        stopping ??= (async () => {
          await sup.stopAll();
          await killSessionLeftovers(entry.uid, dir);
        })();
        return stopping;
      },
    };
  } catch (e) {
    await sup.stopAll();
    const entry = lookupAccount(account);
    if (entry) await killSessionLeftovers(entry.uid, dir);
    throw e;
  }
}

/**
 * xrdp-sesman detaches each session (its own session leader, re-parented to init), so killing
 * sesman leaves the session's Xorg, window manager and chansrv running. They are found by owner
 * (the lab's dedicated account) and by the session process whose command line names our config.
 */
async function killSessionLeftovers(uid: number, dir: string): Promise<void> {
  const find = (): number[] => {
    const out: number[] = [];
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
      try {
        const status = readFileSync(`/proc/${e}/status`, 'utf8');
        if (/^State:\s+Z/m.test(status)) continue;
        const owner = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
        if (owner === uid || readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir)) out.push(Number(e));
      } catch {
        /* gone */
      }
    }
    return out;
  };
  const kill = (pids: number[], sig: NodeJS.Signals): void => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  };
  let left = find();
  if (left.length === 0) return;
  kill(left, 'SIGTERM');
  for (let i = 0; i < 30 && left.length > 0; i++) {
    await sleep(50);
    left = find();
  }
  kill(left, 'SIGKILL');
}
