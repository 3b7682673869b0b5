/** Test helpers around the RDP engine's helper processes. */
import { readdirSync, readFileSync } from 'node:fs';
import { rdpRuntimeDir } from '../../src/server/protocols/rdp/display.js';

/**
 * The live Xvnc / xfreerdp processes (running as the unprivileged portcullis-rdp user) of one
 * gateway's RDP sessions: their command lines name its runtime folder or the RDP target's port.
 * Other test files may run RDP sessions on the same machine at the same time.
 */
export function rdpHelpers(gatewayDataDir: string, rdpPort: number): string[] {
  const mine = [`${rdpRuntimeDir(gatewayDataDir)}/`, `/v:127.0.0.1:${rdpPort} `];
  const uid = /^portcullis-rdp:[^:]*:(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[1];
  if (!uid) return [];
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (!new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status) || /^State:\s+Z/m.test(status)) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (mine.some((m) => cmdline.includes(m))) out.push(`${pid}: ${cmdline.slice(0, 120)}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
