/**
 * NTLM hash and the SAM line that freerdp-shadow-cli reads for NLA (/sam-file).
 *
 * winpr-hash would need the password in its argv, so the lab computes the line itself:
 * NT hash = MD4(UTF-16LE(password)). MD4 is implemented here (RFC 1320) because OpenSSL 3 only
 * has it in the legacy provider, which Node does not load.
 */

export function md4(input: Buffer): Buffer {
  const bitLen = input.length * 8;
  const padLen = (input.length % 64 < 56 ? 56 : 120) - (input.length % 64);
  const msg = Buffer.alloc(input.length + padLen + 8);
  input.copy(msg);
  msg[input.length] = 0x80;
  msg.writeUInt32LE(bitLen >>> 0, input.length + padLen);
  msg.writeUInt32LE(Math.floor(bitLen / 2 ** 32) >>> 0, input.length + padLen + 4);

  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  const rotl = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;
  const F = (x: number, y: number, z: number): number => (x & y) | (~x & z);
  const G = (x: number, y: number, z: number): number => (x & y) | (x & z) | (y & z);
  const H = (x: number, y: number, z: number): number => x ^ y ^ z;
  const X = new Array<number>(16).fill(0);

  for (let off = 0; off < msg.length; off += 64) {
    for (let i = 0; i < 16; i++) X[i] = msg.readUInt32LE(off + i * 4);
    const x = (i: number): number => X[i] ?? 0;
    const [aa, bb, cc, dd] = [a, b, c, d];
    // round 1
    for (const i of [0, 4, 8, 12]) {
      a = rotl((a + F(b, c, d) + x(i)) >>> 0, 3);
      d = rotl((d + F(a, b, c) + x(i + 1)) >>> 0, 7);
      c = rotl((c + F(d, a, b) + x(i + 2)) >>> 0, 11);
      b = rotl((b + F(c, d, a) + x(i + 3)) >>> 0, 19);
    }
    // round 2
    for (const i of [0, 1, 2, 3]) {
      a = rotl((a + G(b, c, d) + x(i) + 0x5a827999) >>> 0, 3);
      d = rotl((d + G(a, b, c) + x(i + 4) + 0x5a827999) >>> 0, 5);
      c = rotl((c + G(d, a, b) + x(i + 8) + 0x5a827999) >>> 0, 9);
      b = rotl((b + G(c, d, a) + x(i + 12) + 0x5a827999) >>> 0, 13);
    }
    // round 3
    for (const i of [0, 2, 1, 3]) {
      a = rotl((a + H(b, c, d) + x(i) + 0x6ed9eba1) >>> 0, 3);
      d = rotl((d + H(a, b, c) + x(i + 8) + 0x6ed9eba1) >>> 0, 9);
      c = rotl((c + H(d, a, b) + x(i + 4) + 0x6ed9eba1) >>> 0, 11);
      b = rotl((b + H(c, d, a) + x(i + 12) + 0x6ed9eba1) >>> 0, 15);
    }
    a = (a + aa) >>> 0;
    b = (b + bb) >>> 0;
    c = (c + cc) >>> 0;
    d = (d + dd) >>> 0;
  }
  const out = Buffer.alloc(16);
  out.writeUInt32LE(a, 0);
  out.writeUInt32LE(b, 4);
  out.writeUInt32LE(c, 8);
  out.writeUInt32LE(d, 12);
  return out;
}

export function ntHash(password: string): string {
  return md4(Buffer.from(password, 'utf16le')).toString('hex');
}

/** One line of a WinPR SAM file, as `winpr-hash -u USER -p PASS -f sam` prints it. */
export function samLine(username: string, password: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(username)) throw new Error(`invalid RDP user name ${JSON.stringify(username)}`);
  return `${username}:::${ntHash(password)}:::\n`;
}
