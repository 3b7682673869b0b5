/** Test plumbing for the SSH front door: a gateway with the front door on a free port, and the real OpenSSH client. */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/** The test gateway over plain HTTP; its SSH front door listens on a port the OS picks. */
export function startSshGateway(opts: { loginRateLimit?: number } = {}): Promise<TestGateway> {
  return startGateway({ tls: false, ...(opts.loginRateLimit !== undefined ? { loginRateLimit: opts.loginRateLimit } : {}) });
}

export interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface SshProcess {
  write(s: string): void;
  end(): void;
  out(): string;
  err(): string;
  waitFor(re: RegExp, ms?: number): Promise<void>;
  exited: Promise<SshResult>;
  kill(): void;
}

/** The OpenSSH client against the front door: fresh known_hosts per suite, no user config. */
export class OpenSsh {
  readonly dir = mkdtempSync(join(tmpdir(), 'portcullis-ssh-client-'));
  readonly knownHosts = join(this.dir, 'known_hosts');
  constructor(private readonly port: () => number) {}

  base(): string[] {
    return ['-F', '/dev/null', '-p', String(this.port()), '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${this.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=10', '-o', 'ServerAliveInterval=0'];
  }

  /** Options to sign in with a key file only (no prompts). */
  keyOnly(key: string, o: { agent?: boolean } = {}): string[] {
    return ['-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', '-o', 'BatchMode=yes', ...(o.agent ? [] : ['-o', 'IdentityAgent=none'])];
  }

  /**
   * SSH_ASKPASS answering the prompts: the verification code for "Verification code ...", the
   * password for anything else. Returns the env and the file where the prompts seen are logged.
   */
  askpass(answers: { password?: string; code?: string }): { env: NodeJS.ProcessEnv; prompts: string } {
    const dir = mkdtempSync(join(this.dir, 'askpass-'));
    writeFileSync(join(dir, 'password'), answers.password ?? '', { mode: 0o600 });
    writeFileSync(join(dir, 'code'), answers.code ?? '', { mode: 0o600 });
    const script = join(dir, 'askpass.sh');
    writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${dir}/prompts'\ncase "$1" in\n  *Verification*) cat '${dir}/code' ;;\n  *) cat '${dir}/password' ;;\nesac\necho\n`);
    chmodSync(script, 0o700);
    return { env: { SSH_ASKPASS: script, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' }, prompts: join(dir, 'prompts') };
  }

  spawn(args: string[], env: NodeJS.ProcessEnv = {}): SshProcess {
    const t0 = Date.now();
    const child = spawn('ssh', [...this.base(), ...args], { env: { PATH: process.env.PATH, HOME: this.dir, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.stdin.on('error', () => {});
    const exited = new Promise<SshResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 })));
    return {
      write: (s) => child.stdin.write(s),
      end: () => child.stdin.end(),
      out: () => stdout,
      err: () => stderr,
      async waitFor(re, ms = 10_000) {
        const start = Date.now();
        while (!re.test(stdout)) {
          if (Date.now() - start > ms) throw new Error(`timed out waiting for ${re}; stdout: ${JSON.stringify(stdout.slice(-600))}; stderr: ${JSON.stringify(stderr.slice(-600))}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      },
      exited,
      kill: () => child.kill('SIGKILL'),
    };
  }

  /** Runs one ssh command to the end (stdin closed at once). */
  async run(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<SshResult> {
    const p = this.spawn(args, env);
    p.end();
    const timer = setTimeout(() => p.kill(), timeoutMs);
    const r = await p.exited;
    clearTimeout(timer);
    return r;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
