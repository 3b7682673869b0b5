/**
 * RDP target SCADA-04: FreeRDP's shadow server sharing an Xvfb desktop, on 127.0.0.1, NLA only
 * (/sec:nla +auth) against a SAM file written by the lab (no winpr-hash: it wants the password in
 * argv). HOME points into <dataDir>/lab/rdp/home, where the server keeps its TLS certificate
 * (.config/freerdp/shadow), so the certificate stays the same across restarts of one data dir.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LAB_TAG, PLANT, type TargetContext } from './context.js';
import { samLine } from './ntlm.js';
import { assertPortFree, requireBinary, waitForListener } from './process.js';
import type { LabTarget } from './types.js';
import { DESKTOP_GEOMETRY, paintDesktop, waitForX, writeXauthority } from './x11.js';

export const RDP_TARGET_NAME = 'SCADA-04';

/** X.224 Connection Request carrying RDP_NEG_REQ for TLS|CredSSP (NLA). */
const X224_CONNECTION_REQUEST = Buffer.from([
  0x03, 0x00, 0x00, 0x13, // TPKT, length 19
  0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, // X.224 CR
  0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00, // RDP_NEG_REQ, PROTOCOL_SSL | PROTOCOL_HYBRID
]);

/** True once the answer is an RDP_NEG_RSP that selected PROTOCOL_HYBRID (NLA). */
export function isNlaNegotiationResponse(b: Buffer): boolean {
  return b.length >= 19 && b[0] === 0x03 && b[5] === 0xd0 && b[11] === 0x02 && b.readUInt32LE(15) === 0x02;
}

export async function startRdp(ctx: TargetContext, display: number, username: string, password: string): Promise<LabTarget> {
  const label = `RDP target ${RDP_TARGET_NAME}`;
  const xvfb = requireBinary('Xvfb');
  const shadow = requireBinary('freerdp-shadow-cli');
  const xvfbLog = path.join(ctx.dir, 'xvfb.log');
  const logFile = path.join(ctx.dir, 'freerdp-shadow.log');
  const xauthority = path.join(ctx.dir, 'Xauthority');
  const samFile = path.join(ctx.dir, 'sam');
  const home = path.join(ctx.dir, 'home');

  await assertPortFree(ctx.port, label);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeXauthority(xauthority, display);
  writeFileSync(samFile, samLine(username, password), { mode: 0o600 });

  const xserver = ctx.sup.spawn(
    xvfb,
    [
      `:${display}`,
      '-screen', '0', `${DESKTOP_GEOMETRY.width}x${DESKTOP_GEOMETRY.height}x24`,
      '-nolisten', 'tcp',
      '-noreset', // a server reset (last client gone) would drop the painted background
      '-auth', xauthority,
    ],
    { name: `${label} Xvfb :${display}`, logFile: xvfbLog, env: { LANG: 'C.UTF-8' } },
  );
  await waitForX(display, label, xserver, ctx.readyTimeoutMs);
  const panel = await paintDesktop(ctx.sup, {
    name: label,
    display,
    xauthority,
    background: '#8250df',
    title: `${RDP_TARGET_NAME} ${PLANT} - SCADA`,
    panelFile: path.join(ctx.dir, 'panel.txt'),
    logFile: xvfbLog,
    panelLines: [
      `${RDP_TARGET_NAME}  |  ${PLANT}  |  ${LAB_TAG}`,
      'Level 3 - Site SCADA server (RDP with NLA)',
      '',
      'Historian               ONLINE      1243 tags',
      'Line 1 PLC-01           RUNNING',
      'Remote site RTU-02      CONNECTED',
      'Operator HMI-03         ONLINE',
      'Alarms                  2 acknowledged',
    ],
  });
  const server = ctx.sup.spawn(
    shadow,
    [`/bind-address:127.0.0.1`, `/port:${ctx.port}`, '/sec:nla', '+auth', `/sam-file:${samFile}`],
    { name: `${label} freerdp-shadow-cli`, logFile, env: { HOME: home, DISPLAY: `:${display}`, XAUTHORITY: xauthority, LANG: 'C.UTF-8' } },
  );
  await waitForListener({
    label,
    port: ctx.port,
    timeoutMs: ctx.readyTimeoutMs,
    watch: [server, xserver],
    probe: { send: X224_CONNECTION_REQUEST, accept: isNlaNegotiationResponse },
  });
  ctx.log(`${label} ready on 127.0.0.1:${ctx.port} (Xvfb :${display}, shadow pid ${server.pid}, panel pid ${panel.pid})`);
  return {
    name: RDP_TARGET_NAME,
    protocol: 'rdp',
    host: '127.0.0.1',
    port: ctx.port,
    username,
    password,
    purdueLevel: 3,
    description: 'Site SCADA server desktop (FreeRDP shadow server, RDP with NLA)',
  };
}
