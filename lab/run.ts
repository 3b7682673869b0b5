/**
 * Runs the demo lab in the foreground until SIGINT/SIGTERM.
 *
 *   node --import tsx lab/run.ts [dataDir] [--show-passwords] [--display-base N]
 *        [--ssh-port N] [--telnet-port N] [--vnc-port N] [--rdp-port N] [--account NAME]
 *
 * dataDir defaults to ./data. Passwords are in <dataDir>/lab/credentials.json (mode 0600).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeTargets, type LabPorts, startLab } from './index.js';

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`--${name} needs an integer, got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'show-passwords': { type: 'boolean', default: false },
      'display-base': { type: 'string' },
      'ssh-port': { type: 'string' },
      'telnet-port': { type: 'string' },
      'vnc-port': { type: 'string' },
      'rdp-port': { type: 'string' },
      account: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const dataDir = path.resolve(positionals[0] ?? 'data');
  const ports: Partial<LabPorts> = {};
  for (const p of ['ssh', 'telnet', 'vnc', 'rdp'] as const) {
    const n = intOption(values[`${p}-port`], `${p}-port`);
    if (n !== undefined) ports[p] = n;
  }
  const log = values.quiet ? undefined : (msg: string) => console.error(`[lab] ${msg}`);
  const t0 = Date.now();
  const lab = await startLab({
    dataDir,
    ports,
    displayBase: intOption(values['display-base'], 'display-base'),
    account: values.account,
    log,
  });
  console.log(`Portcullis demo lab is up (${Date.now() - t0} ms). Data: ${lab.labDir}`);
  console.log(describeTargets(lab.targets, values['show-passwords']));
  if (!values['show-passwords']) console.log(`Passwords: ${path.join(lab.labDir, 'credentials.json')} (or --show-passwords)`);
  console.log(`X displays: VNC :${lab.displays.vnc}, RDP :${lab.displays.rdp}. Ctrl-C stops the lab.`);

  let stopping = false;
  const shutdown = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${sig}: stopping the lab...`);
    lab.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
