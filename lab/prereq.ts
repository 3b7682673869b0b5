/** What the lab needs on the machine (installed by scripts/system-deps.sh). */
import { findBinary } from './process.js';

/** program -> Debian package that provides it */
export const LAB_PROGRAMS: Record<string, string> = {
  sshd: 'openssh-server',
  'ssh-keygen': 'openssh-client',
  telnetd: 'inetutils-telnetd',
  socat: 'socat',
  login: 'login',
  useradd: 'passwd',
  userdel: 'passwd',
  chpasswd: 'passwd',
  Xvnc: 'tigervnc-standalone-server',
  vncpasswd: 'tigervnc-tools',
  Xvfb: 'xvfb',
  'freerdp-shadow-cli': 'freerdp2-shadow-x11',
  xsetroot: 'x11-xserver-utils',
  xterm: 'xterm',
};

/**
 * Missing prerequisites, one human-readable line each; empty when the lab can start.
 * Besides programs, the lab needs root: it runs sshd and telnetd/login and manages its account.
 */
export async function labPrerequisites(): Promise<string[]> {
  const missing: string[] = [];
  for (const [program, pkg] of Object.entries(LAB_PROGRAMS)) {
    if (!findBinary(program)) missing.push(`${program} (Debian package ${pkg})`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    missing.push('root privileges (the lab runs sshd and telnetd/login and manages a local Unix account)');
  }
  return missing;
}
