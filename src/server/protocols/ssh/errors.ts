/**
 * Maps what ssh2 reports while connecting to the broker's ConnectError vocabulary, with messages
 * a gateway operator can act on. Messages never carry a secret: they are written here, ssh2's own
 * text is only appended for protocol errors, and everything passes through redact().
 */
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { ConnectError, type ConnectFailure } from '../types.js';

/** The extra fields ssh2 and Node put on their errors. */
export interface Ssh2Error extends Error {
  level?: string;
  code?: string | number;
}

const UNREACHABLE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EAI_NONAME: 'host name not found',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host is down',
  ENETDOWN: 'network is down',
  EADDRNOTAVAIL: 'address not available',
};

/** SSH_MSG_DISCONNECT reason codes that mean "your login was refused". */
const DISCONNECT_AUTH_CODES = new Set([14 /* NO_MORE_AUTH_METHODS_AVAILABLE */, 15 /* ILLEGAL_USER_NAME */]);

/** Replaces every occurrence of a secret (of at least 4 characters) by "***". */
export function redact(message: string, secrets: readonly (string | undefined)[]): string {
  let out = message;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join('***');
  }
  return out;
}

export interface ErrorContext {
  /** "host:port", for messages */
  where: string;
  username: string;
  timeoutMs: number;
  /** password, passphrase, private key: removed from any text that reaches a message */
  secrets: readonly (string | undefined)[];
}

function make(failure: ConnectFailure, message: string, ctx: ErrorContext): ConnectError {
  return new ConnectError(failure, redact(message, ctx.secrets));
}

export function timeoutError(ctx: ErrorContext): ConnectError {
  return make('timeout', `SSH to ${ctx.where}: no login within ${ctx.timeoutMs} ms (no answer, or the handshake or login stalled)`, ctx);
}

/** Classifies an error ssh2 emitted before the session was open. */
export function classifyConnectError(err: Ssh2Error, ctx: ErrorContext): ConnectError {
  const code = err.code;
  if (err.level === 'client-timeout' || code === 'ETIMEDOUT') return timeoutError(ctx);
  if (typeof code === 'string' && code in UNREACHABLE_CODES) {
    return make('unreachable', `SSH to ${ctx.where}: cannot reach the asset (${UNREACHABLE_CODES[code]}, ${code})`, ctx);
  }
  if (err.level === 'client-dns') return make('unreachable', `SSH to ${ctx.where}: cannot resolve the asset's address`, ctx);
  if (
    err.level === 'client-authentication' ||
    (typeof code === 'number' && DISCONNECT_AUTH_CODES.has(code)) ||
    /too many authentication failures/i.test(err.message)
  ) {
    return make('auth_failed', `SSH to ${ctx.where}: the asset refused the vaulted credential for user "${ctx.username}"`, ctx);
  }
  if (err.level === 'client-socket') {
    const what = code === 'ECONNRESET' || code === 'EPIPE' ? 'the asset reset the connection' : `socket error ${String(code ?? '')}`.trim();
    return make('protocol', `SSH to ${ctx.where}: ${what} during the SSH handshake or login`, ctx);
  }
  return make('protocol', `SSH to ${ctx.where}: the asset broke the SSH protocol (${err.message})`, ctx);
}

export function closedBeforeReadyError(ctx: ErrorContext): ConnectError {
  return make('protocol', `SSH to ${ctx.where}: the asset closed the connection before the SSH login completed`, ctx);
}

/**
 * Parses the vaulted private key up front, so a key the gateway cannot use fails clearly before
 * any connection is made, instead of as a generic "authentication failed".
 */
export function checkPrivateKey(privateKey: string, passphrase: string | undefined, ctx: ErrorContext): ParsedKey | ConnectError {
  const fail = (why: string): ConnectError =>
    make('auth_failed', `SSH to ${ctx.where}: the vaulted private key for user "${ctx.username}" cannot be used: ${why}`, ctx);
  let parsed: ParsedKey | ParsedKey[] | Error;
  try {
    parsed = ssh2.utils.parseKey(privateKey, passphrase === '' ? undefined : passphrase) as ParsedKey | ParsedKey[] | Error;
  } catch {
    return fail('it could not be parsed');
  }
  if (parsed instanceof Error) {
    const m = parsed.message;
    if (/no passphrase given/i.test(m)) return fail('it is encrypted and no passphrase is vaulted with it');
    if (/bad passphrase|decrypt/i.test(m)) return fail('the vaulted passphrase does not decrypt it');
    if (/unsupported/i.test(m)) return fail('its format, key type or cipher is not supported');
    return fail('it is not a private key in a supported format (OpenSSH, PEM or PPK)');
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) return fail('it contains no key');
  if (!key.isPrivateKey() || key.getPrivatePEM() === null) return fail('it is a public key, not a private key');
  return key;
}
