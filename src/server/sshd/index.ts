import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { Config } from '../config.js';
import type { SecretBox } from '../crypto/secretbox.js';
import type { Db } from '../db/index.js';
import { ldapLogin } from '../identity/ldap/authenticate.js';
import type { HostKey } from './hostkey.js';
import { FrontDoor } from './server.js';

export { loadOrCreateHostKey, type HostKey } from './hostkey.js';
export { FrontDoor } from './server.js';

/**
 * Starts the SSH front door on config.host:config.sshPort. A port it cannot bind (in use, no
 * permission) is logged as an error and the gateway runs on without it: the console stays up.
 */
export async function startFrontDoor(o: { config: Config; db: Db; secrets: SecretBox; broker: Broker; logger: Logger; hostKey: HostKey; consoleUrl: string }): Promise<FrontDoor | undefined> {
  const door = new FrontDoor({
    db: o.db, secrets: o.secrets, broker: o.broker, logger: o.logger, hostKey: o.hostKey, host: o.config.host, port: o.config.sshPort,
    failuresPerMinute: o.config.loginRateLimit, consoleUrl: o.consoleUrl, directory: ldapLogin,
  });
  try {
    const port = await door.listen();
    o.logger.info({ port, fingerprint: o.hostKey.fingerprint }, 'SSH front door listening');
    return door;
  } catch (err) {
    o.logger.error({ err, port: o.config.sshPort }, 'the SSH front door could not listen: running without it (set PORTCULLIS_SSH_PORT, or PORTCULLIS_SSH=false)');
    return undefined;
  }
}
