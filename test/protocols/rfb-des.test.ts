/**
 * DES and VNC Authentication: FIPS/textbook DES vectors, the VNC key bit reversal, the VNC
 * password file obfuscation against the real `vncpasswd -f` (when installed) and, when this
 * Node's OpenSSL offers DES, against it as an independent implementation.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { desEncryptBlock, vncAuthResponse, vncEncrypt, vncKey, vncPasswordFile } from '../../src/server/protocols/vnc/des.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('DES', () => {
  test('known vectors', () => {
    for (const [key, plain, cipher] of [
      ['133457799BBCDFF1', '0123456789ABCDEF', '85E813540F0AB405'], // the classic worked example
      ['0E329232EA6D0D73', '8787878787878787', '0000000000000000'],
      ['0101010101010101', '95F8A5E5DD31D900', '8000000000000000'], // NBS variable-plaintext test
      ['0101010101010101', '0000000000000000', '8CA64DE9C1B123A7'],
      ['FFFFFFFFFFFFFFFF', 'FFFFFFFFFFFFFFFF', '7359B2163E4EDC58'],
      ['3000000000000000', '1000000000000001', '958E6E627A05557B'],
    ] as const) {
      assert.equal(desEncryptBlock(hex(key), hex(plain)).toString('hex').toUpperCase(), cipher, `${key} / ${plain}`);
    }
  });

  test('wrong sizes are refused', () => {
    assert.throws(() => desEncryptBlock(Buffer.alloc(7), Buffer.alloc(8)), RangeError);
    assert.throws(() => vncEncrypt('x', Buffer.alloc(9)), RangeError);
    assert.throws(() => vncAuthResponse('x', Buffer.alloc(8)), RangeError);
  });
});

describe('VNC Authentication', () => {
  test('the key is the password, cut to 8 bytes, zero padded, each byte bit-reversed', () => {
    assert.deepEqual([...vncKey('a')], [0x86, 0, 0, 0, 0, 0, 0, 0]); // 'a' = 0110 0001 -> 1000 0110
    assert.deepEqual([...vncKey('\x01\x80\xff')], [0x80, 0x01, 0xff, 0, 0, 0, 0, 0]);
    assert.deepEqual(vncKey('12345678'), vncKey('123456789abc'));
  });

  test('the response is DES-ECB of both challenge halves under the reversed key', () => {
    const challenge = hex('00112233445566778899aabbccddeeff');
    const key = vncKey('secret');
    const expected = Buffer.concat([desEncryptBlock(key, challenge.subarray(0, 8)), desEncryptBlock(key, challenge.subarray(8))]);
    assert.deepEqual(vncAuthResponse('secret', challenge), expected);
    // and it is not what plain DES with the unreversed key gives (the quirk matters)
    const plainKey = Buffer.alloc(8);
    Buffer.from('secret').copy(plainKey);
    assert.notDeepEqual(vncAuthResponse('secret', challenge).subarray(0, 8), desEncryptBlock(plainKey, challenge.subarray(0, 8)));
  });

  test('password file obfuscation matches vncpasswd -f (an independent d3des)', () => {
    // known value of the well-documented fixed-key obfuscation, checked by hand with vncpasswd
    assert.equal(vncPasswordFile('secret12').toString('hex'), '24b5ae4ce15503c6');
    assert.ok(existsSync('/usr/bin/vncpasswd'), 'vncpasswd (tigervnc-tools) is installed by scripts/system-deps.sh');
    for (const pw of ['a', 'password', 'Pl4nt-0T!', '12345678toolong', 'süd']) {
      const real = execFileSync('/usr/bin/vncpasswd', ['-f'], { input: Buffer.concat([Buffer.from(pw, 'latin1'), Buffer.from('\n')]) });
      assert.deepEqual(vncPasswordFile(pw), real.subarray(0, 8), pw);
    }
  });
});
