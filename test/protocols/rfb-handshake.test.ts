/**
 * RFB client handshake on scripted server bytes: version negotiation (3.3, 3.7, 3.8 and the odd
 * ones), security None and VNC Authentication (the client's DES answer is checked), failures
 * with and without reasons, ServerInit limits, timeouts, aborts, and what the client sends after
 * ServerInit (pixel format, encodings, first update request).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectRfb } from '../../src/server/protocols/vnc/client.js';
import { vncAuthResponse } from '../../src/server/protocols/vnc/des.js';
import { negotiateVersion } from '../../src/server/protocols/vnc/handshake.js';
import { ConnectError } from '../../src/server/protocols/types.js';
import { handshakeBytes, ScriptedStream, scripted, serveChunked, serverInit, str, u32, u8 } from './rfb-fixtures.js';

function isConnectError(failure: ConnectError['failure'], message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ConnectError, `expected ConnectError, got ${String(err)}`);
    assert.equal(err.failure, failure, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

/** Splits what the client sent after its version banner. */
function clientBanner(sent: Buffer): string {
  return sent.subarray(0, 12).toString('latin1');
}

describe('RFB version negotiation', () => {
  test('the reply is the highest version we speak not above the server one', () => {
    const v = (s: string) => negotiateVersion(Buffer.from(`RFB ${s}\n`, 'latin1'));
    assert.equal(v('003.003'), '3.3');
    assert.equal(v('003.005'), '3.3'); // unknown 3.x below 3.7: spoken as 3.3 (RFC 6143 7.1.1)
    assert.equal(v('003.006'), '3.3');
    assert.equal(v('003.007'), '3.7');
    assert.equal(v('003.008'), '3.8');
    assert.equal(v('003.889'), '3.8'); // Apple Remote Desktop
    assert.equal(v('004.001'), '3.8'); // RealVNC 4.x
    assert.equal(v('005.000'), '3.8');
    assert.equal(v('003.002'), undefined);
    assert.equal(v('002.008'), undefined);
    assert.equal(negotiateVersion(Buffer.from('RFB 3.8\n    ', 'latin1')), undefined);
    assert.equal(negotiateVersion(Buffer.from('SSH-2.0-Open', 'latin1')), undefined);
  });

  for (const [server, reply] of [
    ['003.003', 'RFB 003.003\n'],
    ['003.007', 'RFB 003.007\n'],
    ['003.008', 'RFB 003.008\n'],
    ['003.889', 'RFB 003.008\n'],
    ['003.005', 'RFB 003.003\n'],
  ] as const) {
    test(`server ${server} with security None: client answers ${reply.trim()} and connects`, async () => {
      const { stream, connecting } = scripted(handshakeBytes({ version: server, width: 320, height: 200, name: 'HMI-07 Line 3' }));
      const client = await connecting;
      assert.equal(client.width, 320);
      assert.equal(client.height, 200);
      assert.equal(client.name, 'HMI-07 Line 3');
      assert.equal(client.securityType, 1);
      assert.equal(client.framebuffer.length, 320 * 200 * 4);
      const sent = stream.sent();
      assert.equal(clientBanner(sent), reply);
      let off = 12;
      if (reply !== 'RFB 003.003\n') {
        assert.equal(sent[off], 1, 'security type None chosen');
        off += 1;
      }
      assert.equal(sent[off], 1, 'ClientInit shared flag');
      off += 1;
      // SetPixelFormat: 32 bpp, depth 24, little-endian, true colour, 255 maxima, shifts 0/8/16
      assert.deepEqual([...sent.subarray(off, off + 20)], [0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]);
      off += 20;
      assert.equal(sent[off], 2, 'SetEncodings');
      client.close();
    });
  }

  test('garbage instead of a version banner is a protocol error', async () => {
    const { connecting } = scripted(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await assert.rejects(connecting, isConnectError('protocol', /not an RFB server/));
  });

  test('version 2.x is refused', async () => {
    const { connecting } = scripted(Buffer.from('RFB 002.000\n'));
    await assert.rejects(connecting, isConnectError('protocol', /unsupported version/));
  });

  test('the handshake survives arriving one byte at a time', async () => {
    const stream = new ScriptedStream();
    const connecting = connectRfb(stream, { autoRequest: false, password: 'pw' });
    await serveChunked(stream, handshakeBytes({ security: [2], width: 100, height: 50 }), 1);
    const client = await connecting;
    assert.equal(client.width, 100);
    assert.equal(client.securityType, 2);
    client.close();
  });
});

describe('RFB security', () => {
  const challenge = Buffer.from('0123456789abcdef', 'latin1');

  test('VNC Authentication (3.8): the client answers the challenge with DES of the password', async () => {
    const { stream, connecting } = scripted(handshakeBytes({ security: [2], challenge }), { password: 'plc-pass' });
    const client = await connecting;
    const sent = stream.sent();
    assert.equal(sent[12], 2, 'security type 2 chosen');
    assert.deepEqual(sent.subarray(13, 29), vncAuthResponse('plc-pass', challenge));
    assert.equal(client.securityType, 2);
    client.close();
  });

  test('VNC Authentication in 3.3: the server imposes the type, the client sends no choice', async () => {
    const { stream, connecting } = scripted(handshakeBytes({ version: '003.003', security: [2], challenge }), { password: 'x' });
    const client = await connecting;
    const sent = stream.sent();
    assert.deepEqual(sent.subarray(12, 28), vncAuthResponse('x', challenge));
    assert.equal(sent[28], 1, 'ClientInit follows the response');
    client.close();
  });

  test('None is preferred over VNC Authentication when both are offered', async () => {
    const { stream, connecting } = scripted(handshakeBytes({ security: [2, 1] }), { password: 'x' });
    const client = await connecting;
    assert.equal(stream.sent()[12], 1);
    client.close();
  });

  test('unsupported security types only: protocol error naming them', async () => {
    const bytes = Buffer.concat([Buffer.from('RFB 003.008\n'), u8(2), Buffer.from([16, 19])]);
    const { connecting } = scripted(bytes, { password: 'x' });
    await assert.rejects(connecting, isConnectError('protocol', /offers 16, 19/));
  });

  test('3.3 server imposing an unknown type: protocol error', async () => {
    const { connecting } = scripted(Buffer.concat([Buffer.from('RFB 003.003\n'), u32(19)]));
    await assert.rejects(connecting, isConnectError('protocol', /security type 19/));
  });

  test('wrong password (3.8): auth_failed with the server reason', async () => {
    const { connecting } = scripted(handshakeBytes({ security: [2], result: 1, reason: 'Authentication failure' }), { password: 'bad' });
    await assert.rejects(connecting, isConnectError('auth_failed', /refused the VNC password: Authentication failure/));
  });

  test('wrong password (3.7 and 3.3): auth_failed without a reason', async () => {
    for (const version of ['003.007', '003.003']) {
      const { connecting } = scripted(handshakeBytes({ version, security: [2], result: 1 }), { password: 'bad' });
      await assert.rejects(connecting, isConnectError('auth_failed', /^the server refused the VNC password$/));
    }
  });

  test('the password never appears in an error message', async () => {
    const { connecting } = scripted(handshakeBytes({ security: [2], result: 1, reason: 'nope' }), { password: 'TopSecret' });
    await assert.rejects(connecting, (err: Error) => !err.message.includes('TopSecret'));
  });

  test('server closing after the password was sent: auth_failed', async () => {
    const stream = new ScriptedStream();
    const connecting = connectRfb(stream, { password: 'bad' });
    stream.serve(Buffer.concat([Buffer.from('RFB 003.008\n'), u8(1), u8(2), challenge]));
    await new Promise((r) => setImmediate(r));
    stream.hangUp();
    await assert.rejects(connecting, isConnectError('auth_failed', /after the password was sent/));
  });

  test('VNC Authentication required but no password: auth_failed, nothing sent', async () => {
    const { stream, connecting } = scripted(handshakeBytes({ security: [2] }));
    await assert.rejects(connecting, isConnectError('auth_failed', /none was given/));
    assert.equal(stream.sent().length, 12, 'only the version was sent');
  });

  test('a server refusing the connection (0 security types) gives its reason', async () => {
    const bytes = Buffer.concat([Buffer.from('RFB 003.008\n'), u8(0), str('Too many security failures')]);
    const { connecting } = scripted(bytes);
    await assert.rejects(connecting, isConnectError('protocol', /refused the connection: Too many security failures/));
  });

  test('3.3 refusal (type 0) gives its reason', async () => {
    const bytes = Buffer.concat([Buffer.from('RFB 003.003\n'), u32(0), str('go away')]);
    await assert.rejects(scripted(bytes).connecting, isConnectError('protocol', /go away/));
  });

  test('None in 3.8 with a failed SecurityResult: protocol error with reason', async () => {
    await assert.rejects(scripted(handshakeBytes({ security: [1], result: 1, reason: 'busy' })).connecting, isConnectError('protocol', /busy/));
  });

  test('a huge reason length is refused before it is buffered', async () => {
    const bytes = Buffer.concat([Buffer.from('RFB 003.008\n'), u8(0), u32(0xffffffff)]);
    await assert.rejects(scripted(bytes).connecting, isConnectError('protocol', /reason string of 4294967295 bytes/));
  });

  test('control characters in a reason are neutralised', async () => {
    const bytes = Buffer.concat([Buffer.from('RFB 003.008\n'), u8(0), str('bad\x1b[31mred\nline')]);
    await assert.rejects(scripted(bytes).connecting, (err: Error) => {
      assert.ok(!/[\x00-\x1f]/.test(err.message), err.message);
      return true;
    });
  });
});

describe('ServerInit', () => {
  test('a desktop over the size limits is refused', async () => {
    for (const [w, h, re] of [
      [65535, 65535, /exceeds the limit of 8192x8192/],
      [8193, 10, /exceeds the limit/],
      [8192, 8192, /exceeds the limit of 16777216 pixels/],
    ] as const) {
      await assert.rejects(scripted(handshakeBytes({ width: w, height: h })).connecting, isConnectError('protocol', re));
    }
  });

  test('limits are configurable', async () => {
    await assert.rejects(scripted(handshakeBytes({ width: 800, height: 600 }), { limits: { maxArea: 100_000 } }).connecting, isConnectError('protocol'));
    const c = await scripted(handshakeBytes({ width: 8192, height: 8192 }), { limits: { maxArea: 8192 * 8192 } }).connecting;
    assert.equal(c.framebuffer.length, 8192 * 8192 * 4);
    c.close();
  });

  test('a desktop name over the limit is refused; names are UTF-8 or Latin-1', async () => {
    const bytes = Buffer.concat([Buffer.from('RFB 003.008\n'), u8(1), u8(1), u32(0), serverInit(10, 10, 'x'.repeat(5000))]);
    await assert.rejects(scripted(bytes).connecting, isConnectError('protocol', /desktop name of 5000 bytes/));
    const c = await scripted(handshakeBytes({ name: 'Pumpe Süd' })).connecting;
    assert.equal(c.name, 'Pumpe Süd');
    c.close();
    const latin = Buffer.concat([Buffer.from('RFB 003.008\n'), u8(1), u8(1), u32(0), serverInit(10, 10).subarray(0, 20), u32(4), Buffer.from([0x53, 0xfc, 0x64, 0x21])]);
    const c2 = await scripted(latin).connecting;
    assert.equal(c2.name, 'Süd!');
    c2.close();
  });

  test('a zero-sized desktop is accepted (some servers start that way)', async () => {
    const c = await scripted(handshakeBytes({ width: 0, height: 0 })).connecting;
    assert.equal(c.framebuffer.length, 0);
    c.pointer(10, 10, 1); // clamped, no throw
    c.close();
  });

  test('the server pixel format is reported; ours is always asked for', async () => {
    const c = await scripted(handshakeBytes()).connecting;
    assert.equal(c.serverPixelFormat.redShift, 16);
    assert.equal(c.serverPixelFormat.bitsPerPixel, 32);
    c.close();
  });
});

describe('RFB connect options and failures', () => {
  test('SetEncodings: preference order, Raw last among real encodings, pseudo-encodings after', async () => {
    const { stream, connecting } = scripted(handshakeBytes(), { encodings: ['zrle', 'tight'], jpegQuality: 7, compressLevel: 3 });
    const c = await connecting;
    const sent = stream.sent();
    const off = 12 + 1 + 1 + 20;
    assert.equal(sent[off], 2);
    const n = sent.readUInt16BE(off + 2);
    const codes = Array.from({ length: n }, (_, i) => sent.readInt32BE(off + 4 + 4 * i));
    assert.deepEqual(codes, [16, 7, 0, -223, -224, -239, -32 + 7, -256 + 3]);
    c.close();
  });

  test('autoRequest (default) sends a full FramebufferUpdateRequest after ServerInit', async () => {
    const stream = new ScriptedStream();
    const connecting = connectRfb(stream);
    stream.serve(handshakeBytes({ width: 300, height: 200 }));
    const c = await connecting;
    const sent = stream.sent();
    const req = sent.subarray(sent.length - 10);
    assert.deepEqual([...req], [3, 0, 0, 0, 0, 0, 1, 44, 0, 200]);
    c.close();
  });

  test('bad options are refused synchronously as RangeError', async () => {
    await assert.rejects(connectRfb(new ScriptedStream(), { jpegQuality: 10 }), RangeError);
    await assert.rejects(connectRfb(new ScriptedStream(), { encodings: ['hextile' as never] }), RangeError);
    await assert.rejects(connectRfb(new ScriptedStream(), { limits: { maxWidth: -1 } }), RangeError);
  });

  test('timeout names what the client waited for', async () => {
    const stream = new ScriptedStream();
    const connecting = connectRfb(stream, { timeoutMs: 50, password: 'x' });
    stream.serve(Buffer.concat([Buffer.from('RFB 003.008\n'), u8(1), u8(2)]));
    await assert.rejects(connecting, isConnectError('timeout', /0\.1 s|50|challenge/));
    assert.ok(stream.destroyed);
  });

  test('abort signal ends the handshake with its reason', async () => {
    const ac = new AbortController();
    const stream = new ScriptedStream();
    const connecting = connectRfb(stream, { signal: ac.signal });
    ac.abort(new Error('red button'));
    await assert.rejects(connecting, /red button/);
    assert.ok(stream.destroyed);
    await assert.rejects(connectRfb(new ScriptedStream(), { signal: ac.signal }), /red button/);
  });

  test('the server closing before any byte: protocol error naming the version', async () => {
    const stream = new ScriptedStream();
    const connecting = connectRfb(stream);
    stream.hangUp();
    await assert.rejects(connecting, isConnectError('protocol', /waited for the RFB version/));
  });

  test('a stream error with ECONNREFUSED is unreachable', async () => {
    const stream = new ScriptedStream();
    const connecting = connectRfb(stream);
    const err = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    stream.destroy(err);
    await assert.rejects(connecting, isConnectError('unreachable', /ECONNREFUSED/));
  });

  test('close() during the handshake rejects the connect', async () => {
    const stream = new ScriptedStream();
    const connecting = connectRfb(stream);
    stream.serve(Buffer.from('RFB 003.008\n'));
    await new Promise((r) => setImmediate(r));
    // no client object yet: abort through the stream
    stream.destroy();
    await assert.rejects(connecting, ConnectError);
  });

  test('a server that sends its last messages and hangs up right after ServerInit: nothing is lost', async () => {
    const { stream, connecting } = scripted(Buffer.concat([handshakeBytes(), u8(2)]));
    stream.hangUp();
    const c = await connecting;
    let bells = 0;
    c.on('bell', () => bells++);
    assert.deepEqual(await c.ended, { how: 'closed', message: 'the VNC server closed the connection' });
    assert.equal(bells, 1);
  });

  test('events queued right behind ServerInit reach listeners attached after await', async () => {
    const { connecting } = scripted(Buffer.concat([handshakeBytes(), u8(2), u8(2)]));
    const c = await connecting;
    let bells = 0;
    c.on('bell', () => bells++);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(bells, 2);
    c.close();
  });
});
