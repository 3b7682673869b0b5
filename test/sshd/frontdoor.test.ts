/**
 * The SSH front door with the real OpenSSH client: `ssh -p <port> alice+PLC-01@127.0.0.1 cmd`
 * opens a brokered, recorded session to the lab's real sshd (and telnetd). Sign-in with the
 * console's rules (password or registered key, then TOTP / recovery code), the menu, PTY shells,
 * refusals, the red button, and the /me/ssh-keys API.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { type Lab, removeLabAccount, startLab } from '../../lab/index.js';
import { loadSigningKey, readRecording, verifyRecording } from '../../src/server/recording/index.js';
import { adminClient, type ApiClient, type TestGateway } from '../helpers/gateway.js';
import { OpenSsh, startSshGateway } from './helpers.js';

const ACCOUNT = 'pcfrontdoor';
const PW = 'Front-door-passphrase-5';

function keygen(dir: string, name: string, type = 'ed25519'): { key: string; pub: string } {
  const key = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '1024'] : []), '-N', '', '-C', `${name}@test`, '-f', key]);
  return { key, pub: readFileSync(`${key}.pub`, 'utf8').trim() };
}

describe('SSH front door with the real OpenSSH client', () => {
  let lab: Lab;
  let t: TestGateway;
  let admin: ApiClient;
  let ssh: OpenSsh;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-frontdoor-'));
  const ids: Record<string, string> = {};
  let totpSecret = '';
  let recovery: string[] = [];
  const keys: Record<string, { key: string; pub: string }> = {};

  const asUser = async (username: string, password = PW) => {
    const c = t.client();
    const r = await c.login(username, password);
    assert.equal(r.status, 200, r.text);
    return c;
  };
  const lastSession = (username: string) =>
    t.gw.database.db.selectFrom('remote_sessions').selectAll().where('username', '=', username).orderBy('created_at', 'desc').executeTakeFirstOrThrow();
  const settled = async (id: string) => {
    for (let i = 0; i < 200; i++) {
      const row = await t.gw.database.db.selectFrom('remote_sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      if (row.state !== 'active' && row.state !== 'pending') return row;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`session ${id} did not end`);
  };
  const auditOf = async (action: string) =>
    ((await admin.get(`/api/v1/audit?action=${encodeURIComponent(action)}&limit=200`)).json.items as { action: string; result: string; actor: { name: string }; details: Record<string, unknown> }[]).map((e) => ({ ...e, actorName: e.actor.name }));

  before(async () => {
    lab = await startLab({ dataDir: dir, ports: { ssh: 24201, telnet: 24323, vnc: 24901, rdp: 24891 }, displayBase: 220, account: ACCOUNT });
    t = await startSshGateway();
    assert.ok(t.gw.sshPort, 'the front door listens');
    ssh = new OpenSsh(() => t.gw.sshPort!);
    admin = await adminClient(t);
    const sshT = lab.targets.find((x) => x.protocol === 'ssh')!;
    const telT = lab.targets.find((x) => x.protocol === 'telnet')!;
    const site = (await admin.post('/api/v1/sites', { name: 'Front door lab', maxConnections: 10 })).json;
    ids.site = site.id;
    const assets: [string, { protocol: string; port: number }[]][] = [
      ['PLC-01', [{ protocol: 'ssh', port: sshT.port }]],
      ['RTU-02', [{ protocol: 'telnet', port: telT.port }]],
      ['GW-03', [{ protocol: 'ssh', port: sshT.port }, { protocol: 'telnet', port: telT.port }]],
    ];
    for (const [name, accessMethods] of assets) {
      const a = await admin.post('/api/v1/assets', { name, siteId: site.id, purdueLevel: 1, host: '127.0.0.1', accessMethods });
      assert.equal(a.status, 201, a.text);
      ids[name] = a.json.id;
      const acc = await admin.post(`/api/v1/assets/${a.json.id}/accounts`, { name: 'default', username: sshT.username, kind: 'password', password: sshT.password });
      assert.equal(acc.status, 201, acc.text);
    }
    for (const [u, extra] of [['alice', {}], ['bob', {}], ['carol', {}], ['dave', { otpRequired: true }]] as const) {
      const r = await admin.post('/api/v1/users', { username: u, role: 'Client', password: PW, mustChangePassword: false, ...extra });
      assert.equal(r.status, 201, r.text);
      ids[u] = r.json.user.id;
    }
    // erin must change her (admin-set) password first.
    ids.erin = (await admin.post('/api/v1/users', { username: 'erin', role: 'Client', password: PW, mustChangePassword: true })).json.user.id;
    for (const u of ['alice', 'bob']) await admin.post('/api/v1/grants', { subjectType: 'user', subjectId: ids[u], targetType: 'site', target: site.id });

    // alice: authenticator app (TOTP) + recovery codes.
    const alice = await asUser('alice');
    totpSecret = (await alice.post('/api/v1/me/mfa/totp/enroll')).json.secret;
    const conf = await alice.post('/api/v1/me/mfa/totp/confirm', { code: await generate({ secret: totpSecret }) });
    assert.equal(conf.status, 200, conf.text);
    recovery = conf.json.recoveryCodes;
    // Keys: alice (key + code), bob, carol (no grant).
    for (const u of ['alice', 'bob', 'carol']) {
      keys[u] = keygen(dir, `id_${u}`);
      const c = u === 'alice' ? alice : await asUser(u);
      const r = await c.post('/api/v1/me/ssh-keys', { name: `${u} laptop`, publicKey: keys[u]!.pub });
      assert.equal(r.status, 201, r.text);
    }
  });
  after(async () => {
    await t?.stop();
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    ssh?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates a persistent ed25519 host key (0600) whose fingerprint the system info and the client agree on', async () => {
    const file = resolve(t.dataDir, 'keys', 'ssh_host_ed25519_key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(t.gw.sshFingerprint!, /^SHA256:[A-Za-z0-9+/]{43}$/);
    const info = await admin.get('/api/v1/system/info');
    assert.equal(info.json.sshHostKeyFingerprint, t.gw.sshFingerprint);
    const r = await ssh.run([...ssh.keyOnly(keys.bob!.key), 'bob+PLC-01@127.0.0.1', 'true']);
    assert.equal(r.code, 0, r.stderr);
    const seen = execFileSync('ssh-keygen', ['-l', '-f', ssh.knownHosts], { encoding: 'utf8' });
    assert.ok(seen.includes(t.gw.sshFingerprint!), `known_hosts has ${seen}`);
    assert.match(seen, /ED25519/);
  });

  it('password then TOTP (askpass), exec through the gateway: portcullis-42, recorded and audited', async () => {
    // The enrollment burnt the current step: answer with the next one (accepted within ±1 step).
    const code = await generate({ secret: totpSecret, epoch: Math.floor(Date.now() / 1000) + 30 });
    const ask = ssh.askpass({ password: PW, code });
    const r = await ssh.run(['-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'PubkeyAuthentication=no', 'alice+PLC-01@127.0.0.1', 'echo portcullis-$((6*7))'], ask.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /portcullis-42/);
    assert.doesNotMatch(r.stdout, /Session ended/, 'stdout is the command output only');
    const prompts = readFileSync(ask.prompts, 'utf8');
    assert.match(prompts, /password/i);
    assert.match(prompts, /Verification code \(authenticator app or recovery code\):/);
    const row = await settled((await lastSession('alice')).id);
    assert.equal(row.via, 'ssh');
    assert.equal(row.command, 'echo portcullis-$((6*7))');
    assert.equal(row.state, 'ended');
    assert.equal(row.source_ip, '127.0.0.1');
    const path = resolve(t.dataDir, row.recording_path!);
    const v = await verifyRecording(path, loadSigningKey(t.dataDir).publicKeyPem);
    assert.equal(v.ok, true, JSON.stringify(v));
    const rec = await readRecording(path);
    assert.ok(rec.events.some((e) => e[1] === 'o' && String(e[2]).includes('portcullis-42')));
    const logins = await auditOf('auth.');
    assert.ok(logins.some((e) => e.action === 'auth.login' && e.result === 'success' && e.actorName === 'alice'));
    assert.ok(logins.some((e) => e.action === 'auth.mfa' && e.result === 'success' && e.details.method === 'totp'));
    const opened = (await auditOf('session.open')).find((e) => e.actorName === 'alice' && e.result === 'success');
    assert.equal(opened?.details.via, 'ssh');
  });

  it('keyboard-interactive for both prompts, with a recovery code', async () => {
    const ask = ssh.askpass({ password: PW, code: recovery[0]! });
    const r = await ssh.run(['-o', 'PreferredAuthentications=keyboard-interactive', 'alice+PLC-01@127.0.0.1', 'echo kbd-$((2*21))'], ask.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /kbd-42/);
    const prompts = readFileSync(ask.prompts, 'utf8').trim().split('\n');
    assert.deepEqual(prompts.map((p) => p.replace(/^\(.*?\) /, '').trim()), ['Password:', 'Verification code (authenticator app or recovery code):']);
    assert.ok((await auditOf('auth.mfa')).some((e) => e.result === 'success' && e.details.method === 'recovery'));
  });

  it('a registered key replaces the password, the second factor is still asked', async () => {
    const ask = ssh.askpass({ code: recovery[1]! });
    const r = await ssh.run(['-i', keys.alice!.key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'PreferredAuthentications=publickey,keyboard-interactive', 'alice+PLC-01@127.0.0.1', 'echo key-ok'], ask.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /key-ok/);
    assert.deepEqual(readFileSync(ask.prompts, 'utf8').trim().split('\n'), ['(alice+PLC-01@127.0.0.1) Verification code (authenticator app or recovery code):']);
    const keyLogin = (await auditOf('auth.login')).find((e) => e.actorName === 'alice' && e.details.method === 'publickey');
    assert.equal(keyLogin?.details.next, 'second factor');
    // Without the second factor (BatchMode: no prompts) the key alone is not enough.
    const noCode = await ssh.run([...ssh.keyOnly(keys.alice!.key), 'alice+PLC-01@127.0.0.1', 'echo nope']);
    assert.equal(noCode.code, 255);
    assert.doesNotMatch(noCode.stdout, /nope/);
    const listed = await t.gw.database.db.selectFrom('user_ssh_keys').select('last_used_at').where('user_id', '=', ids.alice!).executeTakeFirstOrThrow();
    assert.ok(listed.last_used_at, 'the key records its last use');
  });

  it('refuses a wrong password and a wrong code, and audits both', async () => {
    const wrong = await ssh.run(['-o', 'PreferredAuthentications=password', '-o', 'NumberOfPasswordPrompts=1', 'alice+PLC-01@127.0.0.1', 'echo never'], ssh.askpass({ password: 'not-the-password' }).env);
    assert.equal(wrong.code, 255);
    assert.match(wrong.stderr, /Permission denied/);
    assert.doesNotMatch(wrong.stdout, /never/);
    const current = await generate({ secret: totpSecret });
    const badCode = current === '000000' ? '111111' : '000000';
    const wrongCode = await ssh.run(['-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'NumberOfPasswordPrompts=1', 'alice+PLC-01@127.0.0.1', 'echo never'], ssh.askpass({ password: PW, code: badCode }).env);
    assert.equal(wrongCode.code, 255);
    assert.match(wrongCode.stderr, /code is wrong or was already used/);
    const failed = (await auditOf('auth.')).filter((e) => e.result === 'failure' && e.actorName === 'alice');
    assert.ok(failed.some((e) => e.action === 'auth.login' && /wrong password/.test(String(e.details.reason))), JSON.stringify(failed));
    assert.ok(failed.some((e) => e.action === 'auth.mfa'), JSON.stringify(failed));
    const all = JSON.stringify((await admin.get('/api/v1/audit?limit=500')).json);
    for (const secret of [PW, 'not-the-password', recovery[0], recovery[1]]) assert.ok(!all.includes(secret!), 'no secret in the audit');
  });

  it('tells users who must enroll a second factor or change their password to use the console', async () => {
    const enroll = await ssh.run(['-o', 'PreferredAuthentications=password', 'dave+PLC-01@127.0.0.1', 'true'], ssh.askpass({ password: PW }).env);
    assert.equal(enroll.code, 255);
    assert.match(enroll.stderr, /must enroll a second factor .*sign in to the console \(http:\/\/127\.0\.0\.1:\d+\)/);
    const change = await ssh.run(['-o', 'PreferredAuthentications=keyboard-interactive', 'erin+PLC-01@127.0.0.1', 'true'], ssh.askpass({ password: PW }).env);
    assert.equal(change.code, 255);
    assert.match(change.stderr, /must change your password/);
  });

  it('refuses a user without a grant with the policy reason on stderr', async () => {
    const r = await ssh.run([...ssh.keyOnly(keys.carol!.key), 'carol+PLC-01@127.0.0.1', 'echo never']);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /\[Portcullis\] access denied: no grant gives you access to PLC-01/);
    assert.doesNotMatch(r.stdout, /never/);
    assert.ok((await auditOf('session.open')).some((e) => e.actorName === 'carol' && e.result === 'failure'));
    const unknown = await ssh.run([...ssh.keyOnly(keys.bob!.key), 'bob+NO-SUCH@127.0.0.1', 'true']);
    assert.equal(unknown.code, 255);
    assert.match(unknown.stderr, /no asset is named "NO-SUCH"/);
  });

  it('returns the exit status of the remote command, and picks the access method from the name', async () => {
    const r = await ssh.run([...ssh.keyOnly(keys.bob!.key), 'bob+plc-01@127.0.0.1', 'exit 3']);
    assert.equal(r.code, 3, r.stderr);
    const several = await ssh.run([...ssh.keyOnly(keys.bob!.key), 'bob+GW-03@127.0.0.1', 'true']);
    assert.equal(several.code, 255);
    assert.match(several.stderr, /bob\+GW-03\+ssh:24201, bob\+GW-03\+telnet:24323/);
    const viaSsh = await ssh.run([...ssh.keyOnly(keys.bob!.key), 'bob+GW-03+ssh@127.0.0.1', 'echo gw-$((1+1))']);
    assert.equal(viaSsh.code, 0, viaSsh.stderr);
    assert.match(viaSsh.stdout, /gw-2/);
    const none = await ssh.run([...ssh.keyOnly(keys.bob!.key), 'bob+PLC-01+telnet@127.0.0.1', 'true']);
    assert.match(none.stderr, /PLC-01 has no telnet access method; it offers ssh:24201/);
  });

  it('without -t a command gets stdin to its end and its bytes pass unchanged (binary, LF not CRLF)', async () => {
    const input = Buffer.concat([randomBytes(200_000), Buffer.from('\nlast line\n')]);
    const child = spawn('ssh', [...ssh.base(), ...ssh.keyOnly(keys.bob!.key), 'bob+PLC-01@127.0.0.1', 'cat'], { env: { PATH: process.env.PATH, HOME: ssh.dir }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b));
    child.stdin.end(input);
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 0, err);
    const got = Buffer.concat(out);
    assert.equal(got.length, input.length, 'not one byte added or lost (no pseudo-terminal in between)');
    assert.ok(got.equals(input), 'the same bytes');
    const row = await settled((await lastSession('bob')).id);
    assert.equal(row.state, 'ended');
    assert.equal(row.bytes_out, input.length);
    assert.equal(row.bytes_in, input.length);
  });

  it('drives an interactive PTY shell (ssh -tt), Telnet chosen by name', async () => {
    const p = ssh.spawn(['-tt', ...ssh.keyOnly(keys.bob!.key), 'bob+GW-03+telnet@127.0.0.1']);
    await p.waitFor(/Connecting to GW-03 \(telnet:24323\)/);
    p.write('echo shell-$((3*4))\n');
    await p.waitFor(/shell-12/, 15_000);
    p.write('exit\n');
    const r = await p.exited;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Session ended/);
    const row = await settled((await lastSession('bob')).id);
    assert.equal(row.protocol, 'telnet');
    assert.equal(row.via, 'ssh');
  });

  it('shows the menu of reachable assets for a plain user name and opens the one picked', async () => {
    const p = ssh.spawn(['-tt', ...ssh.keyOnly(keys.bob!.key), 'bob@127.0.0.1']);
    await p.waitFor(/Number \(1-4, q to quit\): /);
    const menu = p.out();
    assert.match(menu, /assets you can reach, bob/);
    for (const line of [/GW-03\s+ssh:24201/, /GW-03\s+telnet:24323/, /PLC-01\s+ssh:24201\s+Front door lab, level 1/, /RTU-02\s+telnet:24323/]) assert.match(menu, line);
    const n = /(\d+)\) PLC-01/.exec(menu)![1]!;
    p.write('9\n');
    await p.waitFor(/Choose a number between 1 and 4/);
    p.write(`${n}\n`);
    await p.waitFor(/Connecting to PLC-01 \(ssh:24201\)/);
    p.write('echo menu-$((8*8))\n');
    await p.waitFor(/menu-64/, 15_000);
    p.write('exit\n');
    assert.equal((await p.exited).code, 0);
    const q = ssh.spawn(['-tt', ...ssh.keyOnly(keys.bob!.key), 'bob@127.0.0.1']);
    await q.waitFor(/q to quit/);
    q.write('q\n');
    assert.equal((await q.exited).code, 0, 'quitting the menu is not an error');
    const carol = await ssh.run(['-tt', ...ssh.keyOnly(keys.carol!.key), 'carol@127.0.0.1']);
    assert.match(carol.stderr, /no asset with SSH or Telnet access is reachable for you/);
  });

  it('ends the ssh client within 1 s of the red button, with the reason', async () => {
    const p = ssh.spawn(['-tt', ...ssh.keyOnly(keys.bob!.key), 'bob+PLC-01@127.0.0.1']);
    p.write('echo ready-$((9*9))\n');
    await p.waitFor(/ready-81/, 15_000);
    const live = t.gw.broker.list().find((s) => s.view().username === 'bob' && s.view().state === 'active');
    assert.ok(live, 'the session is live in the broker');
    const t0 = Date.now();
    await t.gw.broker.terminate(live.id, { id: null, name: 'admin', ip: '127.0.0.1' }, 'maintenance window over');
    const r = await p.exited;
    assert.ok(Date.now() - t0 < 1000, `the client ended ${Date.now() - t0} ms after the red button`);
    assert.equal(r.code, 255);
    assert.match(r.stdout, /Session ended: terminated by admin: maintenance window over/);
    const row = await settled(live.id);
    assert.equal(row.state, 'terminated');
  });

  it('closing the ssh client ends the brokered session', async () => {
    const p = ssh.spawn(['-tt', ...ssh.keyOnly(keys.bob!.key), 'bob+PLC-01@127.0.0.1']);
    p.write('echo up\n');
    await p.waitFor(/up/, 15_000);
    const live = t.gw.broker.list().find((s) => s.view().username === 'bob' && s.view().state === 'active')!;
    p.kill();
    const d = await live.done;
    assert.deepEqual(d, { state: 'ended', reason: 'closed' });
  });

  it('refuses port forwarding, agent forwarding and subsystems (sftp) with clear messages', async () => {
    const sock = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
    const fw = await ssh.run([...ssh.keyOnly(keys.bob!.key, { agent: true }), '-o', 'ExitOnForwardFailure=no', '-R', '127.0.0.1:0:127.0.0.1:9', '-A', 'bob+PLC-01@127.0.0.1', 'echo fw'], { SSH_AUTH_SOCK: sock });
    agent.kill();
    assert.equal(fw.code, 0, fw.stderr);
    assert.match(fw.stdout, /fw/);
    assert.match(fw.stderr, /remote port forwarding failed/);
    assert.match(fw.stderr, /\[Portcullis\] port forwarding is not available through Portcullis/);
    assert.match(fw.stderr, /\[Portcullis\] agent forwarding is not available/);
    const stdio = await ssh.run([...ssh.keyOnly(keys.bob!.key), '-W', '127.0.0.1:22', 'bob+PLC-01@127.0.0.1']);
    assert.equal(stdio.code, 255);
    assert.match(stdio.stderr, /administratively prohibited/);
    const sftp = await ssh.run([...ssh.keyOnly(keys.bob!.key), '-s', 'bob+PLC-01@127.0.0.1', 'sftp']);
    assert.equal(sftp.code, 255);
    assert.match(sftp.stderr, /\[Portcullis\] the "sftp" subsystem is not available through Portcullis/);
  });

  it('manages SSH keys through /api/v1/me/ssh-keys, audited, with clear refusals', async () => {
    const bob = await asUser('bob');
    const mine = (await bob.get('/api/v1/me/ssh-keys')).json.items;
    assert.equal(mine.length, 1);
    assert.equal(mine[0].name, 'bob laptop');
    assert.equal(mine[0].type, 'ssh-ed25519');
    assert.equal(mine[0].comment, 'id_bob@test');
    assert.equal(mine[0].fingerprint, execFileSync('ssh-keygen', ['-l', '-f', `${keys.bob!.key}.pub`], { encoding: 'utf8' }).split(' ')[1]);
    const dup = await bob.post('/api/v1/me/ssh-keys', { name: 'again', publicKey: keys.bob!.pub });
    assert.equal(dup.status, 409);
    assert.match(dup.json.detail, /already registered \(as "bob laptop"\)/);
    const priv = await bob.post('/api/v1/me/ssh-keys', { name: 'oops', publicKey: readFileSync(keys.bob!.key, 'utf8') });
    assert.equal(priv.status, 400);
    assert.match(priv.json.detail, /private key/);
    const junk = await bob.post('/api/v1/me/ssh-keys', { name: 'junk', publicKey: 'ssh-ed25519 AAAAnotakey' });
    assert.equal(junk.status, 400);
    const weak = keygen(dir, 'id_weak', 'rsa');
    const small = await bob.post('/api/v1/me/ssh-keys', { name: 'weak', publicKey: weak.pub });
    assert.equal(small.status, 400);
    assert.match(small.json.detail, /at least 2048 bits/);
    const extra = keygen(dir, 'id_bob2');
    const added = await bob.post('/api/v1/me/ssh-keys', { name: 'second', publicKey: extra.pub });
    assert.equal(added.status, 201, added.text);
    const ok = await ssh.run([...ssh.keyOnly(extra.key), 'bob+PLC-01@127.0.0.1', 'true']);
    assert.equal(ok.code, 0, ok.stderr);
    // Another user's key id is not mine.
    assert.equal((await (await asUser('carol')).delete(`/api/v1/me/ssh-keys/${added.json.id}`)).status, 404);
    assert.equal((await bob.delete(`/api/v1/me/ssh-keys/${added.json.id}`)).status, 204);
    const gone = await ssh.run([...ssh.keyOnly(extra.key), 'bob+PLC-01@127.0.0.1', 'true']);
    assert.equal(gone.code, 255, 'a removed key no longer signs in');
    const events = (await auditOf('user.ssh_key')).map((e) => `${e.action}:${e.actorName}`);
    assert.ok(events.includes('user.ssh_key_add:bob') && events.includes('user.ssh_key_remove:bob'), JSON.stringify(events));
    // API tokens cannot plant keys.
    const token = (await admin.post('/api/v1/tokens', { name: 'itsm', role: 'Client', expiresAt: new Date(Date.now() + 86_400_000).toISOString() })).json.secret;
    const viaToken = await t.client().post('/api/v1/me/ssh-keys', { name: 'planted', publicKey: extra.pub }, { authorization: `Bearer ${token}` });
    assert.equal(viaToken.status, 403);
  });

  it('gates at the front door: break-glass asked on the terminal with a reason; a moderated session waits for its moderator', async () => {
    const sshT = lab.targets.find((x) => x.protocol === 'ssh')!;
    for (const name of ['PLC-BG', 'HMI-MOD']) {
      const a = await admin.post('/api/v1/assets', { name, siteId: ids.site, purdueLevel: 3, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: sshT.port }] });
      assert.equal(a.status, 201, a.text);
      ids[name] = a.json.id;
      assert.equal((await admin.post(`/api/v1/assets/${a.json.id}/accounts`, { name: 'default', username: sshT.username, kind: 'password', password: sshT.password })).status, 201);
    }
    for (const rule of [
      { name: 'PLC-BG needs a request', subjects: { everyone: true }, targets: { assets: [ids['PLC-BG']] }, approvals: { required: 1 } },
      { name: 'bob may break glass on PLC-BG', subjects: { users: [ids.bob] }, targets: { assets: [ids['PLC-BG']] }, breakGlass: true },
      { name: 'HMI-MOD is moderated', subjects: { everyone: true }, targets: { assets: [ids['HMI-MOD']] }, watchRequired: true },
    ]) assert.equal((await admin.post('/api/v1/policy/rules', rule)).status, 201);

    // Without a terminal there is nobody to ask: refused, with the hint.
    const plain = await ssh.run([...ssh.keyOnly(keys.bob!.key), 'bob+PLC-BG@127.0.0.1', 'true']);
    assert.equal(plain.code, 255);
    assert.match(plain.stderr, /an approved access request is needed\. In an emergency, break-glass access is available with a terminal/);

    // Cancelled with an empty reason.
    const cancel = ssh.spawn(['-tt', ...ssh.keyOnly(keys.bob!.key), 'bob+PLC-BG@127.0.0.1']);
    await cancel.waitFor(/Reason \(at least 10 characters; empty to cancel\): /, 15_000);
    cancel.write('\n');
    assert.equal((await cancel.exited).code, 255);

    const p = ssh.spawn(['-tt', ...ssh.keyOnly(keys.bob!.key), 'bob+PLC-BG@127.0.0.1']);
    await p.waitFor(/Reason \(at least 10 characters; empty to cancel\): /, 15_000);
    assert.match(p.out(), /needs 1 approval/);
    assert.match(p.out(), /alerts every administrator at once/);
    p.write('Line 2 stopped, on-call reset of PLC-BG\n');
    p.write('echo bg-$((6*7))\n');
    await p.waitFor(/bg-42/, 15_000);
    const row = await lastSession('bob');
    assert.equal(row.asset_name, 'PLC-BG');
    assert.equal(row.break_glass_reason, 'Line 2 stopped, on-call reset of PLC-BG');
    assert.equal(row.review_state, 'pending');
    p.write('exit\n');
    await p.exited;

    const adminId = (await admin.get('/api/v1/me')).json.user.id as string;
    const q = ssh.spawn(['-tt', ...ssh.keyOnly(keys.bob!.key), 'bob+HMI-MOD@127.0.0.1']);
    await q.waitFor(/waiting for a moderator: this session starts when a moderator joins to watch it/, 15_000);
    const w = t.gw.broker.gates.list().find((x) => x.username === 'bob' && x.assetName === 'HMI-MOD');
    assert.ok(w, 'the session waits at the gate');
    const s = await t.gw.broker.moderate(w.sessionId, { id: adminId, username: 'admin', role: 'Administrator', ip: '127.0.0.1' });
    s.attach({ role: 'watcher', moderator: true, name: 'admin', userId: adminId, output: () => true, event: () => {} });
    q.write('echo mod-$((7*7))\n');
    await q.waitFor(/mod-49/, 15_000);
    q.write('exit\n');
    await q.exited;
    assert.equal((await settled(s.id)).moderated, 1);
  });
});
