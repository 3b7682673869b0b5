import { createHash } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRfb } from '../vnc/client.js';
import type { DisplayConnection, DisplayProtocol } from '../types.js';
import type { RdpSecurity } from './probe.js';
import { startRdpDisplay } from './session.js';

/**
 * Where the per-session directories go. The helper processes run as the unprivileged
 * portcullis-rdp user, which must pass through every parent: the data dir (0700) will not do, so
 * a folder per data dir under the system's temp dir (0711, one 0700 folder per session inside).
 */
export function rdpRuntimeDir(dataDir: string): string {
  return join(tmpdir(), `portcullis-rdp-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`);
}

const SECURITY = new Set<RdpSecurity>(['auto', 'nla', 'tls', 'rdp']);

/**
 * RDP assets: a private Xvnc + xfreerdp per session (rdp/session.ts) logs in with the vaulted
 * account (password on xfreerdp's stdin), pinned to the server certificate; the gateway's RFB
 * client then reads the private Xvnc through its 0600 Unix socket. Closing closes both. A new
 * browser size reconnects xfreerdp at that size on the resized Xvnc (resize()).
 * Access-method options: `domain`, `security` (auto | nla | tls | rdp).
 */
export function rdpProtocol(dataDir: string): DisplayProtocol {
  return {
    name: 'rdp',
    async connect(target, credential, opts): Promise<DisplayConnection> {
      const security = typeof target.options.security === 'string' && SECURITY.has(target.options.security as RdpSecurity) ? (target.options.security as RdpSecurity) : 'auto';
      const display = await startRdpDisplay({
        host: target.host,
        port: target.port,
        username: credential.username,
        ...(typeof target.options.domain === 'string' && target.options.domain ? { domain: target.options.domain } : {}),
        password: credential.password ?? '',
        width: opts.width,
        height: opts.height,
        runtimeDir: rdpRuntimeDir(dataDir),
        ...(opts.pinnedCert ? { pinnedCertSha256: opts.pinnedCert } : {}),
        ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        security,
      });
      let rfb;
      try {
        // A local socket: Raw costs neither side any compression work.
        rfb = await connectRfb(net.connect(display.socketPath), { autoRequest: false, timeoutMs: 10_000, encodings: ['copyrect', 'raw'], desktopResize: true });
      } catch (err) {
        await display.close('the private display could not be read');
        throw err;
      }
      const close = (reason?: string) => {
        rfb.close(reason);
        void display.close(reason);
      };
      // Whichever goes first (the RDP client or the RFB link) ends the session; both are then closed.
      const ended = Promise.race([display.ended.then((e) => ({ how: e.how, message: e.message })), rfb.ended.then((e) => ({ how: e.how, message: e.message }))]);
      void ended.then((e) => close(e.message));
      const link = rfb;
      const reveal = opts.reveal;
      const resize = async (width: number, height: number): Promise<void> => {
        if (!reveal) throw new Error('this connection cannot reconnect: no way to reveal the credential again');
        const again = await reveal();
        await display.reconnect({ width, height, password: again.password ?? '', resizeScreen: (w, h) => link.setDesktopSize(w, h) });
      };
      return { rfb, close, ended, info: { certSha256: display.certSha256 }, resize };
    },
  };
}
