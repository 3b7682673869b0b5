/**
 * Display encoding costs on synthetic 1280x800 screens (test/display/frames.ts): a flat HMI-like
 * screen and a photographic one.
 *  - inline: full-frame PNG and JPEG (q75, q45) encode time and size; the same frame as tiles of
 *    64/128/256/512 (sum of encode times, total bytes, tile count); the classifier's cost;
 *  - pool: one full frame as 256x256 tiles through EncoderPool (wall time, copies included) and
 *    single full-frame jobs, with ratios against inline; the main event loop's worst stall meanwhile.
 * Medians of several runs. Run: node --import tsx bench/display-encode.ts [runs]
 */
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { isPhotographic } from '../src/server/display/classify.js';
import { encodeJpeg } from '../src/server/display/jpeg.js';
import { encodePng } from '../src/server/display/png.js';
import { EncoderPool, type EncodeJob } from '../src/server/display/pool.js';
import { copyRegion, type Rect } from '../src/server/display/region.js';
import { DirtyRegion } from '../src/server/display/tiles.js';
import { hmiFrame, photoFrame } from '../test/display/frames.js';

const RUNS = Number(process.argv[2] ?? 7);
const W = 1280;
const H = 800;
const screens = { hmi: hmiFrame(W, H), photo: photoFrame(W, H) };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const ms = (n: number) => `${n.toFixed(1)} ms`;

function measure(f: () => number, runs = RUNS): { ms: number; bytes: number } {
  f(); // warm-up (JIT, zlib state)
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    bytes = f();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), bytes };
}

function tilesOf(size: number): Rect[] {
  const d = new DirtyRegion(W, H);
  d.addAll();
  return d.take(size);
}

type Enc = { label: string; run: (fb: Uint8Array, r: Rect) => Buffer };
const encoders: Enc[] = [
  { label: 'PNG', run: (fb, r) => encodePng(fb, W, r.x, r.y, r.w, r.h) },
  { label: 'JPEG q75', run: (fb, r) => encodeJpeg(fb, W, r.x, r.y, r.w, r.h, 75) },
  { label: 'JPEG q45', run: (fb, r) => encodeJpeg(fb, W, r.x, r.y, r.w, r.h, 45) },
];

console.log(`display-encode: ${W}x${H}, ${RUNS} runs (medians), ${availableParallelism()} CPUs, load ${loadavg()[0]!.toFixed(1)}\n`);

console.log('inline, full frame and tiles (sum of tile encodes):');
const inlineFull: Record<string, number> = {};
const inlineTiles256: Record<string, number> = {};
for (const [name, fb] of Object.entries(screens)) {
  for (const e of encoders) {
    const full = measure(() => e.run(fb, { x: 0, y: 0, w: W, h: H }).length);
    inlineFull[`${name} ${e.label}`] = full.ms;
    const parts = [`full ${ms(full.ms)} ${kib(full.bytes)}`];
    for (const size of [64, 128, 256, 512]) {
      const tiles = tilesOf(size);
      const r = measure(() => tiles.reduce((n, t) => n + e.run(fb, t).length, 0), Math.max(3, Math.floor(RUNS / 2)));
      if (size === 256) inlineTiles256[`${name} ${e.label}`] = r.ms;
      parts.push(`${size}: ${ms(r.ms)} ${kib(r.bytes)} (${tiles.length})`);
    }
    console.log(`  ${name.padEnd(5)} ${e.label.padEnd(8)} ${parts.join(' | ')}`);
  }
}

const classify = measure(() => tilesOf(256).filter((t) => isPhotographic(screens.photo, W, t.x, t.y, t.w, t.h)).length + tilesOf(256).filter((t) => isPhotographic(screens.hmi, W, t.x, t.y, t.w, t.h)).length);
console.log(`\nclassifier: 40 tiles (20 HMI + 20 photo) in ${ms(classify.ms)}, ${classify.bytes} judged photographic (want 20)`);

async function loopStall(work: () => Promise<unknown>): Promise<number> {
  let max = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last - 5);
    last = now;
  }, 5);
  await work();
  await new Promise((r) => setTimeout(r, 20));
  clearInterval(timer);
  return max;
}

const pool = new EncoderPool();
await Promise.all(Array.from({ length: pool.size * 2 }, () => pool.encode({ format: 'png', width: 8, height: 8, rgba: new Uint8Array(256) })));
console.log(`\npool (${pool.size} workers), wall time incl. region copies; ratio = pool / inline:`);

async function poolTiles(fb: Uint8Array, format: 'png' | 'jpeg', quality?: number): Promise<number> {
  const jobs = tilesOf(256).map((t) => {
    const job: EncodeJob = { format, width: t.w, height: t.h, rgba: copyRegion(fb, W, t.x, t.y, t.w, t.h), quality };
    return pool.encode(job);
  });
  return (await Promise.all(jobs)).reduce((n, b) => n + b.length, 0);
}

async function measureAsync(f: () => Promise<number>): Promise<{ ms: number; bytes: number }> {
  await f();
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    bytes = await f();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), bytes };
}

const stalls: string[] = [];
for (const [name, fb] of Object.entries(screens)) {
  for (const [label, format, quality] of [
    ['PNG', 'png', undefined],
    ['JPEG q75', 'jpeg', 75],
  ] as const) {
    const key = `${name} ${label}`;
    const tiles = await measureAsync(() => poolTiles(fb, format, quality));
    const full = await measureAsync(async () => (await pool.encode({ format, width: W, height: H, rgba: copyRegion(fb, W, 0, 0, W, H), quality })).length);
    console.log(
      `  ${key.padEnd(14)} 256-tiles ${ms(tiles.ms)} (inline ${ms(inlineTiles256[key]!)}, ratio ${(tiles.ms / inlineTiles256[key]!).toFixed(2)})` +
        ` | full-frame job ${ms(full.ms)} (inline ${ms(inlineFull[key]!)}, ratio ${(full.ms / inlineFull[key]!).toFixed(2)})`,
    );
    const pooled = await loopStall(() => poolTiles(fb, format, quality));
    const inline = await loopStall(async () => {
      await new Promise((r) => setTimeout(r, 10));
      for (const t of tilesOf(256)) encoders.find((e) => e.label === label)!.run(fb, t);
    });
    stalls.push(`  ${key.padEnd(14)} worst event-loop stall: pool ${ms(pooled)}, inline ${ms(inline)}`);
  }
}
console.log('\nmain event loop while one frame of 256-tiles encodes:');
for (const s of stalls) console.log(s);
await pool.close();
