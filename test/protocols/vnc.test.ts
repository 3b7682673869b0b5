/**
 * The RFB client against a real TigerVNC Xvnc started by this test: VNC Authentication (password
 * file written by vncpasswd -f, or by our own DES when it is missing), real X clients drawing
 * known pixels (xsetroot colours and tiled bitmaps, xwud showing a generated image), every
 * encoding decoded and compared pixel by pixel (JPEG roughly), wrong password, key and pointer
 * events (the pointer checked with xdotool), the cursor image, and a RandR resize.
 *
 * Private everything: display :240-:249, port 15940+, 127.0.0.1 only, an X cookie, a temp dir;
 * every process started here is killed in after().
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { writeXauthority } from '../../lab/x11.js';
import { connectRfb, connectRfbTcp, type RfbClient, type RfbConnectOptions, type RfbUpdateOp } from '../../src/server/protocols/vnc/client.js';
import { vncPasswordFile } from '../../src/server/protocols/vnc/des.js';
import { ConnectError } from '../../src/server/protocols/types.js';
import { ScriptedStream } from './rfb-fixtures.js';

const run = promisify(execFile);
const XVNC = '/usr/bin/Xvnc';
const PASSWORD = 'Pc-t3st!';
const W = 1280;
const H = 800;
const missing = ['Xvnc', 'xsetroot', 'xwud'].filter((b) => !existsSync(`/usr/bin/${b}`));

let dir = '';
let display = 0;
let port = 0;
let xvnc: ChildProcess | undefined;
const children: ChildProcess[] = [];
const clients: RfbClient[] = [];

function xenv(): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin:/bin', DISPLAY: `:${display}`, XAUTHORITY: path.join(dir, 'Xauthority'), HOME: dir };
}

async function x(cmd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(`/usr/bin/${cmd}`, args, { env: xenv(), timeout: 10_000 });
  return stdout;
}

function freeDisplay(): number {
  for (let n = 240; n <= 249; n++) {
    if (!existsSync(`/tmp/.X11-unix/X${n}`) && !existsSync(`/tmp/.X${n}-lock`)) return n;
  }
  throw new Error('no free X display in 240..249');
}

function portFree(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function connect(opts: RfbConnectOptions = {}): Promise<RfbClient> {
  const c = await connectRfbTcp({ host: '127.0.0.1', port }, { password: PASSWORD, timeoutMs: 10_000, ...opts });
  clients.push(c);
  return c;
}

/** Connects and returns the client once its first (full) update is decoded. */
async function firstFrame(opts: RfbConnectOptions = {}): Promise<{ client: RfbClient; ops: RfbUpdateOp[]; ms: number }> {
  const client = await connect(opts);
  const t0 = performance.now();
  const ops = await new Promise<RfbUpdateOp[]>((resolve, reject) => {
    client.once('update', resolve);
    client.once('close', (i) => reject(new Error(i.message)));
  });
  return { client, ops, ms: performance.now() - t0 };
}

function pixel(fb: Uint8Array, px: number, py: number, width = W): number[] {
  const o = (py * width + px) * 4;
  return [fb[o]!, fb[o + 1]!, fb[o + 2]!, fb[o + 3]!];
}

/** The generated image xwud shows at 0,0: high-frequency colour (no encoder can cheat). */
const IMG_W = 640;
const IMG_H = 400;
function imagePixel(px: number, py: number): [number, number, number] {
  return [px & 255, py & 255, (px * py + (px >> 3)) & 255];
}

function xwdFile(): Buffer {
  const name = Buffer.from('portcullis-rfb-test\0', 'latin1');
  const header = Buffer.alloc(100);
  // XWDFileHeader (X11/XWDFile.h): ZPixmap, depth 24, 32 bpp, MSB first, TrueColor
  const fields = [100 + name.length, 7, 2, 24, IMG_W, IMG_H, 0, 1, 32, 1, 32, 32, IMG_W * 4, 4, 0xff0000, 0xff00, 0xff, 8, 256, 0, IMG_W, IMG_H, 0, 0, 0];
  fields.forEach((v, i) => header.writeUInt32BE(v >>> 0, i * 4));
  const data = Buffer.alloc(IMG_W * IMG_H * 4);
  for (let py = 0; py < IMG_H; py++) {
    for (let px = 0; px < IMG_W; px++) {
      const [r, g, b] = imagePixel(px, py);
      data.set([0, r, g, b], (py * IMG_W + px) * 4);
    }
  }
  return Buffer.concat([header, name, data]);
}

/** A tiled root background from an XBM bitmap: pixel (x, y) = bit (x mod 37, y mod 23). */
const BM_W = 37;
const BM_H = 23;
function bitmapBit(px: number, py: number): boolean {
  const bx = px % BM_W;
  const by = py % BM_H;
  return ((bx * 7 + by * 13) ^ (bx * by)) % 3 === 0;
}
function xbmFile(): string {
  const bytes: string[] = [];
  for (let by = 0; by < BM_H; by++) {
    for (let bxByte = 0; bxByte < Math.ceil(BM_W / 8); bxByte++) {
      let v = 0;
      for (let bit = 0; bit < 8; bit++) if (bxByte * 8 + bit < BM_W && bitmapBit(bxByte * 8 + bit, by)) v |= 1 << bit; // XBM: LSB first
      bytes.push(`0x${v.toString(16).padStart(2, '0')}`);
    }
  }
  return `#define t_width ${BM_W}\n#define t_height ${BM_H}\nstatic unsigned char t_bits[] = {\n${bytes.join(', ')}};\n`;
}
const FG: [number, number, number] = [0x12, 0xab, 0x34];
const BG: [number, number, number] = [0xfe, 0xdc, 0xba];

describe('RFB client against a real Xvnc', () => {
  before(async () => {
    assert.deepEqual(missing, [], 'the X tools are installed by scripts/system-deps.sh');
    dir = mkdtempSync(path.join(tmpdir(), 'pc-rfb-'));
    display = freeDisplay();
    port = 15940 + (display - 240);
    assert.ok(await portFree(port), `port ${port} is taken`);
    writeXauthority(path.join(dir, 'Xauthority'), display);

    let passwd: Buffer;
    if (existsSync('/usr/bin/vncpasswd')) {
      const { stdout } = await new Promise<{ stdout: Buffer }>((resolve, reject) => {
        const p = spawn('/usr/bin/vncpasswd', ['-f'], { stdio: ['pipe', 'pipe', 'ignore'] });
        const out: Buffer[] = [];
        p.stdout.on('data', (c: Buffer) => out.push(c));
        p.on('error', reject);
        p.on('close', () => resolve({ stdout: Buffer.concat(out) }));
        p.stdin.end(`${PASSWORD}\n`);
      });
      passwd = stdout;
      assert.deepEqual(passwd, vncPasswordFile(PASSWORD), 'our DES agrees with vncpasswd');
    } else {
      passwd = vncPasswordFile(PASSWORD);
    }
    writeFileSync(path.join(dir, 'passwd'), passwd, { mode: 0o600 });
    writeFileSync(path.join(dir, 'image.xwd'), xwdFile());
    writeFileSync(path.join(dir, 'tile.xbm'), xbmFile());

    const log = openSync(path.join(dir, 'xvnc.log'), 'a');
    xvnc = spawn(
      XVNC,
      [
        `:${display}`,
        '-geometry', `${W}x${H}`,
        '-depth', '24',
        '-rfbport', String(port),
        '-localhost',
        '-interface', '127.0.0.1',
        '-nolisten', 'tcp',
        '-SecurityTypes', 'VncAuth',
        '-PasswordFile', path.join(dir, 'passwd'),
        '-AlwaysShared',
        '-BlacklistThreshold', '1000',
        '-desktop', 'portcullis rfb test',
        '-noreset',
        '-auth', path.join(dir, 'Xauthority'),
      ],
      { stdio: ['ignore', log, log], env: { PATH: '/usr/bin:/bin', HOME: dir } },
    );
    children.push(xvnc);
    await waitFor(
      'Xvnc to listen',
      () =>
        new Promise<boolean>((resolve) => {
          if (xvnc!.exitCode !== null) throw new Error(`Xvnc exited: ${readFileSync(path.join(dir, 'xvnc.log'), 'utf8').slice(-2000)}`);
          const s = net.connect({ host: '127.0.0.1', port });
          s.once('data', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(false));
        }),
    );
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await Promise.all(
      children.map((p) =>
        p.exitCode !== null || p.signalCode !== null
          ? undefined
          : new Promise<void>((resolve) => {
              const t = setTimeout(() => {
                p.kill('SIGKILL');
                resolve();
              }, 3000);
              p.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
            }),
      ),
    );
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('VNC authentication and ServerInit', { timeout: 30_000 }, async () => {
    const c = await connect({ autoRequest: false });
    assert.equal(c.version, '3.8');
    assert.equal(c.securityType, 2);
    assert.equal(c.width, W);
    assert.equal(c.height, H);
    assert.equal(c.name, 'portcullis rfb test');
    c.close();
  });

  test('wrong password: auth_failed with the server reason', { timeout: 30_000 }, async () => {
    await assert.rejects(connectRfbTcp({ host: '127.0.0.1', port }, { password: 'wrong-pw' }), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.failure, 'auth_failed');
      assert.match(err.message, /refused the VNC password: .+/);
      return true;
    });
  });

  test('nothing listening: unreachable', { timeout: 30_000 }, async () => {
    let p = 15939;
    while (!(await portFree(p))) p--;
    await assert.rejects(connectRfbTcp({ host: '127.0.0.1', port: p }, { password: PASSWORD }), (err: unknown) => err instanceof ConnectError && err.failure === 'unreachable');
  });

  test('a solid root colour drawn by xsetroot is what every encoding decodes', { timeout: 30_000 }, async (t) => {
    await x('xsetroot', '-solid', '#ff0000');
    for (const encodings of [['raw'], ['zrle'], ['tight']] as const) {
      const { client } = await firstFrame({ encodings: [...encodings] });
      await waitFor('red', () => pixel(client.framebuffer, 640, 400)[0] === 255);
      const fb = client.framebuffer;
      let wrong = 0;
      for (let i = 0; i < W * H; i++) if (fb[i * 4] !== 255 || fb[i * 4 + 1] !== 0 || fb[i * 4 + 2] !== 0 || fb[i * 4 + 3] !== 255) wrong++;
      assert.equal(wrong, 0, `${encodings[0]}: ${wrong} pixels not red`);
      t.diagnostic(`${encodings[0]}: full red frame ok`);
      client.close();
    }
  });

  test('a tiled bitmap background: exact pixels with Raw, ZRLE and Tight', { timeout: 30_000 }, async () => {
    await x('xsetroot', '-bitmap', path.join(dir, 'tile.xbm'), '-fg', '#12ab34', '-bg', '#fedcba');
    for (const enc of ['raw', 'zrle', 'tight'] as const) {
      const { client, ops } = await firstFrame({ encodings: [enc] });
      assert.ok(ops.every((o) => o.op === 'pixels' && o.encoding === enc), `${enc}: ${JSON.stringify([...new Set(ops.map((o) => o.op === 'pixels' && o.encoding))])}`);
      const fb = client.framebuffer;
      let wrong = 0;
      for (let py = 0; py < H; py++) {
        for (let px = 0; px < W; px++) {
          const e = bitmapBit(px, py) ? FG : BG;
          const o = (py * W + px) * 4;
          if (fb[o] !== e[0] || fb[o + 1] !== e[1] || fb[o + 2] !== e[2] || fb[o + 3] !== 255) wrong++;
        }
      }
      assert.equal(wrong, 0, `${enc}: ${wrong} of ${W * H} pixels differ from the bitmap`);
      client.close();
    }
  });

  test('a colourful image (xwud): ZRLE and Tight equal Raw exactly, Tight JPEG is close', { timeout: 30_000 }, async (t) => {
    const viewer = spawn('/usr/bin/xwud', ['-in', path.join(dir, 'image.xwd')], { env: xenv(), stdio: 'ignore' });
    children.push(viewer);
    // wait until the image is on screen
    const watcher = await connect({ encodings: ['raw'] });
    await waitFor('xwud to draw', () => {
      const p = pixel(watcher.framebuffer, 300, 200);
      const e = imagePixel(300, 200);
      return p[0] === e[0] && p[1] === e[1] && p[2] === e[2];
    });
    watcher.close();

    const raw = await firstFrame({ encodings: ['raw'] });
    const truth = Buffer.from(raw.client.framebuffer);
    raw.client.close();
    let imageWrong = 0;
    for (let py = 0; py < IMG_H; py++) {
      for (let px = 0; px < IMG_W; px++) {
        const p = pixel(truth, px, py);
        const e = imagePixel(px, py);
        if (p[0] !== e[0] || p[1] !== e[1] || p[2] !== e[2]) imageWrong++;
      }
    }
    assert.equal(imageWrong, 0, 'raw shows the generated image exactly');
    t.diagnostic(`raw full frame: ${raw.ms.toFixed(1)} ms from connect to decoded`);

    for (const enc of ['zrle', 'tight'] as const) {
      const f = await firstFrame({ encodings: [enc] });
      assert.ok(Buffer.from(f.client.framebuffer).equals(truth), `${enc} differs from raw`);
      t.diagnostic(`${enc} full frame: ${f.ms.toFixed(1)} ms from connect to decoded (server encoding included)`);
      f.client.close();
    }

    const j = await firstFrame({ encodings: ['tight'], jpegQuality: 8 });
    const jpegOps = j.ops.filter((o) => o.op === 'pixels' && o.jpeg);
    assert.ok(jpegOps.length > 0, 'the server used JPEG for the photo-like part');
    let sum = 0;
    for (let py = 0; py < IMG_H; py++) {
      for (let px = 0; px < IMG_W; px++) {
        const p = pixel(j.client.framebuffer, px, py);
        const e = pixel(truth, px, py);
        sum += Math.abs(p[0]! - e[0]!) + Math.abs(p[1]! - e[1]!) + Math.abs(p[2]! - e[2]!);
      }
    }
    const mean = sum / (IMG_W * IMG_H * 3);
    assert.ok(mean < 12, `JPEG mean absolute error ${mean.toFixed(2)}`);
    // outside the image the background tiles are lossless (Tight picks palette/fill there)
    t.diagnostic(`tight+jpeg: ${jpegOps.length} JPEG rects, mean abs error ${mean.toFixed(2)}, ${j.ms.toFixed(1)} ms`);
    j.client.close();
    // the viewer stays up: the next test captures this colourful screen
  });

  test('decode time of captured full frames, replayed without the network', { timeout: 30_000 }, async (t) => {
    for (const [enc, q] of [['raw'], ['zrle'], ['tight'], ['tight', 8]] as const) {
      // capture what the server sends for a connection's first full frame
      const socket = net.connect({ host: '127.0.0.1', port });
      const captured: Buffer[] = [];
      socket.on('data', (c: Buffer) => captured.push(c));
      const c = await connectRfb(socket, { password: PASSWORD, encodings: [enc], jpegQuality: q });
      clients.push(c);
      await new Promise((r) => c.once('update', r));
      c.close();
      const bytes = Buffer.concat(captured);
      // replay: the client answers a different challenge response, the scripted server does not care
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const stream = new ScriptedStream();
        const connecting = connectRfb(stream, { password: PASSWORD, autoRequest: false });
        stream.serve(bytes);
        const replay = await connecting;
        const t0 = performance.now();
        await new Promise((r) => replay.once('update', r));
        times.push(performance.now() - t0);
        replay.close();
      }
      times.sort((a, b) => a - b);
      t.diagnostic(`${enc}${q ? ` jpeg q${q}` : ''}: ${(bytes.length / 1024).toFixed(0)} KiB on the wire, decode median ${times[2]!.toFixed(1)} ms (min ${times[0]!.toFixed(1)})`);
      assert.ok(times[2]! < 2000, 'decoding a full frame takes less than 2 s even on a slow machine');
    }
  });

  test('key and pointer events: the pointer lands where we put it', { timeout: 30_000 }, async (t) => {
    const c = await connect();
    await new Promise((r) => c.once('update', r));
    c.pointer(123, 456, 0);
    c.pointer(123, 456, 1); // press and release the left button
    c.pointer(123, 456, 0);
    c.key(0x61, true); // 'a'
    c.key(0x61, false);
    c.key(0xff0d, true); // Return
    c.key(0xff0d, false);
    if (existsSync('/usr/bin/xdotool')) {
      await waitFor('the X pointer to move', async () => /x:123 y:456/.test(await x('xdotool', 'getmouselocation')));
    } else {
      t.diagnostic('xdotool missing: pointer position not verified');
    }
    // the connection is still healthy: a full update still comes
    const again = new Promise((r) => c.once('update', r));
    c.requestUpdate(false);
    await again;
    assert.ok(!c.closed);
    c.close();
  });

  test('the cursor image arrives when the pointer enters a window with its own cursor', { timeout: 30_000 }, async (t) => {
    const term = spawn('/usr/bin/xterm', ['-geometry', '40x10+0+0'], { env: xenv(), stdio: 'ignore' });
    children.push(term);
    const c = await connect();
    const cursor = new Promise<{ width: number; height: number; hotX: number; hotY: number; rgba: Uint8Array }>((resolve) =>
      c.on('cursor', (cur) => {
        if (cur.width > 0) resolve(cur);
      }),
    );
    await new Promise((r) => c.once('update', r));
    if (existsSync('/usr/bin/xwininfo')) await waitFor('the xterm window', async () => /"xterm"/i.test(await x('xwininfo', '-root', '-tree')));
    else await new Promise((r) => setTimeout(r, 1000));
    // Xvnc sends the cursor shape when the VNC pointer moves over a window that defines one
    c.pointer(20, 20, 0);
    c.pointer(21, 21, 0);
    const cur = await cursor;
    assert.ok(cur.width > 4 && cur.height > 4, `${cur.width}x${cur.height}`);
    assert.ok(cur.hotX < cur.width && cur.hotY < cur.height);
    let opaque = 0;
    for (let i = 3; i < cur.rgba.length; i += 4) if (cur.rgba[i] === 255) opaque++;
    assert.ok(opaque > 10 && opaque < cur.width * cur.height, `${opaque} opaque pixels`);
    t.diagnostic(`cursor ${cur.width}x${cur.height}, hotspot ${cur.hotX},${cur.hotY}, ${opaque} opaque pixels`);
    c.close();
    term.kill('SIGTERM');
  });

  test('a RandR resize reaches the client as DesktopSize, then a full frame of the new size', { timeout: 30_000 }, async (t) => {
    const c = await connect();
    await new Promise((r) => c.once('update', r));
    // Xvnc may repeat a DesktopSize of the current size first: wait for the new one
    const resized = new Promise<{ width: number; height: number }>((r) =>
      c.on('resize', (size) => {
        if (size.width !== W) r(size);
      }),
    );
    await x('xrandr', '-s', '1024x768');
    assert.deepEqual(await resized, { width: 1024, height: 768 });
    assert.equal(c.framebuffer.length, 1024 * 768 * 4);
    await waitFor('a frame of the new size', () => pixel(c.framebuffer, 1000, 700, 1024)[3] === 255);
    await x('xrandr', '-s', `${W}x${H}`);
    c.close();
  });
});
