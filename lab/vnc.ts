/**
 * VNC target HMI-03: a TigerVNC Xvnc desktop on 127.0.0.1 with VNC authentication only (no
 * "None" security type), a private X cookie, and an HMI-like panel on a blue background.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { LAB_TAG, PLANT, type TargetContext } from './context.js';
import { assertPortFree, requireBinary, waitForListener } from './process.js';
import type { LabTarget } from './types.js';
import { DESKTOP_GEOMETRY, paintDesktop, waitForX, writeXauthority } from './x11.js';

export const VNC_TARGET_NAME = 'HMI-03';

export async function startVnc(ctx: TargetContext, display: number, password: string): Promise<LabTarget> {
  const label = `VNC target ${VNC_TARGET_NAME}`;
  const xvnc = requireBinary('Xvnc');
  const logFile = path.join(ctx.dir, 'xvnc.log');
  const xauthority = path.join(ctx.dir, 'Xauthority');
  const passwdFile = path.join(ctx.dir, 'passwd');

  await assertPortFree(ctx.port, label);
  writeXauthority(xauthority, display);
  // vncpasswd -f reads the password on stdin and writes the obfuscated file on stdout.
  const obfuscated = await ctx.sup.runOk(requireBinary('vncpasswd'), ['-f'], {
    name: `${label} vncpasswd`,
    stdin: `${password}\n`,
  });
  if (obfuscated.length !== 8) throw new Error(`${label}: vncpasswd -f wrote ${obfuscated.length} bytes, expected 8`);
  writeFileSync(passwdFile, obfuscated, { mode: 0o600 });

  const server = ctx.sup.spawn(
    xvnc,
    [
      `:${display}`,
      '-geometry', `${DESKTOP_GEOMETRY.width}x${DESKTOP_GEOMETRY.height}`,
      '-depth', '24',
      '-rfbport', String(ctx.port),
      '-interface', '127.0.0.1',
      '-SecurityTypes', 'VncAuth',
      '-PasswordFile', passwdFile,
      '-AlwaysShared',
      '-desktop', `${VNC_TARGET_NAME} ${PLANT}`,
      '-nolisten', 'tcp',
      '-noreset', // a server reset (last client gone) would drop the painted background
      '-auth', xauthority,
    ],
    { name: `${label} Xvnc :${display}`, logFile, env: { HOME: ctx.dir, LANG: 'C.UTF-8' } },
  );
  await waitForX(display, label, server, ctx.readyTimeoutMs);
  const panel = await paintDesktop(ctx.sup, {
    name: label,
    display,
    xauthority,
    background: '#1f6feb',
    title: `${VNC_TARGET_NAME} ${PLANT} - HMI`,
    panelFile: path.join(ctx.dir, 'panel.txt'),
    logFile,
    panelLines: [
      `${VNC_TARGET_NAME}  |  ${PLANT}  |  ${LAB_TAG}`,
      'Level 2 - Operator HMI (VNC)',
      '',
      'Tank T-101 level        72.4 %      OK',
      'Pump P-101              RUNNING     48.2 m3/h',
      'Valve V-203             OPEN',
      'Line pressure           4.1 bar     OK',
      'Active alarms           0',
    ],
  });
  await waitForListener({
    label,
    port: ctx.port,
    timeoutMs: ctx.readyTimeoutMs,
    watch: [server],
    probe: { accept: (b) => b.length >= 12 && /^RFB 003\.\d{3}\n$/.test(b.subarray(0, 12).toString('latin1')) },
  });
  ctx.log(`${label} ready on 127.0.0.1:${ctx.port} (Xvnc :${display} pid ${server.pid}, panel pid ${panel.pid})`);
  return {
    name: VNC_TARGET_NAME,
    protocol: 'vnc',
    host: '127.0.0.1',
    port: ctx.port,
    password,
    purdueLevel: 2,
    description: 'Operator HMI panel (TigerVNC, VNC authentication)',
  };
}
