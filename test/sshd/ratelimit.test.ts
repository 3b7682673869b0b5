/** The front door throttles failed sign-ins per source address (on top of the account lockout). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminClient, type TestGateway } from '../helpers/gateway.js';
import { OpenSsh, startSshGateway } from './helpers.js';

const PW = 'Rate-limit-passphrase-6';

describe('SSH front door rate limit', () => {
  let t: TestGateway;
  let ssh: OpenSsh;
  before(async () => {
    t = await startSshGateway({ loginRateLimit: 2 });
    ssh = new OpenSsh(() => t.gw.sshPort!);
    const admin = await adminClient(t);
    for (const u of ['rita', 'sam']) assert.equal((await admin.post('/api/v1/users', { username: u, role: 'Client', password: PW, mustChangePassword: false })).status, 201);
  });
  after(async () => {
    await t?.stop();
    ssh?.cleanup();
  });

  it('refuses every attempt from an address after too many failures in a minute, even the right password', async () => {
    const attempt = (user: string, password: string) => ssh.run(['-o', 'PreferredAuthentications=password', '-o', 'NumberOfPasswordPrompts=1', `${user}@127.0.0.1`, 'true'], ssh.askpass({ password }).env);
    for (const user of ['rita', 'sam']) {
      const r = await attempt(user, 'wrong-password');
      assert.equal(r.code, 255);
      assert.doesNotMatch(r.stderr, /Too many failed sign-ins/);
    }
    const blocked = await attempt('rita', PW);
    assert.equal(blocked.code, 255);
    assert.match(blocked.stderr, /Too many failed sign-ins from your address: wait a minute/);
    // The account lockout counted only the real attempts.
    const rita = await t.gw.database.db.selectFrom('users').select(['failed_logins', 'status']).where('username', '=', 'rita').executeTakeFirstOrThrow();
    assert.deepEqual(rita, { failed_logins: 1, status: 'active' });
  });
});
