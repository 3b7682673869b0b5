/**
 * Login timing: an unknown username must cost about as much as a wrong password (no account
 * enumeration by timing). Prints the median of each and their ratio, measured in the same run.
 * Run: node --import tsx bench/login-timing.ts [rounds]
 */
import { performance } from 'node:perf_hooks';
import { adminClient, startGateway } from '../test/helpers/gateway.js';

const rounds = Number(process.argv[2] ?? 40);
const t = await startGateway({ tls: false });
try {
  const admin = await adminClient(t);
  // Lockout would end the wrong-password series early: raise it for the measurement.
  await admin.patch('/api/v1/settings/security', { lockoutAttempts: 100 });
  await admin.post('/api/v1/users', { username: 'bench.user', role: 'Client', password: 'Bench-user-passphrase-1', mustChangePassword: false });
  const time = async (username: string, password: string) => {
    const c = t.client();
    const t0 = performance.now();
    await c.login(username, password);
    return performance.now() - t0;
  };
  const wrong: number[] = [];
  const unknown: number[] = [];
  const right: number[] = [];
  for (let i = 0; i < rounds; i++) {
    wrong.push(await time('bench.user', `Wrong-passphrase-${i}`));
    unknown.push(await time(`nobody.${i}`, `Wrong-passphrase-${i}`));
    if (i % 4 === 0) right.push(await time('bench.user', 'Bench-user-passphrase-1'));
    if (i % 50 === 49) await t.gw.database.db.updateTable('users').set({ failed_logins: 0 }).where('username', '=', 'bench.user').execute();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mw = median(wrong);
  const mu = median(unknown);
  console.log(`login, wrong password:  median ${mw.toFixed(1)} ms over ${wrong.length}`);
  console.log(`login, unknown user:    median ${mu.toFixed(1)} ms over ${unknown.length}`);
  console.log(`login, right password:  median ${median(right).toFixed(1)} ms over ${right.length}`);
  console.log(`ratio unknown / wrong:  ${(mu / mw).toFixed(2)}  (1.00 = indistinguishable)`);
} finally {
  await t.stop();
}
