import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { hashAuditEvent } from '../../src/server/audit/chain.js';
import { audit } from '../../src/server/audit/log.js';
import { verifyAuditChain } from '../../src/server/audit/verify.js';
import type { Db } from '../../src/server/db/index.js';
import { openTestDatabase, TEST_ACTOR } from '../helpers/db.js';
import { DIALECTS } from '../helpers/pg.js';

const run = promisify(execFile);

async function seed(db: Db, n: number) {
  for (let i = 1; i <= n; i++) await audit(db, TEST_ACTOR, { action: 'test.event', target: { type: 'thing', id: String(i), name: `thing ${i}` }, details: { i } });
}

/** Runs `portcullis audit verify` (the real CLI) against the test database. */
async function cliVerify(dataDir: string, databaseUrl: string | undefined) {
  const env = { ...process.env, PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_DATABASE_URL: databaseUrl ?? '' };
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'verify'], { env });
    return { code: 0, out: r.stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, out: err.stdout };
  }
}

for (const dialect of DIALECTS) {
  describe(`audit hash chain on ${dialect}`, () => {
    let t: Awaited<ReturnType<typeof openTestDatabase>>;
    let url: string | undefined;
    before(async () => {
      t = await openTestDatabase(dialect);
      url = t.databaseUrl;
    });
    after(async () => {
      await t?.cleanup();
    });

    const fresh = async () => {
      await t.database.db.deleteFrom('audit_events').execute();
      await t.database.db.updateTable('audit_head').set({ seq: 0, hash: '0'.repeat(64) }).execute();
      await seed(t.database.db, 6);
    };

    it('verifies an intact chain, also through the CLI', async () => {
      await fresh();
      const r = await verifyAuditChain(t.database.db);
      assert.equal(r.ok, true);
      assert.equal(r.count, 6);
      const cli = await cliVerify(t.dataDir, url);
      assert.equal(cli.code, 0, cli.out);
      assert.match(cli.out, /^OK: 6 audit events/);
    });

    it('names an edited row', async () => {
      await fresh();
      await t.database.db.updateTable('audit_events').set({ actor_name: 'mallory' }).where('seq', '=', 3).execute();
      const r = await verifyAuditChain(t.database.db);
      assert.equal(r.ok, false);
      assert.deepEqual([r.problem?.kind, r.problem?.seq], ['edited', 3]);
      const cli = await cliVerify(t.dataDir, url);
      assert.equal(cli.code, 1);
      assert.match(cli.out, /FAILED: audit row 3 was edited/);
    });

    it('names an edited row whose hash was recomputed to match', async () => {
      await fresh();
      const row = await t.database.db.selectFrom('audit_events').selectAll().where('seq', '=', 4).executeTakeFirstOrThrow();
      const forged = { ...row, details: '{"i":400}' };
      await t.database.db.updateTable('audit_events').set({ details: forged.details, hash: hashAuditEvent(row.prev_hash, forged) }).where('seq', '=', 4).execute();
      const r = await verifyAuditChain(t.database.db);
      assert.deepEqual([r.ok, r.problem?.kind, r.problem?.seq], [false, 'edited', 4]);
    });

    it('names a deleted row, in the middle and at the end', async () => {
      await fresh();
      await t.database.db.deleteFrom('audit_events').where('seq', '=', 2).execute();
      let r = await verifyAuditChain(t.database.db);
      assert.deepEqual([r.ok, r.problem?.kind, r.problem?.seq], [false, 'deleted', 2]);
      assert.match(r.problem!.message, /row 2 deleted/);

      await fresh();
      await t.database.db.deleteFrom('audit_events').where('seq', '=', 6).execute();
      r = await verifyAuditChain(t.database.db);
      assert.deepEqual([r.ok, r.problem?.kind, r.problem?.seq], [false, 'deleted', 6]);
      const cli = await cliVerify(t.dataDir, url);
      assert.equal(cli.code, 1);
      assert.match(cli.out, /deleted/);
    });

    it('names an inserted row, even one with a well-formed hash', async () => {
      await fresh();
      // Make room at seq 4 and forge a row that chains correctly to row 3.
      for (let s = 6; s >= 4; s--) await t.database.db.updateTable('audit_events').set({ seq: s + 1 }).where('seq', '=', s).execute();
      const prev = await t.database.db.selectFrom('audit_events').selectAll().where('seq', '=', 3).executeTakeFirstOrThrow();
      const content = { id: crypto.randomUUID(), at: new Date().toISOString(), actor_id: null, actor_name: 'admin', source_ip: '10.6.6.6', action: 'user.create', target_type: 'user', target_id: null, target_name: 'backdoor', result: 'success' as const, details: '{}' };
      await t.database.db.insertInto('audit_events').values({ ...content, seq: 4, prev_hash: prev.hash, hash: hashAuditEvent(prev.hash, content) }).execute();
      await t.database.db.updateTable('audit_head').set({ seq: 7 }).execute();
      const r = await verifyAuditChain(t.database.db);
      assert.deepEqual([r.ok, r.problem?.kind, r.problem?.seq, r.problem?.id], [false, 'inserted', 4, content.id]);
      const cli = await cliVerify(t.dataDir, url);
      assert.equal(cli.code, 1);
      assert.match(cli.out, /audit row 4 was inserted/);
    });

    it('names a row appended behind the gateway\'s back', async () => {
      await fresh();
      const last = await t.database.db.selectFrom('audit_events').selectAll().where('seq', '=', 6).executeTakeFirstOrThrow();
      const content = { id: crypto.randomUUID(), at: new Date().toISOString(), actor_id: null, actor_name: 'x', source_ip: null, action: 'x', target_type: null, target_id: null, target_name: null, result: 'success' as const, details: '{}' };
      await t.database.db.insertInto('audit_events').values({ ...content, seq: 7, prev_hash: last.hash, hash: hashAuditEvent(last.hash, content) }).execute();
      const r = await verifyAuditChain(t.database.db);
      assert.deepEqual([r.ok, r.problem?.kind, r.problem?.seq], [false, 'inserted', 7]);
    });

    it('keeps one unbroken chain under concurrent writers', async () => {
      await fresh();
      await Promise.all(Array.from({ length: 20 }, (_, i) => audit(t.database.db, TEST_ACTOR, { action: 'test.concurrent', details: { i } })));
      const r = await verifyAuditChain(t.database.db);
      assert.equal(r.ok, true, r.problem?.message);
      assert.equal(r.count, 26);
    });
  });
}
