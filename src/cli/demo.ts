import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { DEFAULT_LAB_PORTS, describeTargets, type LabTarget, startLab } from '../../lab/index.js';
import { cliActor } from '../server/audit/log.js';
import type { Config } from '../server/config.js';
import { createGrant } from '../server/access/grants.js';
import type { SecretCtx } from '../server/context.js';
import { addMember, createGroup } from '../server/identity/groups.js';
import { findUserRowByUsername } from '../server/identity/users.js';
import { createAccount } from '../server/vault/accounts.js';
import { createAsset, findAssetByName } from '../server/inventory/assets.js';
import { createSite, findSiteByName } from '../server/inventory/sites.js';
import { createZone, findZoneByName } from '../server/inventory/zones.js';
import { startGateway } from '../server/main.js';
import { printBanner } from './banner.js';

const SITE = 'Demo Plant';
const ZONES = [
  { name: 'Control (L1)', purdueLevel: 1, targetSecurityLevel: 3 },
  { name: 'Supervisory (L2)', purdueLevel: 2, targetSecurityLevel: 2 },
  { name: 'Operations (L3)', purdueLevel: 3, targetSecurityLevel: 2 },
];

/**
 * Seeds "Demo Plant" with one asset per lab target, the lab's credentials in the vault, and a
 * permission group granting the site to the first administrator (idempotent: existing names are kept).
 */
export async function seedDemo(ctx: SecretCtx, targets: LabTarget[], adminUsername?: string): Promise<string[]> {
  const created: string[] = [];
  const site =
    (await findSiteByName(ctx.db, SITE)) ??
    (await createSite(ctx, { name: SITE, description: 'Real local targets of the Portcullis demo lab (127.0.0.1)', timezone: 'UTC', streamQuality: 'medium', maxConnections: 10 }));
  const zoneIds = new Map<number, string>();
  for (const z of ZONES) {
    const existing = await findZoneByName(ctx.db, site.id, z.name);
    zoneIds.set(z.purdueLevel, existing?.id ?? (await createZone(ctx, { siteId: site.id, description: '', ...z })).id);
  }
  for (const t of targets) {
    if (await findAssetByName(ctx.db, t.name)) continue;
    await createAsset(ctx, {
      name: t.name,
      siteId: site.id,
      zoneId: zoneIds.get(t.purdueLevel) ?? null,
      host: t.host,
      accessMethods: [{ protocol: t.protocol, port: t.port, options: {} }],
      tags: ['demo', t.protocol],
      safetyCritical: false,
      loginTimes: null,
      vendor: '',
      model: '',
      firmware: '',
      description: t.description,
      state: 'active',
    });
    created.push(t.name);
  }
  // The lab's credentials go into the vault, so Connect works at once (SSH, Telnet, VNC, RDP;
  // VNC has a password only: the account's user name is not used).
  for (const t of targets) {
    const username = t.username ?? (t.protocol === 'vnc' ? 'vnc' : undefined);
    if (!username || !t.password) continue;
    const asset = await findAssetByName(ctx.db, t.name);
    if (!asset) continue;
    const has = await ctx.db.selectFrom('asset_accounts').select('id').where('asset_id', '=', asset.id).where('name', '=', 'default').executeTakeFirst();
    if (!has) await createAccount(ctx, asset.id, { name: 'default', username, kind: 'password', password: t.password });
  }
  const groupName = 'Demo Plant engineers';
  let group = await ctx.db.selectFrom('groups').select('id').where('name', '=', groupName).executeTakeFirst();
  if (!group) {
    group = { id: (await createGroup(ctx, { name: groupName, kind: 'permission', description: 'May connect to the demo lab targets' })).id };
    await createGrant(ctx, { subjectType: 'group', subjectId: group.id, targetType: 'site', target: site.id });
  }
  const admin = adminUsername ? await findUserRowByUsername(ctx.db, adminUsername) : undefined;
  if (admin && !(await ctx.db.selectFrom('group_members').select('user_id').where('group_id', '=', group.id).where('user_id', '=', admin.id).executeTakeFirst())) {
    await addMember(ctx, group.id, admin.id);
  }
  return created;
}

/** `portcullis demo`: the lab's real targets, the gateway, and the seeded Demo Plant. */
export async function runDemo(config: Config): Promise<void> {
  // Refuse before the lab starts: a second demo on the same data dir would take over the first's lab.
  await assertPortFree(config.host, config.port);
  const lab = await startLab({ dataDir: resolve(config.dataDir), ports: DEFAULT_LAB_PORTS, log: (m) => process.stderr.write(`lab: ${m}\n`) });
  let gw: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    gw = await startGateway(config);
    await seedDemo({ db: gw.database.db, actor: cliActor(), secrets: gw.secrets }, lab.targets, gw.bootstrap.username);
  } catch (err) {
    await gw?.close().catch(() => {});
    await lab.stop();
    throw err;
  }
  printBanner(gw.url, gw.bootstrap, [
    '',
    '  Demo lab targets (site "Demo Plant"):',
    ...describeTargets(lab.targets).split('\n').map((l) => `    ${l}`),
    `  Lab credentials: ${resolve(config.dataDir, 'lab', 'credentials.json')} (0600; the ones with a username are in the vault too)`,
    ...(gw.sshPort ? [`  SSH front door: ssh -p ${gw.sshPort} ${gw.bootstrap.username}+PLC-01@${config.host}   (host key ${gw.sshFingerprint})`] : []),
    '  Stop with Ctrl-C.',
  ]);
  const stop = async () => {
    await gw?.close().catch(() => {});
    await lab.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolvePromise()));
  });
}
