/** Front-door pieces without a network: login names, the failure limiter, banner text, config. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { bannerText } from '../../src/server/sshd/banner.js';
import ssh2 from 'ssh2';
import { generateHostKey, loadOrCreateHostKey } from '../../src/server/sshd/hostkey.js';
import { parsePublicKey } from '../../src/server/sshd/keys.js';
import { renderMenu } from '../../src/server/sshd/menu.js';
import { FailureLimiter } from '../../src/server/sshd/ratelimit.js';
import { parseLoginName } from '../../src/server/sshd/username.js';

describe('SSH front door units', () => {
  it('reads the target from the login name', () => {
    assert.deepEqual(parseLoginName('alice'), { user: 'alice' });
    assert.deepEqual(parseLoginName('alice+'), { user: 'alice' });
    assert.deepEqual(parseLoginName('alice+PLC-01'), { user: 'alice', asset: 'PLC-01' });
    assert.deepEqual(parseLoginName('alice+PLC-01+telnet'), { user: 'alice', asset: 'PLC-01', method: { protocol: 'telnet' } });
    assert.deepEqual(parseLoginName('alice+PLC-01+SSH:2222'), { user: 'alice', asset: 'PLC-01', method: { protocol: 'ssh', port: 2222 } });
    // A method word alone is an asset name; '+' inside an asset name stays.
    assert.deepEqual(parseLoginName('alice+telnet'), { user: 'alice', asset: 'telnet' });
    assert.deepEqual(parseLoginName('alice+A+B'), { user: 'alice', asset: 'A+B' });
    assert.deepEqual(parseLoginName('alice+A+B+ssh'), { user: 'alice', asset: 'A+B', method: { protocol: 'ssh' } });
  });

  it('limits failures per address over a sliding window', () => {
    let now = 0;
    const l = new FailureLimiter(3, 60_000, () => now);
    for (let i = 0; i < 2; i++) l.fail('10.0.0.1');
    assert.equal(l.blocked('10.0.0.1'), false);
    l.fail('10.0.0.1');
    assert.equal(l.blocked('10.0.0.1'), true);
    assert.equal(l.blocked('10.0.0.2'), false, 'per address');
    now = 60_001;
    assert.equal(l.blocked('10.0.0.1'), false, 'the window slides');
  });

  it('strips terminal control characters from banners and menus', () => {
    assert.equal(bannerText('line 1\nline \u001b[31m2\u0007'), 'line 1\r\nline [31m2\r\n');
    const menu = renderMenu('t', [{ assetId: 'x', assetName: 'EVIL\u001b]0;pwned\u0007', protocol: 'ssh', port: 22, where: 'site\u009b' }]);
    assert.doesNotMatch(menu, /[\u001b\u0007\u009b]/);
  });

  it('accepts OpenSSH public keys and refuses the rest', () => {
    const k = parsePublicKey('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf7sRX2r8vZ/0Bp0pVpCjN2n6Qv4h0HhJ3vC9hV8a0D me@host');
    assert.equal(k.type, 'ssh-ed25519');
    assert.match(k.fingerprint, /^SHA256:/);
    assert.equal(k.line, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf7sRX2r8vZ/0Bp0pVpCjN2n6Qv4h0HhJ3vC9hV8a0D me@host');
    assert.throws(() => parsePublicKey('ssh-dss AAAAB3NzaC1kc3M='), /not a supported public key/);
    assert.throws(() => parsePublicKey('ssh-ed25519 AAAA'), /not a valid OpenSSH public key/);
    assert.throws(() => parsePublicKey('-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----'), /private key/);
    assert.throws(() => parsePublicKey('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf7sRX2r8vZ/0Bp0pVpCjN2n6Qv4h0HhJ3vC9hV8a0D\nssh-ed25519 AAAA'), /one line/);
  });

  it('keeps the host key across restarts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-hostkey-'));
    try {
      const a = loadOrCreateHostKey(dir);
      const b = loadOrCreateHostKey(dir);
      assert.equal(a.fingerprint, b.fingerprint);
      assert.match(a.publicKey, /^ssh-ed25519 AAAA/);
      assert.equal(statSync(join(dir, 'keys', 'ssh_host_ed25519_key')).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every generated host key is one ssh2 reads back (its own generator sometimes is not)', () => {
    // About 1 in 200 keys from ssh2.utils.generateKeyPairSync is malformed: 1000 would hit ~5.
    for (let i = 0; i < 1000; i++) {
      const parsed = ssh2.utils.parseKey(generateHostKey());
      assert.ok(!(parsed instanceof Error), `key ${i}: ${parsed instanceof Error ? parsed.message : ''}`);
    }
  });

  it('configures the front door from the environment', () => {
    assert.equal(loadConfig({}).sshPort, 2222);
    assert.equal(loadConfig({}).sshEnabled, true);
    assert.equal(loadConfig({ PORTCULLIS_SSH_PORT: '0' }).sshPort, 0);
    assert.equal(loadConfig({ PORTCULLIS_SSH: 'false' }).sshEnabled, false);
    assert.throws(() => loadConfig({ PORTCULLIS_SSH_PORT: '70000' }), (e: unknown) => e instanceof ConfigError && /PORTCULLIS_SSH_PORT/.test(e.message));
  });
});
