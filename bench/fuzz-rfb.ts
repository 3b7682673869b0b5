/**
 * Fuzzes the RFB client with mutated server streams. A corpus of valid server streams (handshakes
 * in 3.3/3.7/3.8 with None and VNC auth, then updates in every encoding and every other server
 * message, built by the test fixtures with real zlib streams) is mutated — bit flips, byte
 * overwrites, truncation, length fields set to extremes, random splices, deletions and
 * duplications — and fed to a real RfbClient over an in-memory Duplex, in random chunks.
 *
 * Expected: every input ends in a connect rejection (ConnectError) or a closed connection (with
 * or without an 'error' event). A crash is an uncaught exception, an unhandled rejection, a
 * rejection that is not a ConnectError, or an iteration that does not end (hang). Prints
 * iterations, outcomes, crashes (must be 0), throughput and peak RSS; exits 1 on any crash.
 *
 * Run: node --import tsx bench/fuzz-rfb.ts [iterations=1000000] [--workers=N] [--seed=S]
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { type RfbClient, connectRfb } from '../src/server/protocols/vnc/client.js';
import { ConnectError } from '../src/server/protocols/types.js';
import {
  bell,
  colourMap,
  copyRect,
  cursorRect,
  cycleZrle,
  desktopSizeRect,
  fbUpdate,
  gradientImage,
  handshakeBytes,
  lastRect,
  noiseImage,
  paletteImage,
  rawRect,
  rng,
  ScriptedStream,
  ServerDeflate,
  serverCutText,
  solidImage,
  tightRect,
  tightStreams,
  zrleRect,
} from '../test/protocols/rfb-fixtures.js';

const PASSWORD = 'fuzz-pw';
const W = 48;
const H = 32;

interface Stats {
  iterations: number;
  connectRejected: number; // ConnectError during the handshake (expected for most mutations)
  protocolErrors: number; // 'error' event after connect (expected)
  cleanCloses: number; // stream ended without a violation
  crashes: number;
  hangs: number;
  crashSamples: string[];
  peakRssKiB: number;
  ms: number;
}

// ---------------------------------------------------------------------------------------------
// corpus

async function corpus(): Promise<Buffer[]> {
  const streams: Buffer[] = [];
  const closeAll: ServerDeflate[] = [];

  // 1. 3.8, None: every encoding and message
  {
    const z = new ServerDeflate();
    const zs = tightStreams();
    closeAll.push(z, ...zs);
    streams.push(
      Buffer.concat([
        handshakeBytes({ width: W, height: H }),
        fbUpdate([rawRect(0, 0, W, H, noiseImage(W, H, 1)), copyRect(0, 0, 8, 8, 16, 16)]),
        fbUpdate([await zrleRect(z, 0, 0, W, H, paletteImage(W, H, 5, 2), cycleZrle), await zrleRect(z, 4, 4, 20, 20, noiseImage(20, 20, 3), cycleZrle)]),
        fbUpdate([
          await tightRect(zs, 0, 0, W, H, solidImage(W, H, [1, 2, 3]), { kind: 'fill' }),
          await tightRect(zs, 0, 0, 20, 10, noiseImage(20, 10, 4), { kind: 'copy', stream: 0 }),
          await tightRect(zs, 0, 10, 30, 10, paletteImage(30, 10, 2, 5), { kind: 'palette', stream: 1 }),
          await tightRect(zs, 0, 20, 30, 12, paletteImage(30, 12, 20, 6), { kind: 'palette', stream: 2 }),
          await tightRect(zs, 20, 0, 28, 20, gradientImage(28, 20), { kind: 'gradient', stream: 3 }),
          await tightRect(zs, 30, 20, 16, 12, gradientImage(16, 12), { kind: 'jpeg', quality: 50 }),
          await tightRect(zs, 1, 1, 2, 1, noiseImage(2, 1, 7), { kind: 'copy', stream: 1 }, 0b0010),
        ]),
        fbUpdate([cursorRect(2, 3, 8, 6, noiseImage(8, 6, 8)), desktopSizeRect(40, 30), rawRect(0, 0, 4, 4, noiseImage(4, 4, 9)), lastRect()], 0xffff),
        bell(),
        serverCutText(Buffer.from('fuzz clipboard')),
        colourMap(0, 4),
      ]),
    );
  }
  // 2. 3.8, VNC auth, ZRLE only
  {
    const z = new ServerDeflate();
    closeAll.push(z);
    streams.push(
      Buffer.concat([
        handshakeBytes({ security: [2], width: W, height: H }),
        fbUpdate([await zrleRect(z, 0, 0, W, H, noiseImage(W, H, 10))]),
        fbUpdate([await zrleRect(z, 0, 0, W, H, paletteImage(W, H, 100, 11, 20), () => 'prle')]),
        fbUpdate([await zrleRect(z, 8, 8, 16, 16, paletteImage(16, 16, 3, 12), () => 'rle')]),
      ]),
    );
  }
  // 3. 3.3, VNC auth, Tight with resets
  {
    const zs = tightStreams();
    closeAll.push(...zs);
    streams.push(
      Buffer.concat([
        handshakeBytes({ version: '003.003', security: [2], width: W, height: H }),
        fbUpdate([await tightRect(zs, 0, 0, W, H, noiseImage(W, H, 13), { kind: 'copy', stream: 2 })]),
        fbUpdate([await tightRect(zs, 0, 0, W, H, noiseImage(W, H, 13), { kind: 'copy', stream: 2 }, 0b0100)]),
        fbUpdate([await tightRect(zs, 0, 0, 24, 16, paletteImage(24, 16, 2, 14), { kind: 'palette', stream: 3 }, 0b1000)]),
      ]),
    );
  }
  // 4. 3.7, None, Raw and CopyRect; 5. failures
  streams.push(Buffer.concat([handshakeBytes({ version: '003.007', width: W, height: H }), fbUpdate([rawRect(0, 0, 10, 10, noiseImage(10, 10, 15)), copyRect(0, 0, 5, 5, 10, 10)]), bell()]));
  streams.push(handshakeBytes({ security: [2], result: 1, reason: 'Authentication failure' }));
  streams.push(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([0, 0, 0, 0, 4]), Buffer.from('nope')]));
  for (const z of closeAll) z.close();
  return streams;
}

// ---------------------------------------------------------------------------------------------
// mutation

const EXTREMES = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 4096, 8193];

function mutate(corpus: Buffer[], r: () => number): Buffer {
  const int = (n: number) => Math.floor(r() * n);
  let b = Buffer.from(corpus[int(corpus.length)]!);
  const rounds = 1 + int(3);
  for (let k = 0; k < rounds; k++) {
    if (b.length === 0) break;
    const at = int(b.length);
    switch (int(8)) {
      case 0: // bit flip
        b[at]! ^= 1 << int(8);
        break;
      case 1: // byte overwrite
        b[at] = int(256);
        break;
      case 2: // truncation
        b = b.subarray(0, at);
        break;
      case 3: {
        // length field corruption: a 16- or 32-bit big-endian extreme at a random offset
        const v = EXTREMES[int(EXTREMES.length)]!;
        if (r() < 0.5 && at + 2 <= b.length) b.writeUInt16BE(v & 0xffff, at);
        else if (at + 4 <= b.length) b.writeUInt32BE(v >>> 0, at);
        break;
      }
      case 4: {
        // splice: a random segment of another stream inserted here
        const other = corpus[int(corpus.length)]!;
        const s = int(other.length);
        const e = Math.min(other.length, s + 1 + int(256));
        b = Buffer.concat([b.subarray(0, at), other.subarray(s, e), b.subarray(at)]);
        break;
      }
      case 5: {
        // deletion
        const e = Math.min(b.length, at + 1 + int(64));
        b = Buffer.concat([b.subarray(0, at), b.subarray(e)]);
        break;
      }
      case 6: {
        // duplication
        const e = Math.min(b.length, at + 1 + int(128));
        b = Buffer.concat([b.subarray(0, e), b.subarray(at, e), b.subarray(e)]);
        break;
      }
      case 7: {
        // random bytes overwrite a short run
        for (let i = at; i < Math.min(b.length, at + 1 + int(16)); i++) b[i] = int(256);
        break;
      }
    }
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// one input

type Outcome = 'rejected' | 'protocol' | 'clean' | 'crash';

async function runOne(input: Buffer, r: () => number): Promise<Outcome> {
  const stream = new ScriptedStream();
  const connecting = connectRfb(stream, { password: PASSWORD, timeoutMs: 2000, jpegQuality: 5 });
  // feed in 1..4 random chunks
  const pieces = 1 + Math.floor(r() * 4);
  let off = 0;
  for (let i = 0; i < pieces && off < input.length; i++) {
    const end = i === pieces - 1 ? input.length : off + Math.floor(r() * (input.length - off + 1));
    stream.serve(input.subarray(off, end));
    off = end;
  }
  stream.hangUp();
  let client: RfbClient;
  try {
    client = await connecting;
  } catch (err) {
    return err instanceof ConnectError ? 'rejected' : 'crash';
  }
  let protocolError = false;
  client.on('error', (e) => {
    protocolError = e instanceof ConnectError && e.failure === 'protocol';
  });
  // exercise the user side too, as the display layer would
  client.on('update', () => {
    client.pointer(1, 1, 0);
  });
  const info = await client.ended;
  if (info.how === 'error' && !protocolError && !/closed|broke/.test(info.message)) return 'crash';
  return protocolError ? 'protocol' : 'clean';
}

// ---------------------------------------------------------------------------------------------
// a worker: N iterations, results to the parent

async function worker(iterations: number, seed: number): Promise<Stats> {
  const stats: Stats = { iterations: 0, connectRejected: 0, protocolErrors: 0, cleanCloses: 0, crashes: 0, hangs: 0, crashSamples: [], peakRssKiB: 0, ms: 0 };
  let current: Buffer = Buffer.alloc(0);
  const crash = (what: string) => (err: unknown) => {
    stats.crashes++;
    if (stats.crashSamples.length < 5) stats.crashSamples.push(`${what}: ${(err as Error)?.stack ?? String(err)}\ninput: ${current.toString('hex').slice(0, 2000)}`);
  };
  process.on('uncaughtException', crash('uncaughtException'));
  process.on('unhandledRejection', crash('unhandledRejection'));

  const base = await corpus();
  const r = rng(seed);
  const t0 = performance.now();
  const CONCURRENCY = 32;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < iterations) {
      next++;
      const input = mutate(base, r);
      current = input;
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        runOne(input, r),
        new Promise<'hang'>((resolve) => {
          timer = setTimeout(() => resolve('hang'), 10_000);
        }),
      ]);
      clearTimeout(timer);
      stats.iterations++;
      if (outcome === 'rejected') stats.connectRejected++;
      else if (outcome === 'protocol') stats.protocolErrors++;
      else if (outcome === 'clean') stats.cleanCloses++;
      else if (outcome === 'hang') {
        stats.hangs++;
        crash('hang')(new Error('iteration did not end within 10 s'));
      } else crash('bad ending')(new Error('rejection that is not a ConnectError, or an error end without a protocol error'));
      if ((stats.iterations & 0x3ff) === 0) stats.peakRssKiB = Math.max(stats.peakRssKiB, Math.round(process.memoryUsage().rss / 1024));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  stats.ms = performance.now() - t0;
  stats.peakRssKiB = Math.max(stats.peakRssKiB, process.resourceUsage().maxRSS);
  return stats;
}

// ---------------------------------------------------------------------------------------------
// main

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const iterations = Number(args.find((a) => /^\d[\d_]*$/.test(a))?.replace(/_/g, '') ?? 1_000_000);
const seed = Number(flag('seed') ?? 1);

if (process.env.FUZZ_RFB_WORKER) {
  const stats = await worker(Number(process.env.FUZZ_RFB_ITERATIONS), Number(process.env.FUZZ_RFB_SEED));
  process.send!(stats, () => process.exit(0));
} else {
  const workers = Math.max(1, Number(flag('workers') ?? Math.min(2, os.availableParallelism())));
  console.log(`fuzzing the RFB client: ${iterations} iterations, ${workers} worker process(es), seed ${seed}`);
  const t0 = performance.now();
  const per = Math.ceil(iterations / workers);
  const results = await Promise.all(
    Array.from({ length: workers }, (_, i) =>
      new Promise<Stats>((resolve, reject) => {
        const n = Math.min(per, iterations - i * per);
        const child = fork(fileURLToPath(import.meta.url), [], {
          execArgv: ['--import', 'tsx'],
          env: { ...process.env, FUZZ_RFB_WORKER: '1', FUZZ_RFB_ITERATIONS: String(n), FUZZ_RFB_SEED: String(seed * 1000 + i) },
        });
        let got: Stats | undefined;
        child.on('message', (m) => {
          got = m as Stats;
        });
        child.on('exit', (code, signal) => (got ? resolve(got) : reject(new Error(`worker ${i} died (code ${code}, signal ${signal}): a crash`))));
      }),
    ),
  );
  const ms = performance.now() - t0;
  const sum = (k: keyof Stats) => results.reduce((a, s) => a + (s[k] as number), 0);
  const total = sum('iterations');
  console.log(`iterations             ${total}`);
  console.log(`  connect rejected     ${sum('connectRejected')} (ConnectError during the handshake: expected)`);
  console.log(`  protocol errors      ${sum('protocolErrors')} ('error' event after connect: expected)`);
  console.log(`  clean closes         ${sum('cleanCloses')}`);
  console.log(`errors caught          ${sum('connectRejected') + sum('protocolErrors')}`);
  console.log(`crashes                ${sum('crashes')} (hangs ${sum('hangs')})`);
  console.log(`throughput             ${Math.round(total / (ms / 1000))} inputs/s (${(ms / 1000).toFixed(1)} s wall)`);
  console.log(`peak RSS per worker    ${results.map((s) => `${(s.peakRssKiB / 1024).toFixed(0)} MiB`).join(', ')}`);
  for (const s of results) for (const sample of s.crashSamples) console.log(`\nCRASH ${sample}`);
  process.exit(sum('crashes') > 0 ? 1 : 0);
}
