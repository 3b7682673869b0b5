/**
 * The RFB handshake up to ServerInit (RFC 6143 7.1-7.3), as a byte sub-parser.
 *
 * Versions: the server announces "RFB xxx.yyy\n"; we answer with the highest version we speak
 * that is not above the server's. 3.3, 3.7 and 3.8 are the published ones; as RFC 6143 asks,
 * other 3.x below 3.7 (3.4-3.6, seen from UltraVNC-era servers) are spoken as 3.3, and anything
 * from 3.8 up (Apple's 3.889, RealVNC's 4.x/5.x) as 3.8, which those servers implement.
 *
 * Security: None (1) and VNC Authentication (2, DES challenge-response, see des.ts). When a server
 * offers both, None wins: no derivative of the password goes on the wire when it is not needed.
 * Failures are typed: a refused password is 'auth_failed' with the server's reason (3.8), a server
 * that breaks the rules is 'protocol'.
 */
import { ConnectError } from '../types.js';
import { vncAuthResponse } from './des.js';
import { desktopSizeProblem, type RfbLimits } from './limits.js';
import type { ByteParser } from './reader.js';
import { decodePixelFormat, decodeText, type PixelFormat, SECURITY } from './wire.js';

export type RfbVersion = '3.3' | '3.7' | '3.8';

export interface ServerInit {
  version: RfbVersion;
  securityType: number;
  width: number;
  height: number;
  pixelFormat: PixelFormat;
  name: string;
}

/** Where the handshake is, for timeout and close messages. */
export type HandshakeStage = 'version' | 'security' | 'challenge' | 'security-result' | 'server-init';

export interface HandshakeIO {
  send(bytes: Buffer): void;
  stage(stage: HandshakeStage): void;
  password: string | undefined;
  shared: boolean;
  limits: RfbLimits;
}

const VERSION_RE = /^RFB (\d{3})\.(\d{3})\n$/;

/** The version we speak for a server's 12-byte ProtocolVersion, or undefined if we cannot. */
export function negotiateVersion(banner: Buffer): RfbVersion | undefined {
  const m = VERSION_RE.exec(banner.toString('latin1'));
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major < 3) return undefined;
  if (major > 3 || minor >= 8) return '3.8';
  if (minor === 7) return '3.7';
  if (minor >= 3) return '3.3';
  return undefined;
}

function versionBanner(v: RfbVersion): Buffer {
  return Buffer.from(v === '3.3' ? 'RFB 003.003\n' : v === '3.7' ? 'RFB 003.007\n' : 'RFB 003.008\n', 'latin1');
}

/** Control characters of a server-chosen string replaced, so it is safe in logs and messages. */
export function printable(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || c === 0x7f ? '?' : ch;
  }
  return out;
}

/** A U32-length string (failure reasons), bounded. */
function* reasonString(limits: RfbLimits): ByteParser<string> {
  const len = (yield 4).readUInt32BE(0);
  if (len > limits.maxReasonBytes) throw new ConnectError('protocol', `the server sent a reason string of ${len} bytes`);
  return printable(decodeText(yield len).trim());
}

function requirePassword(io: HandshakeIO): void {
  if (io.password === undefined) throw new ConnectError('auth_failed', 'the server requires a VNC password and none was given');
}

export function* handshake(io: HandshakeIO): ByteParser<ServerInit> {
  io.stage('version');
  const banner = yield 12;
  const version = negotiateVersion(banner);
  if (!version) {
    throw new ConnectError('protocol', `not an RFB server or an unsupported version (${JSON.stringify(printable(banner.toString('latin1')))})`);
  }
  io.send(versionBanner(version));

  io.stage('security');
  let securityType: number;
  if (version === '3.3') {
    securityType = (yield 4).readUInt32BE(0);
    if (securityType === SECURITY.INVALID) {
      throw new ConnectError('protocol', `the server refused the connection: ${yield* reasonString(io.limits)}`);
    }
    if (securityType !== SECURITY.NONE && securityType !== SECURITY.VNC_AUTH) {
      throw new ConnectError('protocol', `the server requires security type ${securityType}, which is not supported`);
    }
  } else {
    const count = (yield 1)[0]!;
    if (count === 0) throw new ConnectError('protocol', `the server refused the connection: ${yield* reasonString(io.limits)}`);
    const offered = [...(yield count)];
    if (offered.includes(SECURITY.NONE)) securityType = SECURITY.NONE;
    else if (offered.includes(SECURITY.VNC_AUTH)) securityType = SECURITY.VNC_AUTH;
    else throw new ConnectError('protocol', `no supported security type (the server offers ${offered.join(', ')}; supported: 1 None, 2 VNC Authentication)`);
    if (securityType === SECURITY.VNC_AUTH) requirePassword(io);
    io.send(Buffer.from([securityType]));
  }

  if (securityType === SECURITY.VNC_AUTH) {
    requirePassword(io);
    io.stage('challenge');
    const challenge = yield 16;
    io.send(vncAuthResponse(io.password!, challenge));
  }

  // SecurityResult: always after VNC auth; after None only in 3.8.
  if (securityType === SECURITY.VNC_AUTH || version === '3.8') {
    io.stage('security-result');
    const result = (yield 4).readUInt32BE(0);
    if (result !== 0) {
      const reason = version === '3.8' ? yield* reasonString(io.limits) : '';
      if (securityType === SECURITY.VNC_AUTH) {
        throw new ConnectError('auth_failed', `the server refused the VNC password${reason ? `: ${reason}` : ''}`);
      }
      throw new ConnectError('protocol', `the server refused the connection${reason ? `: ${reason}` : ''}`);
    }
  }

  io.send(Buffer.from([io.shared ? 1 : 0]));
  io.stage('server-init');
  const init = yield 24;
  const width = init.readUInt16BE(0);
  const height = init.readUInt16BE(2);
  const problem = desktopSizeProblem(width, height, io.limits);
  if (problem) throw new ConnectError('protocol', problem);
  const pixelFormat = decodePixelFormat(init, 4);
  const nameLength = init.readUInt32BE(20);
  if (nameLength > io.limits.maxNameBytes) throw new ConnectError('protocol', `the server sent a desktop name of ${nameLength} bytes`);
  const name = printable(decodeText(yield nameLength));
  return { version, securityType, width, height, pixelFormat, name };
}
