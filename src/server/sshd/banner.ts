import { createRequire } from 'node:module';
import type { Connection } from 'ssh2';

/**
 * SSH_MSG_USERAUTH_BANNER (RFC 4252 section 5.4) sent to one client in the middle of
 * authentication: the only way to tell an SSH user *why* a sign-in is refused (account locked,
 * second factor to enroll, password to change) whichever method the client used. OpenSSH prints
 * banners on stderr (unless LogLevel is QUIET or lower).
 *
 * ssh2 only sends its one server-wide banner, so this writes the packet through ssh2's protocol
 * object (ssh2 1.x internals: `_protocol._packetRW` and protocol/utils.js `sendPacket`, the same
 * calls its own serviceAccept() makes). If those internals ever change, it returns false and the
 * user only sees "Permission denied"; test/sshd checks the message arrives.
 */
const USERAUTH_BANNER = 53;

interface PacketWriter {
  allocStart: number;
  alloc(size: number): Buffer;
  finalize(packet: Buffer): Buffer;
}
type SendPacket = (proto: unknown, packet: Buffer) => unknown;

let sendPacket: SendPacket | undefined;
try {
  sendPacket = (createRequire(import.meta.url)('ssh2/lib/protocol/utils.js') as { sendPacket?: SendPacket }).sendPacket;
} catch {
  sendPacket = undefined;
}

/** Text for a banner: CRLF line ends, no terminal control characters, bounded. */
export function bannerText(message: string): string {
  const clean = message.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '').slice(0, 2000);
  return `${clean.replace(/\r?\n/g, '\r\n')}\r\n`;
}

export function sendAuthBanner(conn: Connection, message: string): boolean {
  const proto = (conn as unknown as { _protocol?: { _packetRW?: { write?: PacketWriter } } })._protocol;
  const w = proto?._packetRW?.write;
  if (!sendPacket || !w || typeof w.alloc !== 'function' || typeof w.finalize !== 'function') return false;
  try {
    const text = Buffer.from(bannerText(message), 'utf8');
    let p = w.allocStart;
    const packet = w.alloc(1 + 4 + text.length + 4);
    packet[p] = USERAUTH_BANNER;
    packet.writeUInt32BE(text.length, ++p);
    text.copy(packet, (p += 4));
    packet.writeUInt32BE(0, p + text.length); // empty language tag
    sendPacket(proto, w.finalize(packet));
    return true;
  } catch {
    return false;
  }
}
