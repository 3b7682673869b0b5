import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashAuditEvent } from '../../src/server/audit/chain.js';
import { CHECKPOINT_FILE, checkpointPayload, writeCheckpoint } from '../../src/server/audit/checkpoints.js';
import { audit } from '../../src/server/audit/log.js';
import { verifyAudit, verifyAuditChain } from '../../src/server/audit/verify.js';
import { loadSigningKey, signingKeyFrom } from '../../src/server/recording/keys.js';
import type { Db } from '../../src/server/db/index.js';
import { openTestDatabase, TEST_ACTOR } from '../helpers/db.js';
import { DIALECTS } from '../helpers/pg.js';

const run = promisify(execFile);

async function seed(db: Db, n: number) {
  for (let i = 1; i <= n; i++) await audit(db, TEST_ACTOR, { action: 'test.event', target: { type: 'thing', id: String(i), name: `thing ${i}` }, details: { i } });
}

/** Runs `portcullis audit verify` (or another audit subcommand; the real CLI) against the test database. */
async function cliVerify(dataDir: string, databaseUrl: string | undefined, sub = 'verify') {
  const env = { ...process.env, PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_DATABASE_URL: databaseUrl ?? '' };
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', sub], { env });
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
      await t.database.db.deleteFrom('audit_checkpoints').execute();
      rmSync(join(t.dataDir, CHECKPOINT_FILE), { force: true });
      rmSync(join(t.dataDir, 'keys', 'audit-trust'), { recursive: true, force: true });
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
    /** Rewrites the chain from row `from` on as someone with database access could: every later hash and the head recomputed. */
    const rewriteFrom = async (from: number, change: Record<string, string>) => {
      const db = t.database.db;
      await db.updateTable('audit_events').set(change).where('seq', '=', from).execute();
      const rows = await db.selectFrom('audit_events').selectAll().where('seq', '>=', from).orderBy('seq').execute();
      let prev = from === 1 ? '0'.repeat(64) : (await db.selectFrom('audit_events').select('hash').where('seq', '=', from - 1).executeTakeFirstOrThrow()).hash;
      for (const row of rows) {
        const hash = hashAuditEvent(prev, row);
        await db.updateTable('audit_events').set({ prev_hash: prev, hash }).where('seq', '=', row.seq).execute();
        prev = hash;
      }
      await db.updateTable('audit_head').set({ hash: prev }).execute();
    };

    it('signed checkpoints catch a chain rewritten as a whole, also after they were deleted from the database', async () => {
      await fresh();
      const key = loadSigningKey(t.dataDir);
      const first = await writeCheckpoint(t.database.db, t.dataDir, key);
      assert.equal(first?.seq, 6);
      assert.equal(await writeCheckpoint(t.database.db, t.dataDir, key), null, 'nothing new to sign');
      await seed(t.database.db, 2);
      const signed = await cliVerify(t.dataDir, url, 'checkpoint');
      assert.equal(signed.code, 0, signed.out);
      assert.match(signed.out, /checkpoint signed: audit row 8/);
      let r = await verifyAudit(t.database.db, t.dataDir);
      assert.equal(r.ok, true, r.checkpoints.problem?.message);
      assert.deepEqual([r.checkpoints.verified, r.checkpoints.latest?.seq], [2, 8]);
      let cli = await cliVerify(t.dataDir, url);
      assert.equal(cli.code, 0, cli.out);
      assert.match(cli.out, /^OK: 8 audit events, hash chain intact \(head 8\); 2 signed checkpoint\(s\) match, the newest at row 8/);

      // Row 3 edited and the whole chain re-hashed: the links alone look intact.
      await rewriteFrom(3, { actor_name: 'mallory' });
      assert.equal((await verifyAuditChain(t.database.db)).ok, true, 'a rewrite passes the link check');
      r = await verifyAudit(t.database.db, t.dataDir);
      assert.equal(r.ok, false);
      assert.equal(r.checkpoints.problem?.seq, 6);
      assert.match(r.checkpoints.problem!.message, /rewritten at or before row 6/);
      cli = await cliVerify(t.dataDir, url);
      assert.equal(cli.code, 1);
      assert.match(cli.out, /FAILED: the audit chain was rewritten at or before row 6.*rewritten as a whole/);

      // Deleting the checkpoints from the database does not help: the file still has them.
      await t.database.db.deleteFrom('audit_checkpoints').execute();
      r = await verifyAudit(t.database.db, t.dataDir);
      assert.equal(r.ok, false);
      assert.match(r.checkpoints.problem!.message, /checkpoint at audit row 6 .* is missing from the database/);
    });

    it('names a truncated chain, an altered or forged checkpoint, and checks other nodes\' keys once trusted', async () => {
      await fresh();
      const key = loadSigningKey(t.dataDir);
      await writeCheckpoint(t.database.db, t.dataDir, key);
      // The last two rows removed and the head set back: the links still chain.
      const row4 = await t.database.db.selectFrom('audit_events').select('hash').where('seq', '=', 4).executeTakeFirstOrThrow();
      await t.database.db.deleteFrom('audit_events').where('seq', '>', 4).execute();
      await t.database.db.updateTable('audit_head').set({ seq: 4, hash: row4.hash }).execute();
      assert.equal((await verifyAuditChain(t.database.db)).ok, true);
      let r = await verifyAudit(t.database.db, t.dataDir);
      assert.match(r.checkpoints.problem?.message ?? '', /audit rows 5\.\.6 were removed/);

      await fresh();
      await writeCheckpoint(t.database.db, t.dataDir, key);
      await t.database.db.updateTable('audit_checkpoints').set({ hash: 'f'.repeat(64) }).execute();
      r = await verifyAudit(t.database.db, t.dataDir);
      assert.match(r.checkpoints.problem?.message ?? '', /differs between the database and/);

      // A checkpoint claiming the gateway's key with a signature it did not make.
      await fresh();
      const head = await t.database.db.selectFrom('audit_head').select(['seq', 'hash']).executeTakeFirstOrThrow();
      await t.database.db.insertInto('audit_checkpoints').values({ seq: Number(head.seq), key_id: key.keyId, hash: head.hash, at: new Date().toISOString(), signature: Buffer.alloc(64, 7).toString('base64') }).execute();
      r = await verifyAudit(t.database.db, t.dataDir);
      assert.match(r.checkpoints.problem?.message ?? '', /bad signature/);

      // Another node's checkpoint: not evidence until its public key is trusted here.
      await fresh();
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const other = signingKeyFrom(privateKey);
      const h = await t.database.db.selectFrom('audit_head').select(['seq', 'hash']).executeTakeFirstOrThrow();
      const at = new Date().toISOString();
      await t.database.db.insertInto('audit_checkpoints').values({ seq: Number(h.seq), key_id: other.keyId, hash: h.hash, at, signature: other.sign(checkpointPayload({ seq: Number(h.seq), hash: h.hash, at })) }).execute();
      r = await verifyAudit(t.database.db, t.dataDir);
      assert.deepEqual([r.ok, r.checkpoints.verified, r.checkpoints.untrusted], [true, 0, 1]);
      mkdirSync(join(t.dataDir, 'keys', 'audit-trust'), { recursive: true });
      writeFileSync(join(t.dataDir, 'keys', 'audit-trust', 'node-b.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      r = await verifyAudit(t.database.db, t.dataDir);
      assert.deepEqual([r.ok, r.checkpoints.verified, r.checkpoints.untrusted], [true, 1, 0]);
      await rewriteFrom(2, { action: 'test.forged' });
      r = await verifyAudit(t.database.db, t.dataDir);
      assert.match(r.checkpoints.problem?.message ?? '', /rewritten at or before row 6/);
    });
  });
}
