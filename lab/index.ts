/**
 * The demo lab: real local targets on 127.0.0.1 for the demo and the tests.
 *
 *   PLC-01   ssh     OpenSSH sshd (own config)            level 1
 *   RTU-02   telnet  socat + inetutils telnetd + login    level 1
 *   HMI-03   vnc     TigerVNC Xvnc, VNC authentication    level 2
 *   SCADA-04 rdp     Xvfb + freerdp-shadow-cli, NLA       level 3
 *
 * Everything lives under <dataDir>/lab/ (configs, keys, logs, credentials.json), except the local
 * Unix account used by SSH and Telnet (see account.ts). See docs/lab.md.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_LAB_ACCOUNT, ensureLabAccount } from './account.js';
import type { TargetContext } from './context.js';
import { loadOrCreateCredentials } from './credentials.js';
import { labPrerequisites } from './prereq.js';
import { assertPortFree, LabStartError, Supervisor } from './process.js';
import { startRdp } from './rdp.js';
import { startSsh } from './ssh.js';
import { startTelnet } from './telnet.js';
import { DEFAULT_LAB_PORTS, type Lab, type LabPorts, type LabTarget, type StartLabOptions } from './types.js';
import { startVnc } from './vnc.js';
import { allocateDisplay, releaseDisplay } from './x11.js';

export { DEFAULT_LAB_ACCOUNT, removeLabAccount } from './account.js';
export { labPrerequisites } from './prereq.js';
export { LabStartError } from './process.js';
export { DEFAULT_LAB_PORTS } from './types.js';
export type { Lab, LabPorts, LabProtocol, LabTarget, StartLabOptions } from './types.js';
export { startXrdpTarget, type StartXrdpOptions, type XrdpTarget, XRDP_DESKTOP_COLOUR, XRDP_TARGET_NAME } from './xrdp.js';

const DEFAULT_DISPLAY_BASE = 50;
const DEFAULT_READY_TIMEOUT_MS = 20_000;
const STATE_FILE = 'processes.json';

function resolvePorts(partial: Partial<LabPorts> | undefined): LabPorts {
  const ports: LabPorts = { ...DEFAULT_LAB_PORTS, ...partial };
  const values = Object.entries(ports);
  for (const [name, port] of values) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LabStartError(`lab: invalid ${name} port ${port}`);
  }
  if (new Set(values.map(([, p]) => p)).size !== values.length) throw new LabStartError('lab: the four ports must differ');
  return ports;
}

/**
 * Kills what a previous run with this data dir left behind (e.g. the process was SIGKILLed),
 * identified by pid and start time, so a restart does not fail on busy ports.
 */
async function reapPreviousRun(labDir: string, log: (msg: string) => void): Promise<void> {
  const file = path.join(labDir, STATE_FILE);
  let records: unknown;
  try {
    records = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  const sup = new Supervisor(log);
  let adopted = 0;
  if (Array.isArray(records)) {
    for (const r of records as { pid?: unknown; starttime?: unknown }[]) {
      if (typeof r.pid === 'number' && typeof r.starttime === 'number' && sup.adopt(r.pid, r.starttime)) adopted++;
    }
  }
  if (adopted > 0) {
    log(`lab: stopping ${adopted} process tree(s) left by a previous run of ${labDir}`);
    await sup.stopAll(1500);
  }
  rmSync(file, { force: true });
}

export async function startLab(opts: StartLabOptions): Promise<Lab> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const ports = resolvePorts(opts.ports);
  const account = opts.account ?? DEFAULT_LAB_ACCOUNT;
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const labDir = path.resolve(opts.dataDir, 'lab');

  const missing = await labPrerequisites();
  if (missing.length > 0) {
    throw new LabStartError(`lab: missing prerequisites (run scripts/system-deps.sh as root):\n  ${missing.join('\n  ')}`);
  }
  mkdirSync(labDir, { recursive: true, mode: 0o700 });
  chmodSync(labDir, 0o700);
  await reapPreviousRun(labDir, log);

  const creds = loadOrCreateCredentials(labDir);
  const sup = new Supervisor(log);
  const base = opts.displayBase ?? DEFAULT_DISPLAY_BASE;
  const displays = { vnc: allocateDisplay(base), rdp: -1 };
  const releaseDisplays = (): void => {
    releaseDisplay(displays.vnc);
    if (displays.rdp >= 0) releaseDisplay(displays.rdp);
  };
  const stateFile = path.join(labDir, STATE_FILE);

  try {
    displays.rdp = allocateDisplay(base);
    // Fail fast, before creating anything, if a port is taken (e.g. a demo lab already runs).
    await Promise.all([
      assertPortFree(ports.ssh, 'SSH target'),
      assertPortFree(ports.telnet, 'Telnet target'),
      assertPortFree(ports.vnc, 'VNC target'),
      assertPortFree(ports.rdp, 'RDP target'),
    ]);
    await ensureLabAccount(sup, account, creds.unixPassword);

    const ctx = (protocol: keyof LabPorts): TargetContext => {
      const dir = path.join(labDir, protocol);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      return { sup, dir, port: ports[protocol], readyTimeoutMs, log };
    };
    const results = await Promise.allSettled([
      startSsh(ctx('ssh'), account, creds.unixPassword),
      startTelnet(ctx('telnet'), account, creds.unixPassword),
      startVnc(ctx('vnc'), displays.vnc, creds.vncPassword),
      startRdp(ctx('rdp'), displays.rdp, creds.rdpUsername, creds.rdpPassword),
    ]);
    writeFileSync(stateFile, `${JSON.stringify(sup.rootRecords(), null, 2)}\n`, { mode: 0o600 });
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length > 0) {
      const message = failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n\n');
      throw new LabStartError(`lab failed to start:\n${message}`);
    }
    const targets = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    log(`lab ready in ${Date.now() - t0} ms (${targets.map((t) => `${t.name} ${t.protocol}:${t.port}`).join(', ')})`);

    let stopping: Promise<void> | undefined;
    const lab: Lab = {
      targets,
      labDir,
      displays: { ...displays },
      pids: () => sup.pids(),
      stop: () => {
        stopping ??= (async () => {
          const t = Date.now();
          try {
            await sup.stopAll();
          } finally {
            releaseDisplays();
            rmSync(stateFile, { force: true });
          }
          log(`lab stopped in ${Date.now() - t} ms`);
        })();
        return stopping;
      },
    };
    return lab;
  } catch (err) {
    try {
      await sup.stopAll();
      rmSync(stateFile, { force: true });
    } catch (stopErr) {
      log(`lab: cleanup after failed start: ${(stopErr as Error).message}`);
    } finally {
      releaseDisplays();
    }
    throw err;
  }
}

/** Targets without their passwords, for printing. */
export function describeTargets(targets: LabTarget[], showPasswords = false): string {
  const rows = targets.map((t) => [
    t.name,
    t.protocol,
    `${t.host}:${t.port}`,
    t.username ?? '-',
    showPasswords ? t.password : '********',
    `L${t.purdueLevel}`,
    t.description,
  ]);
  const header = ['TARGET', 'PROTO', 'ADDRESS', 'USER', 'PASSWORD', 'PURDUE', 'DESCRIPTION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}
