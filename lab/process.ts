/**
 * Spawning, supervising and killing the lab's processes, and waiting for them to listen.
 *
 * Every long-lived child is started in its own session/process group (detached) with a minimal
 * environment and its output appended to a log file. Stopping walks /proc to find the whole tree
 * (daemons such as sshd and telnetd's login call setsid() for each connection, so the process
 * group alone is not enough), sends SIGTERM, then SIGKILL to whatever is left.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** PATH given to every child; sbin included because the lab runs daemons. */
export const CHILD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class LabStartError extends Error {
  override name = 'LabStartError';
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Absolute path of an executable found on CHILD_PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of CHILD_PATH.split(':')) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function requireBinary(name: string): string {
  const found = findBinary(name);
  if (!found) throw new LabStartError(`required program not found: ${name} (see scripts/system-deps.sh)`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// /proc

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  state: string;
  /** clock ticks since boot: with the pid, identifies a process across pid reuse */
  starttime: number;
}

export function readProc(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  //  cutime cstime priority nice threads itrealvalue starttime ..." — comm may contain spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const num = (i: number): number => Number(rest[i] ?? Number.NaN);
  return { pid, state: rest[0] ?? '?', ppid: num(1), pgrp: num(2), session: num(3), starttime: num(19) };
}

export function listProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readProc(Number(entry));
    if (info) out.push(info);
  }
  return out;
}

/** True if the process exists and is not a zombie (zombies are dead, merely not reaped). */
export function isAlive(pid: number, starttime?: number): boolean {
  const info = readProc(pid);
  if (!info || info.state === 'Z' || info.state === 'X') return false;
  return starttime === undefined || info.starttime === starttime;
}

/** Command line of a process (NUL separators replaced by spaces), '' if gone. */
export function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/**
 * Live processes in the trees below `roots` (roots included), plus every member of the process
 * groups / sessions that the roots lead (our children are spawned detached, so pid = pgid = sid).
 */
export function processTree(roots: Iterable<number>, leaders: Iterable<number> = []): Map<number, ProcInfo> {
  const procs = listProcs();
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const leaderSet = new Set(leaders);
  const found = new Map<number, ProcInfo>();
  const queue: ProcInfo[] = [];
  const byPid = new Map(procs.map((p) => [p.pid, p] as const));
  for (const pid of roots) {
    const p = byPid.get(pid);
    if (p) queue.push(p);
  }
  for (const p of procs) if (leaderSet.has(p.pgrp) || leaderSet.has(p.session)) queue.push(p);
  while (queue.length > 0) {
    const p = queue.pop() as ProcInfo;
    if (found.has(p.pid)) continue;
    if (p.state !== 'Z' && p.state !== 'X') found.set(p.pid, p);
    for (const c of children.get(p.pid) ?? []) queue.push(c);
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// logs

export function tailFile(file: string, lines = 15): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------
// supervision

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** null while running */
  exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | null;
  readonly exited: Promise<void>;
}

export function describeExit(p: ManagedProcess): string {
  if (!p.exit) return 'running';
  if (p.exit.error) return `failed to start: ${p.exit.error.message}`;
  return p.exit.signal ? `killed by ${p.exit.signal}` : `exited with code ${p.exit.code}`;
}

export interface SpawnOptions {
  /** label used in logs and errors */
  name: string;
  /** stdout and stderr are appended here (created 0600) */
  logFile: string;
  /** complete environment of the child (PATH is added if missing); the parent's is not inherited */
  env?: Record<string, string>;
  cwd?: string;
  /** written to the child's stdin, which is then closed (secrets go here, never in argv/env) */
  stdin?: string | Buffer;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export class Supervisor {
  private readonly procs: ManagedProcess[] = [];
  /** session/group leaders whose trees we own: our detached children, plus adopted ones */
  private readonly roots: number[] = [];
  /** every pid ever seen in our trees, with its start time (guards against pid reuse) */
  private readonly known = new Map<number, number>();
  private exitHook: (() => void) | undefined;

  constructor(private readonly log: (msg: string) => void = () => {}) {}

  /** Starts a long-lived process; it is killed by stopAll(). */
  spawn(cmd: string, args: string[], opts: SpawnOptions): ManagedProcess {
    const fd = openSync(opts.logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, {
        cwd: opts.cwd,
        env: { PATH: CHILD_PATH, ...opts.env },
        detached: true,
        stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    let resolveExit: () => void = () => {};
    const exited = new Promise<void>((r) => {
      resolveExit = r;
    });
    const managed: ManagedProcess = {
      name: opts.name,
      pid: child.pid ?? -1,
      logFile: opts.logFile,
      child,
      exit: null,
      exited,
    };
    child.on('error', (error) => {
      managed.exit ??= { code: null, signal: null, error };
      resolveExit();
    });
    child.on('exit', (code, signal) => {
      managed.exit = { code, signal };
      this.log(`${opts.name} (pid ${managed.pid}) ${describeExit(managed)}`);
      resolveExit();
    });
    if (opts.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // child may exit before reading
      child.stdin.end(opts.stdin);
    }
    if (child.pid !== undefined) {
      this.procs.push(managed);
      this.roots.push(child.pid);
      const info = readProc(child.pid);
      if (info) this.known.set(child.pid, info.starttime);
      this.installExitHook();
    }
    return managed;
  }

  /** Runs a short-lived command to completion (killed after timeoutMs), capturing its stdout. */
  run(cmd: string, args: string[], opts: Omit<SpawnOptions, 'logFile'> & { timeoutMs?: number }): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, {
        cwd: opts.cwd,
        env: { PATH: CHILD_PATH, ...opts.env },
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => {
        if (err.length < 8192) err += d.toString('utf8');
      });
      const timer = setTimeout(() => {
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      }, opts.timeoutMs ?? 15_000);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new LabStartError(`${opts.name}: cannot run ${cmd}: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(out), stderr: err.trim() });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(opts.stdin ?? '');
    });
  }

  /** Like run(), but throws unless the command exits 0. */
  async runOk(cmd: string, args: string[], opts: Omit<SpawnOptions, 'logFile'> & { timeoutMs?: number }): Promise<Buffer> {
    const r = await this.run(cmd, args, opts);
    if (r.code !== 0) {
      const how = r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
      throw new LabStartError(`${opts.name}: ${path.basename(cmd)} failed (${how})${r.stderr ? `: ${r.stderr}` : ''}`);
    }
    return r.stdout;
  }

  get processes(): readonly ManagedProcess[] {
    return this.procs;
  }

  /**
   * Takes over a process tree left by an earlier run (see readRootsFile) so that stopAll() kills
   * it too; ignored unless that exact process (pid and start time) is still alive.
   */
  adopt(pid: number, starttime: number): boolean {
    if (!isAlive(pid, starttime)) return false;
    this.roots.push(pid);
    this.known.set(pid, starttime);
    return true;
  }

  /** Root processes (pid, start time, name) for a state file; see adopt(). */
  rootRecords(): { pid: number; starttime: number; name: string }[] {
    return this.procs.flatMap((p) => {
      const st = this.known.get(p.pid);
      return st === undefined || p.exit ? [] : [{ pid: p.pid, starttime: st, name: p.name }];
    });
  }

  /** Refreshes the set of known pids from /proc and returns the live ones. */
  private snapshot(): Map<number, ProcInfo> {
    const roots = this.roots.filter((pid) => isAlive(pid, this.known.get(pid)));
    const live = [...this.known].filter(([pid, st]) => isAlive(pid, st)).map(([pid]) => pid);
    const tree = processTree([...roots, ...live], roots);
    for (const [pid, info] of tree) if (!this.known.has(pid)) this.known.set(pid, info.starttime);
    const alive = new Map<number, ProcInfo>();
    for (const [pid, st] of this.known) {
      const info = readProc(pid);
      if (info && info.starttime === st && info.state !== 'Z' && info.state !== 'X') alive.set(pid, info);
    }
    return alive;
  }

  /** Pids of every live process started by this supervisor, descendants included. */
  pids(): number[] {
    return [...this.snapshot().keys()].sort((a, b) => a - b);
  }

  /** SIGTERM to every tree, SIGKILL after graceMs to what is left; resolves when all are gone. */
  async stopAll(graceMs = 2500): Promise<void> {
    let alive = this.snapshot();
    if (alive.size > 0) this.log(`stopping ${alive.size} process(es)`);
    this.signalGroups('SIGTERM');
    for (const pid of alive.keys()) signal(pid, 'SIGTERM');
    const termDeadline = Date.now() + graceMs;
    while (alive.size > 0 && Date.now() < termDeadline) {
      await sleep(40);
      alive = this.snapshot();
    }
    if (alive.size > 0) {
      this.log(`SIGKILL to ${alive.size} process(es) still alive after ${graceMs} ms: ${[...alive.keys()].join(' ')}`);
      for (let round = 0; round < 20 && alive.size > 0; round++) {
        this.signalGroups('SIGKILL');
        for (const pid of alive.keys()) signal(pid, 'SIGKILL');
        await sleep(50);
        alive = this.snapshot();
      }
    }
    // direct children: wait for Node to reap them
    await Promise.race([Promise.all(this.procs.map((p) => p.exited)), sleep(2000)]);
    this.removeExitHook();
    if (alive.size > 0) throw new Error(`lab: processes survived SIGKILL: ${[...alive.keys()].join(' ')}`);
  }

  /** Last resort when the Node process exits without stop(): SIGKILL every known process. */
  killAllSync(): void {
    try {
      const alive = this.snapshot();
      this.signalGroups('SIGKILL');
      for (const pid of alive.keys()) signal(pid, 'SIGKILL');
    } catch {
      // best effort while exiting
    }
  }

  /** Signals the process groups our live roots lead. */
  private signalGroups(sig: NodeJS.Signals): void {
    for (const pid of this.roots) if (isAlive(pid, this.known.get(pid))) killGroup(pid, sig);
  }

  private installExitHook(): void {
    if (this.exitHook) return;
    this.exitHook = () => this.killAllSync();
    process.once('exit', this.exitHook);
  }

  private removeExitHook(): void {
    if (this.exitHook) process.removeListener('exit', this.exitHook);
    this.exitHook = undefined;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function killGroup(pgid: number, sig: NodeJS.Signals): void {
  if (pgid > 1) signal(-pgid, sig);
}

// ---------------------------------------------------------------------------------------------
// ports

/** Throws if something already listens on host:port (so we never mistake it for our target). */
export function assertPortFree(port: number, label: string, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        new LabStartError(
          e.code === 'EADDRINUSE'
            ? `${label}: ${host}:${port} is already in use (another lab or service?); choose other ports`
            : `${label}: cannot use ${host}:${port}: ${e.message}`,
        ),
      );
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

export interface Probe {
  /** bytes sent once connected */
  send?: Buffer;
  /** true once the bytes received so far prove the right service answers */
  accept(received: Buffer): boolean;
}

/** One connection attempt: true if it connected (and the probe accepted the answer). */
export function probeOnce(host: string, port: number, probe?: Probe, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let done = false;
    const socket = net.connect({ host, port });
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('connect', () => {
      if (!probe) return finish(true);
      if (probe.send) socket.write(probe.send);
    });
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      if (probe?.accept(received)) finish(true);
      else if (received.length > 65536) finish(false);
    });
  });
}

export interface WaitOptions {
  /** e.g. 'SSH target PLC-01' */
  label: string;
  host?: string;
  port: number;
  timeoutMs: number;
  probe?: Probe;
  /** fail early if one of these exits; their logs are quoted in the error */
  watch: ManagedProcess[];
}

/** Resolves once host:port accepts connections (and answers the probe). */
export async function waitForListener(opts: WaitOptions): Promise<void> {
  const host = opts.host ?? '127.0.0.1';
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const dead = opts.watch.find((p) => p.exit);
    if (dead) {
      throw labFailure(opts.label, `${dead.name} ${describeExit(dead)} before ${host}:${opts.port} was ready`, opts.watch);
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw labFailure(opts.label, `did not accept connections on ${host}:${opts.port} within ${opts.timeoutMs} ms`, opts.watch);
    }
    if (await probeOnce(host, opts.port, opts.probe, Math.min(3000, Math.max(left, 200)))) return;
    await sleep(100);
  }
}

/** A LabStartError naming the target, with the tail of each involved log. */
export function labFailure(label: string, reason: string, procs: ManagedProcess[]): LabStartError {
  const logs = [...new Set(procs.map((p) => p.logFile))];
  const tails = logs.map((f) => `--- last lines of ${f} ---\n${tailFile(f)}`).join('\n');
  return new LabStartError(`${label}: ${reason}${tails ? `\n${tails}` : ''}`);
}
