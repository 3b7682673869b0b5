/**
 * The demo lab against real clients: ssh2, a raw Telnet client, a raw RFB handshake and FreeRDP.
 * Runs on non-default ports, displays and account so it never collides with a running demo lab.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from 'ssh2';
import { type Lab, type LabTarget, LabStartError, labPrerequisites, removeLabAccount, startLab } from '../lab/index.js';
import { samLine } from '../lab/ntlm.js';
import { isAlive, listProcs, probeOnce, readCmdline, requireBinary, Supervisor } from '../lab/process.js';
import { allocateDisplay, releaseDisplay, waitForX, writeXauthority } from '../lab/x11.js';

const PORTS = { ssh: 12201, telnet: 12323, vnc: 15901, rdp: 13890 };
const DISPLAY_BASE = 150;
const ACCOUNT = 'pclabtest';

function target(lab: Lab, protocol: LabTarget['protocol']): LabTarget {
  const t = lab.targets.find((x) => x.protocol === protocol);
  assert.ok(t, `no ${protocol} target`);
  return t;
}

/** Processes (other than this one) whose command line mentions the test's data dir. */
function processesUsing(dir: string): string[] {
  return listProcs()
    .filter((p) => p.pid !== process.pid && p.state !== 'Z' && readCmdline(p.pid).includes(dir))
    .map((p) => `${p.pid} ${readCmdline(p.pid)}`);
}

function sshExec(t: LabTarget, password: string, command: string): Promise<{ banner: string; output: string }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let banner = '';
    let output = '';
    client.on('banner', (msg) => {
      banner += msg;
    });
    client.on('ready', () => {
      client.exec(command, (err, stream) => {
        if (err) {
          client.end();
          reject(err);
          return;
        }
        stream.on('data', (d: Buffer) => {
          output += d.toString('utf8');
        });
        stream.stderr.on('data', (d: Buffer) => {
          output += d.toString('utf8');
        });
        stream.on('close', () => {
          client.end();
          resolve({ banner, output });
        });
      });
    });
    client.on('error', reject);
    client.connect({ host: t.host, port: t.port, username: t.username, password, readyTimeout: 10_000 });
  });
}

/** Minimal NVT client: refuses every option except the server's ECHO and SUPPRESS-GO-AHEAD. */
class TelnetClient {
  private readonly socket: net.Socket;
  text = '';
  closed = false;
  private iac: number[] = [];
  private inSub = false;
  private listeners: (() => void)[] = [];

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    this.socket.on('error', () => {});
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  private onData(data: Buffer): void {
    const IAC = 255;
    for (const byte of data) {
      if (this.iac.length === 0 && byte !== IAC) {
        if (!this.inSub) this.text += String.fromCharCode(byte);
        continue;
      }
      this.iac.push(byte);
      const [, cmd, opt] = this.iac;
      if (cmd === undefined) continue;
      if (cmd === IAC) {
        if (!this.inSub) this.text += '\xff';
        this.iac = [];
      } else if (cmd === 250) {
        this.inSub = true; // SB ... IAC SE: ignored
        this.iac = [];
      } else if (cmd === 240) {
        this.inSub = false;
        this.iac = [];
      } else if (cmd >= 251 && cmd <= 254) {
        if (opt === undefined) continue;
        if (cmd === 253) this.socket.write(Buffer.from([IAC, 252, opt])); // DO -> WONT
        if (cmd === 251) this.socket.write(Buffer.from([IAC, opt === 1 || opt === 3 ? 253 : 254, opt])); // WILL
        this.iac = [];
      } else {
        this.iac = [];
      }
    }
    this.notify();
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Waits for `re` in the text received after `from`; returns the index after the match. */
  expect(re: RegExp, from: number, timeoutMs = 10_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = re.exec(this.text.slice(from));
        if (m) {
          done();
          resolve(from + m.index + m[0].length);
          return true;
        }
        if (this.closed) {
          done();
          reject(new Error(`connection closed while waiting for ${re}; got: ${JSON.stringify(this.text.slice(from))}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout waiting for ${re}; got: ${JSON.stringify(this.text.slice(from))}`));
      }, timeoutMs);
      const listener = (): void => {
        check();
      };
      const done = (): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
      };
      this.listeners.push(listener);
      check();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Reads the RFB version and the security types offered to an RFB 3.8 client. */
function rfbHandshake(port: number): Promise<{ version: string; securityTypes: number[] }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let version = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('RFB handshake timeout'));
    }, 5000);
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!version && buf.length >= 12) {
        version = buf.subarray(0, 12).toString('latin1');
        buf = buf.subarray(12);
        socket.write('RFB 003.008\n');
      }
      const count = buf[0];
      if (version && count !== undefined && buf.length >= 1 + count) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ version, securityTypes: [...buf.subarray(1, 1 + count)] });
      }
    });
  });
}

function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

describe('demo lab', () => {
  let dataDir = '';
  let lab: Lab | undefined;
  const clientSup = new Supervisor();

  before(async () => {
    assert.deepEqual(await labPrerequisites(), [], 'lab prerequisites (scripts/system-deps.sh)');
    dataDir = mkdtempSync(path.join(tmpdir(), 'portcullis-lab-test-'));
    const t0 = Date.now();
    lab = await startLab({ dataDir, ports: PORTS, displayBase: DISPLAY_BASE, account: ACCOUNT });
    console.log(`# lab started in ${Date.now() - t0} ms`);
  });

  after(async () => {
    await lab?.stop();
    await clientSup.stopAll();
    await removeLabAccount(ACCOUNT);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('targets, credentials file (0600), no password in any argv or environment', () => {
    assert.ok(lab);
    assert.deepEqual(
      lab.targets.map((t) => [t.name, t.protocol, t.port, t.purdueLevel]),
      [
        ['PLC-01', 'ssh', PORTS.ssh, 1],
        ['RTU-02', 'telnet', PORTS.telnet, 1],
        ['HMI-03', 'vnc', PORTS.vnc, 2],
        ['SCADA-04', 'rdp', PORTS.rdp, 3],
      ],
    );
    assert.equal(target(lab, 'vnc').username, undefined);
    assert.equal(target(lab, 'ssh').username, ACCOUNT);
    const credFile = path.join(dataDir, 'lab', 'credentials.json');
    assert.equal(statSync(credFile).mode & 0o777, 0o600);
    assert.equal(statSync(path.join(dataDir, 'lab')).mode & 0o777, 0o700);
    const stored = readFileSync(credFile, 'utf8');
    for (const t of lab.targets) assert.ok(stored.includes(t.password), `${t.name} password is in credentials.json`);

    const pids = lab.pids();
    const programs = pids.map((pid) => path.basename(readCmdline(pid).split(' ')[0] ?? ''));
    for (const p of ['sshd:', 'socat', 'Xvnc', 'Xvfb', 'freerdp-shadow-cli', 'xterm']) {
      assert.ok(programs.includes(p), `${p} not among the lab's processes: ${programs.join(' ')}`);
    }
    for (const pid of pids) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
      for (const t of lab.targets) {
        assert.ok(!argv.includes(t.password), `${t.name} password in argv of pid ${pid}`);
        assert.ok(!env.includes(t.password), `${t.name} password in environment of pid ${pid}`);
      }
    }
  });

  test('SAM line for NLA matches winpr-hash', () => {
    // winpr-hash -u rdpuser -p 'S3cret!pw' -f sam (a throwaway example password)
    assert.equal(samLine('rdpuser', 'S3cret!pw'), 'rdpuser:::ee35929c365f18f99dc5074c54a93c56:::\n');
  });

  test('SSH: banner, password login runs a command, wrong password refused', async () => {
    assert.ok(lab);
    const t = target(lab, 'ssh');
    const r = await sshExec(t, t.password, 'echo portcullis-$((6*7)); id -un; echo "$PORTCULLIS_LAB_TARGET"');
    assert.match(r.banner, /PLC-01 \/ Demo Plant \/ Portcullis demo lab/);
    assert.equal(r.output, `portcullis-42\n${ACCOUNT}\nPLC-01\n`);
    await assert.rejects(sshExec(t, `${t.password}x`, 'true'), (e: Error & { level?: string }) => {
      assert.equal(e.level, 'client-authentication');
      return true;
    });
  });

  test('Telnet: banner, login prompt, shell with the demo credentials', async () => {
    assert.ok(lab);
    const t = target(lab, 'telnet');
    const c = new TelnetClient(t.port);
    try {
      let at = await c.expect(/RTU-02 \/ Demo Plant/, 0);
      at = await c.expect(/login: $/, at);
      c.send(t.username ?? '');
      at = await c.expect(/Password: ?$/, at);
      c.send(t.password);
      at = await c.expect(new RegExp(`${ACCOUNT}@RTU-02:~\\$ $`), at);
      c.send('echo portcullis-$((6*7))');
      at = await c.expect(/portcullis-42\r?\n/, at);
      c.send('exit');
      await c.expect(/logout/, at);
    } finally {
      c.close();
    }
  });

  test('Telnet: wrong password is refused by login', async () => {
    assert.ok(lab);
    const t = target(lab, 'telnet');
    const c = new TelnetClient(t.port);
    try {
      let at = await c.expect(/login: $/, 0);
      c.send(t.username ?? '');
      at = await c.expect(/Password: ?$/, at);
      c.send(`${t.password}x`);
      await c.expect(/Login incorrect/, at, 15_000);
    } finally {
      c.close();
    }
  });

  test('VNC: RFB 3.8 offering VNC authentication (2) only, not None (1)', async () => {
    assert.ok(lab);
    const r = await rfbHandshake(target(lab, 'vnc').port);
    assert.match(r.version, /^RFB 003\.00\d\n$/);
    assert.ok(r.securityTypes.includes(2), `security types ${r.securityTypes}`);
    assert.ok(!r.securityTypes.includes(1), `security types ${r.securityTypes}`);
    assert.equal(target(lab, 'vnc').password.length, 8);
  });

  test('RDP: NLA with the right password succeeds, wrong password fails (xfreerdp +auth-only)', async () => {
    assert.ok(lab);
    const t = target(lab, 'rdp');
    // xfreerdp insists on an X display even for +auth-only: give it a throwaway Xvfb.
    const clientDir = path.join(dataDir, 'rdp-client');
    const display = allocateDisplay(DISPLAY_BASE + 10);
    try {
      const xauthority = path.join(dataDir, 'client.Xauthority');
      writeXauthority(xauthority, display);
      const xvfb = clientSup.spawn(requireBinary('Xvfb'), [`:${display}`, '-screen', '0', '640x480x24', '-nolisten', 'tcp', '-auth', xauthority], {
        name: 'client Xvfb',
        logFile: path.join(dataDir, 'client-xvfb.log'),
      });
      await waitForX(display, 'RDP client display', xvfb, 10_000);
      const xfreerdp = requireBinary('xfreerdp');
      const run = (password: string) =>
        clientSup.run(
          xfreerdp,
          [`/v:127.0.0.1:${t.port}`, `/u:${t.username}`, '/from-stdin:force', '+auth-only', '/cert:ignore'],
          { name: 'xfreerdp', stdin: `${password}\n`, env: { DISPLAY: `:${display}`, XAUTHORITY: xauthority, HOME: clientDir }, timeoutMs: 20_000 },
        );
      const ok = await run(t.password);
      assert.equal(ok.code, 0, `xfreerdp with the right password: ${ok.stdout.toString()} ${ok.stderr}`);
      const bad = await run(`${t.password}x`);
      assert.notEqual(bad.code, 0, 'xfreerdp with a wrong password must fail');
    } finally {
      await clientSup.stopAll();
      releaseDisplay(display);
    }
  });

  test('stop() with sessions open: ports closed, every process gone, X servers cleaned up', async () => {
    assert.ok(lab);
    const before = lab.pids().length;
    // An open SSH shell and a logged-in Telnet shell: their processes call setsid(), so only a
    // walk of the process tree finds them.
    const ssh = target(lab, 'ssh');
    const sshClient = new Client();
    await new Promise<void>((resolve, reject) => {
      sshClient.on('ready', () => {
        sshClient.shell((err) => (err ? reject(err) : resolve()));
      });
      sshClient.on('error', reject);
      sshClient.connect({ host: ssh.host, port: ssh.port, username: ssh.username, password: ssh.password });
    });
    const tel = target(lab, 'telnet');
    const telnet = new TelnetClient(tel.port);
    let at = await telnet.expect(/login: $/, 0);
    telnet.send(tel.username ?? '');
    at = await telnet.expect(/Password: ?$/, at);
    telnet.send(tel.password);
    await telnet.expect(/\$ $/, at);
    const pids = lab.pids();
    const programs = pids.map((pid) => readCmdline(pid)).join('\n');
    assert.ok(pids.length >= before + 4, `session processes not found:\n${programs}`);
    assert.match(programs, /-bash|bash/);
    assert.match(programs, /telnetd/);

    const { vnc, rdp } = lab.displays;
    const t0 = Date.now();
    await lab.stop();
    console.log(`# lab stopped in ${Date.now() - t0} ms (with ${pids.length} processes)`);
    sshClient.end();
    telnet.close();
    for (const [name, port] of Object.entries(PORTS)) assert.ok(await portClosed(port), `${name} port ${port} still open`);
    assert.deepEqual(pids.filter((pid) => isAlive(pid)), [], 'lab pids still alive');
    assert.deepEqual(processesUsing(dataDir), []);
    assert.deepEqual(lab.pids(), []);
    for (const d of [vnc, rdp]) {
      assert.ok(!existsSync(`/tmp/.X11-unix/X${d}`), `X socket of :${d} left behind`);
      assert.ok(!existsSync(`/tmp/.X${d}-lock`), `X lock of :${d} left behind`);
    }
  });

  test('a failed start stops what it had started, and names the target', async () => {
    // Same data dir again (keys and credentials are reused), impossible ready timeout.
    const err = await startLab({ dataDir, ports: PORTS, displayBase: DISPLAY_BASE, account: ACCOUNT, readyTimeoutMs: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof LabStartError, `expected LabStartError, got ${String(err)}`);
    assert.match(err.message, /(SSH|Telnet|VNC|RDP) target [A-Z]+-0\d: /);
    assert.match(err.message, /last lines of /);
    assert.deepEqual(processesUsing(dataDir), []);
    for (const [name, port] of Object.entries(PORTS)) assert.ok(await portClosed(port), `${name} port ${port} still open`);
    assert.equal(await probeOnce('127.0.0.1', PORTS.ssh, undefined, 500), false);
  });
});
