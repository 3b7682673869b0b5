import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminClient, type ApiClient, startGateway, type TestGateway } from '../helpers/gateway.js';
import { DIALECTS } from '../helpers/pg.js';

for (const dialect of DIALECTS) {
  describe(`inventory API on ${dialect}`, () => {
    let t: TestGateway;
    let c: ApiClient;
    let siteId: string;
    before(async () => {
      t = await startGateway({ dialect, tls: false });
      c = await adminClient(t);
    });
    after(async () => {
      await t?.stop();
    });

    it('creates, reads, updates and deletes sites and zones, with 409 on duplicate names', async () => {
      const s = await c.post('/api/v1/sites', { name: 'Werk Nord', timezone: 'Europe/Berlin', streamQuality: 'high', maxConnections: 4 });
      assert.equal(s.status, 201);
      siteId = s.json.id;
      assert.deepEqual([s.json.timezone, s.json.streamQuality, s.json.maxConnections], ['Europe/Berlin', 'high', 4]);
      const dup = await c.post('/api/v1/sites', { name: 'Werk Nord' });
      assert.equal(dup.status, 409);
      assert.equal(dup.json.detail, 'a site named "Werk Nord" already exists');
      const z = await c.post('/api/v1/zones', { siteId, name: 'Control', purdueLevel: 1, targetSecurityLevel: 3 });
      assert.equal(z.status, 201);
      assert.equal((await c.post('/api/v1/zones', { siteId, name: 'Control', purdueLevel: 2 })).status, 409);
      const upd = await c.patch(`/api/v1/sites/${siteId}`, { description: 'Main plant' });
      assert.equal(upd.json.description, 'Main plant');
      const tmp = await c.post('/api/v1/sites', { name: 'Temp' });
      assert.equal((await c.delete(`/api/v1/sites/${tmp.json.id}`)).status, 204);
      assert.equal((await c.get(`/api/v1/sites/${tmp.json.id}`)).status, 404);
    });

    it('filters assets the way the console searches, and exports CSV', async () => {
      const zones = await c.get(`/api/v1/zones?siteId=${siteId}`);
      const zoneId = zones.json.items[0].id;
      const mk = (body: Record<string, unknown>) => c.post('/api/v1/assets', { siteId, ...body });
      assert.equal((await mk({ name: 'PLC-100', zoneId, host: '192.168.10.5', accessMethods: [{ protocol: 'telnet' }], tags: ['plc'], safetyCritical: true })).status, 201);
      const hmi = await mk({ name: 'HMI-200', purdueLevel: 2, host: '192.168.20.7', accessMethods: [{ protocol: 'vnc' }, { protocol: 'rdp', port: 3390 }], tags: ['hmi'], loginTimes: [{ days: ['mon', 'tue'], start: '06:00', end: '18:00' }] });
      assert.equal(hmi.status, 201);
      assert.deepEqual(hmi.json.accessMethods, [{ protocol: 'vnc', port: 5900, options: {} }, { protocol: 'rdp', port: 3390, options: {} }]);
      const names = async (q: string) => (await c.get(`/api/v1/assets?${q}`)).json.items.map((a: { name: string }) => a.name);
      assert.deepEqual(await names(`siteId=${siteId}`), ['HMI-200', 'PLC-100']);
      assert.deepEqual(await names('name=plc'), ['PLC-100']);
      assert.deepEqual(await names('host=192.168.20'), ['HMI-200']);
      assert.deepEqual(await names('protocol=rdp'), ['HMI-200']);
      assert.deepEqual(await names('tag=plc'), ['PLC-100']);
      assert.deepEqual(await names('safetyCritical=yes'), ['PLC-100']);
      assert.deepEqual(await names('purdueLevel=1'), ['PLC-100']);
      assert.deepEqual(await names('name='), ['HMI-200', 'PLC-100'], 'an empty search box filters nothing');

      const user = await c.post('/api/v1/users', { username: 'vendor.kim', role: 'Client' });
      await c.post('/api/v1/grants', { subjectType: 'user', subjectId: user.json.user.id, targetType: 'tag', target: 'hmi' });
      assert.deepEqual(await names('username=vendor.kim'), ['HMI-200']);
      const access = await c.get(`/api/v1/assets/${hmi.json.id}/access`);
      assert.deepEqual([access.json.count, access.json.users[0].username, access.json.users[0].via], [1, 'vendor.kim', ['direct grant -> tag hmi']]);
      const reach = await c.get(`/api/v1/users/${user.json.user.id}/reachable-assets?format=csv`);
      assert.match(reach.text, /^asset,site,zone,purdue_level,host,protocols,safety_critical,via\r\nHMI-200,Werk Nord,,2,192.168.20.7,vnc;rdp,no,direct grant -> tag hmi\r\n$/);

      const csv = await c.get('/api/v1/assets?format=csv&name=plc');
      assert.equal(csv.status, 200);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      assert.match(String(csv.headers['content-disposition']), /attachment; filename="assets-\d{8}\.csv"/);
      const lines = csv.text.trim().split('\r\n');
      assert.equal(lines[0], 'name,site,zone,purdue_level,host,access_methods,tags,safety_critical,vendor,model,firmware,state,description');
      assert.equal(lines[1], 'PLC-100,Werk Nord,Control,1,192.168.10.5,telnet:23,plc,yes,,,,active,');
      assert.equal(lines.length, 2);
      const users = await c.get('/api/v1/users?format=csv&role=Client');
      assert.match(users.text, /vendor\.kim,,,Client,local,employee/);
    });

    it('neutralizes spreadsheet formulas in CSV exports', async () => {
      await c.post('/api/v1/sites', { name: '=HYPERLINK("http://evil")', description: '@SUM(A1)' });
      const csv = await c.get('/api/v1/sites?format=csv&name=hyperlink');
      assert.match(csv.text, /"'=HYPERLINK\(""http:\/\/evil""\)",'@SUM\(A1\)/);
    });

    it('imports assets from CSV all or nothing, naming each bad row and column', async () => {
      const header = 'name,site,zone,purdue_level,host,access_methods,tags,safety_critical,vendor,model,firmware,description';
      const bad = [
        header,
        'RTU-1,Werk Nord,,1,10.1.1.1,ssh:22,rtu,no,ABB,RTU560,13.2,ok row',
        'RTU-2,Werk Süd,,1,10.1.1.2,ssh,,no,,,,',
        'RTU-3,Werk Nord,,1,not a host!,ssh,,no,,,,',
        'RTU-4,Werk Nord,,1,10.1.1.4,modbus:502,,no,,,,',
        'RTU-1,Werk Nord,,9,10.1.1.5,ssh,,maybe,,,,',
      ].join('\n');
      const r = await c.post('/api/v1/assets/import', bad, { 'content-type': 'text/csv' });
      assert.equal(r.status, 422);
      const errs = r.json.errors.map((e: { row: number; column: string }) => `${e.row}:${e.column}`);
      assert.deepEqual(errs, ['3:site', '4:host', '5:access_methods', '6:safety_critical']);
      assert.match(r.json.errors[0].message, /no site named "Werk Süd"/);
      assert.deepEqual((await c.get('/api/v1/assets?state=imported')).json.items, [], 'nothing half-imported');

      const dupRows = [header, 'RTU-1,Werk Nord,,1,10.1.1.1,ssh,,no,,,,', 'rtu-1,Werk Nord,,1,10.1.1.1,ssh,,no,,,,', 'RTU-9,Werk Nord,,9,10.1.1.9,ssh,,no,,,,'].join('\n');
      const d = await c.post('/api/v1/assets/import', dupRows, { 'content-type': 'text/csv' });
      assert.deepEqual(d.json.errors.map((e: { row: number; column: string }) => `${e.row}:${e.column}`), ['3:name', '4:purdue_level']);
      assert.match(d.json.errors[0].message, /already appears on row 2/);
      assert.match(d.json.errors[1].message, /one of 0, 1, 2, 3, 3.5/);

      const good = [header, 'RTU-1,Werk Nord,Control,,10.1.1.1,ssh:2222;telnet,rtu;remote,no,ABB,RTU560,13.2,substation', 'RTU-2,Werk Nord,,3.5,rtu2.plant.local,tcp:502,,yes,,,,'].join('\r\n');
      const ok = await c.post('/api/v1/assets/import', good, { 'content-type': 'text/csv' });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.imported, 2);
      const imported = (await c.get('/api/v1/assets?state=imported')).json.items;
      assert.deepEqual(imported.map((a: { name: string; state: string }) => `${a.name}:${a.state}`), ['RTU-1:imported', 'RTU-2:imported']);
      assert.deepEqual(imported[0].accessMethods, [{ protocol: 'ssh', port: 2222, options: {} }, { protocol: 'telnet', port: 23, options: {} }]);
      assert.equal(imported[0].purdueLevel, 1);
      assert.equal((await c.get('/api/v1/assets?name=RTU')).json.items.length, 0, 'imported assets are not active');

      const act = await c.post('/api/v1/assets/activate', { ids: [imported[0].id] });
      assert.equal(act.status, 200);
      assert.deepEqual((await c.get('/api/v1/assets?name=RTU')).json.items.map((a: { name: string }) => a.name), ['RTU-1']);
      assert.equal((await c.post('/api/v1/assets/activate', { ids: [imported[0].id] })).status, 400);

      const events = (await c.get('/api/v1/audit?action=asset.')).json.items.map((e: { action: string }) => e.action);
      assert.deepEqual(events.slice(0, 2), ['asset.activate', 'asset.import']);
      // One asset's own events, by its id (exact); bulk events name no single target.
      assert.equal((await c.patch(`/api/v1/assets/${imported[0].id}`, { tags: ['audited'] })).status, 200);
      const mine = (await c.get(`/api/v1/audit?targetId=${imported[0].id}`)).json.items;
      assert.deepEqual(mine.map((e: { action: string; target: { id: string } }) => `${e.action}:${e.target.id}`), [`asset.update:${imported[0].id}`]);
      assert.equal((await c.get(`/api/v1/audit?targetId=${imported[0].id.slice(0, 8)}`)).json.items.length, 0);
      const verify = await c.get('/api/v1/audit/verify');
      assert.equal(verify.json.ok, true);
      // Signing the head now: the checkpoint covers the request's own audit event.
      const cp = await c.post('/api/v1/audit/checkpoints', {});
      assert.equal(cp.status, 200, cp.text);
      const newest = (await c.get('/api/v1/audit?limit=1')).json.items[0];
      assert.equal(newest.action, 'audit.checkpoint');
      const after = (await c.get('/api/v1/audit/verify')).json;
      assert.equal(after.ok, true, JSON.stringify(after));
      assert.equal(after.checkpoints.latest.seq, cp.json.seq);
      assert.equal(after.headSeq, cp.json.seq);
    });

    it('pages through users with a cursor', async () => {
      for (let i = 0; i < 7; i++) await c.post('/api/v1/users', { username: `pager.${i}`, role: 'Client' });
      const seen: string[] = [];
      let url = '/api/v1/users?username=pager.&limit=3';
      for (;;) {
        const r = await c.get(url);
        seen.push(...r.json.items.map((u: { username: string }) => u.username));
        if (!r.json.nextCursor) break;
        url = `/api/v1/users?username=pager.&limit=3&cursor=${r.json.nextCursor}`;
      }
      assert.deepEqual(seen, Array.from({ length: 7 }, (_, i) => `pager.${i}`));
    });
  });
}
