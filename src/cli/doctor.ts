import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ToolCheck {
  tool: string;
  purpose: string;
  debianPackage: string;
  found: string | null;
}

const TOOLS: Omit<ToolCheck, 'found'>[] = [
  { tool: 'sshd', purpose: 'demo lab SSH target', debianPackage: 'openssh-server' },
  { tool: 'telnetd', purpose: 'demo lab Telnet target', debianPackage: 'inetutils-telnetd' },
  { tool: 'Xvnc', purpose: 'VNC lab desktop and the private display of RDP sessions', debianPackage: 'tigervnc-standalone-server' },
  { tool: 'vncpasswd', purpose: 'VNC password files', debianPackage: 'tigervnc-tools' },
  { tool: 'xfreerdp', purpose: 'RDP sessions', debianPackage: 'freerdp2-x11' },
  { tool: 'freerdp-shadow-cli', purpose: 'demo lab RDP target (NLA)', debianPackage: 'freerdp2-shadow-x11' },
  { tool: 'winpr-hash', purpose: 'NLA credentials of the lab RDP target', debianPackage: 'winpr-utils' },
  { tool: 'Xvfb', purpose: 'virtual screens for the lab', debianPackage: 'xvfb' },
  { tool: 'clamd', purpose: 'malware scanning of file transfers', debianPackage: 'clamav-daemon' },
  { tool: 'chromium', purpose: 'browser tests', debianPackage: 'chromium' },
];

function which(tool: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/usr/local/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, tool);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

export function checkTools(): ToolCheck[] {
  return TOOLS.map((t) => ({ ...t, found: which(t.tool) }));
}

export function doctorReport(checks: ToolCheck[]): { text: string; ok: boolean } {
  const lines = checks.map((c) => `${c.found ? 'ok     ' : 'MISSING'} ${c.tool.padEnd(20)} ${c.found ?? `(${c.debianPackage})`}  - ${c.purpose}`);
  const missing = [...new Set(checks.filter((c) => !c.found).map((c) => c.debianPackage))];
  if (missing.length) lines.push('', `Fix: apt-get install -y --no-install-recommends ${missing.join(' ')}`);
  else lines.push('', 'All system tools are present.');
  return { text: lines.join('\n'), ok: missing.length === 0 };
}
