/**
 * The SSH protocol engine (src/server/protocols/ssh) against the real OpenSSH sshd of the demo
 * lab, on private ports, display base and account so it never collides with a demo or lab test.
 * Key authentication needs `PubkeyAuthentication yes`, which the lab's sshd does not allow: the
 * test runs a second sshd from a copy of the lab's config (same host key) with public keys on.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { type Lab, type LabTarget, removeLabAccount, startLab } from '../../lab/index.js';
import { lookupAccount } from '../../lab/account.js';
import { requireBinary, Supervisor, waitForListener } from '../../lab/process.js';
import { sshProtocol } from '../../src/server/protocols/ssh/client.js';
import { fingerprintMatches, hostKeyFingerprint, normalizeFingerprint } from '../../src/server/protocols/ssh/hostkey.js';
import { ConnectError, type ConnectFailure, type ConnectOptions, type TerminalConnection, type TerminalCredential } from '../../src/server/protocols/types.js';

const PORTS = { ssh: 17201, telnet: 17323, vnc: 19901, rdp: 18891 };
const KEY_SSHD_PORT = 17202;
const KBD_PORT = 17203;
const GARBAGE_PORT = 17204;
const SILENT_PORT = 17205;
const CLOSED_PORT = 17209;
const DISPLAY_BASE = 200;
const ACCOUNT = 'pcsshtest';
const SIZE = { cols: 100, rows: 30 };
const PASSPHRASE = 'correct horse battery staple';
const KBD_PASSWORD = 'kbd-Secret-123';

/** Accumulates a connection's output and waits for patterns in it (bash echoes with bracketed paste: "\x1b[?2004l\r" before output). */
class Reader {
  text = '';
  bytes = 0;
  private waiters: (() => void)[] = [];
  constructor(readonly stream: Duplex) {
    stream.on('data', (d: Buffer) => {
      this.bytes += d.length;
      this.text += d.toString('utf8');
      for (const w of this.waiters) w();
    });
  }
  waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = re.exec(this.text);
        if (!m) return false;
        done();
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout waiting for ${re}; got ${JSON.stringify(this.text.slice(-2000))}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const waiter = (): void => {
        check();
      };
      this.waiters.push(waiter);
      check();
    });
  }
}

async function expectFailure(p: Promise<TerminalConnection>, failure: ConnectFailure): Promise<ConnectError> {
  const err = await p.then(
    (c) => {
      c.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectError, `expected ConnectError(${failure}), got ${String(err)}`);
  assert.equal(err.failure, failure, err.message);
  return err;
}

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

describe('SSH protocol engine (against the lab sshd)', () => {
  let dataDir = '';
  let lab: Lab | undefined;
  let t: LabTarget;
  let hostFingerprint = '';
  const sup = new Supervisor();
  const servers: net.Server[] = [];
  const keys = { plain: '', encrypted: '', stranger: '' };

  const target = (port = t.port, options: Record<string, string | number | boolean> = {}) => ({ host: '127.0.0.1', port, options });
  const cred = (extra: Partial<TerminalCredential> = {}): TerminalCredential => ({ username: ACCOUNT, password: t.password, ...extra });
  const connect = (opts: Partial<ConnectOptions> = {}, credential = cred(), port = t.port, options = {}) =>
    sshProtocol.connect(target(port, options), credential, { size: SIZE, timeoutMs: 10_000, ...opts });

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'portcullis-ssh-test-'));
    chmodSync(dataDir, 0o755);
    lab = await startLab({ dataDir, ports: PORTS, displayBase: DISPLAY_BASE, account: ACCOUNT });
    const found = lab.targets.find((x) => x.protocol === 'ssh');
    assert.ok(found);
    t = found;
    const pub = path.join(lab.labDir, 'ssh', 'ssh_host_ed25519_key.pub');
    const out = (await sup.runOk(requireBinary('ssh-keygen'), ['-lf', pub], { name: 'ssh-keygen -lf' })).toString();
    const m = /SHA256:[A-Za-z0-9+/]+/.exec(out);
    assert.ok(m, `ssh-keygen -lf output: ${out}`);
    hostFingerprint = m[0];

    // Client keys: one plain, one with a passphrase, one the asset does not know.
    for (const [name, pass] of [
      ['plain', ''],
      ['encrypted', PASSPHRASE],
      ['stranger', ''],
    ] as const) {
      const file = path.join(dataDir, `id_${name}`);
      await sup.runOk(requireBinary('ssh-keygen'), ['-q', '-t', 'ed25519', '-N', pass, '-C', `pc-test-${name}`, '-f', file], { name: 'ssh-keygen' });
      keys[name] = readFileSync(file, 'utf8');
    }
    const account = lookupAccount(ACCOUNT);
    assert.ok(account);
    const sshDir = path.join(account.home, '.ssh');
    mkdirSync(sshDir, { recursive: true, mode: 0o700 });
    chownSync(sshDir, account.uid, account.gid);
    const authorized = path.join(sshDir, 'authorized_keys');
    writeFileSync(authorized, ['plain', 'encrypted'].map((n) => readFileSync(path.join(dataDir, `id_${n}.pub`), 'utf8')).join(''), { mode: 0o600 });
    chownSync(authorized, account.uid, account.gid);

    // Second sshd: the lab's config with public keys allowed, on its own port and pid file.
    const labConfig = readFileSync(path.join(lab.labDir, 'ssh', 'sshd_config'), 'utf8');
    const keyConfig = labConfig
      .split('\n')
      .map((line) => {
        if (line.startsWith('ListenAddress ')) return `ListenAddress 127.0.0.1:${KEY_SSHD_PORT}`;
        if (line.startsWith('PidFile ')) return `PidFile "${path.join(dataDir, 'key-sshd.pid')}"`;
        if (line.startsWith('PubkeyAuthentication ')) return 'PubkeyAuthentication yes';
        if (line.startsWith('AuthorizedKeysFile ')) return 'AuthorizedKeysFile .ssh/authorized_keys';
        if (line.startsWith('PasswordAuthentication ')) return 'PasswordAuthentication no';
        return line;
      })
      .join('\n');
    const keyConfigFile = path.join(dataDir, 'key-sshd_config');
    writeFileSync(keyConfigFile, keyConfig, { mode: 0o600 });
    const logFile = path.join(dataDir, 'key-sshd.log');
    const sshd = sup.spawn(requireBinary('sshd'), ['-D', '-f', keyConfigFile, '-E', logFile], { name: 'key sshd', logFile, env: { LANG: 'C.UTF-8' } });
    await waitForListener({
      label: 'key sshd',
      port: KEY_SSHD_PORT,
      timeoutMs: 10_000,
      watch: [sshd],
      probe: { accept: (b) => b.toString('latin1').startsWith('SSH-2.0-') },
    });
  });

  after(async () => {
    for (const s of servers) s.close();
    await sup.stopAll();
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('fingerprints: OpenSSH format, normalized pins', () => {
    const blob = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', 'base64');
    const fp = hostKeyFingerprint(blob);
    assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.ok(fingerprintMatches(fp, fp));
    assert.ok(fingerprintMatches(fp.slice('SHA256:'.length), fp));
    assert.ok(fingerprintMatches(`${fp}=`, fp));
    assert.ok(!fingerprintMatches('SHA256:nope', fp));
    assert.equal(normalizeFingerprint('MD5:aa:bb'), undefined);
  });

  test('shell with password: banner, command output, first use reports the host key fingerprint', async () => {
    const c = await connect();
    try {
      assert.equal(c.info.hostKeyFingerprint, hostFingerprint, 'fingerprint equals ssh-keygen -lf');
      assert.ok(c.info.negotiated?.some((s) => s.startsWith('kex=')), String(c.info.negotiated));
      const r = new Reader(c.stream);
      await r.waitFor(/Authorized access only/);
      await r.waitFor(new RegExp(`${ACCOUNT}@PLC-01:~\\$ $`));
      c.stream.write('echo portcullis-$((6*7))\n');
      await r.waitFor(/portcullis-42\r?\n/);
      c.stream.write('echo "$TERM"\n');
      await r.waitFor(/[\r\n]xterm-256color\r?\n/);
      c.stream.write('exit 0\n');
      const end = await c.ended;
      assert.equal(end.how, 'closed');
      assert.equal(end.exitCode, 0);
      assert.match(end.message, /exited with code 0/);
    } finally {
      c.close();
    }
  });

  test('resize: stty size shows the new size; out-of-range sizes are clamped', async () => {
    const c = await connect({ term: 'vt100' });
    try {
      const r = new Reader(c.stream);
      await r.waitFor(/\$ $/);
      c.stream.write('stty size; echo "t=$TERM"\n');
      await r.waitFor(/[\r\n]30 100\r?\n/);
      await r.waitFor(/t=vt100/);
      c.resize({ cols: 132, rows: 43 });
      c.stream.write('stty size\n');
      await r.waitFor(/[\r\n]43 132\r?\n/);
      c.resize({ cols: 5000, rows: 0 });
      c.stream.write('stty size\n');
      await r.waitFor(/[\r\n]1 1000\r?\n/);
    } finally {
      c.close('test done');
    }
    const end = await c.ended;
    assert.deepEqual([end.how, end.message], ['closed', 'test done']);
  });

  test('exec with a PTY: uname -s gives Linux, exit code 0', async () => {
    const c = await connect({ command: 'uname -s' });
    const r = new Reader(c.stream);
    const end = await c.ended;
    await r.waitFor(/^Linux\r\n$/);
    assert.deepEqual(end, { how: 'closed', message: 'the remote command exited with code 0', exitCode: 0 });
  });

  test('exec without a PTY (option pty: false): stdout and stderr merged, exit code, input and EOF', async () => {
    const c = await connect({ command: 'tty; echo out; echo err >&2; exit 3' }, cred(), t.port, { pty: false });
    const r = new Reader(c.stream);
    const end = await c.ended;
    await r.waitFor(/not a tty\n/);
    assert.match(r.text, /out\n/);
    assert.match(r.text, /err\n/);
    assert.equal(end.exitCode, 3);
    assert.equal(end.how, 'closed');

    const cat = await connect({ command: 'tr a-z A-Z' }, cred(), t.port, { pty: false });
    const rc = new Reader(cat.stream);
    cat.stream.end('portcullis\n');
    await rc.waitFor(/^PORTCULLIS\n$/);
    assert.deepEqual(await cat.ended, { how: 'closed', message: 'the remote command exited with code 0', exitCode: 0 });
  });

  test('the exit code is never lost when the asset sends EOF before the exit status (80 quick commands)', async () => {
    // OpenSSH sends EOF when the command's output closes and exit-status once it is reaped: the
    // gateway used to close on the EOF and lost the code a few times in a hundred.
    const lost: number[] = [];
    for (let i = 0; i < 80; i++) {
      const c = await connect({ command: 'tr a-z A-Z' }, cred(), t.port, { pty: false });
      c.stream.on('data', () => {});
      c.stream.end('portcullis\n');
      const end = await c.ended;
      if (end.exitCode !== 0) lost.push(i);
    }
    assert.deepEqual(lost, []);
  });

  test('pinned host key: the right one is accepted (any notation), a wrong one refused before login', async () => {
    for (const pin of [hostFingerprint, hostFingerprint.slice('SHA256:'.length), `${hostFingerprint}=`]) {
      const c = await connect({ pinnedHostKey: pin, command: 'true' });
      assert.equal(c.info.hostKeyFingerprint, hostFingerprint);
      c.stream.resume();
      assert.equal((await c.ended).exitCode, 0);
    }
    const wrong = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const err = await expectFailure(connect({ pinnedHostKey: wrong }), 'host_key_mismatch');
    assert.equal(err.detail?.hostKeyFingerprint, hostFingerprint);
    assert.ok(err.message.includes(wrong), err.message);
    assert.ok(err.message.includes(hostFingerprint), err.message);
    assert.ok(!err.message.includes(t.password));
  });

  test('wrong password: auth_failed, the password is in no message', async () => {
    const bad = `${t.password}x`;
    const err = await expectFailure(connect({}, cred({ password: bad })), 'auth_failed');
    assert.match(err.message, /refused the vaulted credential/);
    assert.ok(!err.message.includes(bad) && !err.message.includes(t.password));
    await expectFailure(connect({}, { username: ACCOUNT }), 'auth_failed');
  });

  test('private key: plain and with passphrase log in; wrong/missing passphrase, unknown or broken key refused', async () => {
    const run = async (credential: TerminalCredential): Promise<string> => {
      const c = await connect({ command: 'id -un' }, credential, KEY_SSHD_PORT, { pty: false });
      const r = new Reader(c.stream);
      assert.equal((await c.ended).exitCode, 0);
      assert.equal(c.info.hostKeyFingerprint, hostFingerprint);
      return r.text.trim();
    };
    assert.equal(await run({ username: ACCOUNT, privateKey: keys.plain }), ACCOUNT);
    assert.equal(await run({ username: ACCOUNT, privateKey: keys.encrypted, passphrase: PASSPHRASE }), ACCOUNT);

    const wrong = await expectFailure(connect({}, { username: ACCOUNT, privateKey: keys.encrypted, passphrase: 'not it at all' }, KEY_SSHD_PORT), 'auth_failed');
    assert.match(wrong.message, /vaulted private key .* cannot be used: the vaulted passphrase does not decrypt it/);
    assert.ok(!wrong.message.includes('not it at all'));
    const missing = await expectFailure(connect({}, { username: ACCOUNT, privateKey: keys.encrypted }, KEY_SSHD_PORT), 'auth_failed');
    assert.match(missing.message, /encrypted and no passphrase is vaulted/);
    const broken = await expectFailure(connect({}, { username: ACCOUNT, privateKey: 'not a key' }, KEY_SSHD_PORT), 'auth_failed');
    assert.match(broken.message, /cannot be used/);
    const pubOnly = readFileSync(path.join(dataDir, 'id_plain.pub'), 'utf8');
    assert.match((await expectFailure(connect({}, { username: ACCOUNT, privateKey: pubOnly }, KEY_SSHD_PORT), 'auth_failed')).message, /public key/);
    const stranger = await expectFailure(connect({}, { username: ACCOUNT, privateKey: keys.stranger }, KEY_SSHD_PORT), 'auth_failed');
    assert.match(stranger.message, /refused the vaulted credential/);
    assert.ok(!stranger.message.includes('PRIVATE KEY'));
  });

  test('keyboard-interactive is answered with the password; a dropped link ends with how: error', async () => {
    const hostKeyFile = path.join(dataDir, 'kbd_host_key');
    await sup.runOk(requireBinary('ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-f', hostKeyFile], { name: 'ssh-keygen' });
    const server = new ssh2.Server({ hostKeys: [readFileSync(hostKeyFile)] }, (client) => {
      client.on('error', () => {});
      let user = '';
      client.on('authentication', (ctx) => {
        user = ctx.username;
        if (ctx.method !== 'keyboard-interactive') {
          ctx.reject(['keyboard-interactive']);
          return;
        }
        ctx.prompt([{ prompt: 'Password: ', echo: false }], 'Portcullis test', (answers) => {
          if (answers[0] === KBD_PASSWORD) ctx.accept();
          else ctx.reject();
        });
      });
      client.on('ready', () => {
        client.on('session', (accept) => {
          const session = accept();
          session.on('pty', (ok) => ok?.());
          session.on('shell', (ok) => {
            const ch = ok();
            if (user === 'dropper') {
              // Drops the connection with the session still open.
              ch.write('bye\r\n');
              setTimeout(() => client.end(), 50);
              return;
            }
            ch.write('kbd-ok\r\n');
            ch.exit(0);
            ch.end();
          });
        });
      });
    });
    servers.push(server);
    await listen(server, KBD_PORT);
    const c = await connect({}, { username: 'operator', password: KBD_PASSWORD }, KBD_PORT);
    const r = new Reader(c.stream);
    await r.waitFor(/kbd-ok/);
    assert.equal((await c.ended).exitCode, 0);
    await expectFailure(connect({}, { username: 'operator', password: 'wrong-password' }, KBD_PORT), 'auth_failed');

    const dropped = await connect({}, { username: 'dropper', password: KBD_PASSWORD }, KBD_PORT);
    const rd = new Reader(dropped.stream);
    const end = await dropped.ended;
    await rd.waitFor(/bye/);
    assert.equal(end.how, 'error');
    assert.match(end.message, /dropped the connection/);
  });

  test('unreachable port, garbage instead of SSH, silence, abort', async () => {
    let t0 = Date.now();
    const un = await expectFailure(connect({}, cred(), CLOSED_PORT), 'unreachable');
    assert.match(un.message, /ECONNREFUSED/);
    await expectFailure(
      sshProtocol.connect({ host: 'no-such-host.invalid', port: 22, options: {} }, cred(), { size: SIZE, timeoutMs: 5000 }),
      'unreachable',
    );

    const garbage = net.createServer((s) => {
      s.on('error', () => {});
      s.write(Buffer.concat([Buffer.from('\x00\xff\x13garbage\r\x7f no ssh here', 'latin1'), Buffer.alloc(4096, 0xaa)]));
    });
    servers.push(garbage);
    await listen(garbage, GARBAGE_PORT);
    t0 = Date.now();
    const err = await connect({ timeoutMs: 3000 }, cred(), GARBAGE_PORT).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectError && (err.failure === 'protocol' || err.failure === 'timeout'), String(err));
    assert.ok(Date.now() - t0 < 3500, `took ${Date.now() - t0} ms`);
    console.log(`# garbage server: ${err.failure} after ${Date.now() - t0} ms: ${err.message}`);

    const held: net.Socket[] = [];
    const silent = net.createServer((s) => {
      s.on('error', () => {});
      held.push(s);
    });
    servers.push(silent);
    await listen(silent, SILENT_PORT);
    t0 = Date.now();
    await expectFailure(connect({ timeoutMs: 600 }, cred(), SILENT_PORT), 'timeout');
    const took = Date.now() - t0;
    assert.ok(took >= 550 && took < 2000, `timeout after ${took} ms`);

    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    t0 = Date.now();
    const aborted = await connect({ signal: ac.signal }, cred(), SILENT_PORT).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(aborted instanceof Error && aborted.name === 'AbortError', String(aborted));
    assert.ok(Date.now() - t0 < 1000);
    await assert.rejects(connect({ signal: AbortSignal.abort() }), { name: 'AbortError' });
    for (const s of held) s.destroy();
  });

  test('backpressure: `yes` on the asset while nobody reads stays bounded, then flows again', async () => {
    const c = await connect({ command: 'yes portcullis' }, cred(), t.port, { pty: false });
    try {
      global.gc?.();
      const before = process.memoryUsage();
      await new Promise((r) => setTimeout(r, 2500)); // nobody reads
      const after = process.memoryUsage();
      const grownMb = (after.arrayBuffers - before.arrayBuffers) / 1e6;
      const rssMb = (after.rss - before.rss) / 1e6;
      console.log(`# stalled 2.5 s: readableLength ${c.stream.readableLength}, arrayBuffers +${grownMb.toFixed(1)} MB, rss +${rssMb.toFixed(1)} MB`);
      assert.ok(c.stream.readableLength <= 128 * 1024, `readableLength ${c.stream.readableLength}`);
      assert.ok(grownMb < 16, `buffers grew by ${grownMb} MB`);
      assert.ok(rssMb < 64, `rss grew by ${rssMb} MB`);

      // Reading again: the window reopens and data flows at full speed.
      let bytes = 0;
      await new Promise<void>((resolve) => {
        const onData = (d: Buffer): void => {
          bytes += d.length;
          if (bytes > 8 * 1024 * 1024) {
            c.stream.off('data', onData);
            c.stream.pause();
            resolve();
          }
        };
        c.stream.on('data', onData);
      });
      assert.ok(bytes > 8 * 1024 * 1024);
    } finally {
      c.close('backpressure test done');
    }
    const end = await c.ended;
    assert.deepEqual([end.how, end.message], ['closed', 'backpressure test done']);
  });
});
