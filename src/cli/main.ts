import { cliActor } from '../server/audit/log.js';
import { writeCheckpoint } from '../server/audit/checkpoints.js';
import { verifyAudit } from '../server/audit/verify.js';
import { loadSigningKey } from '../server/recording/keys.js';
import { type Config, ConfigError, loadConfig } from '../server/config.js';
import { openDatabase } from '../server/db/index.js';
import { migrateToLatest } from '../server/db/migrate.js';
import { DomainError } from '../server/errors.js';
import { createUser, findUserRowByUsername, resetPassword, ROLES, type Role } from '../server/identity/users.js';
import { startGateway } from '../server/main.js';
import { loadMasterKey } from '../server/crypto/secretbox.js';
import { rotateMasterKey } from '../server/vault/rotate.js';
import { printBanner } from './banner.js';
import { checkTools, doctorReport } from './doctor.js';

const HELP = `portcullis - secure remote access gateway for OT networks

Usage:
  portcullis serve                          start the gateway (HTTPS on PORTCULLIS_HOST:PORTCULLIS_PORT)
  portcullis demo                           start the demo lab (real SSH/Telnet/VNC/RDP targets) and the gateway
  portcullis migrate                        apply database migrations and exit
  portcullis admin create <username> [--role Administrator|Operator|Client] [--email <addr>]
                                            create a user; prints a one-time password
  portcullis admin reset-password <username> set a new one-time password (changed at next login)
  portcullis audit verify                   check the audit hash chain and its signed checkpoints; names the first bad row
  portcullis audit checkpoint               sign the audit chain head now (the gateway also does every 10 min)
  portcullis vault rotate-master-key        new master key; re-seals every vault data key and sealed secret
  portcullis doctor                         check the system tools later features need

Configuration (environment): PORTCULLIS_DATA_DIR (./data), PORTCULLIS_HOST (127.0.0.1),
PORTCULLIS_PORT (8443), PORTCULLIS_DATABASE_URL (PostgreSQL; default: SQLite in the data dir),
PORTCULLIS_ADMIN_PASSWORD (first admin, unattended installs), PORTCULLIS_CONFIG (JSON file;
default <data>/portcullis.json if present), PORTCULLIS_TLS=false, PORTCULLIS_TLS_CERT/_KEY,
PORTCULLIS_LOG_LEVEL.`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function withDb<T>(config: Config, fn: (db: ReturnType<typeof openDatabase>) => Promise<T>, opts = { migrate: true }): Promise<T> {
  const database = openDatabase(config);
  try {
    if (opts.migrate) await migrateToLatest(database.db);
    return await fn(database);
  } finally {
    await database.close();
  }
}

async function serve(config: Config): Promise<void> {
  const gw = await startGateway(config);
  printBanner(gw.url, gw.bootstrap, gw.sshPort ? [`  SSH front door: ssh -p ${gw.sshPort} <user>+<asset>@${config.host}   (host key ${gw.sshFingerprint})`] : []);
  const stop = async () => {
    await gw.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    console.log(HELP);
    return cmd ? 0 : 1;
  }
  const config = loadConfig();
  switch (cmd) {
    case 'serve':
      await serve(config);
      return -1;
    case 'demo': {
      const { runDemo } = await import('./demo.js');
      await runDemo(config);
      return -1;
    }
    case 'migrate':
      return withDb(config, async (d) => {
        const r = await migrateToLatest(d.db);
        console.log(`database ${d.describe}: at ${r.current ?? '(none)'}${r.applied.length ? `, applied ${r.applied.join(', ')}` : ', nothing to apply'}`);
        return 0;
      }, { migrate: false });
    case 'admin': {
      const username = rest[0];
      if (!username || (sub !== 'create' && sub !== 'reset-password')) {
        console.error('usage: portcullis admin create <username> [--role R] [--email E] | portcullis admin reset-password <username>');
        return 2;
      }
      return withDb(config, async (d) => {
        const ctx = { db: d.db, actor: cliActor() };
        if (sub === 'create') {
          const role = (flag(rest, '--role') ?? 'Administrator') as Role;
          if (!ROLES.includes(role)) {
            console.error(`--role must be one of ${ROLES.join(', ')}`);
            return 2;
          }
          const res = await createUser(ctx, {
            username, displayName: '', email: flag(rest, '--email') ?? '', role, type: 'local', affiliation: 'employee',
            vendorId: null, expiresAt: null, otpRequired: false, mustChangePassword: true,
          });
          console.log(`created ${role} "${res.user.username}"; one-time password: ${res.oneTimePassword}`);
          return 0;
        }
        const user = await findUserRowByUsername(d.db, username);
        if (!user) {
          console.error(`no user named "${username}"`);
          return 1;
        }
        const res = await resetPassword(ctx, user.id);
        console.log(`password of "${user.username}" reset; one-time password: ${res.oneTimePassword}`);
        return 0;
      });
    }
    case 'audit': {
      if (sub === 'checkpoint') {
        return withDb(config, async (d) => {
          const c = await writeCheckpoint(d.db, config.dataDir, loadSigningKey(config.dataDir));
          console.log(c ? `checkpoint signed: audit row ${c.seq}, key ${c.keyId}` : 'nothing new to sign: the last checkpoint covers the chain head');
          return 0;
        });
      }
      if (sub !== 'verify') {
        console.error('usage: portcullis audit verify | portcullis audit checkpoint');
        return 2;
      }
      return withDb(config, async (d) => {
        const r = await verifyAudit(d.db, config.dataDir);
        const cp = r.checkpoints;
        const signed = cp.latest ? `${cp.verified} signed checkpoint(s) match, the newest at row ${cp.latest.seq} (${cp.latest.at})` : 'no signed checkpoint yet';
        const untrusted = cp.untrusted ? `; ${cp.untrusted} checkpoint(s) by keys not trusted here were not checked` : '';
        if (r.ok) {
          console.log(`OK: ${r.count} audit events, hash chain intact (head ${r.headSeq}); ${signed}${untrusted}`);
          return 0;
        }
        if (r.problem) console.log(`FAILED: ${r.problem.message} (first problem: ${r.problem.kind} row ${r.problem.seq}${r.problem.id ? `, id ${r.problem.id}` : ''}; ${r.count} rows verified before it)`);
        else console.log(`FAILED: ${cp.problem!.message} (the hash chain's own links are intact: it was rewritten as a whole)`);
        return 1;
      });
    }
    case 'vault': {
      if (sub !== 'rotate-master-key') {
        console.error('usage: portcullis vault rotate-master-key');
        return 2;
      }
      return withDb(config, async (d) => {
        const r = await rotateMasterKey(d.db, loadMasterKey(config.dataDir), config.dataDir, cliActor());
        console.log(`master key rotated: ${r.oldKeyId} -> ${r.newKeyId}; re-sealed ${r.dataKeys} vault data key(s) and ${r.sealedSecrets} other secret(s). Running gateways use the new key from their next seal; the retired key stays in ${config.dataDir}/keys for old backups.`);
        return 0;
      });
    }
    case 'doctor': {
      const report = doctorReport(checkTools());
      console.log(report.text);
      return report.ok ? 0 : 1;
    }
    default:
      console.error(`unknown command "${cmd}"\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (e?.code === 'EADDRINUSE') console.error(`portcullis: ${e.address}:${e.port} is already in use (is another gateway running?). Stop it or set PORTCULLIS_PORT.`);
    else if (err instanceof ConfigError || err instanceof DomainError) console.error(`portcullis: ${err.message}`);
    else console.error('portcullis: failed:', err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
