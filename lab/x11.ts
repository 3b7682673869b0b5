/**
 * X displays for the VNC and RDP desktops: picking a free display number, a private
 * MIT-MAGIC-COOKIE (so no other local user can draw on or read the lab's desktops), waiting for
 * the server and painting something recognizable on it.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { displayTaken, releaseDisplay, reserveDisplay, writeXauthority as writeSessionXauthority } from '../src/server/protocols/rdp/xserver.js';
import { labFailure, type ManagedProcess, requireBinary, type Supervisor, sleep } from './process.js';

export const DESKTOP_GEOMETRY = { width: 1280, height: 800 };

/** Reserves the first free display number >= base (shared bookkeeping with the gateway's RDP sessions). Release it with releaseDisplay(). */
export function allocateDisplay(base: number): number {
  return reserveDisplay([base, base + 199], 'first');
}

export { displayTaken as displayInUse, releaseDisplay };

/** Writes the lab's Xauthority file (0600, one wildcard MIT-MAGIC-COOKIE-1 entry), replacing an old one. */
export function writeXauthority(file: string, display: number): void {
  writeSessionXauthority(file, display, { overwrite: true });
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
