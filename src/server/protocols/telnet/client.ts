/**
 * The Telnet engine: the gateway is the Telnet client (RFC 854, own implementation) and logs in
 * with the vaulted credential by script (login.ts) before the user gets the terminal.
 *
 *   codec.ts    IAC framing (streaming decoder, encoders)
 *   options.ts  option negotiation (RFC 1143 Q method; NAWS, TTYPE, ECHO, SGA) and a flood budget
 *   login.ts    the scripted login and its options (prompts, success/failure patterns)
 *
 * connect() resolves once the login succeeded. The stream then starts with what the asset showed
 * during the login (banner, prompts, never the password) and carries the session's bytes, Telnet
 * commands removed. Backpressure: when the stream's reader falls behind, the socket is paused.
 * Nothing here logs; the password only ever goes to the socket.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
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
import { encodeData, optionName, SB_CAP, type TelnetEvent, TelnetDecoder } from './codec.js';
import { LoginScript, type LoginOutcome, parseLoginConfig } from './login.js';
import { clampSize, NegotiationBudget, OptionNegotiator } from './options.js';

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_TERM = 'xterm-256color';
/** Negotiation commands tolerated from the asset while logging in: per second, and in total. */
export const LOGIN_NEGOTIATION_PER_SECOND = 100;
export const LOGIN_NEGOTIATION_TOTAL = 500;
/** ... and per second once the session runs. */
export const SESSION_NEGOTIATION_PER_SECOND = 200;

const TERM_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,39}$/;

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EADDRNOTAVAIL', 'EHOSTDOWN']);

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const err = new Error('the connection to the asset was aborted');
  err.name = 'AbortError';
  return err;
}

type State = 'connecting' | 'login' | 'open' | 'closed';

class TelnetSession {
  private state: State = 'connecting';
  private readonly socket: net.Socket;
  private readonly decoder = new TelnetDecoder(SB_CAP);
  private readonly negotiator: OptionNegotiator;
  private readonly budget = new NegotiationBudget(LOGIN_NEGOTIATION_PER_SECOND, LOGIN_NEGOTIATION_TOTAL);
  private readonly login: LoginScript;
  private readonly stream: Duplex;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort: () => void;
  private lastError: NodeJS.ErrnoException | undefined;
  private endInfo: EndInfo | undefined;
  private resolveEnded!: (info: EndInfo) => void;
  private readonly ended = new Promise<EndInfo>((resolve) => {
    this.resolveEnded = resolve;
  });
  private readableDone = false;
  private pendingWrite: (() => void) | undefined;
  private size: TerminalSize;
  private resizePending = false;

  constructor(
    private readonly target: TerminalTarget,
    credential: TerminalCredential,
    private readonly opts: ConnectOptions,
    private readonly resolve: (c: TerminalConnection) => void,
    private readonly reject: (e: Error) => void,
  ) {
    const timeoutMs = opts.timeoutMs !== undefined && Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0 ? Math.min(opts.timeoutMs, 2 ** 31 - 1) : DEFAULT_TIMEOUT_MS;
    const term = opts.term ?? DEFAULT_TERM;
    if (!TERM_RE.test(term)) throw new ConnectError('protocol', 'invalid terminal type (letters, digits and ._+- only, at most 40)');
    const config = parseLoginConfig(target.options);
    this.size = clampSize(opts.size);

    this.negotiator = new OptionNegotiator({ term, size: this.size, send: (b) => this.writeControl(b) });
    this.login = new LoginScript(config, credential, {
      sendLine: (text) => this.writeControl(encodeData(Buffer.from(`${text}\r\n`, 'utf8'))),
      done: (outcome) => this.loginDone(outcome),
    });
    this.stream = new Duplex({
      allowHalfOpen: true, // writes after the asset left are dropped, never an 'error'
      read: () => {
        if (this.state === 'open' && this.socket.isPaused()) this.socket.resume();
      },
      write: (chunk: Buffer, _enc, cb) => this.writeData(chunk, cb),
      final: (cb) => {
        cb();
      },
      destroy: (err, cb) => {
        this.close('the session stream was destroyed');
        cb(err);
      },
    });

    this.socket = net.connect({ host: target.host, port: target.port });
    this.timer = setTimeout(() => {
      const what = this.state === 'connecting' ? 'a TCP connection' : this.login.waitingFor();
      this.fail(new ConnectError('timeout', `timed out after ${seconds(timeoutMs)} waiting for ${what} from ${this.where()}`));
    }, timeoutMs);
    this.onAbort = () => this.fail(abortError(opts.signal!));
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });

    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, 30_000);
    this.socket.on('connect', () => {
      if (this.state === 'connecting') this.state = 'login';
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      this.lastError ??= err;
    });
    this.socket.on('close', () => this.onClose());
    this.socket.on('drain', () => this.releaseWrite());
  }

  private where(): string {
    return `${this.target.host}:${this.target.port}`;
  }

  private onData(chunk: Buffer): void {
    let events: TelnetEvent[];
    try {
      events = this.decoder.decode(chunk);
    } catch (err) {
      this.violation(`Telnet decoding failed: ${(err as Error).message}`);
      return;
    }
    for (const ev of events) {
      if (this.state === 'closed') return;
      switch (ev.type) {
        case 'data':
          if (this.state === 'open') this.pushOut(ev.data);
          else this.login.feed(ev.data);
          break;
        case 'command':
          break; // NOP, GA, AYT, DM, ...: nothing to do for a client
        case 'negotiate': {
          const over = this.budget.take();
          if (over) return this.violation(over);
          this.negotiator.receive(ev.verb, ev.option);
          break;
        }
        case 'subnegotiation': {
          const over = this.budget.take();
          if (over) return this.violation(over);
          this.negotiator.subnegotiation(ev.option, ev.data);
          break;
        }
        case 'sb-overflow':
          return this.violation(`the asset sent a ${optionName(ev.option)} subnegotiation longer than ${SB_CAP} bytes`);
      }
    }
  }

  private pushOut(data: Buffer): void {
    if (this.readableDone || data.length === 0) return;
    if (!this.stream.push(data)) this.socket.pause();
  }

  private endReadable(): void {
    if (this.readableDone) return;
    this.readableDone = true;
    this.stream.push(null);
  }

  /** Negotiation replies and the typed credential: small, written regardless of backpressure. */
  private writeControl(bytes: Buffer): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.socket.write(bytes);
  }

  private writeData(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (this.state !== 'open' || this.socket.destroyed || !this.socket.writable) {
      cb(); // the asset is gone: input is dropped (the broker learns it from `ended`)
      return;
    }
    if (this.socket.write(encodeData(chunk))) cb();
    else this.pendingWrite = cb;
  }

  private releaseWrite(): void {
    const cb = this.pendingWrite;
    this.pendingWrite = undefined;
    cb?.();
  }

  private loginDone(outcome: LoginOutcome): void {
    if (this.state === 'closed') return;
    if (!outcome.ok) {
      this.fail(new ConnectError(outcome.failure, outcome.message));
      return;
    }
    this.state = 'open';
    clearTimeout(this.timer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.budget.unlimitedTotal();
    this.budget.setPerSecond(SESSION_NEGOTIATION_PER_SECOND);
    this.pushOut(this.login.transcript());
    this.resolve({
      stream: this.stream,
      resize: (size) => this.resize(size),
      close: (reason) => this.close(reason),
      ended: this.ended,
      info: { negotiated: this.negotiator.negotiated() },
    });
  }

  private resize(size: TerminalSize): void {
    this.size = clampSize(size);
    if (this.state !== 'open') return;
    if (this.socket.writableNeedDrain) {
      // Coalesce: one NAWS with the latest size once the socket drains.
      if (!this.resizePending) {
        this.resizePending = true;
        this.socket.once('drain', () => {
          this.resizePending = false;
          if (this.state === 'open') this.negotiator.resize(this.size);
        });
      }
      return;
    }
    this.negotiator.resize(this.size);
  }

  /** Before login: rejects connect(). */
  private fail(err: Error): void {
    if (this.state === 'closed' || this.state === 'open') return;
    this.state = 'closed';
    this.cleanup();
    this.endInfo = { how: 'error', message: err.message };
    this.socket.destroy();
    this.reject(err);
  }

  /** The asset broke the rules: before login a protocol ConnectError, after it an 'error' end. */
  private violation(message: string): void {
    if (this.state === 'open') {
      this.state = 'closed';
      this.endInfo = { how: 'error', message };
      this.cleanup();
      this.socket.destroy();
      this.endReadable();
    } else {
      this.fail(new ConnectError('protocol', message));
    }
  }

  close(reason?: string): void {
    if (this.state === 'closed') return;
    if (this.state !== 'open') {
      this.fail(new ConnectError('protocol', reason ?? 'closed by the gateway'));
      return;
    }
    this.state = 'closed';
    this.endInfo = { how: 'closed', message: reason ?? 'closed by the gateway' };
    this.cleanup();
    this.socket.destroy();
    this.endReadable();
  }

  private cleanup(): void {
    clearTimeout(this.timer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.login.dispose();
  }

  private onClose(): void {
    this.releaseWrite();
    const err = this.lastError;
    const code = err?.code ?? err?.message;
    switch (this.state) {
      case 'connecting':
        if (err?.code === 'ETIMEDOUT') {
          this.fail(new ConnectError('timeout', `${this.where()} did not answer (${code})`));
        } else if (err && UNREACHABLE_CODES.has(err.code ?? '')) {
          this.fail(new ConnectError('unreachable', `${this.where()} is unreachable (${code})`));
        } else {
          this.fail(new ConnectError('unreachable', `could not connect to ${this.where()}${code ? ` (${code})` : ''}`));
        }
        break;
      case 'login': {
        const why = code ? ` (${code})` : '';
        if (this.login.phase === 'password-sent') {
          this.fail(new ConnectError('auth_failed', `the asset closed the connection after the credential was typed${why}`));
        } else {
          this.fail(new ConnectError('protocol', `the asset closed the connection while the gateway waited for ${this.login.waitingFor()}${why}`));
        }
        break;
      }
      case 'open':
        this.state = 'closed';
        this.cleanup();
        this.endInfo = err
          ? { how: 'error', message: `the connection to the asset broke (${code})` }
          : { how: 'closed', message: 'the asset closed the connection' };
        this.endReadable();
        break;
      case 'closed':
        break;
    }
    this.resolveEnded(this.endInfo ?? { how: 'closed', message: 'closed' });
  }
}

function connect(target: TerminalTarget, credential: TerminalCredential, opts: ConnectOptions): Promise<TerminalConnection> {
  return new Promise<TerminalConnection>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(abortError(opts.signal));
      return;
    }
    if (typeof target.host !== 'string' || target.host === '' || !Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
      reject(new ConnectError('unreachable', 'invalid asset address'));
      return;
    }
    try {
      new TelnetSession(target, credential, opts, resolve, reject);
    } catch (err) {
      reject(err instanceof ConnectError ? err : new ConnectError('protocol', (err as Error).message));
    }
  });
}

export const telnetProtocol: TerminalProtocol = {
  name: 'telnet',
  connect,
};
