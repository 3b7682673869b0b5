/** A recorder process killed with SIGKILL mid-stream loses at most about a second. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadSigningKey } from '../../src/server/recording/keys.js';
import { readRecording, recoverRecording, sealInterruptedRecording } from '../../src/server/recording/reader.js';
import { verifyRecording } from '../../src/server/recording/seal.js';
import { indexRecording } from '../../src/server/recording/text-index.js';
import { type TmpEnv, tmpEnv } from './helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/kill-writer.ts', import.meta.url));
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('crash safety', () => {
  let env: TmpEnv;
  before(() => {
    env = tmpEnv();
  });
  after(() => env.cleanup());

  it('keeps everything up to <= 1 s before a kill -9, line by line valid, and can be sealed as interrupted', async (t) => {
    const dataDir = join(env.root, 'data');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, env.dir, dataDir], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Wait for 2-3 s of recording, then kill at a random point of the flush cycle.
    const killAt = 40 + Math.floor(Math.random() * 20);
    const last = await new Promise<{ n: number; t: number }>((resolve, reject) => {
      let buf = '';
      let latest = { n: 0, t: 0 };
      const timer = setTimeout(() => reject(new Error(`no progress from the writer: ${stderr}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) !== -1) {
          const [n, t] = buf.slice(0, nl).split(' ').map(Number);
          buf = buf.slice(nl + 1);
          latest = { n: n as number, t: t as number };
          if (latest.n >= killAt) {
            child.kill('SIGKILL');
            clearTimeout(timer);
            resolve(latest);
          }
        }
      });
      child.on('exit', () => reject(new Error(`writer exited early: ${stderr}`)));
    });
    assert.equal(await exited, 'SIGKILL');

    const path = join(env.dir, 'crashed.cast');
    const r = await readRecording(path);
    assert.deepEqual(r.badLines, [], 'every complete line is a valid event');
    assert.equal(r.header.title, 'crash test');
    const output = r.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    // the lines on disk are 1..k, in order, with the euro sign (split across chunks) intact
    const k = output.split('\r\n').length - 1;
    assert.ok(k > 0);
    const expected = Array.from({ length: k + 1 }, (_, i) => `line ${i + 1} €\r\n`).join('');
    assert.ok(expected.startsWith(output), `unexpected output on disk: ${JSON.stringify(output.slice(-200))}`);
    const lostSeconds = last.t - r.lastTime;
    assert.ok(lostSeconds <= 1.2, `lost ${lostSeconds.toFixed(3)} s (on disk: line ${k} at ${r.lastTime}, reported: line ${last.n} at ${last.t})`);
    assert.ok(k >= last.n - 24, `lost ${last.n - k} lines of 50 ms`);
    t.diagnostic(`killed after line ${last.n} (t=${last.t}); on disk through line ${k} (t=${r.lastTime}); torn tail: ${r.torn ? r.torn.bytes : 0} bytes`);

    const rec = await recoverRecording(path);
    assert.equal(rec.sealed, false);
    assert.equal(rec.lastTime, r.lastTime);
    const sealed = await sealInterruptedRecording(path, loadSigningKey(dataDir));
    assert.equal(sealed.manifest.interrupted, true);
    assert.equal(sealed.manifest.events, r.events.length);
    const v = await verifyRecording(path, loadSigningKey(dataDir).publicKeyPem);
    assert.equal(v.ok, true, v.message);
    const ix = await indexRecording(path);
    assert.equal(ix.commands[0], 'echo 1');
    assert.ok(ix.commands.length >= k - 1);
  });
});
