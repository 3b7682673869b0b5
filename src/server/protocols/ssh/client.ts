/**
 * SSH to assets: the gateway is the SSH client (ssh2). One connection per brokered session, one
 * session channel on it (a shell with a PTY, or an exec request), exposed as a TerminalConnection.
 *
 * - Authentication with the vaulted credential only: private key (+ passphrase), password, and
 *   keyboard-interactive answered with the password (hidden prompts only).
 * - Host key pinning: the SHA-256 fingerprint of the asset's host key is compared with the pinned
 *   one inside the key exchange; a mismatch aborts before any credential is sent. On first use
 *   (nothing pinned) the key is accepted and reported in info.hostKeyFingerprint for the broker to pin.
 * - Errors are ConnectErrors ('unreachable', 'timeout', 'auth_failed', 'host_key_mismatch',
 *   'protocol'); an aborted connect rejects with an AbortError. No secret reaches a message.
 *
 * Target options (TerminalTarget.options): `pty` (boolean, default true): set false to run
 * opts.command without a pseudo-terminal.
 */
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, AuthHandlerMiddleware, ClientChannel, NegotiatedAlgorithms, ParsedKey, Prompt, PseudoTtyOptions } from 'ssh2';
import {
  ConnectError,
  type ConnectOptions,
  type EndInfo,
  type TerminalConnection,
  type TerminalCredential,
  type TerminalProtocol,
  type TerminalSize,
  type TerminalTarget,
} from '../types.js';
import { checkPrivateKey, classifyConnectError, closedBeforeReadyError, type ErrorContext, redact, type Ssh2Error, timeoutError } from './errors.js';
import { fingerprintMatches, hostKeyFingerprint, hostKeyType } from './hostkey.js';
import { ChannelStream } from './stream.js';

export const DEFAULT_TIMEOUT_MS = 15_000;
const KEEPALIVE_INTERVAL_MS = 15_000;
/** Unanswered keepalives before the link is declared dead (~60 s). */
const KEEPALIVE_COUNT_MAX = 3;
/** After close(): how long a clean disconnect may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 2_000;
/** After the asset's EOF, how long its exit status and close may take before the gateway closes the channel. */
const EXIT_WAIT_MS = 1_000;
/** Keyboard-interactive rounds answered before giving up (a server that keeps asking). */
const MAX_KBD_ROUNDS = 3;
const MIN_DIM = 1;
const MAX_DIM = 1000;

function clampDim(value: number, fallback: number): number {
  if (!Number.isFinite(value)) return fallback;
  return Math.min(MAX_DIM, Math.max(MIN_DIM, Math.round(value)));
}

function clampSize(size: TerminalSize): TerminalSize {
  return { cols: clampDim(size.cols, 80), rows: clampDim(size.rows, 24) };
}

function abortError(signal: AbortSignal): Error {
  const err = new Error('SSH connect aborted') as Error & { code: string };
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  if (signal.reason !== undefined) (err as Error & { cause?: unknown }).cause = signal.reason;
  return err;
}

/**
 * The ordered login attempts: public key, password, keyboard-interactive. Methods the server
 * does not offer are skipped, so they do not count against its MaxAuthTries.
 */
function authHandler(credential: TerminalCredential, key: ParsedKey | undefined): AuthHandlerMiddleware {
  const { username, password } = credential;
  const queue: AnyAuthMethod[] = [{ type: 'none', username }];
  if (key) queue.push({ type: 'publickey', username, key });
  if (password) {
    queue.push({ type: 'password', username, password });
    let rounds = 0;
    queue.push({
      type: 'keyboard-interactive',
      username,
      prompt: (_name: string, _instructions: string, _lang: string, prompts: Prompt[], finish: (answers: string[]) => void) => {
        if (prompts.length > 0) rounds += 1;
        if (rounds > MAX_KBD_ROUNDS) {
          finish(prompts.map(() => ''));
          return;
        }
        // Only hidden prompts get the password: an echoed one would show it on the asset.
        finish(prompts.map((p) => (p.echo ? (/user|login/i.test(p.prompt) ? username : '') : password)));
      },
    });
  }
  // authsLeft is null before the first attempt; `false` (no more methods) is accepted by ssh2
  // although its typings do not say so.
  return (authsLeft: AuthenticationType[] | null, _partial, next) => {
    for (let m = queue.shift(); m; m = queue.shift()) {
      if (m.type === 'none' || !authsLeft || authsLeft.includes(m.type)) {
        next(m);
        return;
      }
    }
    (next as (method: AnyAuthMethod | false) => void)(false);
  };
}

function describeNegotiated(n: NegotiatedAlgorithms): string[] {
  return [`kex=${n.kex}`, `hostkey=${n.serverHostKey}`, `cipher=${n.cs.cipher}`, `mac=${n.cs.mac}`, `compress=${n.cs.compress}`].filter(
    (s) => !s.endsWith('='),
  );
}

interface SessionSetup {
  mode: 'shell' | 'exec';
  pty: boolean;
  where: string;
  secrets: readonly (string | undefined)[];
  info: TerminalConnection['info'];
  banner: string;
}

/** An open SSH session: the connection, its one channel and the broker-facing stream. */
class SshConnection implements TerminalConnection {
  readonly stream: ChannelStream;
  readonly ended: Promise<EndInfo>;
  readonly info: TerminalConnection['info'];
  private resolveEnded!: (info: EndInfo) => void;
  private closedByGateway: string | undefined;
  private channelClosed = false;
  /** The stream had ended (EOF from the asset, all output read) when the consumer let go of it. */
  private assetEnded = false;
  private linkError: string | undefined;
  private exit: { code?: number; signal?: string } | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private exitWait: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly client: InstanceType<typeof ssh2.Client>,
    private readonly channel: ClientChannel,
    private readonly setup: SessionSetup,
  ) {
    this.info = setup.info;
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    const banner = setup.mode === 'shell' && setup.banner ? Buffer.from(setup.banner.replace(/\r?\n/g, '\r\n'), 'utf8') : undefined;
    this.stream = new ChannelStream(channel, () => this.onStreamDestroyed(), banner);

    channel.on('exit', (code: unknown, signal?: unknown) => {
      this.exit = typeof code === 'number' ? { code } : { signal: typeof signal === 'string' ? signal : undefined };
    });
    channel.on('close', () => {
      // The asset closed the session (or answered our close): the connection has no other use.
      this.channelClosed = true;
      clearTimeout(this.exitWait);
      this.disconnect();
    });
    client.on('error', (err: Ssh2Error) => {
      if (this.closedByGateway === undefined && !this.channelClosed && this.linkError === undefined) {
        this.linkError = err.level === 'client-timeout' ? 'the asset stopped answering (keepalive timeout)' : redact(err.message, setup.secrets);
      }
    });
    client.on('close', () => this.finish());
  }

  resize(size: TerminalSize): void {
    if (!this.setup.pty || this.done) return;
    const { cols, rows } = clampSize(size);
    try {
      this.channel.setWindow(rows, cols, 0, 0);
    } catch {
      // the channel is closing: nothing to resize
    }
  }

  close(reason?: string): void {
    if (this.done || this.closedByGateway !== undefined) return;
    if (!this.channelClosed) this.closedByGateway = reason ?? 'closed by the gateway';
    try {
      this.channel.close();
    } catch {
      // already closing
    }
    this.disconnect();
  }

  /**
   * The consumer destroyed the stream (also the automatic destroy once both sides ended). After
   * the asset's EOF the session is over anyway: closing it then is not the gateway's doing.
   */
  private onStreamDestroyed(): void {
    if (!this.stream.readableEnded) {
      this.close('the terminal stream was closed');
      return;
    }
    this.assetEnded = true;
    if (this.channelClosed) return this.disconnect();
    // The asset's EOF can come before its exit status (OpenSSH sends EOF when the command's output
    // closes, exit-status after it is reaped, then close): wait for the asset's close a moment, so
    // the exit code is not lost, then close ourselves.
    this.exitWait ??= setTimeout(() => {
      try {
        this.channel.close();
      } catch {
        // already closing
      }
      this.disconnect();
    }, EXIT_WAIT_MS);
    this.exitWait.unref();
  }

  private disconnect(): void {
    if (this.done) return;
    this.client.end();
    if (!this.killTimer) {
      this.killTimer = setTimeout(() => this.client.destroy(), CLOSE_GRACE_MS);
      this.killTimer.unref();
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    clearTimeout(this.exitWait);
    this.stream.markGone();
    const exitCode = this.exit?.code;
    const what = this.setup.mode === 'shell' ? 'shell' : 'command';
    let end: EndInfo;
    if (this.closedByGateway !== undefined) {
      end = { how: 'closed', message: this.closedByGateway };
    } else if (this.channelClosed || this.assetEnded) {
      let message = `the asset closed the session`;
      if (exitCode !== undefined) message = `the remote ${what} exited with code ${exitCode}`;
      else if (this.exit?.signal) message = `the remote ${what} was killed by ${this.exit.signal}`;
      end = { how: 'closed', message };
    } else if (this.linkError !== undefined) {
      end = { how: 'error', message: `SSH to ${this.setup.where}: connection lost: ${this.linkError}` };
    } else {
      end = { how: 'error', message: `SSH to ${this.setup.where}: the asset dropped the connection without closing the session` };
    }
    if (exitCode !== undefined) end.exitCode = exitCode;
    this.resolveEnded(end);
  }
}

async function connect(target: TerminalTarget, credential: TerminalCredential, opts: ConnectOptions): Promise<TerminalConnection> {
  const timeoutMs = opts.timeoutMs !== undefined && opts.timeoutMs > 0 ? opts.timeoutMs : DEFAULT_TIMEOUT_MS;
  const where = `${target.host}:${target.port}`;
  const secrets = [credential.password, credential.passphrase, credential.privateKey];
  const ctx: ErrorContext = { where, username: credential.username, timeoutMs, secrets };
  const signal = opts.signal;
  if (signal?.aborted) throw abortError(signal);
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    throw new ConnectError('unreachable', `SSH to ${where}: invalid port`);
  }

  let key: ParsedKey | undefined;
  if (credential.privateKey) {
    const parsed = checkPrivateKey(credential.privateKey, credential.passphrase, ctx);
    if (parsed instanceof ConnectError) throw parsed;
    key = parsed;
  }
  if (!key && !credential.password) {
    throw new ConnectError('auth_failed', `SSH to ${where}: no password or private key is vaulted for user "${credential.username}"`);
  }

  const pinned = opts.pinnedHostKey?.trim() ? opts.pinnedHostKey.trim() : undefined;
  const size = clampSize(opts.size);
  const mode: SessionSetup['mode'] = opts.command !== undefined ? 'exec' : 'shell';
  const pty = mode === 'shell' || (opts.pty ?? target.options.pty !== false);
  const ptyOptions: PseudoTtyOptions = { term: opts.term ?? 'xterm-256color', cols: size.cols, rows: size.rows, width: 0, height: 0 };

  return new Promise<TerminalConnection>((resolve, reject) => {
    const client = new ssh2.Client();
    let settled = false;
    let seen: { fingerprint: string; type: string | undefined } | undefined;
    let mismatch = false;
    let banner = '';
    let negotiated: string[] | undefined;

    const mismatchError = (): ConnectError => {
      const shown = seen ? `${seen.fingerprint}${seen.type ? ` (${seen.type})` : ''}` : 'unknown';
      return new ConnectError(
        'host_key_mismatch',
        `SSH to ${where}: the asset's host key ${shown} is not the pinned key ${pinned ?? ''}; ` +
          'the asset may have been replaced or reinstalled, or the connection is being intercepted. ' +
          'The session was refused before any credential was sent; an administrator must review and accept the new key.',
        { hostKeyFingerprint: seen?.fingerprint },
      );
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      cleanup();
      client.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(abortError(signal as AbortSignal));
    const timer = setTimeout(() => fail(timeoutError(ctx)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    // ssh2 may emit several errors; only the first one while connecting decides, and an error
    // listener must stay attached for the whole life of the client.
    client.on('error', (err: Ssh2Error) => {
      if (!settled) fail(mismatch ? mismatchError() : classifyConnectError(err, ctx));
    });
    client.on('close', () => {
      if (!settled) fail(mismatch ? mismatchError() : closedBeforeReadyError(ctx));
    });
    client.on('banner', (msg: string) => {
      if (banner.length < 8192) banner += msg;
    });
    client.on('handshake', (n: NegotiatedAlgorithms) => {
      negotiated = describeNegotiated(n);
    });
    client.on('ready', () => {
      if (settled) return;
      const opened = (err: Error | undefined, channel: ClientChannel): void => {
        if (settled) {
          if (!err) channel.close();
          return;
        }
        if (err) {
          fail(
            new ConnectError(
              'protocol',
              redact(`SSH to ${where}: logged in, but the asset refused to open the ${mode === 'shell' ? 'shell' : 'command'}: ${err.message}`, secrets),
            ),
          );
          return;
        }
        settled = true;
        cleanup();
        const info: TerminalConnection['info'] = {};
        if (seen) info.hostKeyFingerprint = seen.fingerprint;
        if (negotiated) info.negotiated = negotiated;
        resolve(new SshConnection(client, channel, { mode, pty, where, secrets, info, banner }));
      };
      try {
        if (mode === 'shell') client.shell(ptyOptions, opened);
        else client.exec(opts.command ?? '', { pty: pty ? ptyOptions : false }, opened);
      } catch (e) {
        fail(new ConnectError('protocol', redact(`SSH to ${where}: cannot open the session: ${(e as Error).message}`, secrets)));
      }
    });

    try {
      client.connect({
        host: target.host,
        port: target.port,
        username: credential.username,
        readyTimeout: timeoutMs,
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        authHandler: authHandler(credential, key),
        hostVerifier: (keyBlob: Buffer): boolean => {
          seen = { fingerprint: hostKeyFingerprint(keyBlob), type: hostKeyType(keyBlob) };
          if (pinned !== undefined && !fingerprintMatches(pinned, seen.fingerprint)) {
            mismatch = true;
            return false;
          }
          return true;
        },
      });
    } catch (e) {
      fail(new ConnectError('unreachable', redact(`SSH to ${where}: cannot connect: ${(e as Error).message}`, secrets)));
    }
  });
}

export const sshProtocol: TerminalProtocol = {
  name: 'ssh',
  connect,
};
