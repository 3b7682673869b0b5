/**
 * `portcullis demo` seeding against a running lab: the lab's real targets become assets of site
 * "Demo Plant" across Purdue levels, idempotently. Own ports, displays and account (no clash with
 * a running demo or the lab suite).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Lab, removeLabAccount, startLab } from '../lab/index.js';
import { seedDemo } from '../src/cli/demo.js';
import { adminClient, startGateway, type TestGateway } from './helpers/gateway.js';

const ACCOUNT = 'pcdemoseed';

describe('demo seeding', () => {
  let lab: Lab;
  let t: TestGateway;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-demo-'));
  before(async () => {
    lab = await startLab({ dataDir: dir, ports: { ssh: 22201, telnet: 22323, vnc: 25901, rdp: 23890 }, displayBase: 170, account: ACCOUNT });
    t = await startGateway({ tls: false });
  });
  after(async () => {
    await t?.stop();
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    rmSync(dir, { recursive: true, force: true });
  });

  it('seeds Demo Plant with one asset per lab target, across Purdue levels, idempotently', async () => {
    const ctx = { db: t.gw.database.db, actor: { id: null, name: 'cli:test', ip: null }, secrets: t.gw.secrets };
    assert.deepEqual((await seedDemo(ctx, lab.targets, 'admin')).sort(), ['HMI-03', 'PLC-01', 'RTU-02', 'SCADA-04']);
    assert.deepEqual(await seedDemo(ctx, lab.targets, 'admin'), [], 'a second start adds nothing');
    const c = await adminClient(t);
    const assets = (await c.get('/api/v1/assets?tag=demo')).json.items as { name: string; siteName: string; purdueLevel: number; accessMethods: { protocol: string; port: number }[] }[];
    assert.deepEqual(
      assets.map((a) => `${a.name} ${a.siteName} L${a.purdueLevel} ${a.accessMethods[0]!.protocol}:${a.accessMethods[0]!.port}`),
      ['HMI-03 Demo Plant L2 vnc:25901', 'PLC-01 Demo Plant L1 ssh:22201', 'RTU-02 Demo Plant L1 telnet:22323', 'SCADA-04 Demo Plant L3 rdp:23890'],
    );
    // The admin can connect at once: credentials vaulted, site granted through the demo group.
    const me = (await c.get('/api/v1/me/assets')).json;
    assert.deepEqual(me.assets.map((a: { name: string }) => a.name), ['HMI-03', 'PLC-01', 'RTU-02', 'SCADA-04']);
    const plc = assets.find((a) => a.name === 'PLC-01') as unknown as { id: string };
    // Every lab target has its vaulted account, the VNC desktop and the RDP server too.
    for (const a of assets as unknown as { id: string; name: string }[]) {
      assert.deepEqual((await c.get(`/api/v1/assets/${a.id}/accounts`)).json.items.map((x: { name: string }) => x.name), ['default'], a.name);
    }
    const hmi = assets.find((a) => a.name === 'HMI-03') as unknown as { id: string };
    const v = await t.gw.broker.open({ userId: me.user.id, assetId: hmi.id, protocol: 'vnc', port: 25901, sourceIp: null, via: 'browser', size: { cols: 80, rows: 24 } });
    await v.close('demo check');
    const s = await t.gw.broker.open({ userId: me.user.id, assetId: plc.id, protocol: 'ssh', port: 22201, sourceIp: null, via: 'browser', size: { cols: 80, rows: 24 } });
    await s.close('demo check');
  });
});
