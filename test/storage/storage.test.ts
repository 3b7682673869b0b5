import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { reachableAssets, assetAccess } from '../../src/server/access/reports.js';
import { createGrant } from '../../src/server/access/grants.js';
import { LATEST_MIGRATION, migrateToLatest } from '../../src/server/db/migrate.js';
import { DomainError } from '../../src/server/errors.js';
import { addMember, createGroup } from '../../src/server/identity/groups.js';
import { createUser } from '../../src/server/identity/users.js';
import { createVendor } from '../../src/server/identity/vendors.js';
import { createAsset, listAssets, updateAsset } from '../../src/server/inventory/assets.js';
import { createSite, listSites } from '../../src/server/inventory/sites.js';
import { createZone } from '../../src/server/inventory/zones.js';
import { openTestDatabase } from '../helpers/db.js';
import { DIALECTS } from '../helpers/pg.js';

const userInput = (username: string, extra: Record<string, unknown> = {}) => ({
  username, displayName: '', email: '', role: 'Client' as const, type: 'local' as const, affiliation: 'employee' as const,
  vendorId: null, expiresAt: null, otpRequired: false, mustChangePassword: true, ...extra,
});
const asset = (name: string, siteId: string, extra: Record<string, unknown> = {}) => ({
  name, siteId, zoneId: null, host: '10.0.0.1', accessMethods: [{ protocol: 'ssh' as const, port: 22, options: {} }], tags: [],
  safetyCritical: false, loginTimes: null, vendor: '', model: '', firmware: '', description: '', state: 'active' as const, ...extra,
});

for (const dialect of DIALECTS) {
  describe(`storage on ${dialect}`, () => {
    let t: Awaited<ReturnType<typeof openTestDatabase>>;
    before(async () => {
      t = await openTestDatabase(dialect);
    });
    after(async () => {
      await t?.cleanup();
    });

    it('migrates idempotently', async () => {
      const again = await migrateToLatest(t.database.db);
      assert.deepEqual(again.applied, []);
      assert.equal(again.current, LATEST_MIGRATION);
    });

    if (dialect === 'sqlite') {
      it('runs SQLite in WAL mode with foreign keys enforced', async () => {
        const jm = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(t.database.db);
        assert.equal(jm.rows[0]?.journal_mode, 'wal');
        const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(t.database.db);
        assert.equal(fk.rows[0]?.foreign_keys, 1);
      });
    }

    it('rejects a row that references nothing (foreign keys on)', async () => {
      await assert.rejects(
        t.database.db.insertInto('zones').values({ id: crypto.randomUUID(), site_id: crypto.randomUUID(), name: 'x', purdue_level: 1, target_sl: 2, description: '', created_at: '', updated_at: '' }).execute(),
      );
    });

    it('stores the OT model and answers the two access reports', async () => {
      const site = await createSite(t.ctx, { name: 'Plant A', description: '', timezone: 'Europe/Berlin', streamQuality: 'high', maxConnections: 5 });
      const zone = await createZone(t.ctx, { siteId: site.id, name: 'Cell 1', purdueLevel: 1, targetSecurityLevel: 3, description: '' });
      const dmz = await createZone(t.ctx, { siteId: site.id, name: 'OT DMZ', purdueLevel: 3.5, targetSecurityLevel: 2, description: '' });
      assert.equal(dmz.purdueLevel, 3.5);
      const plc = await createAsset(t.ctx, asset('PLC-1', site.id, { zoneId: zone.id, tags: ['plc', 'line-1'], safetyCritical: true }));
      assert.equal(plc.purdueLevel, 1, 'level taken from the zone');
      assert.deepEqual(plc.tags, ['line-1', 'plc']);
      const hmi = await createAsset(t.ctx, asset('HMI-1', site.id, { purdueLevel: 2, host: 'hmi1.plant.local', tags: ['hmi'] }));
      await createAsset(t.ctx, asset('Historian', site.id, { purdueLevel: 3 }));

      const vendor = await createVendor(t.ctx, { name: 'ACME Automation', contacts: [{ name: 'Jo', email: 'jo@acme.example' }], contractEnd: '2030-01-31', lastSecurityAssessment: null, termsAccepted: true, description: '' });
      const vend = await createUser(t.ctx, userInput('acme.jo', { affiliation: 'vendor', vendorId: vendor.id }));
      assert.equal(vend.user.expiresAt, '2030-01-31T23:59:59.000Z', 'vendor account ends with the contract');
      assert.ok(vend.oneTimePassword);
      const emp = await createUser(t.ctx, userInput('eng.max'));
      const group = await createGroup(t.ctx, { name: 'Line 1 engineers', kind: 'permission', description: '' });
      await addMember(t.ctx, group.id, emp.user.id);
      await createGrant(t.ctx, { subjectType: 'group', subjectId: group.id, targetType: 'tag', target: 'line-1' });
      await createGrant(t.ctx, { subjectType: 'user', subjectId: emp.user.id, targetType: 'asset', target: hmi.id });
      await createGrant(t.ctx, { subjectType: 'user', subjectId: vend.user.id, targetType: 'zone', target: zone.id });

      const reach = await reachableAssets(t.database.db, emp.user.id);
      assert.deepEqual(reach.assets.map((a) => a.name), ['HMI-1', 'PLC-1']);
      assert.deepEqual(reach.assets.find((a) => a.name === 'PLC-1')?.via, ['group Line 1 engineers -> tag line-1']);
      const who = await assetAccess(t.database.db, plc.id);
      assert.equal(who.count, 2);
      assert.deepEqual(who.users.map((u) => u.username), ['acme.jo', 'eng.max']);

      const byUser = await listAssets(t.database.db, { username: 'ACME.jo', state: 'active' }, { limit: 10 });
      assert.deepEqual(byUser.items.map((a) => a.name), ['PLC-1']);
      const byHost = await listAssets(t.database.db, { host: 'PLANT.local', state: 'active' }, { limit: 10 });
      assert.deepEqual(byHost.items.map((a) => a.name), ['HMI-1']);
      const bySafety = await listAssets(t.database.db, { safetyCritical: true, state: 'active' }, { limit: 10 });
      assert.deepEqual(bySafety.items.map((a) => a.name), ['PLC-1']);

      const moved = await updateAsset(t.ctx, hmi.id, { tags: ['line-1'] });
      assert.deepEqual(moved.tags, ['line-1']);
      assert.equal((await assetAccess(t.database.db, hmi.id)).count, 1, 'only eng.max: direct grant and tag grant are one user');
    });

    it('pages with a stable cursor and treats LIKE wildcards literally', async () => {
      for (const n of ['S_1', 'S%2', 'S-3', 'S-4', 'S-5']) await createSite(t.ctx, { name: n, description: '', timezone: 'UTC', streamQuality: 'low', maxConnections: 1 });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await listSites(t.database.db, { name: 's' }, { limit: 2, cursor });
        seen.push(...page.items.map((s) => s.name));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.equal(seen.length, new Set(seen).size, 'no site twice');
      assert.ok(['S_1', 'S%2', 'S-3', 'S-4', 'S-5'].every((n) => seen.includes(n)));
      const literal = await listSites(t.database.db, { name: '_' }, { limit: 50 });
      assert.deepEqual(literal.items.map((s) => s.name), ['S_1']);
      const pct = await listSites(t.database.db, { name: '%' }, { limit: 50 });
      assert.deepEqual(pct.items.map((s) => s.name), ['S%2']);
    });

    it('refuses duplicates with a clear conflict and writes nothing for them', async () => {
      const count = async () => Number((await t.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const n0 = await count();
      await assert.rejects(
        createSite(t.ctx, { name: 'Plant A', description: '', timezone: 'UTC', streamQuality: 'low', maxConnections: 1 }),
        (e: unknown) => e instanceof DomainError && e.kind === 'conflict' && /Plant A/.test(e.message),
      );
      assert.equal(await count(), n0, 'a refused change leaves no audit event');
    });

    it('writes the audit event in the same transaction as the change', async () => {
      const before = await t.database.db.selectFrom('audit_events').select(['action', 'target_name', 'actor_name', 'source_ip']).where('action', '=', 'site.create').where('target_name', '=', 'Plant A').executeTakeFirstOrThrow();
      assert.deepEqual(before, { action: 'site.create', target_name: 'Plant A', actor_name: 'test-suite', source_ip: '127.0.0.1' });
      // A change whose transaction fails after the audit append leaves neither behind.
      const n0 = Number((await t.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const { audit } = await import('../../src/server/audit/log.js');
      await assert.rejects(
        t.database.db.transaction().execute(async (tx) => {
          await audit(tx, t.ctx.actor, { action: 'test.rollback' });
          throw new Error('boom');
        }),
      );
      const n1 = Number((await t.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      assert.equal(n1, n0);
      const head = await t.database.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow();
      assert.equal(Number(head.seq), n1, 'the chain head rolled back too');
    });
  });
}
