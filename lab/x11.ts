/**
 * X displays for the VNC and RDP desktops: picking a free display number, a private
 * MIT-MAGIC-COOKIE (so no other local user can draw on or read the lab's desktops), waiting for
 * the server and painting something recognizable on it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { labFailure, type ManagedProcess, requireBinary, type Supervisor, sleep } from './process.js';

export const DESKTOP_GEOMETRY = { width: 1280, height: 800 };

/** Display numbers taken by labs of this Node process (between pick and the server's socket). */
const reserved = new Set<number>();

function abstractX11Sockets(): string {
  try {
    return readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return '';
  }
}

export function displayInUse(n: number, netUnix = abstractX11Sockets()): boolean {
  return (
    reserved.has(n) ||
    existsSync(`/tmp/.X11-unix/X${n}`) ||
    existsSync(`/tmp/.X${n}-lock`) ||
    netUnix.includes(`@/tmp/.X11-unix/X${n}\n`)
  );
}

/** Reserves the first free display number >= base. Release it with releaseDisplay(). */
export function allocateDisplay(base: number): number {
  const netUnix = abstractX11Sockets();
  for (let n = base; n < base + 200; n++) {
    if (!displayInUse(n, netUnix)) {
      reserved.add(n);
      return n;
    }
  }
  throw new Error(`no free X display number in ${base}..${base + 199}`);
}

export function releaseDisplay(n: number): void {
  reserved.delete(n);
}

/** Writes an Xauthority file (mode 0600) with one wildcard MIT-MAGIC-COOKIE-1 entry. */
export function writeXauthority(file: string, display: number): void {
  const field = (b: Buffer): Buffer => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const family = Buffer.alloc(2);
  family.writeUInt16BE(0xffff); // FamilyWild: any address, this display number
  const entry = Buffer.concat([
    family,
    field(Buffer.alloc(0)),
    field(Buffer.from(String(display))),
    field(Buffer.from('MIT-MAGIC-COOKIE-1')),
    field(randomBytes(16)),
  ]);
  writeFileSync(file, entry, { mode: 0o600 });
}

/** Resolves once the X server of `display` accepts connections on its Unix socket. */
export async function waitForX(display: number, label: string, server: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const socketPath = `/tmp/.X11-unix/X${display}`;
  for (;;) {
    if (server.exit) throw labFailure(label, `X server :${display} exited before it was ready`, [server]);
    if (Date.now() > deadline) throw labFailure(label, `X server :${display} not ready within ${timeoutMs} ms`, [server]);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ path: socketPath });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
}

export interface DesktopLook {
  display: number;
  xauthority: string;
  /** root window colour, e.g. '#1f6feb' */
  background: string;
  /** window title */
  title: string;
  /** text shown in a read-only panel (an xterm that only runs `cat`) */
  panelFile: string;
  panelLines: string[];
  logFile: string;
  name: string;
}

/** Solid background plus a read-only text panel; the panel's xterm stays up until stop. */
export async function paintDesktop(sup: Supervisor, look: DesktopLook): Promise<ManagedProcess> {
  const env = { DISPLAY: `:${look.display}`, XAUTHORITY: look.xauthority, HOME: '/nonexistent', LANG: 'C.UTF-8' };
  await sup.runOk(requireBinary('xsetroot'), ['-solid', look.background, '-cursor_name', 'left_ptr'], {
    name: `${look.name} xsetroot`,
    env,
  });
  writeFileSync(look.panelFile, `${look.panelLines.join('\n')}\n`, { mode: 0o644 });
  const cols = Math.max(...look.panelLines.map((l) => l.length)) + 2;
  const rows = look.panelLines.length + 1;
  // -hold keeps the window after `cat` ends; there is no shell in it, so typing does nothing.
  return sup.spawn(
    requireBinary('xterm'),
    [
      '-geometry', `${cols}x${rows}+120+110`,
      '-fa', 'DejaVu Sans Mono', '-fs', '16',
      '-bg', '#0d1117', '-fg', '#e6edf3', '-b', '18', '+sb',
      '-T', look.title, '-n', look.title,
      '-hold', '-e', 'cat', look.panelFile,
    ],
    { name: `${look.name} panel (xterm)`, logFile: look.logFile, env },
  );
}
