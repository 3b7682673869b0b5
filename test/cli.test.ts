/** The real `portcullis` CLI (compiled by tsx from src) against a temp data dir. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../src/server/config.js';
import { openDatabase } from '../src/server/db/index.js';
import { LATEST_MIGRATION } from '../src/server/db/migrate.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'portcullis-cli-'));

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, PORTCULLIS_DATA_DIR: dir, PORTCULLIS_DATABASE_URL: '', ...env } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

describe('portcullis CLI', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates, then reports nothing to apply', async () => {
    const first = await cli(['migrate']);
    assert.equal(first.code, 0, first.err);
    assert.ok(first.out.includes(`at ${LATEST_MIGRATION}, applied 0001_initial, 0002_identity`), first.out);
    assert.match((await cli(['migrate'])).out, /nothing to apply/);
  });

  it('creates a user and resets a password, printing one-time passwords, audited as cli', async () => {
    const c = await cli(['admin', 'create', 'ops.lead', '--role', 'Operator', '--email', 'ops@plant.example']);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /created Operator "ops.lead"; one-time password: \w{5}-\w{5}-\w{5}-\w{5}/);
    assert.equal((await cli(['admin', 'create', 'ops.lead'])).code, 1, 'duplicate is refused');
    const bad = await cli(['admin', 'create', 'x1', '--role', 'King']);
    assert.equal(bad.code, 2);
    const r = await cli(['admin', 'reset-password', 'ops.lead']);
    assert.match(r.out, /password of "ops.lead" reset; one-time password: /);
    assert.equal((await cli(['admin', 'reset-password', 'nobody'])).code, 1);
    const d = openDatabase({ dataDir: dir });
    const events = await d.db.selectFrom('audit_events').select(['action', 'actor_name']).orderBy('seq').execute();
    await d.close();
    assert.deepEqual(events.map((e) => e.action), ['user.create', 'user.password_reset']);
    assert.match(events[0]!.actor_name, /^cli:/);
    const v = await cli(['audit', 'verify']);
    assert.equal(v.code, 0);
    assert.match(v.out, /^OK: 2 audit events/);
  });

  it('doctor lists each tool and, for missing ones, the apt command', async () => {
    const r = await cli(['doctor'], { PATH: '/nonexistent' });
    // With an empty PATH it still finds the sbin/bin tools the test machine installed.
    assert.match(r.out, /^ok\s+sshd\s+\/usr\/sbin\/sshd/m);
    assert.match(r.out, /Xvnc/);
    if (r.code === 1) assert.match(r.out, /Fix: apt-get install -y --no-install-recommends .*clamav-daemon/);
    else assert.match(r.out, /All system tools are present/);
  });

  it('rejects unknown commands and prints usage', async () => {
    const r = await cli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command "frobnicate"/);
  });
});

describe('configuration', () => {
  const cdir = mkdtempSync(join(tmpdir(), 'portcullis-conf-'));
  after(() => rmSync(cdir, { recursive: true, force: true }));
  it('defaults to the embedded SQLite store, HTTPS on 127.0.0.1:8443 and ./data', () => {
    const c = loadConfig({});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8443);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.tls.enabled, true);
    assert.match(c.dataDir, /\/data$/);
  });

  it('reads a JSON file, and environment variables win over it', () => {
    const file = join(cdir, 'conf.json');
    writeFileSync(file, JSON.stringify({ port: 9443, host: '0.0.0.0', logLevel: 'warn' }));
    const c = loadConfig({ PORTCULLIS_CONFIG: file, PORTCULLIS_PORT: '10443' });
    assert.deepEqual([c.port, c.host, c.logLevel], [10443, '0.0.0.0', 'warn']);
  });

  it('names what is wrong in a bad config', () => {
    const file = join(cdir, 'bad.json');
    writeFileSync(file, JSON.stringify({ port: 'eighty', colour: 'blue' }));
    assert.throws(() => loadConfig({ PORTCULLIS_CONFIG: file }), (e: unknown) => e instanceof ConfigError && /port/.test(e.message) && /colour/.test(e.message));
    assert.throws(() => loadConfig({ PORTCULLIS_PORT: '99999' }), /PORTCULLIS_PORT must be a port number/);
    assert.throws(() => loadConfig({ PORTCULLIS_TLS: 'maybe' }), /PORTCULLIS_TLS must be true or false/);
  });

  it('keeps the self-signed key private and the first admin password in a 0600 file until used', async () => {
    const { startGateway } = await import('./helpers/gateway.js');
    const t = await startGateway();
    try {
      assert.equal(statSync(join(t.dataDir, 'tls', 'gateway.key')).mode & 0o777, 0o600);
      const pw = join(t.dataDir, 'initial-admin-password');
      assert.equal(statSync(pw).mode & 0o777, 0o600);
      const { adminClient } = await import('./helpers/gateway.js');
      await adminClient(t);
      assert.equal(existsSync(pw), false, 'deleted once the admin chose a password');
    } finally {
      await t.stop();
    }
  });

  it('uses PORTCULLIS_ADMIN_PASSWORD for unattended installs (no forced change)', async () => {
    const { startGateway } = await import('./helpers/gateway.js');
    const t = await startGateway({ adminPassword: 'Unattended-install-pass-1' });
    try {
      const r = await t.client().login('admin', 'Unattended-install-pass-1');
      assert.equal(r.status, 200);
      assert.equal(r.json.mustChangePassword, false);
      assert.equal(existsSync(join(t.dataDir, 'initial-admin-password')), false);
    } finally {
      await t.stop();
    }
  });
});
