import { BlockList, isIP } from 'node:net';

/**
 * The SSRF guard for outbound webhooks. The gateway sits in the OT DMZ and can reach networks an
 * attacker cannot: a webhook URL is a request the gateway makes on an administrator's word. By
 * default it refuses addresses that are never a legitimate ITSM receiver but often a target:
 * loopback (the gateway's own services), link-local (169.254/16, fe80::/10, where cloud
 * metadata services live: 169.254.169.254, fd00:ec2::254), the unspecified address, multicast
 * and broadcast. Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) stay allowed: that is
 * where plant ITSM systems are. An administrator can lift the guard per webhook
 * (allowRestricted), e.g. for a receiver on the gateway host itself.
 * The check runs on the URL when it is saved and on every resolved address at delivery time (the
 * connection uses the address that was checked, so DNS rebinding cannot slip past it).
 */
const restricted = new BlockList();
restricted.addSubnet('127.0.0.0', 8, 'ipv4'); // loopback
restricted.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, cloud metadata
restricted.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network"
restricted.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
restricted.addSubnet('240.0.0.0', 4, 'ipv4'); // reserved, broadcast
restricted.addSubnet('100.100.100.200', 32, 'ipv4'); // Alibaba Cloud metadata
restricted.addAddress('::1', 'ipv6');
restricted.addAddress('::', 'ipv6');
restricted.addSubnet('fe80::', 10, 'ipv6'); // link-local
restricted.addSubnet('ff00::', 8, 'ipv6'); // multicast
restricted.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata (IPv6)

const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal', 'localhost']);

/** Unwraps IPv4-mapped IPv6 (::ffff:169.254.169.254) so the IPv4 rules apply. */
function normalize(ip: string): { ip: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return { ip: m[1]!, family: 'ipv4' };
  const h = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (h) {
    const a = Number.parseInt(h[1]!, 16);
    const b = Number.parseInt(h[2]!, 16);
    return { ip: `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`, family: 'ipv4' };
  }
  return { ip, family: isIP(ip) === 6 ? 'ipv6' : 'ipv4' };
}

/** Why this address is refused by default, or null when it is allowed. */
export function restrictedAddressReason(address: string): string | null {
  if (isIP(address) === 0) return null;
  const { ip, family } = normalize(address);
  if (!restricted.check(ip, family)) return null;
  if (ip === '169.254.169.254' || ip === 'fd00:ec2::254' || ip === '100.100.100.200') return `${address} is a cloud metadata address`;
  if (ip.startsWith('127.') || ip === '::1') return `${address} is a loopback address (the gateway itself)`;
  if (ip.startsWith('169.254.') || /^fe[89ab]/i.test(ip)) return `${address} is a link-local address`;
  return `${address} is not a unicast address a webhook can go to`;
}

/** Why this URL host is refused by default, or null (names are checked again once resolved). */
export function restrictedHostReason(hostname: string): string | null {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  if (isIP(h)) return restrictedAddressReason(h);
  if (METADATA_NAMES.has(h) || h.endsWith('.localhost')) return `${hostname} names the gateway itself or a cloud metadata service`;
  return null;
}
