/**
 * Per-process CPU and memory figures from /proc, for benchmarks: CPU seconds (all threads, so a
 * process's worker threads count), RSS and PSS (shared pages split between their users), the
 * process tree under a pid, and the processes of a user below a pid (so another test's processes
 * running as the same user at the same time are never counted).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second (USER_HZ; 100 on every Linux this runs on). */
const TICKS = 100;

function statFields(pid: number): string[] {
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU seconds of the whole process (every thread, live and exited). */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

/** Proportional set size in bytes (shared pages divided among the processes mapping them). */
export function pssBytes(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

interface ProcInfo {
  pid: number;
  ppid: number;
  uid: number;
  zombie: boolean;
  comm: string;
}

function allProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, 'utf8');
      out.push({
        pid: Number(d),
        ppid: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0),
        uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1),
        zombie: /^State:\s+Z/m.test(status),
        comm: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?',
      });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Live processes below `root` (not root itself), optionally only those of `uid`. */
export function descendants(root: number, uid?: number): { pid: number; comm: string }[] {
  const procs = allProcesses();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const under = (p: ProcInfo): boolean => {
    for (let cur = byPid.get(p.ppid), hops = 0; cur && hops < 64; cur = byPid.get(cur.ppid), hops++) {
      if (cur.pid === root) return true;
    }
    return p.ppid === root;
  };
  return procs.filter((p) => !p.zombie && p.pid !== root && (uid === undefined || p.uid === uid) && under(p)).map((p) => ({ pid: p.pid, comm: p.comm }));
}

/** The uid of a local account, or undefined. */
export function uidOf(user: string): number | undefined {
  const m = new RegExp(`^${user}:[^:]*:(\\d+):`, 'm').exec(readFileSync('/etc/passwd', 'utf8'));
  return m ? Number(m[1]) : undefined;
}

/** Sum of RSS and PSS over pids (processes that vanished meanwhile count 0). */
export function memoryOf(pids: number[]): { rss: number; pss: number } {
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    try {
      rss += rssBytes(pid);
      pss += pssBytes(pid);
    } catch {
      // gone
    }
  }
  return { rss, pss };
}

/** A CPU meter over a window: % of one core used by `pid` since start(). */
export function cpuMeter(pid: number): { stop(): number } {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  return {
    stop: () => ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100,
  };
}
