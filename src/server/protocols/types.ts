import type { Duplex } from 'node:stream';

/**
 * The one interface the broker sees for terminal protocols (SSH, Telnet). The broker, recorder
 * and watchers never know which protocol they carry beyond "terminal" (see DESIGN.md).
 */
export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface TerminalTarget {
  host: string;
  port: number;
  /** The access method's options (per protocol: prompts, patterns, ...). */
  options: Record<string, string | number | boolean>;
}

/** Revealed from the vault for this one connection, never logged or kept. */
export interface TerminalCredential {
  username: string;
  password?: string;
  privateKey?: string;
  passphrase?: string;
}

export type ConnectFailure =
  | 'unreachable' // refused, no route, DNS
  | 'timeout' // no answer or no login in time
  | 'auth_failed' // the asset refused the vaulted credential
  | 'host_key_mismatch' // SSH: the asset's key is not the pinned one
  | 'protocol'; // the peer spoke garbage or broke the protocol's rules

export class ConnectError extends Error {
  constructor(
    readonly failure: ConnectFailure,
    message: string,
    /** SSH host key seen, when the failure is about it (for "accept new key"). */
    readonly detail?: { hostKeyFingerprint?: string },
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

export interface ConnectOptions {
  size: TerminalSize;
  /** TERM / TTYPE announced to the asset. */
  term?: string;
  /** Gives up connecting and logging in after this long (default 15 s). */
  timeoutMs?: number;
  /** Aborts a connect in progress (red button during login). */
  signal?: AbortSignal;
  /** SSH: the pinned host key fingerprint ("SHA256:..."), or undefined on first use. */
  pinnedHostKey?: string;
  /** SSH: run this command instead of a shell (exec request). */
  command?: string;
  /** SSH exec: allocate a pseudo-terminal (default: the target's `pty` option, else true). */
  pty?: boolean;
}

export interface EndInfo {
  /** 'closed' by either side normally; 'error' when the asset broke the protocol or the link. */
  how: 'closed' | 'error';
  message: string;
  /** SSH exec exit code, when known. */
  exitCode?: number;
}

export interface TerminalConnection {
  /** Readable side: bytes the asset sends (terminal output). Writable side: user input. Backpressure flows both ways. */
  stream: Duplex;
  resize(size: TerminalSize): void;
  /** Closes the asset connection now (idempotent). */
  close(reason?: string): void;
  /** Resolves once the asset connection is gone. */
  ended: Promise<EndInfo>;
  /** What was learned while connecting (SSH host key fingerprint, Telnet negotiated options). */
  info: { hostKeyFingerprint?: string; negotiated?: string[] };
}

export interface TerminalProtocol {
  readonly name: 'ssh' | 'telnet';
  connect(target: TerminalTarget, credential: TerminalCredential, opts: ConnectOptions): Promise<TerminalConnection>;
}

// ---- display family (VNC, RDP) ----

/** What a display adapter hands the broker: an RFB client on the asset's screen (VNC directly, RDP through a private Xvnc). */
export interface DisplayConnection {
  rfb: import('./vnc/client.js').RfbClient;
  /** Closes the asset connection (and for RDP its helper processes) now; idempotent. */
  close(reason?: string): void;
  /** Resolves once the asset connection is gone. */
  ended: Promise<EndInfo>;
  /** What was learned while connecting (RDP: the server certificate fingerprint). */
  info: { certSha256?: string };
  /**
   * Makes the remote desktop width x height, where the protocol can (RDP: a reconnect at the new
   * size, see rdp/session.ts). Absent where the asset keeps its own size (VNC). Rejects when it
   * could not; the connection may then have ended (see `ended`).
   */
  resize?(width: number, height: number): Promise<void>;
}

export interface DisplayConnectOptions {
  /** The browser's drawing area, in pixels (RDP follows it; VNC keeps the server's own size). */
  width: number;
  height: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** RDP: the pinned server certificate (SHA-256, hex), undefined on first use. */
  pinnedCert?: string;
  /** Lets a server send lossy JPEG (Tight) at low/medium stream quality. */
  quality: 'low' | 'medium' | 'high';
  /** Reveals the vaulted credential again, for a reconnect (RDP resize); the secret is not kept. */
  reveal?: () => Promise<TerminalCredential>;
}

export interface DisplayProtocol {
  readonly name: 'vnc' | 'rdp';
  connect(target: TerminalTarget, credential: TerminalCredential, opts: DisplayConnectOptions): Promise<DisplayConnection>;
}
