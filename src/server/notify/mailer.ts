import nodemailer from 'nodemailer';
import type { SmtpConnection } from './smtp-settings.js';

/** One message as the outbox holds it. */
export interface MailMessage {
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Template name, sent as X-Portcullis-Template (filters in the receiving mailbox). */
  template: string;
}

export interface SendResult {
  messageId: string;
  accepted: string[];
  rejected: string[];
}

/** Why a send failed, in words an administrator can act on; `permanent` = retrying will not help. */
export interface MailFailure {
  kind: 'auth' | 'refused' | 'timeout' | 'dns' | 'tls' | 'rejected' | 'config' | 'other';
  message: string;
  permanent: boolean;
}

export interface MailTimeouts {
  connectionMs: number;
  greetingMs: number;
  socketMs: number;
}

export const DEFAULT_MAIL_TIMEOUTS: MailTimeouts = { connectionMs: 15_000, greetingMs: 15_000, socketMs: 60_000 };

type Transport = ReturnType<typeof nodemailer.createTransport>;

/** A nodemailer SMTP transport for the settings (no logging: nothing of the session reaches a log). */
export function createSmtpTransport(s: SmtpConnection, timeouts: MailTimeouts = DEFAULT_MAIL_TIMEOUTS): Transport {
  return nodemailer.createTransport({
    host: s.host,
    port: s.port,
    secure: s.security === 'tls',
    requireTLS: s.security === 'starttls',
    ignoreTLS: s.security === 'none',
    ...(s.username ? { auth: { user: s.username, pass: s.password ?? '' } } : {}),
    ...(s.heloName ? { name: s.heloName } : {}),
    tls: { rejectUnauthorized: !s.acceptSelfSigned, minVersion: 'TLSv1.2', servername: s.host },
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    logger: false,
    debug: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
}

/** Sends one message over a transport made for these settings. */
export async function sendMail(transport: Transport, s: SmtpConnection, m: MailMessage): Promise<SendResult> {
  const info = await transport.sendMail({
    from: s.fromName ? { name: s.fromName, address: s.fromAddress } : s.fromAddress,
    to: m.to,
    subject: m.subject,
    text: m.text,
    html: m.html,
    headers: { 'X-Portcullis-Template': m.template, 'Auto-Submitted': 'auto-generated' },
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const addr = (a: unknown) => (typeof a === 'string' ? a : a && typeof a === 'object' && 'address' in a ? String((a as { address: unknown }).address) : String(a));
  return { messageId: String(info.messageId ?? ''), accepted: (info.accepted ?? []).map(addr), rejected: (info.rejected ?? []).map(addr) };
}

interface SmtpErrorLike {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
  cause?: unknown;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME|ALTNAME|wrong version number|SSL routines/i;

/** The server's reply text, single line, without anything that could echo a credential. */
function serverReply(e: SmtpErrorLike): string {
  const r = (e.response ?? '').replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '').trim();
  return r.slice(0, 300);
}

function causeCode(e: SmtpErrorLike): string {
  const parts: string[] = [];
  let c: unknown = e;
  for (let i = 0; i < 4 && c && typeof c === 'object'; i++) {
    const x = c as SmtpErrorLike;
    if (x.code) parts.push(x.code);
    if (x.message) parts.push(x.message);
    c = x.cause;
  }
  return parts.join(' ');
}

/** Turns a nodemailer / socket error into what happened, in clear words. */
export function classifyMailError(err: unknown, s: Pick<SmtpConnection, 'host' | 'port' | 'security' | 'username'>): MailFailure {
  const e = (err && typeof err === 'object' ? err : { message: String(err) }) as SmtpErrorLike;
  const where = `${s.host}:${s.port}`;
  const all = causeCode(e);
  const reply = serverReply(e);
  if (e.code === 'EAUTH' || e.responseCode === 535 || e.responseCode === 534) {
    return { kind: 'auth', message: `authentication failed: ${where} refused the username "${s.username}" or its password${reply ? ` (server said: ${reply})` : ''}`, permanent: false };
  }
  if (e.code === 'ENOAUTH') return { kind: 'auth', message: `authentication failed: ${where} requires a username and password`, permanent: false };
  if (/ECONNREFUSED/.test(all)) return { kind: 'refused', message: `connection refused by ${where}: is the SMTP server running, and is the port right?`, permanent: false };
  if (/ENOTFOUND|EAI_AGAIN|EDNS/.test(all)) return { kind: 'dns', message: `host name not found: ${s.host} does not resolve (check the host, or the gateway's DNS)`, permanent: false };
  if (e.code === 'ETIMEDOUT' || /ETIMEDOUT|timed? ?out/i.test(all)) return { kind: 'timeout', message: `timed out talking to ${where}: a firewall may drop the connection, or the server is slow to answer`, permanent: false };
  if (/EHOSTUNREACH|ENETUNREACH/.test(all)) return { kind: 'refused', message: `no route to ${where}: the network or a firewall blocks it`, permanent: false };
  if (e.code === 'ETLS' || TLS_CODES.test(all)) {
    const detail = (e.message ?? '').replace(/[\r\n]+/g, ' ').slice(0, 200);
    const hint = /SELF_SIGNED|UNABLE_TO_VERIFY|unable to verify|self.signed/i.test(all)
      ? ' The server certificate is not trusted (self-signed or unknown CA): install a trusted certificate on the mail server, or for a test server only enable "accept self-signed certificates".'
      : /STARTTLS/i.test(all)
        ? ' The server does not offer STARTTLS: choose security "none" for a plain relay, or "tls" for port 465.'
        : s.security === 'tls'
          ? ' Port 465 speaks TLS from the start; port 587 and 25 usually need "starttls" instead.'
          : '';
    return { kind: 'tls', message: `TLS failure with ${where}: ${detail}.${hint}`, permanent: false };
  }
  if (e.code === 'EENVELOPE' || (e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode !== 503)) {
    return { kind: 'rejected', message: `the server refused the message: ${reply || e.message || 'no reason given'}`, permanent: true };
  }
  if (e.code === 'ECONNECTION' || e.code === 'ESOCKET') return { kind: 'refused', message: `connection to ${where} failed: ${(e.message ?? '').slice(0, 200)}`, permanent: false };
  return { kind: 'other', message: `sending failed: ${(e.message ?? String(err)).replace(/[\r\n]+/g, ' ').slice(0, 300)}`, permanent: false };
}
