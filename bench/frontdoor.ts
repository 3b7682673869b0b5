/**
 * Bulk throughput with the real OpenSSH client: `cat` of a large text file (default 200 MB)
 *   1. directly to the lab's sshd                                  (the baseline),
 *   2. through an OpenSSH jump host (`ssh -J`, the jump-server baseline: no recording),
 *   3. through the gateway's SSH front door (brokered, recorded, screen kept),
 * all measured in this run, each the best of R rounds. The gateway runs as its own process.
 * Run: node --import tsx bench/frontdoor.ts [MB] [rounds]
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { removeLabAccount, startLab } from '../lab/index.js';
import { HttpApi, startGatewayProcess } from './lib/gateway-process.js';

const MB = Number(process.argv[2] ?? 200);
const ROUNDS = Number(process.argv[3] ?? 2);
const ACCOUNT = 'pcbenchfd';
const PORTS = { ssh: 27271, telnet: 27383, vnc: 29971, rdp: 28897, jump: 27272, http: 27280, frontdoor: 27282 };

const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-fd-'));
chmodSync(dir, 0o755); // the lab account reads the data file
const dataFile = join(dir, 'data.txt');
// Text, as a log file would be: base64 lines of random bytes, MB megabytes in all.
execFileSync('sh', ['-c', `head -c ${Math.ceil((MB * 1024 * 1024 * 57) / 77)} /dev/urandom | base64 -w 76 | head -c ${MB * 1024 * 1024} > '${dataFile}'`]);
chmodSync(dataFile, 0o644);
const size = MB * 1024 * 1024;

const lab = await startLab({ dataDir: join(dir, 'lab-data'), ports: { ssh: PORTS.ssh, telnet: PORTS.telnet, vnc: PORTS.vnc, rdp: PORTS.rdp }, displayBase: 236, account: ACCOUNT, log: () => {} });
const stops: (() => Promise<unknown> | void)[] = [() => lab.stop(), () => removeLabAccount(ACCOUNT)];

try {
  const target = lab.targets.find((x) => x.protocol === 'ssh')!;

  // The jump host: a second OpenSSH sshd that allows TCP forwarding (the lab's does not).
  const jumpDir = join(dir, 'jump');
  mkdirSync(jumpDir, { mode: 0o700 });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(jumpDir, 'host_key')]);
  writeFileSync(
    join(jumpDir, 'sshd_config'),
    [`ListenAddress 127.0.0.1:${PORTS.jump}`, `HostKey ${join(jumpDir, 'host_key')}`, `PidFile ${join(jumpDir, 'pid')}`, 'UsePAM no', 'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no', 'PubkeyAuthentication no', `AllowUsers ${ACCOUNT}`, 'AllowTcpForwarding yes', 'PermitRootLogin no', ''].join('\n'),
    { mode: 0o600 },
  );
  const jump = spawn('/usr/sbin/sshd', ['-D', '-f', join(jumpDir, 'sshd_config'), '-E', join(jumpDir, 'log')], { stdio: 'ignore' });
  stops.push(() => void jump.kill());

  // The gateway with one asset, its vaulted account, a user with a registered key and a grant.
  const gw = await startGatewayProcess({ dataDir: join(dir, 'gw'), port: PORTS.http, sshPort: PORTS.frontdoor });
  stops.unshift(() => gw.stop());
  const site = await gw.api.call('POST', '/api/v1/sites', { name: 'Bench', maxConnections: 50 });
  const asset = await gw.api.call('POST', '/api/v1/assets', { name: 'BENCH', siteId: site.id, purdueLevel: 1, host: '127.0.0.1', accessMethods: [{ protocol: 'ssh', port: target.port }] });
  await gw.api.call('POST', `/api/v1/assets/${asset.id}/accounts`, { name: 'default', username: target.username, kind: 'password', password: target.password });
  const userPw = 'Throughput-passphrase-7';
  const user = await gw.api.call('POST', '/api/v1/users', { username: 'bench', role: 'Client', password: userPw, mustChangePassword: false });
  await gw.api.call('POST', '/api/v1/grants', { subjectType: 'user', subjectId: user.user.id, targetType: 'asset', target: asset.id });
  const key = join(dir, 'id_bench');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const me = new HttpApi(gw.url);
  await me.login('bench', userPw);
  await me.call('POST', '/api/v1/me/ssh-keys', { name: 'bench', publicKey: readFileSync(`${key}.pub`, 'utf8').trim() });

  // The OpenSSH client: one config file, the lab password from an askpass helper.
  writeFileSync(join(dir, 'password'), target.password ?? '', { mode: 0o600 });
  const askpass = join(dir, 'askpass.sh');
  writeFileSync(askpass, `#!/bin/sh\ncat '${join(dir, 'password')}'; echo\n`, { mode: 0o700 });
  const config = join(dir, 'ssh_config');
  writeFileSync(
    config,
    [
      `Host direct`, `  HostName 127.0.0.1`, `  Port ${target.port}`, `  User ${ACCOUNT}`, `  PreferredAuthentications password`,
      `Host jump`, `  HostName 127.0.0.1`, `  Port ${PORTS.jump}`, `  User ${ACCOUNT}`, `  PreferredAuthentications password`,
      `Host viajump`, `  HostName 127.0.0.1`, `  Port ${target.port}`, `  User ${ACCOUNT}`, `  ProxyJump jump`, `  PreferredAuthentications password`,
      `Host frontdoor`, `  HostName 127.0.0.1`, `  Port ${PORTS.frontdoor}`, `  User bench+BENCH`, `  IdentityFile ${key}`, `  IdentitiesOnly yes`, `  PreferredAuthentications publickey`,
      `Host *`, `  StrictHostKeyChecking no`, `  UserKnownHostsFile /dev/null`, `  GlobalKnownHostsFile /dev/null`, `  LogLevel ERROR`, `  IdentityAgent none`, '',
    ].join('\n'),
  );
  const env = { PATH: process.env.PATH, HOME: dir, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' };

  /** Gateway CPU seconds so far (user + system), from /proc. */
  const gwCpu = () => {
    const f = readFileSync(`/proc/${gw.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  /** One `ssh <host> cat <file>`: seconds to the last byte, the ssh client's CPU seconds, the gateway's. */
  const run = (host: string) =>
    new Promise<{ secs: number; clientCpu: number; gatewayCpu: number }>((resolve, reject) => {
      const cpu0 = gwCpu();
      const t0 = performance.now();
      const p = spawn('bash', ['-c', `TIMEFORMAT='CPU %U %S'; time ssh -F '${config}' ${host} 'cat ${dataFile}'`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let bytes = 0;
      let err = '';
      p.stdout.on('data', (b: Buffer) => (bytes += b.length));
      p.stderr.on('data', (b: Buffer) => (err += b.toString()));
      p.on('close', (code) => {
        const secs = (performance.now() - t0) / 1000;
        const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(err);
        if (code !== 0 || bytes !== size || !cpu) reject(new Error(`ssh ${host}: exit ${code}, ${bytes} of ${size} bytes; ${err.trim()}`));
        else resolve({ secs, clientCpu: Number(cpu[1]) + Number(cpu[2]), gatewayCpu: gwCpu() - cpu0 });
      });
    });

  const paths = [
    ['direct', 'direct OpenSSH (ssh -> sshd)'],
    ['viajump', 'OpenSSH ProxyJump (ssh -J jump host)'],
    ['frontdoor', 'gateway front door (brokered, recorded)'],
  ] as const;
  const best = new Map<string, number>();
  const cpu = new Map<string, { client: number; gateway: number }>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const [host] of paths) {
      const one = await run(host);
      const mbps = size / 1e6 / one.secs;
      if (mbps > (best.get(host) ?? 0)) {
        best.set(host, mbps);
        cpu.set(host, { client: one.clientCpu, gateway: one.gatewayCpu });
      }
    }
  }
  console.log(`cat of ${MB} MB of text over SSH, best of ${ROUNDS} rounds (the real OpenSSH client); CPU seconds per 100 MB:`);
  const per100 = (x: number) => ((x * 100 * 1024 * 1024) / size).toFixed(2);
  for (const [host, label] of paths) {
    const c = cpu.get(host)!;
    console.log(`  ${label.padEnd(42)} ${best.get(host)!.toFixed(1).padStart(7)} MB/s   ssh client ${per100(c.client)} s${host === 'frontdoor' ? `   gateway ${per100(c.gateway)} s` : ''}`);
  }
  const d = best.get('direct')!;
  console.log(`ratio front door/direct ${(best.get('frontdoor')! / d).toFixed(2)}x   ProxyJump/direct ${(best.get('viajump')! / d).toFixed(2)}x   front door/ProxyJump ${(best.get('frontdoor')! / best.get('viajump')!).toFixed(2)}x`);
  const sessions = await gw.api.call('GET', '/api/v1/sessions?limit=10');
  const rec = sessions.items.filter((s: { recorded: boolean }) => s.recorded).length;
  console.log(`(front-door sessions recorded: ${rec} of ${sessions.items.length})`);
} finally {
  for (const stop of stops) await stop();
  rmSync(dir, { recursive: true, force: true });
}
