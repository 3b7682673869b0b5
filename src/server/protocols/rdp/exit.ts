/**
 * What an xfreerdp (FreeRDP 2.x, Debian 12) exit means for a brokered session. The exit code
 * alone is ambiguous (the FreeRDP shadow server answers a wrong NLA password by dropping the
 * connection: 147 "transport failed", the same code as a refused TCP connection), so the mapping
 * also uses the last connection state xfreerdp logged (com.freerdp.core.connection) and the
 * ERRCONNECT_* / certificate lines it printed. Measured values are in docs/rdp.md.
 */
import type { ConnectFailure } from '../types.js';

/** FreeRDP's client connection states, in order (rdp_client_transition_to_state). */
export const CONNECTION_STATES = [
  'INITIAL',
  'NEGO',
  'NLA',
  'MCS_CONNECT',
  'MCS_ERECT_DOMAIN',
  'MCS_ATTACH_USER',
  'MCS_CHANNEL_JOIN',
  'RDP_SECURITY_COMMENCEMENT',
  'SECURE_SETTINGS_EXCHANGE',
  'CONNECT_TIME_AUTO_DETECT',
  'LICENSING',
  'MULTITRANSPORT_BOOTSTRAPPING',
  'CAPABILITIES_EXCHANGE',
  'FINALIZATION',
  'ACTIVE',
] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

/** Facts gathered from xfreerdp's output while it ran. */
export interface ClientFacts {
  /** furthest state reached ('INITIAL' if none logged) */
  state: ConnectionState;
  /** ERRCONNECT_* names seen, in order */
  errors: string[];
  /** a certificate verification failure / mismatch banner was printed */
  certRejected: boolean;
  /** the session reached ACTIVE and showed pixels (startRdpDisplay resolved) */
  wasUp: boolean;
}

export interface MappedExit {
  how: 'closed' | 'error';
  failure?: ConnectFailure;
  message: string;
}

/** xfreerdp exit codes (client/X11/xf_client.h, FreeRDP 2.x) that end a session normally. */
const NORMAL_ENDS: Record<number, string> = {
  0: 'the RDP session ended',
  1: 'the RDP server disconnected the session',
  2: 'the user logged off the RDP session',
  3: 'the RDP server ended the session (idle time limit)',
  4: 'the RDP server ended the session (logon time limit)',
  5: 'the RDP session was taken over by another connection',
  11: 'the RDP session was disconnected by the user (on the server)',
  12: 'the user logged off the RDP session',
};

const AUTH_ERRORS = new Set([
  'ERRCONNECT_AUTHENTICATION_FAILED',
  'ERRCONNECT_LOGON_FAILURE',
  'ERRCONNECT_WRONG_PASSWORD',
  'ERRCONNECT_ACCOUNT_DISABLED',
  'ERRCONNECT_ACCOUNT_LOCKED_OUT',
  'ERRCONNECT_ACCOUNT_EXPIRED',
  'ERRCONNECT_ACCOUNT_RESTRICTION',
  'ERRCONNECT_PASSWORD_EXPIRED',
  'ERRCONNECT_PASSWORD_CERTAINLY_EXPIRED',
  'ERRCONNECT_PASSWORD_MUST_CHANGE',
  'ERRCONNECT_LOGON_TYPE_NOT_GRANTED',
  'ERRCONNECT_NO_OR_MISSING_CREDENTIALS',
  'ERRCONNECT_ACCESS_DENIED',
  'ERRCONNECT_INSUFFICIENT_PRIVILEGES',
]);

const AUTH_CODES: Record<number, string> = {
  132: 'authentication failed',
  134: 'logon failure',
  135: 'the account is locked out',
  144: 'insufficient privileges',
  148: 'the password has expired',
  149: 'the password must be changed',
  151: 'the account is disabled',
  152: 'the password has expired',
  153: 'the client was revoked',
  154: 'wrong password',
  155: 'access denied',
  156: 'account restriction',
  157: 'the account has expired',
  158: 'logon type not granted',
  159: 'no or missing credentials',
};

export const AUTH_FAILED_MESSAGE = 'the RDP server refused the vaulted credential';

export function stateIndex(s: ConnectionState): number {
  return CONNECTION_STATES.indexOf(s);
}

/**
 * Maps an xfreerdp exit. `code` null means killed by a signal (ours, normally: then the caller
 * has its own reason and does not call this).
 */
export function mapClientExit(code: number | null, signal: string | null, facts: ClientFacts): MappedExit {
  const errs = new Set(facts.errors);
  const has = (e: string): boolean => errs.has(e);
  const rc = code ?? -1;
  const detail = code === null ? `killed by ${signal ?? 'a signal'}` : `exit code ${code}`;

  if (facts.certRejected) {
    return {
      how: 'error',
      failure: 'host_key_mismatch',
      message: `the RDP server's certificate is not the pinned one (FreeRDP refused it, ${detail})`,
    };
  }
  if (facts.wasUp) {
    const normal = NORMAL_ENDS[rc];
    if (normal) return { how: 'closed', message: `${normal} (${detail})` };
    if (rc === 147 || rc === 131 || rc === 141) {
      return { how: 'error', message: `the connection to the RDP server was lost (${detail})` };
    }
    return { how: 'error', message: `the RDP client ended unexpectedly (${detail}${facts.errors.length ? `, ${facts.errors.at(-1)}` : ''})` };
  }

  // Not up yet: a connect failure.
  const authCode = AUTH_CODES[rc];
  if (authCode || [...errs].some((e) => AUTH_ERRORS.has(e))) {
    return { how: 'error', failure: 'auth_failed', message: `${AUTH_FAILED_MESSAGE} (${authCode ?? facts.errors.find((e) => AUTH_ERRORS.has(e))}, ${detail})` };
  }
  if (rc === 133 || has('ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED')) {
    return {
      how: 'error',
      failure: 'protocol',
      message: `security negotiation failed: the RDP server does not offer the required security protocol (${detail})`,
    };
  }
  if (rc === 139 || rc === 140 || has('ERRCONNECT_DNS_NAME_NOT_FOUND') || has('ERRCONNECT_DNS_ERROR')) {
    return { how: 'error', failure: 'unreachable', message: `cannot resolve the RDP server's name (${detail})` };
  }
  if (rc === 143 || has('ERRCONNECT_TLS_CONNECT_FAILED')) {
    return { how: 'error', failure: 'protocol', message: `the TLS handshake with the RDP server failed (${detail})` };
  }
  const reached = stateIndex(facts.state);
  // A connection dropped while CredSSP runs is how servers without a proper NLA error answer a
  // refused credential (FreeRDP shadow: 147 after the NTLM AUTHENTICATE message).
  if (facts.state === 'NLA' && (rc === 147 || rc === 131 || rc === 141 || has('ERRCONNECT_CONNECT_TRANSPORT_FAILED'))) {
    return { how: 'error', failure: 'auth_failed', message: `${AUTH_FAILED_MESSAGE} (connection closed during NLA, ${detail})` };
  }
  if (reached <= stateIndex('NEGO') && (rc === 131 || rc === 141 || rc === 147)) {
    return { how: 'error', failure: 'unreachable', message: `cannot connect to the RDP server (${detail})` };
  }
  if (NORMAL_ENDS[rc] && rc !== 0) {
    return { how: 'error', failure: 'protocol', message: `${NORMAL_ENDS[rc]} before the session was up (${detail})` };
  }
  return {
    how: 'error',
    failure: 'protocol',
    message: `the RDP connection failed in state ${facts.state} (${detail}${facts.errors.length ? `, ${facts.errors.at(-1)}` : ''})`,
  };
}

/** Updates facts from one line of xfreerdp output. Returns true if the line moved the state. */
export function absorbClientLine(line: string, facts: ClientFacts): boolean {
  const st = /rdp_client_transition_to_state CONNECTION_STATE_\w+ --> CONNECTION_STATE_(\w+)/.exec(line);
  if (st) {
    const next = st[1] as ConnectionState;
    if (CONNECTION_STATES.includes(next) && stateIndex(next) > stateIndex(facts.state)) {
      facts.state = next;
      return true;
    }
    return false;
  }
  const err = /\b(ERRCONNECT_[A-Z_]+)\b/.exec(line);
  if (err?.[1] && facts.errors.length < 32) facts.errors.push(err[1]);
  if (
    /\[com\.freerdp\.crypto\]/.test(line) &&
    /(Certificate verification failure|CERTIFICATE NAME MISMATCH|HOST IDENTIFICATION HAS CHANGED|certificate .* does not match)/i.test(line)
  ) {
    facts.certRejected = true;
  }
  return false;
}
