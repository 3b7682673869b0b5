/**
 * The unprivileged account that runs each RDP session's Xvnc and xfreerdp when the gateway runs
 * as root: `portcullis-rdp`, a system account without home or login shell. Created on first use
 * (idempotent; concurrent creators, in this process or another, both end up with the account).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const RDP_SYSTEM_USER = 'portcullis-rdp';

export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

function lookup(name: string): RunAs | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) return { name, uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString('utf8');
    });
    child.on('error', (e) => resolve({ code: null, stderr: e.message }));
    child.on('close', (code) => resolve({ code, stderr: stderr.trim() }));
  });
}

const pending = new Map<string, Promise<RunAs>>();

/**
 * The account (uid, gid) the session processes run as: the system user when this process is
 * root, else the current user (nothing to drop).
 */
export function sessionRunAs(name = RDP_SYSTEM_USER): Promise<RunAs | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return Promise.resolve(undefined);
  return ensureSystemUser(name);
}

/** Creates the system account if missing (useradd --system --no-create-home --shell nologin). */
export function ensureSystemUser(name = RDP_SYSTEM_USER): Promise<RunAs> {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) return Promise.reject(new Error(`invalid system user name ${JSON.stringify(name)}`));
  const existing = lookup(name);
  if (existing?.uid === 0) return Promise.reject(new Error(`refusing to run RDP sessions as ${name}: it has uid 0`));
  if (existing) return Promise.resolve(existing);
  let p = pending.get(name);
  if (!p) {
    p = (async () => {
      const r = await run('useradd', [
        '--system',
        '--no-create-home',
        '--home-dir', '/nonexistent',
        '--shell', '/usr/sbin/nologin',
        '--user-group',
        '--comment', 'Portcullis RDP sessions',
        name,
      ]);
      // exit 9: the name exists (another process won the race): fine.
      const entry = lookup(name);
      if (!entry) throw new Error(`cannot create the system user ${name} (useradd exit ${r.code}): ${r.stderr}`);
      if (entry.uid === 0) throw new Error(`refusing to run RDP sessions as ${name}: it has uid 0`);
      return entry;
    })().finally(() => pending.delete(name));
    pending.set(name, p);
  }
  return p;
}
