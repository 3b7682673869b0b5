import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import ssh2 from 'ssh2';
import type { AuthContext, ClientInfo, Connection, Session } from 'ssh2';
import type { Broker } from '../broker/broker.js';
import type { SecretBox } from '../crypto/secretbox.js';
import type { Db } from '../db/index.js';
import type { DirectoryLogin } from '../identity/auth.js';
import { getLoginMessage } from '../identity/settings.js';
import { Authenticator } from './auth.js';
import { sendAuthBanner } from './banner.js';
import type { HostKey } from './hostkey.js';
import { FailureLimiter } from './ratelimit.js';
import { type Principal, serveSession } from './session.js';
import { parseLoginName } from './username.js';

/**
 * The SSH front door: `ssh -p 2222 alice+PLC-01@gateway` opens the same brokered, recorded
 * session as the browser terminal (DESIGN.md). An ssh2 Server with the gateway's own host key;
 * sign-in in auth.ts, sessions in session.ts. Nothing but terminal sessions passes: port
 * forwarding (-L/-R/-D, Unix sockets), agent and X11 forwarding and subsystems (sftp) are refused.
 */
export interface FrontDoorOptions {
  db: Db;
  secrets: SecretBox;
  broker: Broker;
  logger: Logger;
  hostKey: HostKey;
  host: string;
  /** 0: any free port. */
  port: number;
  /** Failed sign-ins allowed per source address per minute. */
  failuresPerMinute: number;
  consoleUrl: string;
  directory?: DirectoryLogin;
  /** Time to sign in before the connection is dropped (default 120 s, like OpenSSH's LoginGraceTime). */
  loginGraceMs?: number;
  /** Time to pick from the menu (default 5 min). */
  menuTimeoutMs?: number;
}

const FORWARDING_REFUSED = 'port forwarding is not available through Portcullis: every connection to an asset is a brokered, recorded session.';

const clientIp = (ip: string | undefined) => (ip ? ip.replace(/^::ffff:/, '') : null);

export class FrontDoor {
  private readonly server: InstanceType<typeof ssh2.Server>;
  private readonly conns = new Set<Connection>();
  private readonly limiter: FailureLimiter;
  private boundPort: number | undefined;

  constructor(private readonly o: FrontDoorOptions) {
    this.limiter = new FailureLimiter(Math.max(1, o.failuresPerMinute));
    this.server = new ssh2.Server(
      // No SHA-1 MACs (ssh2's defaults otherwise: curve25519/ECDH/DH-SHA2 kex, AES-GCM/CTR, ChaCha20).
      { hostKeys: [o.hostKey.privateKey], ident: 'Portcullis', algorithms: { hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'] } },
      (conn: Connection, info: ClientInfo) => this.accept(conn, info),
    );
    this.server.on('error', (err: Error) => o.logger.error({ err }, 'SSH front door error'));
  }

  get fingerprint(): string {
    return this.o.hostKey.fingerprint;
  }

  /** The port it listens on (after listen()). */
  get port(): number | undefined {
    return this.boundPort;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.o.port, this.o.host, () => {
        this.server.off('error', onError);
        this.boundPort = (this.server.address() as AddressInfo).port;
        resolve(this.boundPort);
      });
    });
  }

  /** Stops listening and disconnects every client (their live sessions end as the clients go). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.conns) c.end();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([closed, timeout]);
  }

  private accept(conn: Connection, info: ClientInfo): void {
    const { logger } = this.o;
    const ip = clientIp(info.ip);
    this.conns.add(conn);
    const hangUp = () => setTimeout(() => conn.end(), 50).unref();
    const auth = new Authenticator(
      { ctx: { db: this.o.db, secrets: this.o.secrets }, directory: this.o.directory, limiter: this.limiter, consoleUrl: this.o.consoleUrl, logger },
      ip,
      (message) => {
        sendAuthBanner(conn, message);
      },
      hangUp,
      async () => {
        const m = await getLoginMessage(this.o.db);
        return m.enabled && (m.title || m.text) ? [m.title, m.text].filter(Boolean).join('\n\n') : undefined;
      },
    );
    const grace = setTimeout(() => {
      if (!auth.user) conn.end();
    }, this.o.loginGraceMs ?? 120_000);
    grace.unref();
    let who: Principal | undefined;

    conn.on('authentication', (ctx: AuthContext) => auth.handle(ctx));
    conn.on('ready', () => {
      clearTimeout(grace);
      if (!auth.user) return conn.end();
      const login = parseLoginName(auth.loginName);
      who = { user: auth.user, login, ip, notes: [] };
      logger.info({ user: auth.user.username, ip, target: login.asset ?? '(menu)' }, 'SSH front door: signed in');
    });
    conn.on('session', (accept: () => Session, reject: () => void) => {
      if (!who) return reject();
      serveSession({ db: this.o.db, broker: this.o.broker, logger, menuTimeoutMs: this.o.menuTimeoutMs ?? 300_000 }, who, accept());
    });
    let told = false;
    const refuseForwarding = (what: string) => {
      logger.info({ user: who?.user.username, ip, what }, 'SSH front door: forwarding refused');
      if (!who || told) return;
      told = true;
      if (who.tell) who.tell(FORWARDING_REFUSED);
      else who.notes.push(FORWARDING_REFUSED);
    };
    // Direct TCP/IP and Unix-socket channels (-L, -D, -W): no listener, so ssh2 answers
    // "administratively prohibited", which OpenSSH shows as such.
    conn.on('request', (_accept: unknown, reject: (() => void) | undefined, name: string) => {
      refuseForwarding(name);
      reject?.();
    });
    conn.on('error', (err: Error) => logger.debug({ err: err.message, ip }, 'SSH front door: connection error'));
    conn.on('close', () => {
      clearTimeout(grace);
      this.conns.delete(conn);
    });
  }
}
