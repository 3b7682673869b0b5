/**
 * RDP security negotiation probe: learns which security protocol an RDP server selects and, when
 * that is TLS or NLA (CredSSP over TLS), the SHA-256 fingerprint of its TLS certificate, without
 * sending any credential. Used before every brokered session (pinning) and by the broker on
 * first use of an asset ("learn the certificate").
 *
 *   client → X.224 Connection Request + RDP_NEG_REQ (requestedProtocols)      [MS-RDPBCGR 2.2.1.1]
 *   server → X.224 Connection Confirm + RDP_NEG_RSP (selectedProtocol)
 *            or RDP_NEG_FAILURE (failureCode), or no negotiation data at all (legacy RDP only)
 *   client → TLS handshake on the same socket (certificate read, not verified), then close.
 *
 * The peer is untrusted: every read is bounded in size and time.
 */
import { createHash, X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { ConnectError } from '../types.js';

export type RdpSecurity = 'auto' | 'nla' | 'tls' | 'rdp';

/** What the server chose: standard RDP security, TLS, or CredSSP (NLA) over TLS. */
export type RdpSelectedProtocol = 'rdp' | 'tls' | 'nla';

export const PROTOCOL_RDP = 0x0;
export const PROTOCOL_SSL = 0x1;
export const PROTOCOL_HYBRID = 0x2;
export const PROTOCOL_HYBRID_EX = 0x8;

/** RDP_NEG_FAILURE failure codes [MS-RDPBCGR 2.2.1.2.2]. */
const NEG_FAILURES: Record<number, string> = {
  1: 'the server requires TLS (SSL_REQUIRED_BY_SERVER)',
  2: 'the server allows only standard RDP security (SSL_NOT_ALLOWED_BY_SERVER)',
  3: 'the server has no TLS certificate (SSL_CERT_NOT_ON_SERVER)',
  4: 'inconsistent flags (INCONSISTENT_FLAGS)',
  5: 'the server requires NLA (HYBRID_REQUIRED_BY_SERVER)',
  6: 'the server requires TLS with user authentication (SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER)',
};

export interface RdpProbeOptions {
  /** whole probe, connect to certificate (default 10 s) */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** what to offer: 'auto' offers TLS and NLA (the server picks), 'nla' / 'tls' only that one */
  security?: Exclude<RdpSecurity, 'rdp'>;
}

export interface RdpCertificateInfo {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
}

export interface RdpProbeResult {
  selectedProtocol: RdpSelectedProtocol;
  /** SHA-256 of the DER certificate, "AB:CD:..." (uppercase hex, colons), as Node's fingerprint256 */
  certSha256: string;
  certificate: RdpCertificateInfo;
  /** the DER certificate itself (for FreeRDP's known_hosts or an audit record) */
  certificateDer: Buffer;
}

/** X.224 Connection Request with RDP_NEG_REQ asking for `requested` (PROTOCOL_* flags). */
export function connectionRequest(requested: number): Buffer {
  const b = Buffer.from([
    0x03, 0x00, 0x00, 0x13, // TPKT version 3, length 19
    0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, // X.224 CR TPDU: LI 14, CR, dst-ref, src-ref, class 0
    0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, // RDP_NEG_REQ: type 1, flags 0, length 8, protocols
  ]);
  b.writeUInt32LE(requested >>> 0, 15);
  return b;
}

export type NegotiationAnswer =
  | { kind: 'selected'; protocol: number }
  | { kind: 'failure'; code: number }
  | { kind: 'legacy' };

/**
 * Parses a complete TPKT-framed X.224 Connection Confirm. Throws ConnectError('protocol') on
 * anything else.
 */
export function parseConnectionConfirm(b: Buffer): NegotiationAnswer {
  const bad = (why: string): ConnectError => new ConnectError('protocol', `not an RDP server: ${why}`);
  if (b.length < 11 || b[0] !== 0x03) throw bad('no TPKT header in the answer to the X.224 Connection Request');
  const tpktLength = b.readUInt16BE(2);
  if (tpktLength !== b.length) throw bad(`TPKT length ${tpktLength} does not match ${b.length} bytes`);
  const li = b[4] ?? 0;
  if (((b[5] ?? 0) & 0xf0) !== 0xd0) throw bad(`X.224 TPDU code 0x${(b[5] ?? 0).toString(16)} is not a Connection Confirm`);
  if (li + 5 !== tpktLength) throw bad(`X.224 length indicator ${li} inconsistent with TPKT length ${tpktLength}`);
  if (tpktLength < 19) return { kind: 'legacy' }; // no RDP_NEG_RSP: the server only knows RDP security
  const type = b[11];
  const len = b.readUInt16LE(13);
  if (len !== 8) throw bad(`negotiation structure length ${len} (expected 8)`);
  const value = b.readUInt32LE(15);
  if (type === 0x02) return { kind: 'selected', protocol: value };
  if (type === 0x03) return { kind: 'failure', code: value };
  throw bad(`negotiation structure type ${type}`);
}

/** "ab cd"/"AB:CD"/"abcd" or "sha256:..." → "AB:CD:..." (64 hex digits), or undefined if malformed. */
export function normalizeCertFingerprint(fp: string): string | undefined {
  const hex = fp.trim().replace(/^sha-?256[:=]?/i, '').replace(/[\s:]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)?.join(':');
}

export function fingerprintsEqual(a: string, b: string): boolean {
  const na = normalizeCertFingerprint(a);
  return na !== undefined && na === normalizeCertFingerprint(b);
}

function describeSocketError(host: string, port: number, e: NodeJS.ErrnoException): ConnectError {
  const where = `${host}:${port}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return new ConnectError('unreachable', `the RDP server ${where} refused the connection (nothing listens on that port)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConnectError('unreachable', `cannot resolve the RDP server's name ${host}`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new ConnectError('unreachable', `no route to the RDP server ${where}`);
    case 'ECONNRESET':
    case 'EPIPE':
      return new ConnectError('protocol', `the RDP server ${where} closed the connection during security negotiation`);
    default:
      return new ConnectError('unreachable', `cannot connect to the RDP server ${where}: ${e.message}`);
  }
}

/**
 * Connects, negotiates security and returns the server certificate's fingerprint. Throws
 * ConnectError: 'unreachable', 'timeout', or 'protocol' (not RDP, negotiation refused, or a
 * server that only speaks standard RDP security and thus has no certificate to pin).
 */
export function probeRdpCertificate(host: string, port: number, opts: RdpProbeOptions = {}): Promise<RdpProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const security = opts.security ?? 'auto';
  const requested =
    security === 'nla' ? PROTOCOL_SSL | PROTOCOL_HYBRID : security === 'tls' ? PROTOCOL_SSL : PROTOCOL_SSL | PROTOCOL_HYBRID;
  return new Promise<RdpProbeResult>((resolve, reject) => {
    let settled = false;
    let tlsSocket: tls.TLSSocket | undefined;
    const socket = net.connect({ host, port });
    const finish = (err: Error | undefined, result?: RdpProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      tlsSocket?.destroy();
      socket.destroy();
      if (err) reject(err);
      else resolve(result as RdpProbeResult);
    };
    const onAbort = (): void => finish(new ConnectError('timeout', 'RDP security probe aborted'));
    const timer = setTimeout(
      () => finish(new ConnectError('timeout', `the RDP server ${host}:${port} did not complete security negotiation within ${timeoutMs} ms`)),
      timeoutMs,
    );
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    socket.setNoDelay(true);
    socket.once('error', (e: NodeJS.ErrnoException) => finish(describeSocketError(host, port, e)));
    socket.once('connect', () => socket.write(connectionRequest(requested)));
    let received = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      received = Buffer.concat([received, d]);
      if (received.length < 4) return;
      if (received[0] !== 0x03) return finish(new ConnectError('protocol', `${host}:${port} is not an RDP server (no TPKT header)`));
      const need = received.readUInt16BE(2);
      if (need < 11 || need > 512) return finish(new ConnectError('protocol', `${host}:${port}: implausible TPKT length ${need}`));
      if (received.length < need) return;
      socket.off('data', onData);
      socket.off('close', onEarlyClose);
      if (received.length > need) {
        return finish(new ConnectError('protocol', `${host}:${port} sent data after the X.224 Connection Confirm`));
      }
      let answer: NegotiationAnswer;
      try {
        answer = parseConnectionConfirm(received);
      } catch (e) {
        return finish(e as Error);
      }
      if (answer.kind === 'legacy') {
        return finish(
          new ConnectError(
            'protocol',
            `security negotiation failed: ${host}:${port} only offers standard RDP security (no TLS certificate to pin)`,
          ),
        );
      }
      if (answer.kind === 'failure') {
        const why = NEG_FAILURES[answer.code] ?? `failure code ${answer.code}`;
        return finish(new ConnectError('protocol', `security negotiation failed: ${why}`));
      }
      const p = answer.protocol;
      const selected: RdpSelectedProtocol | undefined =
        p === PROTOCOL_SSL ? 'tls' : p === PROTOCOL_HYBRID || p === PROTOCOL_HYBRID_EX ? 'nla' : undefined;
      if (security === 'nla' && selected === 'tls') {
        return finish(new ConnectError('protocol', 'security negotiation failed: NLA is required for this asset but the server selected TLS without NLA'));
      }
      if (selected === undefined || (requested & p) === 0) {
        return finish(new ConnectError('protocol', `security negotiation failed: the server selected protocol 0x${p.toString(16)}, which was not offered`));
      }
      socket.pause();
      tlsSocket = tls.connect({
        socket,
        rejectUnauthorized: false, // the certificate is checked against the pin by the caller
        servername: net.isIP(host) ? undefined : host,
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0', // only to read the certificate of old servers
      });
      tlsSocket.once('error', (e: NodeJS.ErrnoException) =>
        finish(new ConnectError('protocol', `TLS handshake with the RDP server ${host}:${port} failed: ${e.message}`)),
      );
      tlsSocket.once('secureConnect', () => {
        const peer = tlsSocket?.getPeerCertificate();
        if (!peer?.raw || peer.raw.length === 0) {
          return finish(new ConnectError('protocol', `the RDP server ${host}:${port} presented no TLS certificate`));
        }
        const der = Buffer.from(peer.raw);
        let certificate: RdpCertificateInfo;
        try {
          const x = new X509Certificate(der);
          certificate = { subject: x.subject, issuer: x.issuer, validFrom: x.validFrom, validTo: x.validTo };
        } catch {
          certificate = { subject: '?', issuer: '?', validFrom: '?', validTo: '?' };
        }
        const hex = createHash('sha256').update(der).digest('hex').toUpperCase();
        finish(undefined, {
          selectedProtocol: selected,
          certSha256: hex.match(/../g)?.join(':') ?? hex,
          certificate,
          certificateDer: der,
        });
      });
    };
    const onEarlyClose = (): void =>
      finish(new ConnectError('protocol', `the RDP server ${host}:${port} closed the connection during security negotiation`));
    socket.on('data', onData);
    socket.once('close', onEarlyClose);
  });
}
