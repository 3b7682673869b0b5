import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { GuacCanvas } from './render.js';

/** Video frames per second: enough for HMI screens, and idle minutes stay cheap. */
const FPS = 4;
/** Longest recording exported (the video is real time; idle time is repeated frames). */
const MAX_SECONDS = 12 * 3600;

export type VideoJobState = 'running' | 'done' | 'failed';

export interface VideoJob {
  sessionId: string;
  state: VideoJobState;
  /** 0..1: share of the recording read so far. */
  progress: number;
  startedAt: string;
  finishedAt?: string;
  /** Size of the finished MP4. */
  bytes?: number;
  error?: string;
}

/**
 * Exports display recordings (.guac) to MP4 with Debian's ffmpeg, in the background, one job per
 * session at a time: the recording is replayed onto a canvas (render.ts) and its frames, at FPS in
 * real time, are piped to ffmpeg as raw RGB (libx264, yuv420p, faststart). The file lands in
 * <data>/exports/<session>.mp4 only when complete (written as .part, then renamed).
 */
export class VideoExporter {
  private readonly jobs = new Map<string, VideoJob>();
  private readonly running = new Set<ReturnType<typeof spawn>>();
  private stopped = false;
  private readonly dir: string;

  constructor(private readonly o: { dataDir: string; logger: Logger; ffmpeg?: string }) {
    this.dir = join(o.dataDir, 'exports');
  }

  path(sessionId: string): string {
    return join(this.dir, `${sessionId}.mp4`);
  }

  /** The job of a session: in progress, or finished (also from an earlier run of the gateway). */
  get(sessionId: string): VideoJob | undefined {
    const job = this.jobs.get(sessionId);
    if (job) return job;
    const file = this.path(sessionId);
    if (!existsSync(file)) return undefined;
    const st = statSync(file);
    return { sessionId, state: 'done', progress: 1, startedAt: st.mtime.toISOString(), finishedAt: st.mtime.toISOString(), bytes: st.size };
  }

  /** Starts an export unless one runs already; resolves the job at once (it runs in the background). */
  start(sessionId: string, recordingPath: string): VideoJob {
    if (this.stopped) throw new Error('the gateway is stopping');
    const current = this.jobs.get(sessionId);
    if (current?.state === 'running') return current;
    const job: VideoJob = { sessionId, state: 'running', progress: 0, startedAt: new Date().toISOString() };
    this.jobs.set(sessionId, job);
    void this.run(job, recordingPath).then(
      (bytes) => Object.assign(job, { state: 'done', progress: 1, bytes, finishedAt: new Date().toISOString() }),
      (err: unknown) => {
        this.o.logger.warn({ err, session: sessionId }, 'recording export failed');
        Object.assign(job, { state: 'failed', error: err instanceof Error ? err.message : String(err), finishedAt: new Date().toISOString() });
      },
    );
    return job;
  }

  /** Gateway shutdown: running exports are killed (their .part files removed by their own cleanup). */
  stop(): void {
    this.stopped = true;
    for (const p of this.running) p.kill('SIGKILL');
  }

  private async run(job: VideoJob, recordingPath: string): Promise<number> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const out = this.path(job.sessionId);
    const part = `${out}.part`;
    const total = statSync(recordingPath).size || 1;
    let read = 0;
    let ffmpeg: ReturnType<typeof spawn> | undefined;
    let size: { w: number; h: number } | undefined;
    let frame: Buffer | undefined;
    let nextAt: number | undefined;
    let firstAt = 0;
    const pending: Buffer[] = [];
    let stderr = '';
    let exited: Promise<number | null> | undefined;

    // The video keeps the first screen size (even sides, as yuv420p needs); later sizes are cropped or padded.
    const compose = (c: GuacCanvas): Buffer => {
      const { w, h } = size!;
      if (c.width === w && c.height === h) return c.rgb();
      frame ??= Buffer.alloc(w * h * 3);
      frame.fill(0);
      const rgb = c.rgb();
      for (let y = 0; y < Math.min(h, c.height); y++) rgb.copy(frame, y * w * 3, y * c.width * 3, y * c.width * 3 + Math.min(w, c.width) * 3);
      return Buffer.from(frame);
    };
    const canvas: GuacCanvas = new GuacCanvas((ts) => {
      if (!size) {
        if (!canvas.width) return;
        size = { w: canvas.width + (canvas.width % 2), h: canvas.height + (canvas.height % 2) };
        firstAt = ts;
        nextAt = ts;
      }
      if (ts - firstAt > MAX_SECONDS * 1000) throw new Error(`recordings longer than ${MAX_SECONDS / 3600} hours are not exported`);
      if (nextAt! > ts) return;
      const picture = compose(canvas);
      while (nextAt! <= ts) {
        pending.push(picture);
        nextAt! += 1000 / FPS;
      }
    });

    const write = (buf: Buffer) =>
      new Promise<void>((resolve, reject) => {
        const stdin = ffmpeg!.stdin!;
        if (stdin.write(buf)) resolve();
        else {
          const onDrain = () => {
            stdin.off('error', reject);
            resolve();
          };
          stdin.once('drain', onDrain);
          stdin.once('error', reject);
        }
      });

    try {
      for await (const chunk of createReadStream(recordingPath, { highWaterMark: 256 * 1024 })) {
        canvas.feed(chunk as Buffer);
        read += (chunk as Buffer).length;
        job.progress = Math.min(0.99, read / total);
        if (size && !ffmpeg) {
          ffmpeg = spawn(this.o.ffmpeg ?? 'ffmpeg', [
            '-hide_banner', '-loglevel', 'error', '-nostdin',
            '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${size.w}x${size.h}`, '-r', String(FPS), '-i', 'pipe:0',
            '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'stillimage', '-pix_fmt', 'yuv420p', '-movflags', '+faststart',
            '-f', 'mp4', '-y', part,
          ], { stdio: ['pipe', 'ignore', 'pipe'] });
          this.running.add(ffmpeg);
          ffmpeg.once('close', () => this.running.delete(ffmpeg!));
          ffmpeg.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
          ffmpeg.stdin!.on('error', () => {});
          exited = new Promise((resolve, reject) => {
            ffmpeg!.once('error', reject);
            ffmpeg!.once('close', resolve);
          });
        }
        while (pending.length) await write(pending.shift()!);
      }
      if (!ffmpeg || !exited) throw new Error('the recording holds no picture');
      ffmpeg.stdin!.end();
      const code = await exited;
      if (code !== 0) throw new Error(`ffmpeg failed (exit ${code}): ${stderr.trim() || 'no message'}`);
      await rename(part, out);
      return statSync(out).size;
    } catch (err) {
      ffmpeg?.kill('SIGKILL');
      await rm(part, { force: true });
      throw err;
    }
  }
}
