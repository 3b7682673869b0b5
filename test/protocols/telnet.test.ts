/**
 * The Telnet engine: codec, option negotiation and login script on crafted bytes; hostile fake
 * servers (floods, garbage, endless output, backpressure); and the real lab telnetd (inetutils
 * telnetd + /bin/login behind socat) on private ports, displays and account.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type Lab, type LabTarget, labPrerequisites, removeLabAccount, startLab } from '../../lab/index.js';
import { telnetProtocol } from '../../src/server/protocols/telnet/client.js';
import {
  DO,
  DONT,
  encodeData,
  IAC,
  NOP,
  OPT,
  SB,
  SE,
  subnegotiation,
  type TelnetEvent,
  TelnetDecoder,
  WILL,
  WONT,
} from '../../src/server/protocols/telnet/codec.js';
import { LoginScript, type LoginOutcome, parseLoginConfig, TRANSCRIPT_CAP } from '../../src/server/protocols/telnet/login.js';
import { clampSize, NegotiationBudget, nawsPacket, OptionNegotiator } from '../../src/server/protocols/telnet/options.js';
import { ConnectError, type TerminalConnection, type TerminalCredential } from '../../src/server/protocols/types.js';
import { fakeLogin, fakeServer } from '../helpers/fake-telnet.js';

const PORTS = { ssh: 32201, telnet: 32323, vnc: 30901, rdp: 31891 };
const DISPLAY_BASE = 190;
const ACCOUNT = 'pctelnettest';

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);

/** Decodes chunks in order; adjacent data events merged, so tests do not depend on chunking. */
function decodeAll(decoder: TelnetDecoder, ...chunks: Buffer[]): TelnetEvent[] {
  const out: TelnetEvent[] = [];
  for (const c of chunks) {
    for (const ev of decoder.decode(c)) {
      const last = out[out.length - 1];
      if (ev.type === 'data' && last?.type === 'data') last.data = Buffer.concat([last.data, ev.data]);
      else out.push(ev);
    }
  }
  return out;
}

function isConnectError(failure: ConnectError['failure'], message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ConnectError, `expected ConnectError, got ${String(err)}`);
    assert.equal(err.failure, failure, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

describe('Telnet codec', () => {
  test('plain data passes, an IAC sequence split across chunks is reassembled', () => {
    const d = new TelnetDecoder();
    const events = decodeAll(d, Buffer.from('ab'), b(IAC), b(WILL), b(OPT.ECHO, 0x63), b(IAC, DO), b(OPT.NAWS));
    assert.deepEqual(events, [
      { type: 'data', data: Buffer.from('ab') },
      { type: 'negotiate', verb: WILL, option: OPT.ECHO },
      { type: 'data', data: Buffer.from('c') },
      { type: 'negotiate', verb: DO, option: OPT.NAWS },
    ]);
  });

  test('IAC IAC is a data byte 255, also split across chunks; commands are reported', () => {
    const d = new TelnetDecoder();
    assert.deepEqual(decodeAll(d, b(0x41, IAC), b(IAC, 0x42, IAC, NOP, 0x43)), [
      { type: 'data', data: b(0x41, 0xff, 0x42) },
      { type: 'command', command: NOP },
      { type: 'data', data: b(0x43) },
    ]);
  });

  test('CR NUL becomes CR (also split), CR LF stays', () => {
    const d = new TelnetDecoder();
    assert.deepEqual(decodeAll(d, Buffer.from('a\r\0b\r\nc\r'), b(0, 0x64)), [{ type: 'data', data: Buffer.from('a\rb\r\nc\rd') }]);
    // a NUL not after CR is data
    assert.deepEqual(decodeAll(new TelnetDecoder(), b(0x61, 0, 0x62)), [{ type: 'data', data: b(0x61, 0, 0x62) }]);
  });

  test('subnegotiation with IAC IAC in the payload, split across chunks', () => {
    const d = new TelnetDecoder();
    const events = decodeAll(d, b(IAC, SB, OPT.TTYPE, 1, IAC), b(IAC, 7, IAC), b(SE), Buffer.from('x'));
    assert.deepEqual(events, [
      { type: 'subnegotiation', option: OPT.TTYPE, data: b(1, 0xff, 7) },
      { type: 'data', data: Buffer.from('x') },
    ]);
  });

  test('an oversized subnegotiation is reported once and skipped, never stored', () => {
    const d = new TelnetDecoder(16);
    const payload = Buffer.alloc(5000, 0x41);
    const events = decodeAll(d, b(IAC, SB, OPT.TTYPE), payload, b(IAC, SE), Buffer.from('after'));
    assert.deepEqual(events, [
      { type: 'sb-overflow', option: OPT.TTYPE },
      { type: 'data', data: Buffer.from('after') },
    ]);
  });

  test('IAC <command> inside a subnegotiation drops it and takes the command', () => {
    const d = new TelnetDecoder();
    assert.deepEqual(decodeAll(d, b(IAC, SB, OPT.NAWS, 0, 80, IAC, WILL, OPT.ECHO, 0x7a)), [
      { type: 'negotiate', verb: WILL, option: OPT.ECHO },
      { type: 'data', data: Buffer.from('z') },
    ]);
  });

  test('encodeData doubles IAC, sends a bare CR as CR NUL, keeps CR LF', () => {
    assert.deepEqual(encodeData(b(0x61, 0xff, 0x62)), b(0x61, 0xff, 0xff, 0x62));
    assert.deepEqual(encodeData(Buffer.from('ls\r')), Buffer.from('ls\r\0'));
    assert.deepEqual(encodeData(Buffer.from('ls\r\n')), Buffer.from('ls\r\n'));
    assert.deepEqual(encodeData(Buffer.from('plain')), Buffer.from('plain'));
    assert.deepEqual(subnegotiation(OPT.NAWS, b(0, 255, 0, 24)), b(IAC, SB, OPT.NAWS, 0, 255, 255, 0, 24, IAC, SE));
  });

  test('random garbage never throws and only yields well-formed events', () => {
    let seed = 42;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    const d = new TelnetDecoder(64);
    for (let i = 0; i < 200; i++) {
      const chunk = Buffer.alloc(1 + (rnd() % 200));
      for (let j = 0; j < chunk.length; j++) chunk[j] = rnd() < 40 ? IAC : rnd();
      for (const ev of d.decode(chunk)) {
        if (ev.type === 'subnegotiation') assert.ok(ev.data.length <= 64);
      }
    }
  });
});

describe('Telnet option negotiation', () => {
  function negotiator(size = { cols: 80, rows: 24 }) {
    const sent: Buffer[] = [];
    const n = new OptionNegotiator({ term: 'xterm-256color', size, send: (x) => sent.push(x) });
    return { n, sent, take: () => Buffer.concat(sent.splice(0)) };
  }

  test('accepts ECHO and SGA from the asset, NAWS/TTYPE/SGA for itself; acknowledgments are not answered', () => {
    const { n, take } = negotiator({ cols: 100, rows: 30 });
    n.receive(WILL, OPT.ECHO);
    assert.deepEqual(take(), b(IAC, DO, OPT.ECHO));
    n.receive(WILL, OPT.ECHO); // already on: no answer (no loop)
    assert.deepEqual(take(), b());
    n.receive(WILL, OPT.SGA);
    n.receive(DO, OPT.SGA);
    assert.deepEqual(take(), b(IAC, DO, OPT.SGA, IAC, WILL, OPT.SGA));
    n.receive(DO, OPT.NAWS);
    assert.deepEqual(take(), b(IAC, WILL, OPT.NAWS, IAC, SB, OPT.NAWS, 0, 100, 0, 30, IAC, SE));
    n.receive(DO, OPT.TTYPE);
    assert.deepEqual(take(), b(IAC, WILL, OPT.TTYPE));
    n.subnegotiation(OPT.TTYPE, b(1));
    assert.deepEqual(take(), Buffer.concat([b(IAC, SB, OPT.TTYPE, 0), Buffer.from('xterm-256color'), b(IAC, SE)]));
    n.resize({ cols: 132, rows: 43 });
    assert.deepEqual(take(), b(IAC, SB, OPT.NAWS, 0, 132, 0, 43, IAC, SE));
    assert.deepEqual(n.negotiated().sort(), ['asset:ECHO', 'asset:SGA', 'gateway:NAWS', 'gateway:SGA', 'gateway:TTYPE']);
    // the asset turns ECHO off: acknowledged once
    n.receive(WONT, OPT.ECHO);
    assert.deepEqual(take(), b(IAC, DONT, OPT.ECHO));
    n.receive(WONT, OPT.ECHO);
    assert.deepEqual(take(), b());
  });

  test('refuses every other option, and only once per option (no loop with a stubborn peer)', () => {
    const { n, take } = negotiator();
    for (const opt of [OPT.BINARY, OPT.LINEMODE, OPT.NEW_ENVIRON, OPT.TSPEED, 200]) {
      n.receive(DO, opt);
      assert.deepEqual(take(), b(IAC, WONT, opt), `DO ${opt}`);
      n.receive(WILL, opt);
      assert.deepEqual(take(), b(IAC, DONT, opt), `WILL ${opt}`);
      for (let i = 0; i < 10; i++) {
        n.receive(DO, opt);
        n.receive(WILL, opt);
      }
      assert.deepEqual(take(), b(), `repeated requests for ${opt} are not answered again`);
    }
    // DO ECHO: the gateway never echoes
    n.receive(DO, OPT.ECHO);
    assert.deepEqual(take(), b(IAC, WONT, OPT.ECHO));
    // TTYPE SEND while TTYPE is off: ignored
    n.subnegotiation(OPT.TTYPE, b(1));
    assert.deepEqual(take(), b());
    assert.deepEqual(n.negotiated(), []);
  });

  test('two Q-method negotiators wired together settle (no endless exchange)', () => {
    // The gateway against a mirror that answers each of our replies with the opposite request.
    const { n, sent } = negotiator();
    let exchanges = 0;
    n.receive(WILL, OPT.ECHO);
    while (sent.length > 0 && exchanges < 100) {
      const reply = sent.shift()!;
      exchanges++;
      if (reply[1] === DO) n.receive(WILL, reply[2]!); // an acknowledgment: must not be answered
    }
    assert.ok(exchanges <= 2, `exchanges: ${exchanges}`);
  });

  test('NAWS sizes are clamped to 1..1000 and 255 bytes are escaped', () => {
    assert.deepEqual(clampSize({ cols: 100000, rows: 0 }), { cols: 1000, rows: 1 });
    assert.deepEqual(clampSize({ cols: Number.NaN, rows: -5 }), { cols: 80, rows: 1 });
    assert.deepEqual(nawsPacket({ cols: 1e9, rows: 255 }), b(IAC, SB, OPT.NAWS, 3, 232, 0, 255, 255, IAC, SE));
  });

  test('the budget stops a flood per second and in total', () => {
    let now = 0;
    const budget = new NegotiationBudget(10, 25, () => now);
    for (let i = 0; i < 10; i++) assert.equal(budget.take(), undefined);
    assert.match(budget.take() ?? '', /more than 10 commands in a second/);
    now = 1000;
    for (let i = 0; i < 10; i++) assert.equal(budget.take(), undefined);
    now = 2000;
    for (let i = 0; i < 4; i++) assert.equal(budget.take(), undefined);
    assert.match(budget.take() ?? '', /more than 25 commands/);
  });
});

describe('Telnet login script', () => {
  const credential: TerminalCredential = { username: 'op', password: 'S3cret-pw!' };

  function script(options: Record<string, string | number | boolean> = {}, cred = credential, settleMs = 50) {
    const typed: string[] = [];
    let outcome: LoginOutcome | undefined;
    const s = new LoginScript(parseLoginConfig(options, settleMs), cred, {
      sendLine: (t) => typed.push(t),
      done: (o) => {
        outcome = o;
      },
    });
    return { s, typed, outcome: () => outcome };
  }
  const feed = (s: LoginScript, text: string): void => s.feed(Buffer.from(text, 'utf8'));

  test('banner, login prompt, password prompt, settle: success; the password is redacted from the transcript', async () => {
    const { s, typed, outcome } = script();
    feed(s, 'Welcome, unauthorized access denied!\r\nrtu lo');
    feed(s, 'gin: ');
    assert.deepEqual(typed, ['op']);
    feed(s, 'op\r\nPassword: ');
    assert.deepEqual(typed, ['op', 'S3cret-pw!']);
    feed(s, 'S3cret-pw!\r\n'); // a broken asset that echoes the password
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(outcome(), undefined, 'only whitespace (and the echo) after the password: still waiting');
    feed(s, 'Last login: today\r\n$ ');
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(outcome(), { ok: true });
    const t = s.transcript().toString('utf8');
    assert.match(t, /Welcome/);
    assert.ok(!t.includes('S3cret-pw!'), t);
  });

  test('failure pattern: auth_failed with the asset’s words; explicit success pattern', async () => {
    const a = script();
    feed(a.s, 'login: ');
    feed(a.s, 'op\r\nPassword: ');
    feed(a.s, '\r\n\r\nLogin incorrect\r\nlogin: ');
    assert.deepEqual(a.outcome(), { ok: false, failure: 'auth_failed', message: 'the asset refused the vaulted credential (Login incorrect)' });

    const b2 = script({ successPattern: 'PLC>\\s*$', failurePattern: 'bad password' });
    feed(b2.s, 'Password: ');
    assert.deepEqual(b2.typed, ['S3cret-pw!'], 'password-only device');
    feed(b2.s, '\r\nchecking...\r\n');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(b2.outcome(), undefined, 'with a success pattern, other output is not success');
    feed(b2.s, 'PLC> ');
    assert.deepEqual(b2.outcome(), { ok: true });
  });

  test('asked for the login again after the password: auth_failed', async () => {
    const { s, outcome } = script();
    feed(s, 'login: ');
    feed(s, 'op\r\nPassword: ');
    feed(s, '\r\nUser Name: ');
    feed(s, '\r\nPassword: ');
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(outcome()?.ok, false);
    assert.match((outcome() as { message: string }).message, /asked for the login again/);
  });

  test('the transcript is capped', () => {
    const { s, outcome } = script();
    for (let i = 0; i < 100 && !outcome(); i++) feed(s, 'x'.repeat(1024));
    assert.deepEqual(outcome(), { ok: false, failure: 'protocol', message: `the asset sent more than ${TRANSCRIPT_CAP / 1024} KiB before the login completed` });

    // after the password, without a success pattern, a flood of non-failure output is success
    const streaming = script({}, credential, 60_000);
    feed(streaming.s, 'login: ');
    feed(streaming.s, 'Password: ');
    for (let i = 0; i < 100 && !streaming.outcome(); i++) feed(streaming.s, 'log line\r\n'.repeat(100));
    assert.deepEqual(streaming.outcome(), { ok: true });
    assert.ok(streaming.s.transcript().length <= TRANSCRIPT_CAP + 1000);
  });

  test('invalid, over-long or non-string patterns are rejected with ConnectError(protocol)', () => {
    assert.throws(() => parseLoginConfig({ loginPrompt: '(' }), isConnectError('protocol', /loginPrompt is not a valid/));
    assert.throws(() => parseLoginConfig({ failurePattern: 'x'.repeat(201) }), isConnectError('protocol', /too long/));
    assert.throws(() => parseLoginConfig({ successPattern: 5 }), isConnectError('protocol', /must be a string/));
    const c = parseLoginConfig({ passwordPrompt: 'PIN:\\s*$', loginPrompt: '' });
    assert.ok(c.passwordPrompt.test('pin: '), 'case-insensitive');
    assert.ok(c.loginPrompt.test('login: '), 'empty = default');
  });
});

const fakeCred: TerminalCredential = { username: 'op', password: 'Fake-Pass-123' };
const size = { cols: 80, rows: 24 };

function collect(stream: Duplex): { text: () => string; bytes: () => Buffer; wait: (re: RegExp, ms?: number) => Promise<string> } {
  let text = '';
  const chunks: Buffer[] = [];
  const waiters = new Set<() => void>();
  stream.on('data', (d: Buffer) => {
    chunks.push(d);
    text += d.toString('utf8');
    for (const w of waiters) w();
  });
  return {
    text: () => text,
    bytes: () => Buffer.concat(chunks),
    wait: (re, ms = 10_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (re.test(text)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(text);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timeout waiting for ${re}; got ${JSON.stringify(text.slice(-500))}`));
        }, ms);
        waiters.add(check);
        check();
      }),
  };
}

describe('Telnet client against fake servers', () => {
  test('login, banner in the stream, password never in it (even if echoed), IAC doubled on the way out', async () => {
    const received: Buffer[] = [];
    const srv = await fakeServer(
      fakeLogin({
        echoPassword: true,
        received,
        then: (sock) => sock.write(b(0x61, IAC, IAC, 0x62, IAC, NOP, 0x63, 0x0d, 0x0a)),
      }),
    );
    try {
      const conn = await telnetProtocol.connect({ host: '127.0.0.1', port: srv.port, options: {} }, fakeCred, { size, timeoutMs: 5000 });
      const out = collect(conn.stream);
      await out.wait(/Welcome\r\n\$ a\ufffdbc\r\n/);
      assert.ok(out.bytes().includes(b(0x61, 0xff, 0x62, 0x63, 0x0d, 0x0a)), 'IAC IAC is one 255 byte, IAC NOP is gone');
      assert.match(out.text(), /Fake RTU\r\nlogin: op\r\nPassword: /);
      assert.ok(!out.text().includes(fakeCred.password!), 'password in the stream');
      conn.stream.write(b(0x78, 0xff, 0x79));
      await new Promise((r) => setTimeout(r, 100));
      const all = Buffer.concat(received);
      assert.ok(all.includes(b(0x78, 0xff, 0xff, 0x79)), `IAC not doubled: ${all.toString('hex')}`);
      conn.close('test done');
      assert.deepEqual(await conn.ended, { how: 'closed', message: 'test done' });
      conn.stream.write('after close'); // dropped, no error
    } finally {
      await srv.close();
    }
  });

  test('destroying the stream closes the asset connection; the asset hanging up ends the stream', async () => {
    const srv = await fakeServer(fakeLogin({ then: (sock) => setTimeout(() => sock.end('bye\r\n'), 800) }));
    try {
      const a = await telnetProtocol.connect({ host: '127.0.0.1', port: srv.port, options: {} }, fakeCred, { size });
      a.stream.destroy();
      assert.deepEqual(await a.ended, { how: 'closed', message: 'the session stream was destroyed' });
      const first = srv.sockets[0]!;
      await new Promise<void>((resolve) => (first.closed ? resolve() : first.once('close', () => resolve())));

      const c = await telnetProtocol.connect({ host: '127.0.0.1', port: srv.port, options: {} }, fakeCred, { size });
      const out = collect(c.stream);
      await new Promise<void>((resolve) => c.stream.once('end', () => resolve()));
      assert.match(out.text(), /bye\r\n$/);
      assert.deepEqual(await c.ended, { how: 'closed', message: 'the asset closed the connection' });
    } finally {
      await srv.close();
    }
  });

  test('an option flood before login: ConnectError(protocol)', async () => {
    const srv = await fakeServer((sock) => {
      const flood = Buffer.alloc(3 * 2000);
      for (let i = 0; i < 2000; i++) flood.set([IAC, i % 2 ? WILL : DO, OPT.ECHO], i * 3);
      sock.write(flood);
    });
    try {
      await assert.rejects(
        telnetProtocol.connect({ host: '127.0.0.1', port: srv.port, options: {} }, fakeCred, { size, timeoutMs: 5000 }),
        isConnectError('protocol', /flooded option negotiation/),
      );
    } finally {
      await srv.close();
    }
  });

  test('endless output before the login prompt: ConnectError(protocol) at the transcript cap', async () => {
    const srv = await fakeServer((sock) => {
      const blob = Buffer.alloc(16 * 1024, 0x41);
      const pump = (): void => {
        while (!sock.destroyed && sock.write(blob));
        if (!sock.destroyed) sock.once('drain', pump);
      };
      pump();
    });
    try {
      await assert.rejects(
        telnetProtocol.connect({ host: '127.0.0.1', port: srv.port, options: {} }, fakeCred, { size, timeoutMs: 5000 }),
        isConnectError('protocol', /more than 64 KiB before the login/),
      );
    } finally {
      await srv.close();
    }
  });

  test('an oversized subnegotiation: ConnectError(protocol)', async () => {
    const srv = await fakeServer((sock) => {
      sock.write(Buffer.concat([b(IAC, SB, OPT.TTYPE), Buffer.alloc(4096, 1), b(IAC, SE)]));
    });
    try {
      await assert.rejects(
        telnetProtocol.connect({ host: '127.0.0.1', port: srv.port, options: {} }, fakeCred, { size, timeoutMs: 5000 }),
        isConnectError('protocol', /TTYPE subnegotiation longer than 1024 bytes/),
      );
    } finally {
      await srv.close();
    }
  });

  test('garbage: a clean protocol error or timeout, never a crash', async () => {
    let seed = 7;
    const srv = await fakeServer((sock) => {
      const junk = Buffer.alloc(32 * 1024);
      for (let i = 0; i < junk.length; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        junk[i] = seed >> 16 < 3000 ? IAC : seed & 0xff;
      }
      sock.write(junk);
    });
    try {
      await assert.rejects(
        telnetProtocol.connect({ host: '127.0.0.1', port: srv.port, options: {} }, fakeCred, { size, timeoutMs: 1500 }),
        (err: unknown) => {
          assert.ok(err instanceof ConnectError, String(err));
          assert.ok(err.failure === 'protocol' || err.failure === 'timeout', err.message);
          return true;
        },
      );
    } finally {
      await srv.close();
    }
  });

  test('silence: timeout; abort: rejects and closes the socket', async () => {
    const srv = await fakeServer(() => {});
    try {
      const t0 = Date.now();
      await assert.rejects(
        telnetProtocol.connect({ host: '127.0.0.1', port: srv.port, options: {} }, fakeCred, { size, timeoutMs: 400 }),
        isConnectError('timeout', /waiting for a login prompt/),
      );
      assert.ok(Date.now() - t0 < 2000);

      const ac = new AbortController();
      const p = telnetProtocol.connect({ host: '127.0.0.1', port: srv.port, options: {} }, fakeCred, { size, timeoutMs: 5000, signal: ac.signal });
      await new Promise((r) => setTimeout(r, 100));
      ac.abort();
      await assert.rejects(p, (err: Error) => err.name === 'AbortError');
      const last = srv.sockets[srv.sockets.length - 1]!;
      await new Promise<void>((resolve) => (last.closed ? resolve() : last.once('close', () => resolve())));
    } finally {
      await srv.close();
    }
  });

  test('invalid options and an unreachable port are rejected', async () => {
    await assert.rejects(
      telnetProtocol.connect({ host: '127.0.0.1', port: 1, options: { loginPrompt: '[' } }, fakeCred, { size }),
      isConnectError('protocol', /loginPrompt/),
    );
    const probe = await fakeServer(() => {});
    const port = probe.port;
    await probe.close();
    await assert.rejects(
      telnetProtocol.connect({ host: '127.0.0.1', port, options: {} }, fakeCred, { size, timeoutMs: 3000 }),
      isConnectError('unreachable', /ECONNREFUSED/),
    );
  });

  test('an option flood after login ends the stream with how=error', async () => {
    const srv = await fakeServer(
      fakeLogin({
        then: (sock) => {
          setTimeout(() => {
            const flood = Buffer.alloc(3 * 5000);
            for (let i = 0; i < 5000; i++) flood.set([IAC, i % 2 ? WILL : WONT, OPT.ECHO], i * 3);
            sock.write(flood);
          }, 600);
        },
      }),
    );
    try {
      const conn = await telnetProtocol.connect({ host: '127.0.0.1', port: srv.port, options: {} }, fakeCred, { size, timeoutMs: 5000 });
      const out = collect(conn.stream);
      const ended = await conn.ended;
      assert.equal(ended.how, 'error');
      assert.match(ended.message, /flooded option negotiation/);
      await new Promise<void>((resolve) => (conn.stream.readableEnded ? resolve() : conn.stream.once('end', () => resolve())));
      assert.match(out.text(), /Welcome/);
    } finally {
      await srv.close();
    }
  });

  test('backpressure: endless output while nobody reads pauses the socket, reading resumes it', async () => {
    let sent = 0;
    let blocked = false;
    const srv = await fakeServer(
      fakeLogin({
        then: (sock) => {
          const blob = Buffer.alloc(64 * 1024, 0x42);
          const pump = (): void => {
            while (!sock.destroyed) {
              sent += blob.length;
              if (!sock.write(blob)) {
                blocked = true;
                sock.once('drain', pump);
                return;
              }
            }
          };
          setTimeout(pump, 50);
        },
      }),
    );
    let conn: TerminalConnection | undefined;
    try {
      conn = await telnetProtocol.connect({ host: '127.0.0.1', port: srv.port, options: {} }, fakeCred, { size, timeoutMs: 5000 });
      const rss0 = process.memoryUsage().rss;
      await new Promise((r) => setTimeout(r, 1500));
      const sentWhilePaused = sent;
      assert.ok(blocked, 'the fake server never felt backpressure');
      assert.ok(conn.stream.readableLength < 512 * 1024, `stream buffered ${conn.stream.readableLength} bytes`);
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(sent - sentWhilePaused <= 64 * 1024, `server kept sending while paused: ${sent - sentWhilePaused}`);
      assert.ok(process.memoryUsage().rss - rss0 < 64 * 1024 * 1024, 'memory grew');
      // start reading: data flows again
      let got = 0;
      conn.stream.on('data', (d: Buffer) => {
        got += d.length;
      });
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(got > 1024 * 1024, `only ${got} bytes after resuming`);
      assert.ok(sent > sentWhilePaused, 'the server did not resume');
    } finally {
      conn?.close();
      await srv.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The real lab telnetd

describe('Telnet client against the lab (inetutils telnetd + /bin/login)', async () => {
  let dataDir = '';
  let lab: Lab | undefined;
  let t: LabTarget;

  before(async () => {
    // The suite runs as root with the lab's packages installed (scripts/test.sh sees to both).
    assert.equal(process.getuid?.(), 0, 'the lab runs telnetd and manages an account: run as root');
    assert.deepEqual(await labPrerequisites(), [], 'lab prerequisites missing: run scripts/system-deps.sh');
    dataDir = mkdtempSync(path.join(tmpdir(), 'pc-telnet-test-'));
    lab = await startLab({ dataDir, ports: PORTS, displayBase: DISPLAY_BASE, account: ACCOUNT });
    const found = lab.targets.find((x) => x.protocol === 'telnet');
    assert.ok(found);
    t = found;
  });

  after(async () => {
    await lab?.stop();
    await removeLabAccount(ACCOUNT);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const target = () => ({ host: t.host, port: t.port, options: {} });
  const cred = () => ({ username: t.username ?? '', password: t.password });

  test('login with the lab credentials, banner shown, a command runs', async () => {
    const t0 = Date.now();
    const conn = await telnetProtocol.connect(target(), cred(), { size: { cols: 100, rows: 30 }, term: 'xterm-256color' });
    console.log(`# telnet login in ${Date.now() - t0} ms, negotiated ${conn.info.negotiated?.join(' ')}`);
    try {
      const out = collect(conn.stream);
      await out.wait(new RegExp(`${ACCOUNT}@RTU-02:~\\$ $`));
      assert.match(out.text(), /RTU-02 \/ Demo Plant/);
      assert.match(out.text(), /login: /);
      assert.ok(!out.text().includes(t.password), 'password in the stream');
      assert.ok(conn.info.negotiated?.includes('asset:ECHO'));
      assert.ok(conn.info.negotiated?.includes('gateway:NAWS'));
      conn.stream.write('echo portcullis-$((6*7)); echo $TERM\r');
      await out.wait(/portcullis-42\r\nxterm-256color\r\n/);
      conn.stream.write('exit\r');
      const ended = await conn.ended;
      assert.deepEqual(ended, { how: 'closed', message: 'the asset closed the connection' });
    } finally {
      conn.close();
    }
  });

  test('NAWS: the initial size and a resize reach the pty (stty size)', async () => {
    const conn = await telnetProtocol.connect(target(), cred(), { size: { cols: 100, rows: 30 } });
    try {
      const out = collect(conn.stream);
      await out.wait(/\$ $/);
      conn.stream.write('stty size\r');
      await out.wait(/[\r\n]30 100\r\n/);
      conn.resize({ cols: 132, rows: 43 });
      conn.stream.write('stty size\r');
      await out.wait(/[\r\n]43 132\r\n/);
      conn.resize({ cols: 5000, rows: 0 }); // clamped
      conn.stream.write('stty size\r');
      await out.wait(/[\r\n]1 1000\r\n/);
    } finally {
      conn.close();
      assert.equal((await conn.ended).how, 'closed');
    }
  });

  test('wrong password: auth_failed within a few seconds, no password in the message', async () => {
    const t0 = Date.now();
    const wrong = `${t.password}x`;
    await assert.rejects(
      telnetProtocol.connect(target(), { username: t.username ?? '', password: wrong }, { size }),
      (err: unknown) => {
        isConnectError('auth_failed', /refused the vaulted credential \(Login incorrect\)/)(err);
        assert.ok(!(err as Error).message.includes(wrong));
        return true;
      },
    );
    const ms = Date.now() - t0;
    console.log(`# wrong password refused in ${ms} ms`);
    assert.ok(ms < 8000, `${ms} ms`);
  });

  test('a closed port of the lab host: unreachable', async () => {
    await assert.rejects(
      telnetProtocol.connect({ host: '127.0.0.1', port: PORTS.telnet + 1, options: {} }, cred(), { size, timeoutMs: 3000 }),
      isConnectError('unreachable'),
    );
  });
});
